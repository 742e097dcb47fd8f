"""Forms of the field work. They keep what was typed for the re-render; the rules live in
desk/survey/service.py. The survey's own form has one pair of fields per item (state_<id>,
note_<id>) and is read straight from the request (see views.answers_from)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Length, Optional

from desk import labels
from desk.forms import DeskForm, ServiceSelect
from desk.models import AnswerState, ItemCode, Severity

STATES = {
    AnswerState.OK: _l("OK"),
    AnswerState.ATTENTION: _l("Needs attention"),
    AnswerState.NOT_APPLICABLE: _l("Not applicable"),
}
SEVERITIES = {Severity.LOW: _l("Low"), Severity.MEDIUM: _l("Medium"), Severity.HIGH: _l("High")}
VISIT_REASON_LABELS = {
    "inquiry": _l("Inquiry"),
    "complaint": _l("Complaint"),
    "support": _l("Support request"),
    "follow_up": _l("Following up a request"),
    "documents": _l("Delivering documents"),
    "other": _l("Other"),
}

STAFFED_LABELS = labels.STAFFED
# The kinds of survey item an admin may add (desk.survey.service.ITEM_KINDS).
ITEM_KIND_LABELS = {"": _l("An item answered OK / needs attention"),
                    ItemCode.STAFF_READINESS.value: _l("Staff readiness: who is on duty, and whether the reception "
                                                       "is staffed")}


class SiteForm(DeskForm):
    """A site, or an auxiliary service (the same fields: names in both languages, order, active)."""

    name_ar = StringField(_l("Name in Arabic"), validators=[Length(max=200)])
    name_en = StringField(_l("Name in English"), validators=[Length(max=200)])
    position = IntegerField(_l("Order"), validators=[Optional()], default=0)
    active = BooleanField(_l("Active"), default=True)


class ItemForm(DeskForm):
    kind = ServiceSelect(_l("Kind of item"), choices=[SelectChoice(k, v) for k, v in ITEM_KIND_LABELS.items()],
                         default="")
    text_ar = TextAreaField(_l("Text in Arabic"), validators=[Length(max=1000)])
    text_en = TextAreaField(_l("Text in English"), validators=[Length(max=1000)])
    position = IntegerField(_l("Order"), validators=[Optional()], default=0)
    active = BooleanField(_l("Active"), default=True)


class EmergencyForm(DeskForm):
    site_id = ServiceSelect(_l("Site"), choices=[])
    occurred_at = StringField(_l("When it happened"), validators=[Length(max=20)])
    severity = ServiceSelect(_l("Severity"), choices=[SelectChoice(k.value, v) for k, v in SEVERITIES.items()],
                             default=Severity.MEDIUM.value)
    what_happened = TextAreaField(_l("What happened"), validators=[Length(max=8000)])
    action_taken = TextAreaField(_l("Corrective action taken on the spot"), validators=[Length(max=8000)])


class AcknowledgeForm(DeskForm):
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=4000)])
