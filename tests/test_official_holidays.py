"""Saudi official holidays by rule (desk.sla.service.official_holidays), checked against the
dates the Ministry of Human Resources announced for the private and non-profit sector in
1445-1447; their seeding by `flask desk init` and the sweep, the admin's confirmation, and the
reminder a month before one still unconfirmed."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import select

from desk.cli import desk_cli
from desk.models import AuditEntry, Holiday, OutboxMessage, WorkingTime
from desk.sla import service
from desk.sla.tickets import remind_unconfirmed_holidays


def spans(hijri_year):
    return {h.key.split(":")[0]: (h.first, h.last) for h in service.official_holidays(hijri_year)}


# The announced dates (HRSD): Eid al-Fitr from the day after 29 Ramadan, four days; Eid al-Adha
# four days from the Day of Arafah.
ANNOUNCED = {
    1445: {"eid_fitr": (date(2024, 4, 9), date(2024, 4, 12)), "eid_adha": (date(2024, 6, 15), date(2024, 6, 18))},
    1446: {"eid_fitr": (date(2025, 3, 30), date(2025, 4, 2)), "eid_adha": (date(2025, 6, 5), date(2025, 6, 8))},
    # Ramadan 1447 had 30 days: the holiday began on Thursday 19 March, not on 1 Shawwal (20 March).
    1447: {"eid_fitr": (date(2026, 3, 19), date(2026, 3, 22)), "eid_adha": (date(2026, 5, 26), date(2026, 5, 29))},
}


def test_eids_match_the_announced_dates_of_1445_to_1447():
    for year, announced in ANNOUNCED.items():
        got = spans(year)
        for key, days in announced.items():
            assert got[key] == days, (year, key)


def test_national_and_founding_day_move_off_the_weekend():
    assert service.shift_off_weekend(date(2025, 2, 22)) == date(2025, 2, 23)   # Saturday → Sunday (HRSD, 2025)
    assert service.shift_off_weekend(date(2028, 9, 23)) == date(2028, 9, 24)   # Saturday → Sunday
    assert service.shift_off_weekend(date(2030, 2, 22)) == date(2030, 2, 21)   # Friday → Thursday
    assert service.shift_off_weekend(date(2026, 9, 23)) == date(2026, 9, 23)   # a Wednesday stays
    got = spans(1446)  # 7 Jul 2024 – 25 Jun 2025: National Day 2024 and Founding Day 2025
    assert got["founding_day"] == (date(2025, 2, 23), date(2025, 2, 23))
    assert got["national_day"] == (date(2024, 9, 23), date(2024, 9, 23))
    keys = [h.key for h in service.official_holidays(1447)]
    assert sorted(keys) == ["eid_adha:1447", "eid_fitr:1447", "founding_day:2026", "national_day:2025"]


def test_init_seeds_a_fresh_installation_once(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(desk_cli, ["init"])
    assert result.exit_code == 0, result.output
    rows = db.session.scalars(select(Holiday)).all()
    from hijridate import Gregorian

    from desk.text import today_riyadh
    year = Gregorian.fromdate(today_riyadh()).to_hijri().year
    expected = {h.key for y in (year, year + 1) for h in service.official_holidays(y)}
    assert {h.official_key for h in rows} == expected and all(h.proposed for h in rows)
    hours = db.session.get(WorkingTime, 1)
    assert (hours.ramadan_start, hours.ramadan_end) == (time(10, 0), time(16, 0))   # six hours (Labour Law art. 98)
    # an admin moves Eid al-Fitr 1448 by a day and deletes nothing: a second init adds nothing
    fitr = db.session.scalar(select(Holiday).where(Holiday.official_key == f"eid_fitr:{year}"))
    moved = fitr.first_day.replace(day=1) if fitr.first_day.day > 1 else fitr.first_day.replace(day=2)
    fitr.first_day = moved
    db.session.commit()
    result = runner.invoke(desk_cli, ["init"])
    assert result.exit_code == 0 and "0 official holidays" in result.output
    db.session.expire_all()
    assert db.session.get(Holiday, fitr.id).first_day == moved


def test_init_gives_a_fresh_installation_the_policys_service_levels_once(app, db):
    from desk.models import ServiceTarget
    from desk.sla.service import DEFAULT_TARGETS
    runner = app.test_cli_runner()
    assert db.session.scalar(select(ServiceTarget.id).limit(1)) is None
    result = runner.invoke(desk_cli, ["init"])
    assert result.exit_code == 0 and f"Service levels: {len(DEFAULT_TARGETS)} targets" in result.output
    kinds = {t.kind: t for t in db.session.scalars(select(ServiceTarget))}
    assert set(kinds) == {kind.value for kind, _, _ in DEFAULT_TARGETS}
    # an admin removes one (no target for inquiries): init does not put it back
    db.session.delete(kinds["inquiry"])
    db.session.commit()
    result = runner.invoke(desk_cli, ["init"])
    assert result.exit_code == 0 and "Service levels" not in result.output
    assert db.session.scalar(select(ServiceTarget.id).where(ServiceTarget.kind == "inquiry")) is None


def test_a_holiday_already_typed_is_not_doubled(db):
    db.session.add(Holiday(name_ar="العيد", name_en="Eid", first_day=date(2027, 3, 9), last_day=date(2027, 3, 14),
                           entered_as="gregorian", confirmed_at=datetime(2027, 1, 1, tzinfo=UTC)))
    db.session.commit()
    added = service.ensure_official_holidays(db.session, date(2026, 12, 4))
    names = [h.name_en for h in db.session.scalars(select(Holiday).where(Holiday.first_day.between(date(2027, 3, 1), date(2027, 3, 31))))]
    assert names == ["Eid"] and added == 7


def test_the_calendar_counts_a_seeded_eid_as_days_off(db):
    service.ensure_official_holidays(db.session, date(2025, 12, 1))   # 1447
    calendar = service.load_calendar(db.session)
    assert not calendar.is_working_day(date(2026, 3, 19))   # Thursday, the first day of Eid al-Fitr 1447
    assert calendar.is_working_day(date(2026, 3, 23))       # Monday, back to work


def test_admin_confirms_a_proposed_holiday(admin, db):
    service.ensure_official_holidays(db.session, date(2026, 12, 4))
    fitr = db.session.scalar(select(Holiday).where(Holiday.official_key == "eid_fitr:1448"))
    page = admin.get("/admin/calendar/holidays").get_data(as_text=True)
    assert page.count("Proposed: confirm when announced") == 8
    response = admin.post(f"/admin/calendar/holidays/{fitr.id}/confirm", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("Proposed: confirm when announced") == 7
    db.session.expire_all()
    assert not db.session.get(Holiday, fitr.id).proposed
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "holiday")) is not None


def test_only_an_admin_confirms(as_user, people, db):
    service.ensure_official_holidays(db.session, date(2026, 12, 4))
    fitr = db.session.scalar(select(Holiday).where(Holiday.official_key == "eid_fitr:1448"))
    assert as_user(people.supervisor).post(f"/admin/calendar/holidays/{fitr.id}/confirm").status_code == 404
    db.session.expire_all()
    assert db.session.get(Holiday, fitr.id).proposed


def test_supervisors_are_reminded_once_a_month_before(db, people, app):
    service.ensure_official_holidays(db.session, date(2026, 12, 4))
    now = datetime(2027, 2, 20, 9, tzinfo=UTC)   # Founding Day 2027 (Monday 22 Feb) is two days away; Eid al-Fitr 1448 (9 Mar) too
    told, queued = remind_unconfirmed_holidays(db.session, now)
    assert told == 2 and queued == 4   # to the supervisor and the admin, for each
    to = {m.to_address for m in db.session.scalars(select(OutboxMessage))}
    assert to == {people.supervisor.email, people.admin.email}
    assert remind_unconfirmed_holidays(db.session, now) == (0, 0)
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == people.supervisor.email)).first()
    assert "يوم التأسيس" in message.subject or "عيد الفطر" in message.subject


def test_a_confirmed_holiday_brings_no_reminder(db, people):
    service.ensure_official_holidays(db.session, date(2026, 12, 4))
    for h in db.session.scalars(select(Holiday)):
        h.confirmed_at = datetime(2027, 1, 1, tzinfo=UTC)
    db.session.commit()
    assert remind_unconfirmed_holidays(db.session, datetime(2027, 2, 20, 9, tzinfo=UTC)) == (0, 0)
