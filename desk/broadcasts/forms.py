from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Optional

from desk.forms import DeskForm, ServiceSelect
from desk.labels import KINDS
from desk.models import BroadcastGroup
from desk.sla.forms import CALENDARS

# The service checks every field, with its messages by the fields (desk.broadcasts.service.check).
AUDIENCES = {
    BroadcastGroup.OPEN: _l("The beneficiaries of open requests in a department or a category"),
    BroadcastGroup.REFERENCES: _l("The beneficiaries of a list of references"),
    BroadcastGroup.KIND_RANGE: _l("Everyone with a request of a type in a period"),
}


class BroadcastForm(DeskForm):
    audience = ServiceSelect(_l("Who receives it"), validators=[Optional()])
    department_id = ServiceSelect(_l("Department"), validators=[Optional()])
    category_id = ServiceSelect(_l("Category"), validators=[Optional()],
                                description=_l("For open requests, or to narrow a type and period."))
    references = TextAreaField(_l("References"), description=_l(
        "Paste the references, one a line or separated by commas."))
    kind = ServiceSelect(_l("Type of request"), validators=[Optional()])
    calendar = ServiceSelect(_l("Dates typed in"), choices=[SelectChoice(k, v) for k, v in CALENDARS.items()],
                             default="gregorian",
                             validators=[Optional()])
    start = StringField(_l("Received from"), description=_l("Year-month-day."))
    end = StringField(_l("Received until"), description=_l("Year-month-day."))
    body_ar = TextAreaField(_l("Arabic text"))
    body_en = TextAreaField(_l("English text"),
                            description=_l("For those who wrote in English; without it they get the Arabic text."))
    aid_delay = BooleanField(_l("An aid delay outside the association's control: mark each request of the group"))
    reason = TextAreaField(_l("Reason of the delay"), description=_l(
        "Shown to the beneficiaries on each request's page and in the message."))

    def set_choices(self, departments, categories, locale: str) -> None:
        self.audience.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(str(k), v) for k, v in AUDIENCES.items()]
        self.department_id.choices = [SelectChoice("", _l("Any department"))] + [
            SelectChoice(str(d.id), d.name(locale)) for d in departments]
        self.category_id.choices = [SelectChoice("", _l("Any category"))] + [
            SelectChoice(str(c.id), f"{KINDS.get(c.kind, c.kind)} · {c.name(locale)}") for c in categories]
        self.kind.choices = [SelectChoice("", _l("Choose…"))] + [SelectChoice(str(k), v) for k, v in KINDS.items()]
