from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import Length


class CommentForm(FlaskForm):
    """An internal note or a public reply. ``version`` is the ticket version the writer saw."""

    body = TextAreaField(_l("Text"), validators=[Length(max=20_000)])
    visibility = RadioField(_l("Visibility"), choices=[SelectChoice("note", _l("Internal note")), SelectChoice("reply", _l("Reply to the beneficiary"))],
                            default="note")
    version = HiddenField()


class ChangeForm(FlaskForm):
    """One property change: the field comes from the URL, the value and version from the form."""

    value = HiddenField()
    version = HiddenField()
