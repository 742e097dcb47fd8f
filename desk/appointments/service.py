"""Appointments with officials (المواعيد, R53): availability, slots, bookings, visits, reminders.

Plain functions of (session, actor, data). Every public function that writes is one
transaction (desk.transaction.atomic); a refused change raises ValidationFailed (field →
messages) and writes nothing. Every message leaves through the outbox in the same transaction.

- An official (any staff user) publishes availability inside the business calendar
  (desk.sla: Sunday to Thursday, the day's hours, official holidays, the Ramadan hours):
  a weekly pattern or one day. A pattern outside the working days or hours is refused.
- ``generate_slots`` turns availability into slots for the coming ``WEEKS_AHEAD`` weeks, skipping
  holidays and whatever falls outside that day's hours (Ramadan's are shorter). A holiday added
  later hides the slots already generated for it (``open_slots`` asks the calendar again).
- ``book``: one slot, one booking, enforced by the unique ``appointments.slot_id``. The loser
  of a race gets the field message "This time was just taken".
- ``remind``: the day-before reminder, claimed by a conditional UPDATE on ``reminded_at`` so two
  sweeps never send it twice.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from desk import labels
from desk.channels import sms
from desk.errors import NotFound, ValidationFailed, add_error, required_text
from desk.forms import optional_id
from desk.models import (
    Appointment,
    AppointmentSlot,
    AppointmentStatus,
    Availability,
    EventKind,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    User,
    utcnow,
)
from desk.notify import messages
from desk.notify.service import notify_users
from desk.permissions import Action, can, require_appointment, visible_appointments
from desk.portal import tracking
from desk.sla.calendar import BusinessCalendar, working_period
from desk.sla.service import GREGORIAN, load_calendar, parse_clock, parse_day
from desk.text import RIYADH, InvalidPhone, format_both, is_mobile, parse_mobile, strip_invisible, to_riyadh
from desk.tickets.workflow import record
from desk.transaction import atomic

Errors = dict[str, list]
WEEKS_AHEAD = 4
SLOT_MINUTES = (15, 20, 30, 45, 60)
MAX_NAME, MAX_REASON, MAX_NOTES = 200, 2000, 5000
WEEKLY, ONCE = "weekly", "once"
TAKEN = _l("This time was just taken by someone else. Choose another time.")


# Availability ---------------------------------------------------------------------------------

@dataclass
class AvailabilityData:
    repeat: str = WEEKLY        # weekly | once
    weekday: str = ""           # Python weekday number as typed (weekly)
    on_day: str = ""            # a date (once); Arabic-Indic digits accepted
    starts: str = ""
    ends: str = ""
    slot_minutes: str = "30"


def _clock(errors: Errors, field: str, raw: str) -> time | None:
    if not (raw or "").strip():
        add_error(errors, field, _l("Enter a time, e.g. 08:00."))
        return None
    try:
        return parse_clock(raw)
    except ValueError:
        add_error(errors, field, _l("Enter the time as hours and minutes, e.g. 08:00 or 15:30."))
        return None


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def check_availability(calendar: BusinessCalendar, data: AvailabilityData, today: date) -> tuple[Errors, dict]:
    """The typed availability as column values, with a message by every field the calendar or
    the form refuses: not a working day, a holiday, outside the day's hours, a past day."""
    errors: Errors = {}
    values: dict = {}
    starts, ends = _clock(errors, "starts", data.starts), _clock(errors, "ends", data.ends)
    minutes = str(data.slot_minutes or "").strip()
    minutes = str(optional_id(minutes) or "")
    if not minutes or int(minutes) not in SLOT_MINUTES:
        add_error(errors, "slot_minutes", _l("Choose the length of one appointment."))
    hours = (calendar.start, calendar.end)
    if data.repeat == WEEKLY:
        raw = str(data.weekday or "").strip()
        raw = str(optional_id(raw) if optional_id(raw) is not None else "")
        if not raw or int(raw) not in range(7):
            add_error(errors, "weekday", _l("Choose the day of the week."))
        elif int(raw) not in calendar.work_days:
            add_error(errors, "weekday", _l("This is not a working day of the association."))
        else:
            values["weekday"] = int(raw)
    elif data.repeat == ONCE:
        day = None
        if not (data.on_day or "").strip():
            add_error(errors, "on_day", _l("Enter the date."))
        else:
            try:
                day = parse_day(data.on_day, GREGORIAN)
            except ValueError:
                add_error(errors, "on_day", _l("Enter a valid date, e.g. 2026-12-04."))
        if day is not None:
            if day < today:
                add_error(errors, "on_day", _l("This day has passed."))
            elif calendar.is_holiday(day):
                add_error(errors, "on_day", _l("This day is an official holiday."))
            elif not calendar.is_working_day(day):
                add_error(errors, "on_day", _l("This is not a working day of the association."))
            else:
                values["on_day"] = day
                hours = calendar.hours_on(day)
    else:
        add_error(errors, "repeat", _l("Choose weekly or one day."))
    if starts is not None and ends is not None:
        if ends <= starts:
            add_error(errors, "ends", _l("The end must be after the start."))
        elif starts < hours[0] or ends > hours[1]:
            add_error(errors, "starts", _l("Appointments are within working hours only (%(start)s–%(end)s).",
                                           start=_hhmm(hours[0]), end=_hhmm(hours[1])))
        elif "slot_minutes" not in errors and _minutes(starts, ends) < int(minutes):
            add_error(errors, "ends", _l("The period is shorter than one appointment."))
    if not errors:
        values.update(starts=starts, ends=ends, slot_minutes=int(minutes))
    return errors, values


def _minutes(a: time, b: time) -> int:
    return (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute)


def add_availability(session: Session, actor: User, official: User, data: AvailabilityData,
                     now: datetime | None = None) -> Availability:
    """Publish ``official``'s availability and generate its slots, in one transaction."""
    require_appointment(actor, Action.APPOINTMENT_SLOTS, official=official)
    now = now or utcnow()
    errors, values = check_availability(load_calendar(session), data, to_riyadh(now).date())
    if errors:
        raise ValidationFailed(errors)
    with atomic(session):
        row = Availability(official_id=official.id, created_by_id=actor.id, **values)
        session.add(row)
        session.flush()
        _generate(session, load_calendar(session), [row], now)
    return row


def availability_of(session: Session, official: User) -> list[Availability]:
    return list(session.scalars(select(Availability).where(Availability.official_id == official.id)
                                .order_by(Availability.on_day.is_not(None), Availability.weekday,
                                          Availability.on_day, Availability.starts)))


def remove_availability(session: Session, actor: User, availability_id: int, now: datetime | None = None) -> int:
    """Withdraw an availability and its future slots that nobody booked; booked ones stay (their
    ``availability_id`` becomes NULL) until their booking is cancelled, when ``cancel`` removes
    them instead of offering them again. The official's id."""
    row = session.get(Availability, availability_id)
    if row is None:
        raise NotFound()
    require_appointment(actor, Action.APPOINTMENT_SLOTS, official=row.official)
    now = now or utcnow()
    official_id = row.official_id
    booked = select(Appointment.slot_id).where(Appointment.slot_id.is_not(None))
    with atomic(session):
        for slot in session.scalars(select(AppointmentSlot).where(
                AppointmentSlot.availability_id == row.id, AppointmentSlot.starts_at > now,
                AppointmentSlot.id.not_in(booked))):
            session.delete(slot)
        session.delete(row)
    return official_id


# Slots -------------------------------------------------------------------------------------

def _slots_of(availability: Availability, day: date, calendar: BusinessCalendar) -> list[tuple[datetime, datetime]]:
    """The slots of one availability on one local day, inside that day's working period."""
    if availability.on_day is not None and availability.on_day != day:
        return []
    if availability.on_day is None and availability.weekday != day.weekday():
        return []
    period = working_period(day, calendar)
    if period is None:
        return []
    out = []
    step = timedelta(minutes=availability.slot_minutes)
    start = datetime.combine(day, availability.starts, RIYADH)
    last = datetime.combine(day, availability.ends, RIYADH)
    while start + step <= last:
        s, e = start.astimezone(UTC), (start + step).astimezone(UTC)
        if period[0] <= s and e <= period[1]:
            out.append((s, e))
        start += step
    return out


def _generate(session: Session, calendar: BusinessCalendar, rows: Sequence[Availability], now: datetime) -> int:
    """Add the missing slots of ``rows`` for the coming weeks (joins the caller's transaction)."""
    first = to_riyadh(now).date()
    days = [first + timedelta(n) for n in range(WEEKS_AHEAD * 7)]
    end = datetime.combine(days[-1] + timedelta(1), time(0), RIYADH)
    officials = sorted({r.official_id for r in rows})
    existing = {(official_id, starts_at) for official_id, starts_at in session.execute(
        select(AppointmentSlot.official_id, AppointmentSlot.starts_at).where(
            AppointmentSlot.official_id.in_(officials), AppointmentSlot.starts_at >= now,
            AppointmentSlot.starts_at < end))}
    added = 0
    for row in rows:
        for day in days:
            for s, e in _slots_of(row, day, calendar):
                if s <= now or (row.official_id, s) in existing:
                    continue
                existing.add((row.official_id, s))
                session.add(AppointmentSlot(official_id=row.official_id, availability_id=row.id, starts_at=s, ends_at=e))
                added += 1
    return added


def generate_slots(session: Session, now: datetime | None = None) -> int:
    """The sweep: every availability's slots for the coming weeks; how many were added. First it
    removes the coming slots of a withdrawn availability that nobody holds (a booking cancelled
    before ``cancel`` removed them itself), so they are offered no more."""
    now = now or utcnow()
    booked = select(Appointment.slot_id).where(Appointment.slot_id.is_not(None))
    with atomic(session):
        session.execute(delete(AppointmentSlot).where(
            AppointmentSlot.availability_id.is_(None), AppointmentSlot.starts_at > now,
            AppointmentSlot.id.not_in(booked)).execution_options(synchronize_session=False))
        rows = list(session.scalars(select(Availability).where(
            (Availability.on_day.is_(None)) | (Availability.on_day >= to_riyadh(now).date()))))
        added = _generate(session, load_calendar(session), rows, now) if rows else 0
    return added


def in_calendar(slot: AppointmentSlot, calendar: BusinessCalendar) -> bool:
    """The slot still lies inside its day's working period (a holiday may have been added since)."""
    period = working_period(to_riyadh(slot.starts_at).date(), calendar)
    return period is not None and period[0] <= slot.starts_at and slot.ends_at <= period[1]


def open_slots(session: Session, now: datetime | None = None, official_id: int | None = None,
               limit: int = 400) -> list[AppointmentSlot]:
    """Free slots from now on, in time order, inside today's calendar."""
    now = now or utcnow()
    booked = select(Appointment.slot_id).where(Appointment.slot_id.is_not(None))
    query = (select(AppointmentSlot).options(joinedload(AppointmentSlot.official))
             .join(User, User.id == AppointmentSlot.official_id)
             .where(AppointmentSlot.starts_at > now, AppointmentSlot.id.not_in(booked), User.active.is_(True))
             .order_by(AppointmentSlot.starts_at, AppointmentSlot.official_id).limit(limit))
    if official_id is not None:
        query = query.where(AppointmentSlot.official_id == official_id)
    calendar = load_calendar(session)
    return [slot for slot in session.scalars(query) if in_calendar(slot, calendar)]


def slots_of_official(session: Session, official: User, now: datetime | None = None) -> list[tuple[AppointmentSlot, Appointment | None]]:
    """The official's coming slots with their booking, if any."""
    now = now or utcnow()
    return [(slot, appointment) for slot, appointment in session.execute(
        select(AppointmentSlot, Appointment).outerjoin(Appointment, Appointment.slot_id == AppointmentSlot.id)
        .where(AppointmentSlot.official_id == official.id, AppointmentSlot.starts_at > now)
        .order_by(AppointmentSlot.starts_at).limit(200))]


# Booking ----------------------------------------------------------------------------------

@dataclass
class BookingData:
    slot_id: str = ""
    name: str = ""
    phone: str = ""
    email: str = ""
    reason: str = ""
    locale: str = "ar"
    ticket: Ticket | None = None     # the request it is about (the tracking link, or staff's choice)


def _contact(errors: Errors, data: BookingData) -> tuple[str | None, str | None]:
    phone = email = None
    if (data.phone or "").strip():
        try:
            phone = parse_mobile(data.phone)
        except InvalidPhone:
            add_error(errors, "phone", _l("Enter a Saudi mobile number, e.g. 05XXXXXXXX."))
    if (data.email or "").strip():
        try:
            email = validate_email(strip_invisible(data.email).strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            add_error(errors, "email", _l("Enter a valid email address."))
    if phone is None and email is None and "phone" not in errors and "email" not in errors:
        add_error(errors, "phone", _l("Give a mobile number or an email address, so we can confirm the appointment."))
    return phone, email


def book(session: Session, actor: User | None, data: BookingData, now: datetime | None = None) -> tuple[Appointment, str]:
    """Book a slot: on the portal (``actor`` None) or by intake staff for a walk-in or a caller.
    The appointment and the private key of its link (only the key's digest is stored); the
    confirmation goes out through the outbox, and a linked ticket gets a timeline event."""
    if actor is not None:
        require_appointment(actor, Action.APPOINTMENT_BOOK)
    now = now or utcnow()
    errors: Errors = {}
    slot = None
    raw = str(data.slot_id or "").strip()
    if optional_id(raw) is not None:
        slot = session.get(AppointmentSlot, optional_id(raw))
    if slot is None or slot.starts_at <= now or not in_calendar(slot, load_calendar(session)):
        add_error(errors, "slot_id", _l("Choose one of the times offered."))
    name = required_text(errors, "name", data.name, _l("Enter the name."), MAX_NAME)
    reason = required_text(errors, "reason", data.reason, _l("Write the reason for the appointment."), MAX_REASON)
    phone, email = _contact(errors, data)
    if errors or slot is None:
        raise ValidationFailed(errors)
    key, digest = tracking.new_key()
    try:
        with atomic(session, data.ticket):
            appointment = Appointment(
                slot_id=slot.id, official_id=slot.official_id, starts_at=slot.starts_at, ends_at=slot.ends_at,
                ticket_id=data.ticket.id if data.ticket else None, name=name, phone=phone, email=email,
                reason=reason, locale=data.locale if data.locale in ("ar", "en") else "ar",
                status=AppointmentStatus.BOOKED, booked_by_id=actor.id if actor else None, key_hash=digest,
                created_at=now)
            session.add(appointment)
            session.flush()  # the unique slot_id: a second booking of the slot stops here
            if data.ticket is not None:
                _event(session, appointment, data.ticket, actor, AppointmentStatus.BOOKED, reason)
            _tell_beneficiary(session, appointment, "confirmed", key)
    except IntegrityError:
        raise ValidationFailed({"slot_id": [TAKEN]}) from None
    return appointment, key


def manage_link(key: str) -> str:
    return messages.absolute_url("appointments_portal.open_key", key=key)


def by_key(session: Session, key: str) -> Appointment | None:
    """The appointment of a private link (digest compared by the database's unique index)."""
    if not key or len(key) > 64:
        return None
    return session.scalar(select(Appointment).where(Appointment.key_hash == tracking.digest(key)))


# Cancelling and recording the visit ----------------------------------------------------------

def _change(session: Session, appointment: Appointment, allowed: Sequence[str], refusal, **values) -> None:
    """Change the appointment only while its status is one of ``allowed`` (a conditional UPDATE:
    of two people cancelling or recording at once, one wins and the other gets ``refusal``)."""
    done = session.execute(
        update(Appointment).where(Appointment.id == appointment.id, Appointment.status.in_(list(allowed)))
        .values(**values).execution_options(synchronize_session=False))
    if not isinstance(done, CursorResult) or done.rowcount != 1:
        raise ValidationFailed({"status": [refusal]})
    session.refresh(appointment)


def cancel(session: Session, actor: User | None, appointment: Appointment, now: datetime | None = None) -> Appointment:
    """Cancel a booked appointment: by the beneficiary (``actor`` None, through their link) or by
    staff. The slot is free again, unless the official withdrew its availability meanwhile: then
    the slot goes (in the same transaction), never offered again. The other side is told through
    the outbox."""
    if actor is not None:
        require_appointment(actor, Action.APPOINTMENT_RECORD, appointment)
    now = now or utcnow()
    ticket = appointment.ticket
    slot_id = appointment.slot_id
    with atomic(session, ticket):
        _change(session, appointment, (AppointmentStatus.BOOKED,), _l("Only a booked appointment can be cancelled."),
                status=AppointmentStatus.CANCELLED, slot_id=None, cancelled_at=now,
                cancelled_by="staff" if actor is not None else "beneficiary")
        if slot_id is not None:  # a slot whose availability was withdrawn is not offered again
            session.execute(delete(AppointmentSlot).where(AppointmentSlot.id == slot_id,
                                                          AppointmentSlot.availability_id.is_(None))
                            .execution_options(synchronize_session=False))
        if ticket is not None:
            _event(session, appointment, ticket, actor, AppointmentStatus.CANCELLED,
                   str(_l("Cancelled by the beneficiary")) if actor is None else None)
        if actor is None:  # the official is told
            notify_users(session, "appointment_cancelled", [appointment.official],
                         "appointments/official_cancelled.txt", appointment=appointment,
                         when=_when(appointment, appointment.official.locale),
                         link=messages.absolute_url("appointments.show", appointment_id=appointment.id))
        else:  # the beneficiary is told
            _tell_beneficiary(session, appointment, "cancelled")
    return appointment


VISIT_OUTCOMES = (AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW)


def record_visit(session: Session, actor: User, appointment: Appointment, status: str | None,
                 notes: str | None, now: datetime | None = None) -> Appointment:
    """Check the person in (attended) or record that they did not come, with notes. A linked
    ticket gets a timeline event. The outcome may be corrected; a cancelled one stays cancelled."""
    require_appointment(actor, Action.APPOINTMENT_RECORD, appointment)
    errors: Errors = {}
    if status not in set(VISIT_OUTCOMES):
        add_error(errors, "status", _l("Choose attended or did not attend."))
    text = (notes or "").strip()
    if len(text) > MAX_NOTES:
        add_error(errors, "notes", _l("The text is too long (at most %(n)s characters).", n=MAX_NOTES))
    if errors or status is None:
        raise ValidationFailed(errors)
    ticket = appointment.ticket
    with atomic(session, ticket):
        _change(session, appointment, (AppointmentStatus.BOOKED, *VISIT_OUTCOMES), _l("This appointment was cancelled."),
                status=status, notes=text or None, recorded_at=now or utcnow(), recorded_by_id=actor.id)
        if ticket is not None:
            _event(session, appointment, ticket, actor, status, text or None)
    return appointment


def _event(session: Session, appointment: Appointment, ticket: Ticket, actor: User | None, status: str,
           note: str | None) -> None:
    """The ticket's timeline event: the status, when and with whom, and the note. An official
    who may not see the ticket (another department's request booked with them) adds only the
    outcome: their note stays on the appointment, not on a ticket they may not read or write."""
    official = appointment.official or session.get(User, appointment.official_id)
    body = f"{format_both(appointment.starts_at, 'ar')} · {official.name if official else ''}"
    if note and (actor is None or can(actor, Action.TICKET_VIEW, ticket)):
        body += "\n" + note
    record(session, ticket, actor, EventKind.APPOINTMENT, new=status, body=body, reason=None if actor else "portal")


# Messages --------------------------------------------------------------------------------

def _when(appointment: Appointment, locale: str) -> str:
    return format_both(appointment.starts_at, locale if locale in ("ar", "en") else "ar")


def _tell_beneficiary(session: Session, appointment: Appointment, kind: str, key: str | None = None) -> list[OutboxMessage]:
    """Queue ``kind`` (confirmed, reminder, cancelled) to the person: on WhatsApp when the linked
    request came that way, else by email when they gave one, and by SMS when the gateway is set
    (always for the confirmation, which carries their link; otherwise when there is no email)."""
    official = appointment.official or session.get(User, appointment.official_id)
    link = manage_link(key) if key else None
    locale = appointment.locale if appointment.locale in ("ar", "en") else "ar"
    from flask import render_template
    from flask_babel import force_locale
    with force_locale(locale):
        text = render_template(f"appointments/beneficiary_{kind}.txt", appointment=appointment,
                               name=messages.scrub(appointment.name), official=official.name if official else "",
                               when=_when(appointment, locale), link=link,
                               status=labels.APPOINTMENT_STATUSES[appointment.status])
    subject, _, body = text.strip().partition("\n")
    subject, body = subject.strip()[:messages.SUBJECT_MAX], body.strip() + "\n"
    reason = f"appointment_{kind}"
    queued: list[OutboxMessage] = []

    def queue(channel: str, address: str, text_body: str, meta: dict | None) -> None:
        row = OutboxMessage(channel=channel, to_address=address, to_user_id=None, subject=subject,
                            body_text=text_body, ticket_id=appointment.ticket_id, reason=reason, meta=meta,
                            status=OutboxStatus.PENDING, attempts=0, next_attempt_at=utcnow())
        session.add(row)
        queued.append(row)

    ticket = appointment.ticket
    whatsapp = ((ticket.meta or {}).get("whatsapp") or {}).get("phone") if ticket is not None else None
    if whatsapp:
        queue("whatsapp", whatsapp, subject + "\n", {"reference": ticket.reference if ticket else "",
                                                       "link": link or messages.absolute_url("portal.home")})
        return queued
    if appointment.email:
        queue("email", appointment.email, body, None)
    if appointment.phone and is_mobile(appointment.phone) and sms.enabled() and (kind == "confirmed" or not queued):
        queue("sms", appointment.phone, subject + ("\n" + link if link else "") + "\n",
              {"reference": ticket.reference if ticket else ""})
    return queued


def remind(session: Session, now: datetime | None = None) -> int:
    """The day-before reminder: every booked appointment of tomorrow (Asia/Riyadh) not reminded yet.
    Each is claimed by ``UPDATE … WHERE reminded_at IS NULL`` in the transaction that queues its
    message, so running the sweep twice, or two sweeps at once, never sends it twice."""
    now = now or utcnow()
    tomorrow = to_riyadh(now).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time(0), RIYADH).astimezone(UTC)
    end = start + timedelta(days=1)
    ids = list(session.scalars(select(Appointment.id).where(
        Appointment.status == AppointmentStatus.BOOKED, Appointment.reminded_at.is_(None),
        Appointment.starts_at >= start, Appointment.starts_at < end).order_by(Appointment.starts_at)))
    sent = 0
    for appointment_id in ids:
        with atomic(session):
            claimed = session.execute(
                update(Appointment).where(Appointment.id == appointment_id, Appointment.reminded_at.is_(None),
                                          Appointment.status == AppointmentStatus.BOOKED)
                .values(reminded_at=now).execution_options(synchronize_session=False))
            if not isinstance(claimed, CursorResult) or claimed.rowcount != 1:
                continue
            appointment = session.get(Appointment, appointment_id)
            if appointment is not None:
                session.refresh(appointment)
                _tell_beneficiary(session, appointment, "reminder")
                sent += 1
    return sent


# Reading ---------------------------------------------------------------------------------

def get(session: Session, actor: User, appointment_id: int) -> Appointment:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound()
    require_appointment(actor, Action.APPOINTMENT_VIEW, appointment)
    return appointment


def day_list(session: Session, actor: User, day: date) -> list[Appointment]:
    """The appointments of a local day the actor may see, in time order (cancelled ones last)."""
    start = datetime.combine(day, time(0), RIYADH).astimezone(UTC)
    return list(session.scalars(
        select(Appointment).options(joinedload(Appointment.official), joinedload(Appointment.ticket))
        .where(visible_appointments(actor), Appointment.starts_at >= start,
               Appointment.starts_at < start + timedelta(days=1))
        .order_by(Appointment.status == AppointmentStatus.CANCELLED, Appointment.starts_at, Appointment.id)))


def upcoming(session: Session, actor: User, now: datetime | None = None, days: int = 14) -> list[Appointment]:
    """Booked appointments from tomorrow on, for ``days`` days, that the actor may see."""
    now = now or utcnow()
    start = datetime.combine(to_riyadh(now).date() + timedelta(1), time(0), RIYADH).astimezone(UTC)
    return list(session.scalars(
        select(Appointment).options(joinedload(Appointment.official), joinedload(Appointment.ticket))
        .where(visible_appointments(actor), Appointment.status == AppointmentStatus.BOOKED,
               Appointment.starts_at >= start, Appointment.starts_at < start + timedelta(days=days))
        .order_by(Appointment.starts_at, Appointment.id).limit(300)))


def officials(session: Session) -> list[User]:
    """Who may publish availability: every active staff user."""
    from desk.models import UserRole
    return list(session.scalars(select(User).where(User.active.is_(True), User.id.in_(select(UserRole.user_id)))
                                .order_by(User.name)))


def linkable_ticket(session: Session, actor: User, reference: str | None) -> Ticket | None:
    """The ticket staff name when booking (its reference), if they may see it; ValidationFailed otherwise."""
    from desk.text import normalize_reference
    typed = normalize_reference(reference or "")
    if not typed:
        return None
    ticket = session.scalar(select(Ticket).where(Ticket.reference == typed))
    if ticket is None or not can(actor, Action.TICKET_VIEW, ticket):
        raise ValidationFailed({"reference": [_l("No ticket has this reference number.")]})
    return ticket

