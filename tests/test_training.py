"""The training log of service staff (issue 20, point 9; R52 "التنمية المهنية لممثلي/ات خدمة
المستفيد"): entries validated (Arabic-Indic digits and decimals in the hours, either calendar
for the date), recorded by supervisors and admins for anyone and read by each staff member for
themselves, every change on the audit trail, a certificate kept with the entry or not at all,
the report's totals, and the exports."""
from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from desk import audit
from desk.accounts.service import create_user
from desk.errors import NotFound, ValidationFailed
from desk.files import training_dir
from desk.models import AuditAction, AuditEntry, TrainingEntry
from desk.text import today_riyadh
from desk.training import service
from desk.training.service import TrainingData
from tests.conftest import PASSWORD, statements_run

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _dir() -> Path:
    return training_dir(current_app.config)


def add(db, actor, **kw):
    data = TrainingData(**{"user_id": kw.pop("user_id"), "course": "مهارات التواصل مع المستفيدين",
                           "provider": "المركز الوطني", "day": "2026-10-01", "hours": "6", **kw})
    return service.add_entry(db.session, actor, data, directory=_dir(), max_bytes=5 * 1024 * 1024)


@pytest.mark.parametrize("text, centihours", [
    ("6", 600), ("1.5", 150), ("١٫٥", 150), ("٢,٢٥", 225), ("0.05", 5), (" ١٢ ", 1200)])
def test_hours_are_read_in_either_digits_with_decimals(text, centihours):
    assert service.parse_hours(text) == centihours


@pytest.mark.parametrize("text", ["", "ستة", "1.234", "-2", "1e3", "1..5"])
def test_what_is_not_a_number_of_hours(text):
    assert service.parse_hours(text) is None


def test_an_entry_is_recorded_with_both_calendars_and_audited(db, people):
    entry = add(db, people.supervisor, user_id=people.staff.id, hours="٢٫٥", day="١٤٤٨-٠٤-٠٩", entered_as="hijri")
    assert (entry.centihours, entry.hours, entry.recorded_by_id) == (250, 2.5, people.supervisor.id)
    assert entry.day == date(2026, 9, 20)  # 9 Rabi' al-Thani 1448, Umm al-Qura
    [row] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.TRAINING)).all()
    assert (row.actor_id, row.record_type, row.record_id) == (people.supervisor.id, "training_entry", str(entry.id))
    assert row.detail["done"] == "added" and row.detail["hours"] == 2.5 and row.detail["user_id"] == people.staff.id
    assert audit.verify(db.session)[1] is None


@pytest.mark.parametrize("changes, field", [
    ({"course": "  "}, "course"),
    ({"provider": ""}, "provider"),
    ({"provider": "م" * 201}, "provider"),
    ({"day": ""}, "day"),
    ({"day": "2026-02-30"}, "day"),
    ({"day": "سابقا"}, "day"),
    ({"entered_as": "julian"}, "entered_as"),
    ({"hours": ""}, "hours"),
    ({"hours": "ست ساعات"}, "hours"),
    ({"hours": "0"}, "hours"),
    ({"hours": "1001"}, "hours"),
])
def test_an_invalid_entry_is_refused_and_nothing_is_written(db, people, changes, field):
    with pytest.raises(ValidationFailed) as refused:
        add(db, people.supervisor, user_id=people.staff.id, **changes)
    assert field in refused.value.errors
    assert db.session.scalar(select(func.count()).select_from(TrainingEntry)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_a_future_date_or_someone_who_is_not_staff_is_refused(db, people):
    tomorrow = (today_riyadh() + timedelta(days=1)).isoformat()
    with pytest.raises(ValidationFailed) as refused:
        add(db, people.supervisor, user_id=people.staff.id, day=tomorrow)
    assert "day" in refused.value.errors
    manager = create_user(db.session, "gm@example.org", PASSWORD, "المدير العام", ["manager"])
    for user_id in (manager.id, people.admin.id, 999999, None):
        with pytest.raises(ValidationFailed) as refused:
            add(db, people.supervisor, user_id=user_id)
        assert "user_id" in refused.value.errors


def test_who_may_record_and_who_reads_what(db, people):
    for who in (people.staff, people.focal):
        with pytest.raises(NotFound):
            add(db, who, user_id=who.id)
    mine = add(db, people.admin, user_id=people.staff.id)
    theirs = add(db, people.supervisor, user_id=people.focal.id)
    assert [e.id for e in service.entries(db.session, people.staff)] == [mine.id]
    assert [e.id for e in service.entries(db.session, people.focal, user_id=people.staff.id)] == [theirs.id]
    assert {e.id for e in service.entries(db.session, people.supervisor)} == {mine.id, theirs.id}
    assert service.get_entry(db.session, people.staff, mine.id) is mine
    with pytest.raises(NotFound):
        service.get_entry(db.session, people.staff, theirs.id)
    with pytest.raises(NotFound):
        service.remove_entry(db.session, people.staff, mine, directory=_dir())
    service.remove_entry(db.session, people.supervisor, mine, directory=_dir())
    assert [e.id for e in service.entries(db.session, people.staff)] == []
    done = [r.detail["done"] for r in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == AuditAction.TRAINING).order_by(AuditEntry.id))]
    assert done == ["added", "added", "removed"]


def test_the_certificate_is_kept_with_its_entry_or_not_at_all(db, people, monkeypatch):
    data = TrainingData(people.staff.id, "الإسعافات الأولية", "الهلال الأحمر", "2026-10-01", "gregorian", "4")
    entry = service.add_entry(db.session, people.supervisor, data, io.BytesIO(PDF), "شهادة.pdf", directory=_dir(),
                              max_bytes=1024 * 1024)
    assert entry.certificate_filename == "شهادة.pdf" and entry.certificate_content_type == "application/pdf"
    assert (_dir() / entry.certificate_stored_name).read_bytes() == PDF
    with pytest.raises(ValidationFailed) as refused:  # not a certificate
        service.add_entry(db.session, people.supervisor, data, io.BytesIO(b"MZ\x90\x00 an executable"), "x.pdf",
                          directory=_dir(), max_bytes=1024 * 1024)
    assert "file" in refused.value.errors

    def broken(*args, **kwargs):
        raise RuntimeError("the audit trail is unavailable")
    monkeypatch.setattr(audit, "record", broken)
    before = set(_dir().iterdir())
    with pytest.raises(RuntimeError):
        service.add_entry(db.session, people.supervisor, data, io.BytesIO(PDF), "ثانية.pdf", directory=_dir(),
                          max_bytes=1024 * 1024)
    assert set(_dir().iterdir()) == before  # no file left behind
    assert db.session.scalar(select(func.count()).select_from(TrainingEntry)) == 1
    monkeypatch.undo()
    service.remove_entry(db.session, people.supervisor, entry, directory=_dir())
    assert not (_dir() / entry.certificate_stored_name).exists()


def test_hours_per_person_and_month_and_who_had_no_training(db, people):
    add(db, people.supervisor, user_id=people.staff.id, day="2026-01-10", hours="1.5")
    add(db, people.supervisor, user_id=people.staff.id, day="2026-02-03", hours="2.25")
    add(db, people.supervisor, user_id=people.focal.id, day="2025-01-01", hours="8")   # over a year before
    add(db, people.supervisor, user_id=people.other_focal.id, day="2026-03-01", hours="3")  # after the period
    figures = service.figures(db.session, date(2026, 1, 1), date(2026, 2, 28))
    by_name = {p.user.name: (p.centihours, p.courses, p.last_day) for p in figures.people}
    assert by_name["سارة"] == (375, 2, date(2026, 2, 3))
    assert by_name["فهد"] == (0, 0, date(2025, 1, 1))
    assert by_name["منى"] == (0, 0, date(2026, 3, 1))
    assert figures.centihours == 375 and figures.courses == 2
    assert [(m.month, m.centihours, m.courses) for m in figures.months] == [("2026-01", 150, 1), ("2026-02", 225, 1)]
    # up to the end of the period: منى's training came after it, فهد's is over 12 months old
    assert {p.user.name for p in figures.untrained} == {"فهد", "منى", "نورة"}
    assert "Admin" not in by_name  # not service staff


def test_the_report_section_reads_the_trainees_once(db, people):
    """figures() gives the same trainees to the hours per person and to who had no training:
    one SELECT of the users (and its eager loads), not two."""
    add(db, people.supervisor, user_id=people.staff.id, day="2026-01-10", hours="1.5")
    db.session.expunge_all()
    with statements_run(db) as seen:
        figures = service.figures(db.session, date(2026, 1, 1), date(2026, 2, 28))
    assert len([s for s in seen if "FROM users" in s]) == 1, seen
    assert {p.user.name for p in figures.untrained} >= {"فهد"}


def test_the_training_page_form_and_permissions(as_user, db, people):
    supervisor = as_user(people.supervisor)
    page = supervisor.get("/training").get_data(as_text=True)
    assert 'id="training-form"' in page and 'enctype="multipart/form-data"' in page
    refused = supervisor.post("/training", {"user_id": str(people.staff.id), "course": "خدمة العملاء",
                                            "provider": "", "day": "2026-10-01", "entered_as": "gregorian",
                                            "hours": "١٫٥"}, content_type="multipart/form-data")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="provider-msg"' in html and 'value="خدمة العملاء"' in html and 'value="١٫٥"' in html
    assert db.session.scalar(select(func.count()).select_from(TrainingEntry)) == 0
    saved = supervisor.post("/training", {"user_id": str(people.staff.id), "course": "خدمة العملاء",
                                          "provider": "معهد الإدارة", "day": "2026-10-01", "entered_as": "gregorian",
                                          "hours": "١٫٥", "certificate": (io.BytesIO(PDF), "cert.pdf")},
                            content_type="multipart/form-data")
    assert saved.status_code == 302
    entry = db.session.scalar(select(TrainingEntry))
    assert entry.centihours == 150 and entry.certificate_filename == "cert.pdf"
    staff = as_user(people.staff)
    mine = staff.get("/training").get_data(as_text=True)
    assert "خدمة العملاء" in mine and 'id="training-form"' not in mine
    assert staff.get(f"/training/{entry.id}/certificate").get_data() == PDF
    focal = as_user(people.focal)
    assert "خدمة العملاء" not in focal.get("/training").get_data(as_text=True)
    assert focal.get(f"/training/{entry.id}/certificate").status_code == 404
    assert focal.post("/training", {"user_id": str(people.focal.id), "course": "x", "provider": "y",
                                    "day": "2026-10-01", "hours": "1"}).status_code == 404
    assert focal.post(f"/training/{entry.id}/remove").status_code == 404
    assert focal.get("/training/export.csv").status_code == 404
    assert supervisor.post(f"/training/{entry.id}/remove").status_code == 302
    assert db.session.scalar(select(TrainingEntry)) is None


def test_the_exports_and_the_report_section(as_user, db, people):
    add(db, people.supervisor, user_id=people.staff.id, day=today_riyadh().isoformat(), hours="1.5",
        course="=HYPERLINK(\"x\")")
    supervisor = as_user(people.supervisor)
    csv = supervisor.get("/training/export.csv").get_data().decode("utf-8-sig")
    assert "'=HYPERLINK" in csv and "سارة" in csv and "1.5" in csv
    xlsx = supervisor.get("/training/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.get_data()[:2] == b"PK"
    exports = db.session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.EXPORT,
                                                          AuditEntry.record_id == "training")
                                 .order_by(AuditEntry.id)).all()
    assert [e.detail["format"] for e in exports] == ["csv", "xlsx"]
    report = supervisor.get("/stats/report?preset=this_month").get_data(as_text=True)
    assert 'id="table-training"' in report and 'id="table-untrained"' in report and "سارة" in report
