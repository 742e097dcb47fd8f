from flask_babel import lazy_gettext as _l
from wtforms import StringField

from desk.forms import DeskForm


class NudgeForm(DeskForm):
    """A reminder to a department's focal points; the note is optional (checked by the service)."""

    note = StringField(_l("Note to the focal points"))
