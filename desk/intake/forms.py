from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from desk import labels
from desk.forms import DeskForm, ServiceSelect, optional_id
from desk.intake.rules import RULES, Need
from desk.models import Priority
from desk.text import (
    InvalidNationalId,
    InvalidPhone,
    InvalidRegistration,
    parse_commercial_registration,
    parse_document,
    parse_mobile,
    parse_national_id,
    parse_phone,
    parse_unified_number,
)
from desk.web import current_locale

NATIONAL_ID_MESSAGES = {
    "chars": _l("Use digits only (Arabic or English digits)."),
    "length": _l("A national ID or iqama number has 10 digits."),
    "prefix": _l("A national ID starts with 1, an iqama number with 2."),
    "checksum": _l("This number is not valid: check the digits again."),
    "type": _l("This number does not match the document type: a national ID starts with 1, an iqama number with 2."),
    "border": _l("A border number has 10 digits and starts with 3 or 4."),
    "gcc": _l("A GCC national ID has 8 to 15 digits."),
    "passport": _l("A passport number has 6 to 12 letters and digits."),
}
ID_TYPE_LABELS = labels.ID_TYPES


def national_id_check(form, field) -> None:
    field.parsed = None
    if not field.data:
        return
    rule = RULES.get(form.kind.data or "")
    if rule is not None and rule.national_id == Need.NEVER:
        return  # PDPL: this kind never takes a national ID, so it is neither checked nor kept
    id_type = form.b_id_type.data if field.name == "b_national_id" and hasattr(form, "b_id_type") else None
    try:
        if id_type and id_type not in ("national_id", "iqama"):
            field.document = parse_document(id_type, field.data)  # kept in id_document
            return
        field.parsed = parse_document(id_type, field.data) if id_type else parse_national_id(field.data)
    except InvalidNationalId as error:
        raise ValidationError(NATIONAL_ID_MESSAGES.get(error.reason, NATIONAL_ID_MESSAGES["checksum"])) from None


def phone_check(form, field) -> None:
    if not field.data:
        field.parsed = None
        return
    try:
        field.parsed = parse_phone(field.data)
    except InvalidPhone:
        raise ValidationError(_l("Enter a valid phone number, e.g. 05xxxxxxxx or +9665xxxxxxxx.")) from None


def mobile_check(form, field) -> None:
    """The mobile field: the desk sends SMS and WhatsApp messages to it, so a landline, 920 or
    800 number is refused with a pointer to the phone field."""
    if not field.data:
        field.parsed = None
        return
    try:
        field.parsed = parse_mobile(field.data)
    except InvalidPhone as error:
        if error.reason == "not_mobile":
            raise ValidationError(_l("This is not a mobile number: text messages cannot reach it. Enter a mobile "
                                     "(05xxxxxxxx or +9665xxxxxxxx) and put a landline in the phone field.")) from None
        raise ValidationError(_l("Enter a valid mobile number, e.g. 05xxxxxxxx or +9665xxxxxxxx.")) from None


REGISTRATION_MESSAGES = {
    "chars": _l("Use digits only (Arabic or English digits)."),
    "length": _l("This number has 10 digits."),
}


def registration_check(parse, prefix_message):
    """A validator of an establishment's number (desk.text.registrations): ``parse`` the typed
    value into ``field.parsed``; ``prefix_message`` when its first digit is wrong."""
    def check(form, field) -> None:
        field.parsed = None
        if not field.data:
            return
        try:
            field.parsed = parse(field.data)
        except InvalidRegistration as error:
            raise ValidationError(REGISTRATION_MESSAGES.get(error.reason, prefix_message)) from None
    return check


cr_check = registration_check(parse_commercial_registration, _l("A commercial registration number does not start with 0."))
unified_check = registration_check(parse_unified_number, _l("A unified number starts with 7 (700…)."))


# The department choices that are not a department: route as the rules propose, or leave unrouted.
AS_PROPOSED = ""
UNROUTED = "none"


class IntakeForm(DeskForm):
    kind = SelectField(_l("Kind of request"), validators=[DataRequired(_l("Choose the kind of request."))])
    channel = SelectField(_l("Channel"), validators=[DataRequired(_l("Choose the channel it came from."))])
    platform = SelectField(_l("Platform"), validators=[Optional()])
    channel_ref = StringField(_l("Channel reference"), validators=[Optional(), Length(max=60)],
                              description=_l("Letter number, Tawasul number or the delegate's office, if any."))
    priority = SelectField(_l("Priority"), coerce=int, default=int(Priority.NORMAL))
    department_id = ServiceSelect(_l("Department"), validators=[Optional()],
                                   description=_l("Leave \"as proposed\" to follow the routing rules, or choose another department."))
    category_id = ServiceSelect(_l("Category"), validators=[Optional()])
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Enter a subject.")), Length(max=200)])
    body = TextAreaField(_l("Details"), validators=[Length(max=20_000)])

    beneficiary_q = StringField(_l("Find the beneficiary"), validators=[Optional(), Length(max=100)])
    beneficiary_id = HiddenField()
    b_requester_kind = SelectField(_l("The requester is"), default="person", validators=[Optional()],
                                   choices=[SelectChoice(k, v) for k, v in labels.REQUESTER_KINDS.items()])
    b_name = StringField(_l("Full name"), validators=[Optional(), Length(max=160)],
                         description=_l("For an organisation: its name as registered."))
    b_commercial_registration = StringField(_l("Commercial registration number"), validators=[Optional(), cr_check],
                                            description=_l("10 digits: a company, a supplier or a client."))
    b_unified_number = StringField(_l("Unified number (700)"), validators=[Optional(), unified_check],
                                   description=_l("The establishment's unified national number: 10 digits starting with 7."))
    b_contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=160)],
                                 description=_l("Their mobile and email go in the fields below."))
    b_id_type = SelectField(_l("Identity document"), choices=[SelectChoice(k, v) for k, v in ID_TYPE_LABELS.items()],
                            default="national_id", validators=[Optional()])
    b_national_id = StringField(_l("National ID / iqama number"), validators=[Optional(), national_id_check],
                                description=_l("Or the number of the document chosen above."))
    b_phone = StringField(_l("Mobile number"), validators=[Optional(), mobile_check])
    b_landline = StringField(_l("Phone (landline)"), validators=[Optional(), phone_check],
                             description=_l("Optional: a landline or unified number, for calls only."))
    b_email = StringField(_l("Email"), validators=[Optional(), Email(_l("Enter a valid email address.")), Length(max=254)])
    b_city = StringField(_l("City"), validators=[Optional(), Length(max=80)])
    anonymous = BooleanField(_l("Anonymous (website only)"))
    # A beneficiary on record without an ID, chosen for a kind that needs one: complete the record.
    chosen_national_id = StringField(_l("National ID / iqama number of the chosen beneficiary"),
                                     validators=[Optional(), national_id_check])
    confirm_new = BooleanField(_l("This is a different person with the same mobile number"))

    verified = BooleanField(_l("I checked the data against the documents and it is valid"))
    attested = BooleanField(_l("The applicant confirms the data is correct and is responsible for it (attestation)"))

    # The receipt (issue 20): ticked by default; unticked only with a reason. The language the
    # requester used (the receipt and every later message to them are written in it).
    send_receipt = BooleanField(_l("Send the requester a receipt (reference, tracking link, expected date)"),
                                default=True)
    no_receipt_reason = StringField(_l("Why no receipt"), validators=[Optional(), Length(max=300)])
    locale = SelectField(_l("Language of the requester"), choices=[SelectChoice("ar", "العربية"),
                                                                   SelectChoice("en", "English")],
                         default="ar", validators=[Optional()])

    def __init__(self, *args, departments=(), categories=(), proposed_label=None, **kwargs):
        super().__init__(*args, **kwargs)
        choose = SelectChoice("", _l("Choose…"))
        self.kind.choices = [choose] + [SelectChoice(v, label) for v, label in labels.KINDS.items()]
        self.channel.choices = [choose] + [SelectChoice(v, label) for v, label in labels.CHANNELS.items()]
        self.platform.choices = [SelectChoice("", "—")] + [SelectChoice(v, label) for v, label in labels.PLATFORMS.items()]
        self.priority.choices = [SelectChoice(int(p), label) for p, label in labels.PRIORITIES.items()]
        locale = current_locale()
        self.department_id.choices = [
            SelectChoice(AS_PROPOSED, proposed_label or _l("As proposed by the routing rules")),
            SelectChoice(UNROUTED, _l("Not routed (stays in the shared queue)")),
        ] + [SelectChoice(str(d.id), d.name(locale)) for d in departments]
        kinds = {c.kind for c in categories}
        self.category_id.choices = [SelectChoice("", "—")] + [
            SelectChoice(str(c.id), c.name(locale) if len(kinds) == 1 else f"{labels.KINDS.get(c.kind, c.kind)} · {c.name(locale)}")
            for c in categories]

    @property
    def new_beneficiary_given(self) -> bool:
        return any((self.b_name.data or "").strip() or (f.data or "").strip()
                   for f in (self.b_national_id, self.b_phone, self.b_landline, self.b_email,
                             self.b_commercial_registration, self.b_unified_number, self.b_contact_name))

    def selected_beneficiary_id(self) -> int | None:
        return optional_id(self.beneficiary_id.data)

    def selected_department_id(self) -> int | None:
        return optional_id(self.department_id.data)

    @property
    def department_as_proposed(self) -> bool:
        return (self.department_id.data or AS_PROPOSED) == AS_PROPOSED

    def selected_category_id(self) -> int | None:
        return optional_id(self.category_id.data)
