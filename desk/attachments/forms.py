from flask_babel import lazy_gettext as _l
from wtforms import FileField, StringField

from desk.forms import DeskForm


class AttachmentForm(DeskForm):
    """One file and an optional description; desk.attachments.service checks both."""

    file = FileField(_l("Document"))
    description = StringField(_l("Description (optional)"))
