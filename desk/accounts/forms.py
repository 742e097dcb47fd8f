from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from desk.forms import DeskForm


class LoginForm(DeskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)])
    next = HiddenField()


class CodeForm(DeskForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter the code.")), Length(max=32)],
                       description=_l("The six digits your authenticator app shows now, or one of your recovery codes."))


class EnrolForm(DeskForm):
    code = StringField(_l("The six-digit code from the app"),
                       validators=[DataRequired(_l("Enter the code.")), Length(max=32)])


class ForgotForm(DeskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email.")), Length(max=254)])


class NewPasswordForm(DeskForm):
    password = PasswordField(_l("New password"), validators=[Length(max=200)])


class ChangePasswordForm(DeskForm):
    current = PasswordField(_l("Current password"), validators=[Length(max=200)])
    password = PasswordField(_l("New password"), validators=[Length(max=200)])


class ConfirmPasswordForm(DeskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)])
