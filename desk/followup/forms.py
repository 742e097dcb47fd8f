from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField


class NudgeForm(FlaskForm):
    """A reminder to a department's focal points; the note is optional (checked by the service)."""

    note = StringField(_l("Note to the focal points"))
