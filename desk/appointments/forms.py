"""The appointment forms. They keep what was typed for the re-render (422); every rule lives in
desk/appointments/service.py, which puts its messages by the fields."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, StringField, TextAreaField
from wtforms.validators import Length

from desk.forms import DeskForm, ServiceSelect


class AvailabilityForm(DeskForm):
    repeat = ServiceSelect(_l("Repeats"), default="weekly")
    weekday = ServiceSelect(_l("Day of the week"))
    on_day = StringField(_l("Date (one day only)"), validators=[Length(max=20)],
                         description=_l("Year-month-day, e.g. 2026-12-06. Arabic-Indic digits are accepted."))
    starts = StringField(_l("From"), validators=[Length(max=8)], description=_l("e.g. 10:00"))
    ends = StringField(_l("Until"), validators=[Length(max=8)], description=_l("e.g. 12:00"))
    slot_minutes = ServiceSelect(_l("Length of one appointment"), default="30")


class BookingForm(DeskForm):
    """Booking a slot: on the portal, and by intake staff for a walk-in or a caller (``reference``:
    the ticket it is about, staff only)."""

    slot_id = ServiceSelect(_l("Time"))
    name = StringField(_l("Name"), validators=[Length(max=200)])
    phone = StringField(_l("Mobile number"), validators=[Length(max=30)])
    email = EmailField(_l("Email (optional)"), validators=[Length(max=254)])
    reason = TextAreaField(_l("Reason for the appointment"), validators=[Length(max=2000)])
    reference = StringField(_l("Ticket reference (optional)"), validators=[Length(max=30)])


class VisitForm(DeskForm):
    status = ServiceSelect(_l("The visit"))
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])


class CancelForm(DeskForm):
    confirm = HiddenField(default="1")
