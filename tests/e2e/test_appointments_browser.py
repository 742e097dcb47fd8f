"""Appointments with officials (R53, issue 20 point 8) in a real browser, in Arabic: a beneficiary
books a time on the portal at 360 px (a refusal first, the message by the field and the text
kept), and the intake desk lists today's appointments in time order with the check-in link."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from desk.accounts.service import create_user
from desk.appointments import service
from desk.models import Appointment, AppointmentSlot, AppointmentStatus, OutboxMessage
from desk.text import RIYADH, to_riyadh
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 360, "height": 800}, "locale": "ar-SA"}


@pytest.fixture
def official(db, people):
    return create_user(db.session, "official@example.org", PASSWORD, "الأستاذ خالد", ["staff"])


def test_a_beneficiary_books_an_appointment_on_the_portal_on_a_phone(new_page, db, official, screenshots):
    for day in (6, 0, 1, 2, 3):
        service.add_availability(db.session, official, official, service.AvailabilityData(
            repeat=service.WEEKLY, weekday=str(day), starts="09:00", ends="12:00", slot_minutes="30"))
    page = new_page(**PHONE)
    page.goto("/portal/")
    page.locator("a[href='/portal/appointments']").click()
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("h1")).to_have_text("حجز موعد")
    page.select_option("#slot_id", index=1)
    page.fill("#name", "فاطمة أحمد")
    page.fill("#phone", "٠٥٥١٢٣٤٥٦٧")
    page.click("#portal-book-submit")  # no reason: refused by the field, the rest kept
    expect(page.locator("#reason-msg")).to_contain_text("اكتب سبب الموعد")
    expect(page.locator("#name")).to_have_value("فاطمة أحمد")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshots / "appointment-portal-refused-360.png"), full_page=True)
    page.fill("#reason", "الاستفسار عن طلب الدعم")
    page.click("#portal-book-submit")
    expect(page.locator(".alert-success")).to_contain_text("حُجز موعدك")
    expect(page.locator("#appointment-status")).to_have_text("محجوز")
    expect(page.locator("main")).to_contain_text("هـ")  # the Hijri date beside the Gregorian
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshots / "appointment-portal-360.png"), full_page=True)
    db.session.expire_all()
    appointment = db.session.scalars(select(Appointment)).one()
    assert appointment.phone == "+966551234567" and appointment.status == AppointmentStatus.BOOKED
    page.click("#portal-cancel")
    expect(page.locator("#appointment-status")).to_have_text("ملغى")
    db.session.expire_all()
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "appointment_cancelled")).one()
    assert told.to_address == official.email


def test_the_intake_desk_lists_todays_appointments_and_checks_in(new_page, login, db, people, official, screenshots):
    day = to_riyadh(datetime.now(UTC)).date()
    for hour, name in ((13, "زائر الظهر"), (9, "زائر الصباح")):
        at = datetime.combine(day, time(hour), RIYADH).astimezone(UTC)
        slot = AppointmentSlot(official_id=official.id, starts_at=at, ends_at=at + timedelta(minutes=30))
        db.session.add(slot)
        db.session.flush()
        db.session.add(Appointment(slot_id=slot.id, official_id=official.id, starts_at=at, ends_at=slot.ends_at,
                                   name=name, reason="سؤال", locale="ar", status=AppointmentStatus.BOOKED))
    db.session.commit()
    page = login(new_page(**PHONE), people.staff)
    page.goto("/tickets/new")
    today = page.locator("#appointments-today")
    expect(today).to_contain_text("مواعيد اليوم")
    rows = today.locator(".desk-appointment")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("زائر الصباح")
    expect(rows.nth(0)).to_contain_text("٠٩:٠٠")
    expect(rows.nth(1)).to_contain_text("زائر الظهر")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    today.screenshot(path=str(screenshots / "appointments-today-360.png"))
    rows.nth(0).get_by_role("link", name="تسجيل الحضور").click()
    page.select_option("#status", "attended")
    page.fill("#notes", "حضر ومعه المستندات")
    page.click("#visit-submit")
    expect(page.locator("#appointment-status")).to_have_text("حضر")
    page.screenshot(path=str(screenshots / "appointment-show-360.png"), full_page=True)
    page.goto("/appointments")
    expect(page.locator("#appointments-day .desk-appointment").first).to_contain_text("حضر")
    page.screenshot(path=str(screenshots / "appointments-day-360.png"), full_page=True)


def test_an_official_publishes_availability_on_a_phone(new_page, login, db, people, screenshots):
    page = login(new_page(**PHONE), people.staff)
    page.goto("/appointments/availability")
    page.select_option("#weekday", "4")  # Friday: not a working day
    page.fill("#starts", "١٠:٠٠")
    page.fill("#ends", "12:00")
    page.click("#availability-submit")
    expect(page.locator("#weekday-msg")).to_contain_text("ليس من أيام العمل")
    expect(page.locator("#starts")).to_have_value("١٠:٠٠")
    page.screenshot(path=str(screenshots / "availability-refused-360.png"), full_page=True)
    page.select_option("#weekday", "6")
    page.click("#availability-submit")
    expect(page.locator("#availability-rows")).to_contain_text("كل الأحد")
    expect(page.locator("#official-slots li").first).to_contain_text("هـ")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshots / "availability-360.png"), full_page=True)
    page.goto("/appointments/book")
    page.screenshot(path=str(screenshots / "appointment-book-360.png"), full_page=True)
