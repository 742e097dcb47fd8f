"""Appointments with officials (المواعيد, R53, issue 20 point 8): availability inside the business
calendar, slots for the coming weeks, one booking per slot enforced by the database, the
confirmation and the day-before reminder through the outbox (once), cancellation told to the
other side, the visit recorded on the ticket's timeline, and who may do what."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hijridate import Hijri
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from desk.accounts.service import create_user
from desk.appointments import service
from desk.errors import NotFound, ValidationFailed
from desk.models import (
    Appointment,
    AppointmentSlot,
    AppointmentStatus,
    Availability,
    EventKind,
    Holiday,
    OutboxMessage,
    TicketEvent,
    WorkingTime,
)
from desk.sla.service import load_calendar
from desk.text import RIYADH, to_riyadh
from tests.conftest import PASSWORD, count

# Sunday 6 December 2026, 08:00 in Riyadh: the first hour of a working week.
SUNDAY = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
SUNDAY_WD, TUESDAY_WD, FRIDAY_WD = 6, 1, 4


@pytest.fixture
def official(db, people):
    return create_user(db.session, "official@example.org", PASSWORD, "الأستاذ خالد", ["staff"])


def weekly(day: int, starts="10:00", ends="12:00", minutes="30") -> service.AvailabilityData:
    return service.AvailabilityData(repeat=service.WEEKLY, weekday=str(day), starts=starts, ends=ends,
                                    slot_minutes=minutes)


def holiday(db, first: date, last: date | None = None) -> None:
    db.session.add(Holiday(name_ar="إجازة", name_en="Holiday", first_day=first, last_day=last or first,
                           confirmed_at=SUNDAY))
    db.session.commit()


def local(slot) -> datetime:
    return to_riyadh(slot.starts_at)


def a_slot(db, official, now=SUNDAY) -> AppointmentSlot:
    service.add_availability(db.session, official, official, weekly(SUNDAY_WD), now=now)
    return service.open_slots(db.session, now, official_id=official.id)[0]


def booking(slot, **overrides) -> service.BookingData:
    data = service.BookingData(slot_id=str(slot.id), name="فاطمة أحمد", phone="0551234567",
                               email="fatima@example.net", reason="متابعة طلب الدعم")
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


# Slots and the calendar ---------------------------------------------------------------------

def test_weekly_availability_makes_slots_on_working_days_and_skips_holidays(db, official):
    holiday(db, date(2026, 12, 8))  # a Tuesday
    service.add_availability(db.session, official, official, weekly(SUNDAY_WD), now=SUNDAY)
    service.add_availability(db.session, official, official, weekly(TUESDAY_WD), now=SUNDAY)
    slots = service.open_slots(db.session, SUNDAY, official_id=official.id)
    days = sorted({local(s).date() for s in slots})
    assert days == [date(2026, 12, 6), date(2026, 12, 13), date(2026, 12, 15), date(2026, 12, 20),
                    date(2026, 12, 22), date(2026, 12, 27), date(2026, 12, 29)]  # not the holiday of the 8th
    assert len(slots) == 7 * 4  # 10:00, 10:30, 11:00, 11:30 each day
    assert {local(s).time() for s in slots} == {time(10), time(10, 30), time(11), time(11, 30)}
    assert all(s.ends_at - s.starts_at == timedelta(minutes=30) for s in slots)
    # Generating again (the sweep) adds nothing.
    assert service.generate_slots(db.session, SUNDAY) == 0
    assert count(db, AppointmentSlot) == 28


def test_a_holiday_added_later_hides_its_slots_and_refuses_booking_them(db, official):
    service.add_availability(db.session, official, official, weekly(SUNDAY_WD), now=SUNDAY)
    on_13th = [s for s in service.open_slots(db.session, SUNDAY) if local(s).date() == date(2026, 12, 13)]
    assert len(on_13th) == 4
    holiday(db, date(2026, 12, 13))
    assert not [s for s in service.open_slots(db.session, SUNDAY) if local(s).date() == date(2026, 12, 13)]
    with pytest.raises(ValidationFailed) as refused:
        service.book(db.session, None, booking(on_13th[0]), now=SUNDAY)
    assert set(refused.value.errors) == {"slot_id"}


def test_availability_outside_the_calendar_is_refused_by_field(db, official):
    calls = [
        (weekly(FRIDAY_WD), "weekday"),                          # the weekend
        (weekly(SUNDAY_WD, "07:00", "09:00"), "starts"),         # before working hours
        (weekly(SUNDAY_WD, "15:00", "17:00"), "starts"),         # after them
        (weekly(SUNDAY_WD, "11:00", "10:00"), "ends"),
        (weekly(SUNDAY_WD, "10:00", "10:15", "30"), "ends"),     # shorter than one appointment
        (weekly(SUNDAY_WD, minutes="7"), "slot_minutes"),
        (service.AvailabilityData(repeat=service.ONCE, on_day="2026-12-08", starts="10:00", ends="11:00"), "on_day"),
        (service.AvailabilityData(repeat=service.ONCE, on_day="2026-12-01", starts="10:00", ends="11:00"), "on_day"),
        (service.AvailabilityData(repeat=service.ONCE, on_day="2026-12-11", starts="10:00", ends="11:00"), "on_day"),
    ]
    holiday(db, date(2026, 12, 8))
    for data, field in calls:
        with pytest.raises(ValidationFailed) as refused:
            service.add_availability(db.session, official, official, data, now=SUNDAY)
        assert field in refused.value.errors, (data, refused.value.errors)
    assert count(db, Availability) == 0 and count(db, AppointmentSlot) == 0


def test_one_day_typed_in_arabic_indic_digits(db, official):
    data = service.AvailabilityData(repeat=service.ONCE, on_day="٢٠٢٦-١٢-٠٧", starts="٠٩:٠٠", ends="١٠:٠٠",
                                    slot_minutes="٢٠")
    service.add_availability(db.session, official, official, data, now=SUNDAY)
    slots = service.open_slots(db.session, SUNDAY, official_id=official.id)
    assert [local(s).strftime("%Y-%m-%d %H:%M") for s in slots] == [
        "2026-12-07 09:00", "2026-12-07 09:20", "2026-12-07 09:40"]


def test_in_ramadan_only_the_ramadan_hours_hold(db, official):
    db.session.add(WorkingTime(id=1, work_days=[6, 0, 1, 2, 3], day_start=time(8), day_end=time(16),
                               ramadan_start=time(10), ramadan_end=time(15)))
    db.session.commit()
    first = Hijri(1448, 9, 1).to_gregorian()
    calendar = load_calendar(db.session)
    day = next(first + timedelta(n) for n in range(10) if calendar.is_working_day(first + timedelta(n)))
    now = datetime.combine(day - timedelta(days=1), time(8), RIYADH).astimezone(UTC)
    with pytest.raises(ValidationFailed) as refused:
        service.add_availability(db.session, official, official, service.AvailabilityData(
            repeat=service.ONCE, on_day=day.isoformat(), starts="14:00", ends="16:00"), now=now)
    assert "starts" in refused.value.errors
    # A weekly pattern in normal hours makes no slot past the Ramadan hours on Ramadan days.
    service.add_availability(db.session, official, official, weekly(day.weekday(), "14:00", "16:00", "60"), now=now)
    on_day = [s for s in service.open_slots(db.session, now) if local(s).date() == day]
    assert [local(s).time() for s in on_day] == [time(14)]


# Booking -----------------------------------------------------------------------------------

def test_a_booking_is_confirmed_through_the_outbox_with_its_private_link(db, official):
    slot = a_slot(db, official)
    appointment, key = service.book(db.session, None, booking(slot), now=SUNDAY)
    assert appointment.status == AppointmentStatus.BOOKED and appointment.phone == "+966551234567"
    assert appointment.key_hash and key not in appointment.key_hash
    message = db.session.scalar(select(OutboxMessage))
    assert message.reason == "appointment_confirmed" and message.channel == "email"
    assert message.to_address == "fatima@example.net"
    assert f"/portal/appointments/k/{key}" in message.body_text
    assert "الأستاذ خالد" in message.body_text and "هـ" in message.body_text  # Hijri beside Gregorian
    assert service.by_key(db.session, key).id == appointment.id
    assert slot.id not in {s.id for s in service.open_slots(db.session, SUNDAY)}


def test_a_slot_holds_one_booking(db, official):
    slot = a_slot(db, official)
    service.book(db.session, None, booking(slot), now=SUNDAY)
    with pytest.raises(ValidationFailed) as refused:
        service.book(db.session, None, booking(slot, name="شخص آخر", email="other@example.net"), now=SUNDAY)
    assert refused.value.errors == {"slot_id": [service.TAKEN]}
    assert count(db, Appointment) == 1 and count(db, OutboxMessage) == 1


def test_the_database_itself_refuses_a_second_booking_of_a_slot(db, official):
    """What two requests at the same moment meet: not the service's reading, the unique index."""
    slot = a_slot(db, official)
    row = dict(slot_id=slot.id, official_id=official.id, starts_at=slot.starts_at, ends_at=slot.ends_at,
               name="أ", reason="ب", locale="ar", status=AppointmentStatus.BOOKED)
    db.session.add(Appointment(**row))
    db.session.commit()
    db.session.add(Appointment(**row))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert count(db, Appointment) == 1


def test_a_booking_needs_a_reason_a_name_and_a_way_to_reach_them(db, official):
    slot = a_slot(db, official)
    with pytest.raises(ValidationFailed) as refused:
        service.book(db.session, None, booking(slot, name=" ", reason="", phone="", email=""), now=SUNDAY)
    assert set(refused.value.errors) == {"name", "reason", "phone"}
    with pytest.raises(ValidationFailed) as refused:
        service.book(db.session, None, booking(slot, phone="0112345678", email="not an address"), now=SUNDAY)
    assert set(refused.value.errors) == {"phone", "email"}
    assert count(db, Appointment) == 0


def test_a_booking_whose_message_cannot_be_queued_leaves_nothing(db, official, make_ticket, monkeypatch):
    slot = a_slot(db, official)
    ticket = make_ticket()
    version = ticket.version

    def broken(*args, **kwargs):
        raise OperationalError("INSERT INTO outbox", {}, Exception("disk I/O error"))
    monkeypatch.setattr(service, "_tell_beneficiary", broken)
    with pytest.raises(OperationalError):
        service.book(db.session, None, booking(slot, ticket=ticket), now=SUNDAY)
    assert count(db, Appointment) == 0
    assert count(db, OutboxMessage, OutboxMessage.reason.like("appointment_%")) == 0
    assert count(db, TicketEvent, TicketEvent.kind == EventKind.APPOINTMENT) == 0
    db.session.refresh(ticket)
    assert ticket.version == version
    assert slot.id in {s.id for s in service.open_slots(db.session, SUNDAY)}


# The reminder ------------------------------------------------------------------------------

def test_the_reminder_goes_the_day_before_and_only_once(db, official):
    service.add_availability(db.session, official, official, weekly(SUNDAY_WD), now=SUNDAY)
    service.add_availability(db.session, official, official, weekly(TUESDAY_WD), now=SUNDAY)
    slots = service.open_slots(db.session, SUNDAY)
    next_sunday = [s for s in slots if local(s).date() == date(2026, 12, 13)]
    tuesday = [s for s in slots if local(s).date() == date(2026, 12, 15)]
    first, _ = service.book(db.session, None, booking(next_sunday[0]), now=SUNDAY)
    gone, _ = service.book(db.session, None, booking(next_sunday[1], email="gone@example.net"), now=SUNDAY)
    service.cancel(db.session, None, gone)
    later, _ = service.book(db.session, None, booking(tuesday[0], email="later@example.net"), now=SUNDAY)
    saturday = datetime(2026, 12, 12, 15, 0, tzinfo=UTC)  # 18:00 in Riyadh, the day before
    assert service.remind(db.session, SUNDAY) == 0   # a week before: nothing yet
    assert service.remind(db.session, saturday) == 1
    assert service.remind(db.session, saturday) == 0   # the sweep again: never twice
    assert service.remind(db.session, saturday + timedelta(hours=3)) == 0
    reminders = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "appointment_reminder")).all()
    assert [m.to_address for m in reminders] == ["fatima@example.net"]
    assert "تذكير" in reminders[0].subject
    db.session.refresh(first)
    db.session.refresh(later)
    assert first.reminded_at is not None and later.reminded_at is None


def test_the_reminder_sweep_command(app, db, official):
    slot = a_slot(db, official, now=datetime.now(UTC) - timedelta(days=1))
    del slot
    result = app.test_cli_runner().invoke(args=["desk", "appointments-remind"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Appointments: \d+ reminders queued, \d+ slots added\.", result.output)


# Cancelling and the visit ------------------------------------------------------------------

def test_a_cancellation_by_the_beneficiary_tells_the_official_and_frees_the_slot(db, official):
    slot = a_slot(db, official)
    appointment, _ = service.book(db.session, None, booking(slot), now=SUNDAY)
    service.cancel(db.session, None, appointment)
    assert appointment.status == AppointmentStatus.CANCELLED and appointment.cancelled_by == "beneficiary"
    told = db.session.scalar(select(OutboxMessage).where(OutboxMessage.reason == "appointment_cancelled"))
    assert told.to_address == "official@example.org" and told.to_user_id == official.id
    assert slot.id in {s.id for s in service.open_slots(db.session, SUNDAY)}
    again, _ = service.book(db.session, None, booking(slot, name="سلمى"), now=SUNDAY)
    assert again.slot_id == slot.id
    with pytest.raises(ValidationFailed):
        service.cancel(db.session, None, appointment)  # already cancelled


def test_a_withdrawn_availabilitys_booked_slot_is_not_offered_again_after_a_cancellation(db, official):
    slot = a_slot(db, official)
    slot_id, when, data = slot.id, local(slot), booking(slot)
    appointment, _ = service.book(db.session, None, data, now=SUNDAY)
    service.remove_availability(db.session, official, slot.availability_id, now=SUNDAY)
    assert db.session.get(AppointmentSlot, slot_id) is not None  # the booking keeps its time
    service.cancel(db.session, None, appointment, now=SUNDAY)
    db.session.expire_all()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert service.open_slots(db.session, SUNDAY, official_id=official.id) == []
    with pytest.raises(ValidationFailed) as refused:
        service.book(db.session, None, data, now=SUNDAY)
    assert set(refused.value.errors) == {"slot_id"}
    # Published again, the same time is offered again (a fresh slot of the new availability).
    service.add_availability(db.session, official, official, weekly(SUNDAY_WD), now=SUNDAY)
    assert local(service.open_slots(db.session, SUNDAY, official_id=official.id)[0]) == when


def test_the_sweep_removes_a_withdrawn_availabilitys_slot_freed_before_the_fix(db, official):
    slot = a_slot(db, official)
    slot_id, starts, ends = slot.id, slot.starts_at, slot.ends_at
    service.remove_availability(db.session, official, slot.availability_id, now=SUNDAY)
    orphan = AppointmentSlot(official_id=official.id, availability_id=None, starts_at=starts,
                             ends_at=ends)  # as a cancellation left it before: free, no availability
    db.session.add(orphan)
    db.session.commit()
    assert [s.id for s in service.open_slots(db.session, SUNDAY, official_id=official.id)] == [orphan.id]
    assert service.generate_slots(db.session, SUNDAY) == 0
    assert service.open_slots(db.session, SUNDAY, official_id=official.id) == []
    assert db.session.get(AppointmentSlot, slot_id) is None


def test_a_cancellation_by_staff_tells_the_beneficiary(db, people, official, make_ticket):
    slot = a_slot(db, official)
    ticket = make_ticket()
    appointment, _ = service.book(db.session, people.staff, booking(slot, ticket=ticket), now=SUNDAY)
    service.cancel(db.session, people.staff, appointment)
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "appointment_cancelled")).all()
    assert [m.to_address for m in told] == ["fatima@example.net"]
    events = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                          TicketEvent.kind == EventKind.APPOINTMENT)
                                .order_by(TicketEvent.id)).all()
    assert [e.new_value for e in events] == ["booked", "cancelled"]
    assert events[0].actor_id == people.staff.id


def test_the_visit_is_recorded_on_the_tickets_timeline(db, people, official, make_ticket):
    slot = a_slot(db, official)
    ticket = make_ticket()
    appointment, _ = service.book(db.session, None, booking(slot, ticket=ticket), now=SUNDAY)
    with pytest.raises(ValidationFailed) as refused:
        service.record_visit(db.session, people.staff, appointment, "maybe", "")
    assert set(refused.value.errors) == {"status"}
    service.record_visit(db.session, people.staff, appointment, "attended", "حضر ومعه المستندات")
    assert appointment.status == AppointmentStatus.ATTENDED and appointment.recorded_by_id == people.staff.id
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.kind == EventKind.APPOINTMENT,
                                                        TicketEvent.new_value == "attended"))
    assert event.ticket_id == ticket.id and "حضر ومعه المستندات" in event.body
    # A visit recorded is not cancelled afterwards.
    with pytest.raises(ValidationFailed):
        service.cancel(db.session, people.staff, appointment)


def test_an_official_of_another_department_records_only_the_outcome_on_the_ticket(db, people, as_user, make_ticket):
    """A second reader's finding: a focal point of AID, booked for a SOCIAL request, saw its
    reference and wrote their notes onto a ticket they may not see. The note now stays on the
    appointment; the ticket's timeline gets the outcome; the page shows no reference."""
    slot = a_slot(db, people.other_focal)
    ticket = make_ticket()  # (SOCIAL)
    appointment, _ = service.book(db.session, None, booking(slot, ticket=ticket), now=SUNDAY)
    service.record_visit(db.session, people.other_focal, appointment, "attended", "ملاحظة المسؤول الخاصة")
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.kind == EventKind.APPOINTMENT,
                                                        TicketEvent.new_value == "attended"))
    assert event.ticket_id == ticket.id and "ملاحظة المسؤول الخاصة" not in event.body
    assert appointment.notes == "ملاحظة المسؤول الخاصة"
    page = as_user(people.other_focal).get(f"/appointments/{appointment.id}")
    assert page.status_code == 200 and ticket.reference not in page.get_data(as_text=True)


# Who may do what ---------------------------------------------------------------------------

def test_permissions(db, people, official, make_ticket):
    slot = a_slot(db, official)
    social = make_ticket(department_id=people.social.id)
    linked, _ = service.book(db.session, people.staff, booking(slot, ticket=social), now=SUNDAY)
    loose, _ = service.book(db.session, people.staff, booking(service.open_slots(db.session, SUNDAY)[0]), now=SUNDAY)
    # Officials manage their own availability; supervisors and admins anyone's.
    with pytest.raises(NotFound):
        service.add_availability(db.session, people.focal, official, weekly(SUNDAY_WD), now=SUNDAY)
    service.add_availability(db.session, people.supervisor, official, weekly(TUESDAY_WD), now=SUNDAY)
    service.add_availability(db.session, people.admin, official, weekly(2), now=SUNDAY)
    # Intake staff book and record; a focal point does not book.
    with pytest.raises(NotFound):
        service.book(db.session, people.focal, booking(service.open_slots(db.session, SUNDAY)[0]), now=SUNDAY)
    # A focal point sees the appointments of their department's tickets, never another's.
    assert service.get(db.session, people.focal, linked.id).id == linked.id
    for actor, appointment in ((people.focal, loose), (people.other_focal, linked)):
        with pytest.raises(NotFound):
            service.get(db.session, actor, appointment.id)
    with pytest.raises(NotFound):
        service.record_visit(db.session, people.focal, linked, "attended", "")
    today = to_riyadh(linked.starts_at).date()
    assert [a.id for a in service.day_list(db.session, people.focal, today)] == [linked.id]
    assert [a.id for a in service.day_list(db.session, people.other_focal, today)] == []
    assert {a.id for a in service.day_list(db.session, people.staff, today)} == {linked.id, loose.id}
    # The official sees and records their own.
    assert {a.id for a in service.day_list(db.session, official, today)} == {linked.id, loose.id}
    service.record_visit(db.session, official, loose, "no_show", "")
    with pytest.raises(NotFound):
        service.remove_availability(db.session, people.other_focal, db.session.scalars(select(Availability)).first().id)


# The pages ---------------------------------------------------------------------------------

def _now_slots(db, official):
    """Slots from now on (the pages use the real clock): every working weekday."""
    for day in (6, 0, 1, 2, 3):
        service.add_availability(db.session, official, official, weekly(day, "09:00", "15:00"))
    return service.open_slots(db.session)


def test_booking_on_the_portal_and_cancelling_it(db, official, visitor):
    slot = _now_slots(db, official)[0]
    v = visitor()
    page = v.get("/portal/appointments")
    assert page.status_code == 200 and f'value="{slot.id}"' in page.get_data(as_text=True)
    refused = v.post("/portal/appointments", data={"slot_id": str(slot.id), "name": "فاطمة", "reason": "",
                                                  "phone": "", "email": ""})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'value="فاطمة"' in html and "is-invalid" in html and count(db, Appointment) == 0
    done = v.post("/portal/appointments", data={"slot_id": str(slot.id), "name": "فاطمة", "reason": "سؤال عن الدعم",
                                               "phone": "٠٥٥١٢٣٤٥٦٧", "email": ""})
    assert done.status_code == 303
    appointment = db.session.scalar(select(Appointment))
    assert appointment.phone == "+966551234567" and appointment.booked_by_id is None
    mine = v.get(done.headers["Location"])
    assert mine.status_code == 200 and "portal-cancel" in mine.get_data(as_text=True)
    # Another visitor cannot open it without the link.
    assert visitor("203.0.113.9").get(f"/portal/appointments/{appointment.id}").status_code == 404
    assert v.post(f"/portal/appointments/{appointment.id}/cancel", data={}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.CANCELLED


def test_the_private_link_opens_the_booking(db, official, visitor):
    slot = _now_slots(db, official)[0]
    appointment, key = service.book(db.session, None, booking(slot))
    v = visitor()
    opened = v.get(f"/portal/appointments/k/{key}")
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/portal/appointments/{appointment.id}")
    assert v.get(f"/portal/appointments/{appointment.id}").status_code == 200
    assert visitor("203.0.113.10").get("/portal/appointments/k/not-a-key").status_code == 404


def test_intake_page_lists_todays_appointments_with_check_in(db, people, official, as_user, make_ticket):
    now = datetime.now(UTC)
    day = to_riyadh(now).date()
    starts = [datetime.combine(day, time(h), RIYADH).astimezone(UTC) for h in (11, 9)]
    for n, at in enumerate(starts):
        slot = AppointmentSlot(official_id=official.id, starts_at=at, ends_at=at + timedelta(minutes=30))
        db.session.add(slot)
        db.session.flush()
        db.session.add(Appointment(slot_id=slot.id, official_id=official.id, starts_at=at, ends_at=slot.ends_at,
                                   name=f"زائر {n}", reason="سؤال", locale="ar", status=AppointmentStatus.BOOKED))
    db.session.commit()
    html = as_user(people.staff).get("/tickets/new").get_data(as_text=True)
    assert "appointments-today" in html
    assert html.index("زائر 1") < html.index("زائر 0")  # 09:00 before 11:00
    first = db.session.scalar(select(Appointment).where(Appointment.name == "زائر 1"))
    assert f"/appointments/{first.id}#visit" in html
    # Checking in from there.
    staff = as_user(people.staff)
    answer = staff.post(f"/appointments/{first.id}/visit", data={"status": "attended", "notes": "حضر"})
    assert answer.status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Appointment, first.id).status == AppointmentStatus.ATTENDED
    # A focal point gets no intake page, and no appointment of someone else's.
    assert as_user(people.other_focal).get(f"/appointments/{first.id}").status_code == 404


def test_the_availability_page_refuses_with_the_message_and_the_input_kept(db, official, as_user):
    browser = as_user(official)
    answer = browser.post("/appointments/availability", data={
        "repeat": "weekly", "weekday": "4", "on_day": "", "starts": "١٠:٠٠", "ends": "12:00", "slot_minutes": "30"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert 'value="١٠:٠٠"' in html and "weekday-msg" in html
    assert count(db, Availability) == 0
    ok = browser.post("/appointments/availability", data={
        "repeat": "weekly", "weekday": "0", "on_day": "", "starts": "١٠:٠٠", "ends": "12:00", "slot_minutes": "30"})
    assert ok.status_code in (302, 303)
    assert count(db, Availability) == 1 and count(db, AppointmentSlot) > 0


def test_staff_book_for_a_walk_in_linked_to_a_ticket(db, people, official, as_user, make_ticket):
    slot = _now_slots(db, official)[0]
    ticket = make_ticket()
    staff = as_user(people.staff)
    assert staff.get("/appointments/book").status_code == 200
    answer = staff.post("/appointments/book", data={"slot_id": str(slot.id), "name": "مراجع", "phone": "0551234567",
                                                    "email": "", "reason": "زيارة", "reference": ticket.reference})
    assert answer.status_code in (302, 303)
    appointment = db.session.scalar(select(Appointment))
    assert appointment.ticket_id == ticket.id and appointment.booked_by_id == people.staff.id
    assert as_user(people.focal).get("/appointments/book").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(TicketEvent).where(
        TicketEvent.kind == EventKind.APPOINTMENT)) == 1


def test_every_appointment_message_reads_as_arabic(db, people, official, make_ticket):
    from tests.test_arabic_pages import text_problems
    slot = a_slot(db, official)
    ticket = make_ticket()
    appointment, _ = service.book(db.session, None, booking(slot, ticket=ticket), now=SUNDAY)
    service.remind(db.session, datetime(2026, 12, 5, 15, 0, tzinfo=UTC))
    service.cancel(db.session, None, appointment)
    second, _ = service.book(db.session, None, booking(slot), now=SUNDAY)
    service.cancel(db.session, people.staff, second)
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason.like("appointment_%"))).all()
    assert {m.reason for m in rows} == {"appointment_confirmed", "appointment_reminder", "appointment_cancelled"}
    found = {f"{m.reason}: {p}": 1 for m in rows for p in text_problems(m.subject + "\n" + m.body_text, ticket.reference)}
    assert found == {}


def test_a_reminder_that_cannot_be_queued_is_tried_again_at_the_next_sweep(db, official, monkeypatch):
    slot = a_slot(db, official)
    appointment, _ = service.book(db.session, None, booking(slot), now=SUNDAY)
    evening = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)  # the day before, 18:00 in Riyadh
    real = service._tell_beneficiary

    def broken(*args, **kwargs):
        raise OperationalError("INSERT INTO outbox", {}, Exception("database is locked"))
    monkeypatch.setattr(service, "_tell_beneficiary", broken)
    with pytest.raises(OperationalError):
        service.remind(db.session, evening)
    db.session.refresh(appointment)
    assert appointment.reminded_at is None  # the claim went back with the failed message
    monkeypatch.setattr(service, "_tell_beneficiary", real)
    assert service.remind(db.session, evening) == 1
    assert count(db, OutboxMessage, OutboxMessage.reason == "appointment_reminder") == 1


def test_an_anonymised_request_takes_its_appointments_personal_data_with_it(db, people, official, make_ticket):
    from desk.privacy.anonymise import REMOVED, anonymise_ticket
    from desk.transaction import atomic
    slot = a_slot(db, official)
    ticket = make_ticket()
    appointment, key = service.book(db.session, None, booking(slot, ticket=ticket), now=SUNDAY)
    service.record_visit(db.session, people.staff, appointment, "attended", "حضر مع ابنه")
    with atomic(db.session) as files:
        anonymise_ticket(db.session, None, ticket, files, "/nonexistent", reason="erasure", now=SUNDAY)
    db.session.refresh(appointment)
    assert (appointment.name, appointment.phone, appointment.email, appointment.reason, appointment.notes) == (
        REMOVED, None, None, REMOVED, REMOVED)
    assert appointment.status == AppointmentStatus.ATTENDED and appointment.starts_at == slot.starts_at
    assert service.by_key(db.session, key) is None
