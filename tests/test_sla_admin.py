"""The calendar and service-level admin screens and their service (desk/sla): roles, CSRF,
validation by the field with the input kept, the month in both calendars, loading the
calendar from the database and the default targets."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import event, select

from desk.errors import NotFound, ValidationFailed
from desk.models import Holiday, Kind, Priority, ServiceTarget, WorkingTime
from desk.sla import service
from desk.sla.calendar import Unit
from desk.text.dates import RIYADH
from tests.conftest import count


def holiday(db, name="اليوم الوطني", first=date(2026, 9, 23), last=None, entered_as="gregorian"):
    row = Holiday(name_ar=name, name_en=f"{name} (en)", first_day=first, last_day=last or first, entered_as=entered_as)
    db.session.add(row)
    db.session.commit()
    return row


def target(db, kind="complaint", priority=None, first=(1, "days"), resolution=(5, "days")):
    row = ServiceTarget(kind=kind, priority=priority, first_response_amount=first and first[0],
                        first_response_unit=first and first[1], resolution_amount=resolution and resolution[0],
                        resolution_unit=resolution and resolution[1])
    db.session.add(row)
    db.session.commit()
    return row


# Who may enter -------------------------------------------------------------------------

PAGES = ["/admin/calendar", "/admin/calendar?month=2026-03", "/admin/calendar/hours", "/admin/calendar/holidays",
         "/admin/calendar/holidays/new", "/admin/service-levels", "/admin/service-levels/new"]


@pytest.mark.parametrize("who", ["staff", "focal", "supervisor"])
def test_everyone_but_admins_gets_404(as_user, people, db, who):
    browser = as_user(getattr(people, who))
    h, t = holiday(db), target(db)
    for path in PAGES + [f"/admin/calendar/holidays/{h.id}", f"/admin/service-levels/{t.id}"]:
        assert browser.get(path).status_code == 404, path
        assert browser.get(path, htmx=True).status_code == 404, path
    posts = {
        "/admin/calendar/hours": {"work_days": ["4"], "day_start": "07:00", "day_end": "09:00"},
        "/admin/calendar/holidays/new": {"name_ar": "س", "name_en": "x", "entered_as": "gregorian",
                                         "first_day": "2027-01-01", "last_day": "2027-01-01"},
        f"/admin/calendar/holidays/{h.id}": {"name_ar": "س", "name_en": "x", "entered_as": "gregorian",
                                              "first_day": "2027-01-01", "last_day": "2027-01-01"},
        f"/admin/calendar/holidays/{h.id}/delete": {},
        "/admin/service-levels/new": {"kind": "inquiry", "first_response_amount": "1", "first_response_unit": "hours"},
        f"/admin/service-levels/{t.id}": {"kind": "complaint", "first_response_amount": "9", "first_response_unit": "hours"},
        f"/admin/service-levels/{t.id}/delete": {},
    }
    for path, data in posts.items():
        assert browser.post(path, data).status_code == 404, path
        assert browser.post(path, data, htmx=True).status_code == 404, path
    assert count(db, Holiday) == 1 and count(db, ServiceTarget) == 1 and count(db, WorkingTime) == 0
    assert db.session.get(Holiday, h.id).first_day == date(2026, 9, 23)
    assert db.session.get(ServiceTarget, t.id).first_response_amount == 1
    assert "/admin/calendar" not in browser.get("/tickets").get_data(as_text=True)  # no nav link


def test_signed_out_is_sent_to_sign_in(browser, people):
    for path in ("/admin/calendar", "/admin/service-levels"):
        response = browser.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_service_functions_refuse_non_admins(db, people):
    h = holiday(db)
    with pytest.raises(NotFound):
        service.save_holiday(db.session, people.supervisor, service.HolidayData("x", "x", "gregorian", "2027-01-01", "2027-01-01"))
    with pytest.raises(NotFound):
        service.get_holiday(db.session, people.staff, h.id)
    with pytest.raises(NotFound):
        service.save_target(db.session, people.focal, service.TargetData("inquiry", "", "1", "days"))
    with pytest.raises(NotFound):
        service.save_working_time(db.session, people.staff, service.WorkingTimeData(["6"], "08:00", "16:00"))


def test_admin_sees_the_nav_link_and_every_page(admin):
    assert 'href="/admin/calendar"' in admin.get("/tickets").get_data(as_text=True)
    for path in PAGES:
        response = admin.get(path)
        assert response.status_code == 200 and "<html" in response.get_data(as_text=True), path


def test_csrf_is_required(admin, db):
    h, t = holiday(db), target(db)
    posts = {
        "/admin/calendar/hours": {"work_days": ["6"], "day_start": "07:00", "day_end": "09:00"},
        "/admin/calendar/holidays/new": {"name_ar": "س", "name_en": "x", "entered_as": "gregorian",
                                         "first_day": "2027-01-01", "last_day": "2027-01-01"},
        f"/admin/calendar/holidays/{h.id}/delete": {},
        "/admin/service-levels/new": {"kind": "inquiry", "first_response_amount": "1", "first_response_unit": "hours"},
        f"/admin/service-levels/{t.id}/delete": {},
    }
    for path, data in posts.items():
        assert admin.post(path, data, csrf=False).status_code == 400, path
        assert admin.post(path, data, htmx=True, csrf=False).status_code == 400, path
    assert count(db, Holiday) == 1 and count(db, ServiceTarget) == 1 and count(db, WorkingTime) == 0


# The month in both calendars -----------------------------------------------------------

def test_month_shows_both_calendars_holidays_and_weekends(admin, db):
    holiday(db, "عيد الفطر", date(2026, 3, 19), date(2026, 3, 24))
    page = admin.get("/admin/calendar?month=2026-03").get_data(as_text=True)
    assert "<html" in page and 'id="sla-month"' in page
    assert "March 2026" in page and "Ramadan 1447" in page and "Shawwal 1447" in page
    assert page.count("desk-ramadan") == 19 and "10:00" in page  # 1–19 March; the default six Ramadan hours
    assert 'data-date="2026-03-01"' in page and 'data-date="2026-02-28"' not in page  # the grid starts on Sunday 1 March
    assert "عيد الفطر (en)" in page and page.count("badge text-bg-warning") == 6
    assert "Weekend" in page
    assert 'href="/admin/calendar?month=2026-02"' in page and 'href="/admin/calendar?month=2026-04"' in page
    fragment = admin.get("/admin/calendar?month=2026-04", htmx=True).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="sla-month"') and "<html" not in fragment
    assert "April 2026" in fragment and "Shawwal 1447" in fragment and "Dhu al-Qadah 1447" in fragment
    # Year boundaries and nonsense fall back sensibly.
    december = admin.get("/admin/calendar?month=2026-12", htmx=True).get_data(as_text=True)
    assert 'month=2027-01"' in december and 'month=2026-11"' in december
    assert admin.get("/admin/calendar?month=nonsense").status_code == 200


def test_month_shows_the_ramadan_hours_when_set(admin, db):
    db.session.add(WorkingTime(id=1, work_days=[6, 0, 1, 2, 3], day_start=time(8), day_end=time(16),
                               ramadan_start=time(10), ramadan_end=time(15)))
    db.session.commit()
    page = admin.get("/admin/calendar?month=2026-03").get_data(as_text=True)
    assert "Ramadan hours" in page and page.count('<span dir="ltr">10:00</span>') == 1 + 15  # the summary + 15 working days of Ramadan in March


def test_month_in_arabic_with_hijri_and_gregorian_digits(as_user, people, db):
    holiday(db, "اليوم الوطني", date(2026, 9, 23))
    page = as_user(people.admin).get("/admin/calendar?month=2026-09").get_data(as_text=True)
    assert "اليوم الوطني" in page and "٢٠٢٦" in page and "١٤٤٨" in page and "ربيع" in page
    assert 'dir="rtl"' in page


def test_month_view_grid(db):
    month = service.month_view(db.session, 2026, 2)
    days = [cell for week in month.weeks for cell in week]
    assert len(days) % 7 == 0 and days[0].day == date(2026, 2, 1) and days[0].day.weekday() == 6
    feb18 = next(c for c in days if c.day == date(2026, 2, 18))
    assert feb18.ramadan and feb18.hijri == (1447, 9, 1) and feb18.working
    friday = next(c for c in days if c.day == date(2026, 2, 20))
    assert friday.weekend and not friday.working
    assert month.hijri_months == [(1447, 8), (1447, 9)] and (month.previous, month.next) == ("2026-01", "2026-03")


# Working hours -------------------------------------------------------------------------

def test_working_hours_form_shows_the_defaults(admin):
    page = admin.get("/admin/calendar/hours").get_data(as_text=True)
    assert 'value="08:00"' in page and 'value="16:00"' in page
    assert page.count('name="work_days"') == 7 and page.count("checked") == 5
    fragment = admin.get("/admin/calendar/hours", htmx=True).get_data(as_text=True)
    assert fragment.lstrip().startswith('<form id="hours-form"')


def test_save_working_hours_full_page_and_htmx(admin, db):
    response = admin.post("/admin/calendar/hours", {"work_days": ["6", "0", "1", "2", "3"], "day_start": "٠٧:٣٠",
                                                    "day_end": "15:30", "ramadan_start": "10:00", "ramadan_end": "15:00"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/calendar"
    row = db.session.get(WorkingTime, 1)
    assert (row.work_days, row.day_start, row.day_end) == ([6, 0, 1, 2, 3], time(7, 30), time(15, 30))
    assert (row.ramadan_start, row.ramadan_end) == (time(10), time(15))
    response = admin.post("/admin/calendar/hours", {"work_days": ["6", "0", "1", "2", "3", "5"], "day_start": "08:00",
                                                    "day_end": "16:00"}, htmx=True)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/calendar"
    db.session.expire_all()
    row = db.session.get(WorkingTime, 1)
    assert row.work_days == [6, 0, 1, 2, 3, 5] and row.ramadan_start is None and row.updated_by_id is not None
    assert count(db, WorkingTime) == 1
    calendar = service.load_calendar(db.session)
    assert calendar.is_working_day(date(2026, 11, 28)) and not calendar.is_working_day(date(2026, 11, 27))


@pytest.mark.parametrize("data, field, message", [
    ({"work_days": ["6"], "day_start": "16:00", "day_end": "08:00"}, "day_end", "must end after they start"),
    ({"work_days": ["6"], "day_start": "08:00", "day_end": "08:00"}, "day_end", "must end after they start"),
    ({"work_days": ["6"], "day_start": "8am", "day_end": "16:00"}, "day_start", "hours and minutes"),
    ({"work_days": ["6"], "day_start": "25:00", "day_end": "26:00"}, "day_start", "hours and minutes"),
    ({"work_days": ["6"], "day_start": "", "day_end": "16:00"}, "day_start", "Enter a time"),
    ({"day_start": "08:00", "day_end": "16:00"}, "work_days", "at least one working day"),
    ({"work_days": ["9"], "day_start": "08:00", "day_end": "16:00"}, "work_days", "Choose only from the days listed"),
    ({"work_days": ["6"], "day_start": "08:00", "day_end": "16:00", "ramadan_start": "10:00"}, "ramadan_end", "Enter a time"),
    ({"work_days": ["6"], "day_start": "08:00", "day_end": "16:00", "ramadan_start": "15:00", "ramadan_end": "10:00"},
     "ramadan_end", "must end after they start"),
])
def test_working_hours_validation_by_the_field_keeps_input(admin, db, data, field, message):
    response = admin.post("/admin/calendar/hours", data, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html.lstrip().startswith('<form id="hours-form"')
    assert f'id="{field}-msg"' in html and message in html
    for name in ("day_start", "day_end", "ramadan_start"):
        if data.get(name):
            assert f'value="{data[name]}"' in html
    full = admin.post("/admin/calendar/hours", data)
    assert full.status_code == 422 and "<html" in full.get_data(as_text=True)
    assert count(db, WorkingTime) == 0


# Holidays ------------------------------------------------------------------------------

def test_holiday_list_full_page_and_fragment(admin, db):
    holiday(db, "يوم التأسيس", date(2026, 2, 22))
    page = admin.get("/admin/calendar/holidays").get_data(as_text=True)
    assert "<html" in page and 'id="holidays-table"' in page and "يوم التأسيس" in page and "22/02/2026" in page
    fragment = admin.get("/admin/calendar/holidays", htmx=True).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="holidays-table"') and "<html" not in fragment


def test_create_holiday_in_gregorian_and_in_hijri(admin, db):
    response = admin.post("/admin/calendar/holidays/new", {"name_ar": "اليوم الوطني", "name_en": "National Day",
                                                           "entered_as": "gregorian", "first_day": "٢٣/٠٩/٢٠٢٦",
                                                           "last_day": "2026-09-23"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/calendar/holidays"
    response = admin.post("/admin/calendar/holidays/new", {"name_ar": "عيد الفطر", "name_en": "Eid al-Fitr",
                                                           "entered_as": "hijri", "first_day": "1447-09-29",
                                                           "last_day": "1447-10-04"}, htmx=True)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/calendar/holidays"
    national = db.session.scalar(select(Holiday).where(Holiday.name_en == "National Day"))
    eid = db.session.scalar(select(Holiday).where(Holiday.name_en == "Eid al-Fitr"))
    assert (national.first_day, national.last_day, national.entered_as) == (date(2026, 9, 23), date(2026, 9, 23), "gregorian")
    assert (eid.first_day, eid.last_day, eid.entered_as) == (date(2026, 3, 18), date(2026, 3, 23), "hijri")
    # The edit form shows the dates in the calendar they were typed in.
    page = admin.get(f"/admin/calendar/holidays/{eid.id}").get_data(as_text=True)
    assert 'value="1447-09-29"' in page and 'value="1447-10-04"' in page
    assert 'selected value="hijri"' in page
    calendar = service.load_calendar(db.session)
    assert not calendar.is_working_day(date(2026, 3, 22)) and not calendar.is_working_day(date(2026, 9, 23))


def test_edit_and_delete_holiday(admin, db):
    h = holiday(db)
    h_id = h.id
    data = {"name_ar": "اليوم الوطني ٩٦", "name_en": "National Day 96", "entered_as": "gregorian",
            "first_day": "2026-09-23", "last_day": "2026-09-24"}
    assert admin.post(f"/admin/calendar/holidays/{h.id}", data).status_code == 302  # its own days are no overlap
    db.session.expire_all()
    assert (db.session.get(Holiday, h.id).name_en, db.session.get(Holiday, h.id).last_day) == ("National Day 96", date(2026, 9, 24))
    other = holiday(db, "يوم التأسيس", date(2027, 2, 22))
    response = admin.post(f"/admin/calendar/holidays/{h.id}/delete", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="holidays-table"') and "National Day 96" not in html
    assert admin.post(f"/admin/calendar/holidays/{other.id}/delete").status_code == 302
    assert count(db, Holiday) == 0
    assert admin.get(f"/admin/calendar/holidays/{h_id}").status_code == 404
    assert admin.post(f"/admin/calendar/holidays/{h_id}/delete").status_code == 404


@pytest.mark.parametrize("data, field, message", [
    ({"name_ar": "", "name_en": "Kept", "first_day": "2027-01-01", "last_day": "2027-01-01"}, "name_ar", "Enter the Arabic name"),
    ({"name_ar": "س", "name_en": "", "first_day": "2027-01-01", "last_day": "2027-01-01"}, "name_en", "Enter the English name"),
    ({"name_ar": "س", "name_en": "x", "first_day": "2027-01-05", "last_day": "2027-01-01"}, "last_day", "cannot be before the first day"),
    ({"name_ar": "س", "name_en": "x", "first_day": "2027-02-30", "last_day": "2027-03-01"}, "first_day", "real Gregorian date"),
    ({"name_ar": "س", "name_en": "x", "first_day": "", "last_day": "2027-03-01"}, "first_day", "Enter the date"),
    ({"name_ar": "س", "name_en": "x", "first_day": "2027-01-01", "last_day": "2027-12-01"}, "last_day", "at most 60 days"),
    ({"name_ar": "س", "name_en": "x", "first_day": "2026-09-22", "last_day": "2026-09-25"}, "first_day", "overlap the holiday"),
    ({"name_ar": "س", "name_en": "x", "entered_as": "hijri", "first_day": "1447-13-01", "last_day": "1447-13-02"}, "first_day", "real Hijri"),
    ({"name_ar": "س", "name_en": "x", "entered_as": "hijri", "first_day": "1600-01-01", "last_day": "1600-01-02"}, "first_day", "real Hijri"),
    ({"name_ar": "س", "name_en": "x", "entered_as": "julian", "first_day": "2027-01-01", "last_day": "2027-01-01"}, "entered_as", "Hijri or Gregorian"),
])
def test_holiday_validation_by_the_field_keeps_input(admin, db, data, field, message):
    holiday(db, "اليوم الوطني", date(2026, 9, 23))
    data = {"entered_as": "gregorian", **data}
    response = admin.post("/admin/calendar/holidays/new", data, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html.lstrip().startswith('<form id="holiday-form"')
    assert f'id="{field}-msg"' in html and message in html, html
    for name in ("name_en", "first_day", "last_day"):
        if data.get(name):
            assert f'value="{data[name]}"' in html
    full = admin.post("/admin/calendar/holidays/new", data)
    assert full.status_code == 422 and "<html" in full.get_data(as_text=True)
    assert count(db, Holiday) == 1


def test_overlap_is_checked_for_edits_too(admin, db):
    holiday(db, "اليوم الوطني", date(2026, 9, 23))
    other = holiday(db, "يوم التأسيس", date(2027, 2, 22))
    response = admin.post(f"/admin/calendar/holidays/{other.id}", {"name_ar": "يوم التأسيس", "name_en": "Founding Day",
                                                                   "entered_as": "gregorian", "first_day": "2026-09-20",
                                                                   "last_day": "2026-09-23"}, htmx=True)
    assert response.status_code == 422 and "overlap" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Holiday, other.id).first_day == date(2027, 2, 22)


# Service-level targets -----------------------------------------------------------------

def test_targets_table_full_page_and_fragment(admin, db):
    service.ensure_default_targets(db.session)
    page = admin.get("/admin/service-levels").get_data(as_text=True)
    assert "<html" in page and 'id="targets-table"' in page
    assert "Complaint" in page and "Support request" in page and "10 business days" in page and "Any priority" in page
    fragment = admin.get("/admin/service-levels", htmx=True).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="targets-table"') and "<html" not in fragment


def test_create_edit_delete_target(admin, db):
    response = admin.post("/admin/service-levels/new", {"kind": "complaint", "priority": "4", "first_response_amount": "٤",
                                                        "first_response_unit": "hours", "resolution_amount": "2",
                                                        "resolution_unit": "days"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/service-levels"
    urgent = db.session.scalar(select(ServiceTarget).where(ServiceTarget.priority == Priority.URGENT))
    assert (urgent.kind, urgent.first_response_amount, urgent.first_response_unit, urgent.resolution_amount) == ("complaint", 4, "hours", 2)
    page = admin.get(f"/admin/service-levels/{urgent.id}").get_data(as_text=True)
    assert 'value="4"' in page and 'selected value="hours"' in page
    response = admin.post(f"/admin/service-levels/{urgent.id}", {"kind": "complaint", "priority": "4",
                                                                 "resolution_amount": "16", "resolution_unit": "hours"}, htmx=True)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/service-levels"
    db.session.expire_all()
    urgent = db.session.get(ServiceTarget, urgent.id)
    assert (urgent.first_response_amount, urgent.resolution_amount, urgent.resolution_unit) == (None, 16, "hours")
    urgent_id = urgent.id
    response = admin.post(f"/admin/service-levels/{urgent_id}/delete", htmx=True)
    assert response.status_code == 200 and response.get_data(as_text=True).lstrip().startswith('<div id="targets-table"')
    assert count(db, ServiceTarget) == 0
    assert admin.get(f"/admin/service-levels/{urgent_id}").status_code == 404


@pytest.mark.parametrize("data, field, message", [
    ({"kind": "complaint", "first_response_amount": "0", "first_response_unit": "days"}, "first_response_amount", "greater than zero"),
    ({"kind": "complaint", "resolution_amount": "-3", "resolution_unit": "days"}, "resolution_amount", "greater than zero"),
    ({"kind": "complaint", "resolution_amount": "two", "resolution_unit": "days"}, "resolution_amount", "whole number"),
    ({"kind": "complaint", "resolution_amount": "2", "resolution_unit": "weeks"}, "resolution_unit", "business hours or business days"),
    ({"kind": "complaint", "resolution_amount": "900", "resolution_unit": "days"}, "resolution_amount", "At most 250"),
    ({"kind": "complaint"}, "first_response_amount", "a first-response target, a resolution target or both"),
    ({"kind": "", "resolution_amount": "2", "resolution_unit": "days"}, "kind", "Choose the kind of request"),
    ({"kind": "complaint", "priority": "9", "resolution_amount": "2", "resolution_unit": "days"}, "priority", "priority from the list"),
    ({"kind": "inquiry", "priority": "", "resolution_amount": "2", "resolution_unit": "days"}, "priority", "already has a target"),
])
def test_target_validation_by_the_field_keeps_input(admin, db, data, field, message):
    target(db, "inquiry", None)
    response = admin.post("/admin/service-levels/new", data, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html.lstrip().startswith('<form id="target-form"')
    assert f'id="{field}-msg"' in html and message in html, html
    for name in ("first_response_amount", "resolution_amount"):
        if data.get(name):
            assert f'value="{data[name]}"' in html
    if data.get("kind"):
        assert f'selected value="{data["kind"]}"' in html
    full = admin.post("/admin/service-levels/new", data)
    assert full.status_code == 422 and "<html" in full.get_data(as_text=True)
    assert count(db, ServiceTarget) == 1


# The API the ticket layers use ---------------------------------------------------------

def test_ensure_default_targets_is_idempotent_and_keeps_admin_values(db):
    assert service.ensure_default_targets(db.session) == 3
    assert service.ensure_default_targets(db.session) == 0
    complaint = db.session.scalar(select(ServiceTarget).where(ServiceTarget.kind == "complaint"))
    complaint.resolution_amount = 3
    db.session.commit()
    service.ensure_default_targets(db.session)
    policy = service.load_policy(db.session)
    assert policy.target("complaint", Priority.NORMAL).resolution == (3, Unit.DAYS)
    assert policy.target("inquiry", None).first_response == (1, Unit.DAYS) and policy.target("inquiry", 2).resolution == (2, Unit.DAYS)
    assert policy.target("support", 2).first_response is None and policy.target("support", 2).resolution == (10, Unit.DAYS)
    assert policy.target("thanks", 2) is None


def test_load_policy_in_three_queries_and_due_times(db, app):
    service.ensure_default_targets(db.session)
    target(db, "complaint", int(Priority.URGENT), first=(2, "hours"), resolution=(1, "days"))
    holiday(db, "اليوم الوطني", date(2026, 9, 23))
    db.session.add(WorkingTime(id=1, work_days=[6, 0, 1, 2, 3], day_start=time(8), day_end=time(16)))
    db.session.commit()
    db.session.expire_all()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        policy = service.load_policy(db.session)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 3
    created = datetime(2026, 9, 22, 10, tzinfo=RIYADH).astimezone(UTC)  # Tuesday, National Day next
    times = policy.due_times(Kind.COMPLAINT, Priority.NORMAL, created)
    assert times.first_response_due.astimezone(RIYADH).replace(tzinfo=None) == datetime(2026, 9, 24, 10)
    assert times.resolution_due.astimezone(RIYADH).replace(tzinfo=None) == datetime(2026, 9, 30, 10)
    assert times.first_response_at_risk < times.first_response_due and times.resolution_at_risk < times.resolution_due
    urgent = policy.due_times(Kind.COMPLAINT, Priority.URGENT, created)
    assert urgent.first_response_due.astimezone(RIYADH).replace(tzinfo=None) == datetime(2026, 9, 22, 12)
    paused = policy.due_times(Kind.COMPLAINT, Priority.URGENT, created, [(created, None)])
    assert paused == service.DueTimes()  # waiting on the beneficiary: the clock is stopped
    assert policy.due_times(Kind.THANKS, Priority.NORMAL, created) == service.DueTimes()


def test_calendar_defaults_without_a_saved_row(db):
    calendar = service.load_calendar(db.session)
    assert calendar.work_days == frozenset({6, 0, 1, 2, 3}) and (calendar.start, calendar.end) == (time(8), time(16))
    assert count(db, WorkingTime) == 0


def test_validation_failed_carries_messages_by_field(db, people):
    with pytest.raises(ValidationFailed) as failed:
        service.save_working_time(db.session, people.admin, service.WorkingTimeData([], "16:00", "08:00", "10:00", ""))
    assert set(failed.value.errors) == {"work_days", "day_end", "ramadan_end"}
