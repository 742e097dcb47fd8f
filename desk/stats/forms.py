"""The period form of the dashboard and the report (a GET form: the period is in the URL).
It keeps what was typed; desk.stats.service.parse_range decides what it means."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, StringField
from wtforms.validators import Length

from desk.forms import DeskForm, ServiceSelect
from desk.sla.forms import CALENDARS

PRESET_LABELS = {
    "": _l("Dates below"),
    "this_month": _l("This month"),
    "last_month": _l("Last month"),
    "this_quarter": _l("This quarter"),
    "this_year": _l("This year"),
    "hijri_year": _l("This Hijri year"),
    "last_12_months": _l("Last 12 months"),
}


class RangeForm(DeskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    preset = ServiceSelect(_l("Period"), choices=[SelectChoice(k, v) for k, v in PRESET_LABELS.items()], default="")
    calendar = ServiceSelect(_l("Dates typed in"), choices=[SelectChoice(k, v) for k, v in CALENDARS.items()],
                             default="gregorian")
    start = StringField(_l("From"), validators=[Length(max=20)], description=_l("Year-month-day, e.g. 2026-01-01 or 1447-07-01."))
    end = StringField(_l("To"), validators=[Length(max=20)], description=_l("The last day, included."))
