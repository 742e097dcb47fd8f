from flask_babel import lazy_gettext as _l
from wtforms import FileField, StringField

from desk.forms import DeskForm, ServiceSelect


class AttachmentForm(DeskForm):
    """One file and an optional description; desk.attachments.service checks both."""

    file = FileField(_l("Document"))
    description = StringField(_l("Description (optional)"))
    # What the document is (desk.models.DocumentType): the signed attestation records the
    # attestation; the others tick the beneficiary's registration checklist. Choices: the view's.
    document_type = ServiceSelect(_l("What the document is"), choices=[])
