"""The calendar and service-level forms. They keep what was typed for the re-render; the
rules (real dates, no overlap, hours that end after they start, targets above zero) live in
desk/sla/service.py."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectChoice, StringField
from wtforms.validators import Length, Optional

from desk import labels
from desk.forms import DeskForm, ServiceMultiSelect, ServiceSelect
from desk.sla.calendar import SUNDAY_FIRST, Unit

WEEKDAYS = {
    6: _l("Sunday"), 0: _l("Monday"), 1: _l("Tuesday"), 2: _l("Wednesday"),
    3: _l("Thursday"), 4: _l("Friday"), 5: _l("Saturday"),
}
# The Gregorian months as Saudi Arabic writes them (يناير … ديسمبر).
MONTHS = (
    _l("January"), _l("February"), _l("March"), _l("April"), _l("May"), _l("June"),
    _l("July"), _l("August"), _l("September"), _l("October"), _l("November"), _l("December"),
)
UNITS = {Unit.HOURS: _l("business hours"), Unit.DAYS: _l("business days")}
CALENDARS = {"gregorian": _l("Gregorian"), "hijri": _l("Hijri (Umm al-Qura)")}


class WorkingTimeForm(DeskForm):
    work_days = ServiceMultiSelect(_l("Working days"), choices=[SelectChoice(str(d), WEEKDAYS[d]) for d in SUNDAY_FIRST])
    day_start = StringField(_l("Working hours start"), validators=[Length(max=8)])
    day_end = StringField(_l("Working hours end"), validators=[Length(max=8)])
    ramadan_start = StringField(_l("Ramadan hours start"), validators=[Optional(), Length(max=8)])
    ramadan_end = StringField(_l("Ramadan hours end"), validators=[Optional(), Length(max=8)],
                              description=_l("Leave both Ramadan fields empty to keep the normal hours in Ramadan."))


class HolidayForm(DeskForm):
    name_ar = StringField(_l("Arabic name"), validators=[Length(max=120)])
    name_en = StringField(_l("English name"), validators=[Length(max=120)])
    entered_as = ServiceSelect(_l("Dates typed in"), choices=[SelectChoice(k, v) for k, v in CALENDARS.items()], default="gregorian")
    first_day = StringField(_l("First day"), validators=[Length(max=20)], description=_l("Year-month-day, e.g. 1447-10-01 or 2026-09-23."))
    last_day = StringField(_l("Last day"), validators=[Length(max=20)], description=_l("The last day off, included."))
    confirmed = BooleanField(_l("These are the dates the ministry announced"), default=True)


class TargetForm(DeskForm):
    kind = ServiceSelect(_l("Kind of request"))
    priority = ServiceSelect(_l("Priority"))
    first_response_amount = StringField(_l("First response within"), validators=[Length(max=8)])
    first_response_unit = ServiceSelect(_l("Unit"), default=Unit.DAYS.value)
    resolution_amount = StringField(_l("Resolution within"), validators=[Length(max=8)])
    resolution_unit = ServiceSelect(_l("Unit"), default=Unit.DAYS.value)

    def set_choices(self) -> None:
        self.kind.choices = [SelectChoice("", _l("Choose…"))] + [SelectChoice(k.value, v) for k, v in labels.KINDS.items()]
        self.priority.choices = [SelectChoice("", _l("Any priority"))] + [
            SelectChoice(str(p.value), v) for p, v in labels.PRIORITIES.items()]
        units = [SelectChoice(u.value, v) for u, v in UNITS.items()]
        self.first_response_unit.choices, self.resolution_unit.choices = units, list(units)
