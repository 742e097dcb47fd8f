from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FileField, StringField


class AttachmentForm(FlaskForm):
    """One file and an optional description; desk.attachments.service checks both."""

    file = FileField(_l("Document"))
    description = StringField(_l("Description (optional)"))
