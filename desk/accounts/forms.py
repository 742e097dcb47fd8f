from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

from desk.forms import DeskForm


class LoginForm(DeskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)])
    next = HiddenField()
