from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField

from desk.forms import DeskForm, ServiceMultiSelect, ServiceSelect


class RegistrationForm(DeskForm):
    """A beneficiary's registration step; desk.casefile.service checks every value."""

    state = ServiceSelect(_l("Registration state"), choices=[])
    file_number = StringField(_l("File number"))
    override = TextAreaField(_l("Why register without every document (admins only)"))


class RequirementForm(DeskForm):
    """One kind of request's rule: the attestation and the documents registration needs."""

    attestation = ServiceSelect(_l("Applicant's attestation"), choices=[])
    documents = ServiceMultiSelect(_l("Documents required for registration"), choices=[])
