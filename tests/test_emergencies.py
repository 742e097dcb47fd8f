"""Emergencies (الحالات الطارئة): recorded with the corrective action taken on the spot, reported
to every general manager through the outbox in the same transaction, open until a general
manager acknowledges; a printable report. And the desk's visitor counter."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from desk.accounts.service import create_user
from desk.errors import Forbidden, NotFound, ValidationFailed
from desk.models import Association, Emergency, EmergencyStatus, OutboxMessage, Site, VisitorTap
from desk.survey import service
from tests.conftest import PASSWORD


@pytest.fixture
def site(db):
    row = Site(name_ar="المكتب الفرعي", name_en="Branch office", position=2, active=True)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def managers(db):
    gm = create_user(db.session, "gm@example.org", PASSWORD, "المدير العام", ["manager"])
    deputy = create_user(db.session, "gm2@example.org", PASSWORD, "General Manager", ["manager"])
    deputy.locale = "en"
    gone = create_user(db.session, "gm3@example.org", PASSWORD, "سابق", ["manager"])
    gone.active = False
    db.session.commit()
    return gm, deputy


def _data(site, **overrides):
    data = service.EmergencyData(
        site_id=site.id, occurred_at=datetime.now(UTC) - timedelta(minutes=30),
        what_happened="سقوط مراجع مسن في صالة الانتظار، رقم جواله 0551234567",
        action_taken="إسعافه في الحال والاتصال بذويه", severity="high")
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


def test_an_emergency_is_reported_to_every_general_manager_and_stays_open(db, people, site, managers):
    gm, deputy = managers
    emergency = service.record_emergency(db.session, people.supervisor, _data(site))
    assert emergency.status == EmergencyStatus.OPEN
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.to_address)).all()
    assert [m.to_address for m in messages] == ["gm2@example.org", "gm@example.org"]  # not the inactive one
    assert all(m.reason == "emergency" and m.ticket_id is None for m in messages)
    arabic, english = messages[1], messages[0]
    assert "المكتب الفرعي" in arabic.subject and "Branch office" in english.subject
    assert "إسعافه في الحال" in arabic.body_text and f"/emergencies/{emergency.id}" in arabic.body_text
    assert "0551234567" not in arabic.body_text  # phone numbers are masked in what leaves the desk
    # Only a general manager acknowledges, once; who and when are kept.
    with pytest.raises(Forbidden):
        service.acknowledge(db.session, people.supervisor, emergency)
    service.acknowledge(db.session, gm, emergency, "تمت المتابعة مع الصيانة")
    assert emergency.status == EmergencyStatus.ACKNOWLEDGED
    assert emergency.acknowledged_by_id == gm.id and emergency.acknowledged_at is not None
    assert emergency.acknowledgement_note == "تمت المتابعة مع الصيانة"
    with pytest.raises(ValidationFailed):
        service.acknowledge(db.session, deputy, emergency)
    assert db.session.get(Emergency, emergency.id).acknowledged_by_id == gm.id


def test_a_refused_emergency_writes_no_message(db, people, site, managers):
    with pytest.raises(ValidationFailed) as refused:
        service.record_emergency(db.session, people.supervisor, _data(site, action_taken="  ", site_id=None))
    assert set(refused.value.errors) == {"action_taken", "site_id"}
    with pytest.raises(ValidationFailed) as future:
        service.record_emergency(db.session, people.supervisor,
                                 _data(site, occurred_at=datetime.now(UTC) + timedelta(hours=2)))
    assert "occurred_at" in future.value.errors
    assert db.session.scalars(select(OutboxMessage)).all() == []
    assert db.session.scalars(select(Emergency)).all() == []
    for actor in (people.staff, people.focal, managers[0]):
        with pytest.raises(NotFound):
            service.record_emergency(db.session, actor, _data(site))


def test_the_list_shows_open_ones_first(db, people, site, managers):
    now = datetime.now(UTC)
    old_open = service.record_emergency(db.session, people.supervisor, _data(site, occurred_at=now - timedelta(days=3)))
    closed = service.record_emergency(db.session, people.supervisor, _data(site, occurred_at=now - timedelta(hours=1)))
    new_open = service.record_emergency(db.session, people.supervisor, _data(site, occurred_at=now - timedelta(hours=2)))
    service.acknowledge(db.session, managers[0], closed)
    assert [e.id for e in service.emergencies(db.session, people.supervisor)] == [new_open.id, old_open.id, closed.id]


def test_the_emergency_flow_through_the_web(as_user, db, people, site, managers):
    gm, _deputy = managers
    supervisor = as_user(people.supervisor)
    form = supervisor.get(f"/emergencies/new?site={site.id}")
    assert form.status_code == 200
    refused = supervisor.post("/emergencies/new", data={"site_id": site.id, "occurred_at": "2026-11-23T09:15",
                                                        "severity": "medium", "what_happened": "", "action_taken": ""})
    assert refused.status_code == 422
    saved = supervisor.post("/emergencies/new", data={
        "site_id": site.id, "occurred_at": "2026-11-01T09:15", "severity": "medium",
        "what_happened": "انقطاع الكهرباء", "action_taken": "تشغيل المولد"})
    assert saved.status_code == 302
    emergency = db.session.scalar(select(Emergency))
    # Typed in Riyadh time, stored in UTC.
    assert emergency.occurred_at == datetime(2026, 11, 1, 6, 15, tzinfo=UTC)
    assert as_user(people.staff).get(f"/emergencies/{emergency.id}").status_code == 404
    assert as_user(people.focal).get("/emergencies").status_code == 404
    # The printable report: the association's name from the settings (no profile row yet), both dates.
    printed = supervisor.get(f"/emergencies/{emergency.id}/print").get_data(as_text=True)
    assert "جمعية البر الخيرية" in printed and "هـ" in printed and "تشغيل المولد" in printed
    assert "@media print" not in printed  # print CSS lives in static/css/survey.css
    # …or from the association's profile when there is one.
    db.session.add(Association(id=1, name_ar="جمعية التجربة", name_en="Test Association"))
    db.session.commit()
    assert "جمعية التجربة" in supervisor.get(f"/emergencies/{emergency.id}/print").get_data(as_text=True)
    # The supervisor cannot acknowledge; the general manager can, with a note.
    assert supervisor.post(f"/emergencies/{emergency.id}/acknowledge", data={"note": "x"}).status_code == 404
    manager = as_user(gm)
    page = manager.get(f"/emergencies/{emergency.id}").get_data(as_text=True)
    assert "/acknowledge" in page
    done = manager.post(f"/emergencies/{emergency.id}/acknowledge", data={"note": "اطلعت"})
    assert done.status_code == 302
    db.session.expire_all()
    emergency = db.session.get(Emergency, emergency.id)
    assert emergency.status == EmergencyStatus.ACKNOWLEDGED and emergency.acknowledged_by_id == gm.id
    assert "اطلعت" in supervisor.get(f"/emergencies/{emergency.id}").get_data(as_text=True)


# The visitor counter -------------------------------------------------------------------------

def test_each_tap_is_a_row_and_the_last_can_be_undone_within_a_minute(db, people, site):
    now = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 00:30 on the 24th in Riyadh
    first = service.tap(db.session, people.staff, site, "inquiry", "", now=now)
    assert first.day.isoformat() == "2026-11-24" and first.recorded_by_id == people.staff.id
    second = service.tap(db.session, people.staff, site, None, "  استلام شيك  ", now=now + timedelta(seconds=5))
    assert second.reason_text == "استلام شيك"
    with pytest.raises(ValidationFailed):
        service.tap(db.session, people.staff, site, "shopping", now=now)
    assert not service.undo_tap(db.session, people.supervisor, second.id, now=now + timedelta(seconds=10))  # not theirs
    assert not service.undo_tap(db.session, people.staff, first.id, now=now + timedelta(seconds=61))  # too late
    assert service.undo_tap(db.session, people.staff, second.id, now=now + timedelta(seconds=30))
    assert [t.id for t in db.session.scalars(select(VisitorTap))] == [first.id]
    with pytest.raises(NotFound):
        service.tap(db.session, people.focal, site)


def test_the_counter_page_remembers_the_site(as_user, db, people, site):
    main = Site(name_ar="المقر", name_en="Main", position=1, active=True)
    db.session.add(main)
    db.session.commit()
    staff = as_user(people.staff)
    assert staff.get("/visitors").status_code == 200
    tapped = staff.post("/visitors/tap", htmx=True, data={"site_id": site.id, "reason": "complaint"})
    assert tapped.status_code == 200
    fragment = tapped.get_data(as_text=True)
    assert f'<option value="{site.id}" selected>' in fragment and "/visitors/undo" in fragment
    page = staff.get("/visitors").get_data(as_text=True)
    assert f'<option value="{site.id}" selected>' in page  # remembered
    tap = db.session.scalar(select(VisitorTap))
    undone = staff.post("/visitors/undo", htmx=True, data={"tap_id": tap.id})
    assert undone.status_code == 200
    assert db.session.scalar(select(VisitorTap)) is None
    assert as_user(people.focal).post("/visitors/tap", data={"site_id": site.id}).status_code == 404


def test_the_managers_landing_page_shows_open_emergencies(as_user, db, people, site, managers):
    """Review m5: the manager lands on the statistics, where nothing said an emergency waited."""
    gm, deputy = managers
    manager = as_user(gm)
    assert "open-emergencies" not in manager.get("/stats").get_data(as_text=True)
    first = service.record_emergency(db.session, people.supervisor, _data(site))
    service.record_emergency(db.session, people.supervisor, _data(site))
    html = manager.get("/stats").get_data(as_text=True)
    assert 'id="open-emergencies"' in html and "٢ حالة طارئة بانتظار اطلاعك" not in html
    assert "حالتان طارئتان بانتظار اطلاعك" in html
    assert re.search(r'id="nav-open-emergencies">٢ مفتوحة<', html)
    english = as_user(deputy).get("/stats").get_data(as_text=True)
    assert "2 emergencies are waiting for your acknowledgement." in english
    # the supervisor sees the nav badge, not the manager's call to acknowledge
    supervisor = as_user(people.supervisor).get("/survey").get_data(as_text=True)
    assert 'id="nav-open-emergencies"' in supervisor and 'id="open-emergencies"' not in supervisor
    service.acknowledge(db.session, gm, first)
    html = manager.get("/stats").get_data(as_text=True)
    assert "حالة طارئة واحدة بانتظار اطلاعك" in html and re.search(r'id="nav-open-emergencies">١ مفتوحة<', html)


def test_an_open_emergency_has_its_own_status_word(as_user, db, people, site, managers):
    """Review m6: the list called an open emergency "قيد المعالجة", the ticket status word."""
    service.record_emergency(db.session, people.supervisor, _data(site))
    html = as_user(people.supervisor).get("/emergencies").get_data(as_text=True)
    assert re.search(r'badge text-bg-danger">مفتوحة<', html) and "قيد المعالجة" not in html
