"""A beneficiary's requests about their data (desk.privacy): a copy as one archive, a
correction, erasure refused under a legal hold and otherwise done everywhere with the figures
kept; the retention run, its dry run, its idempotence and its failure half-way."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from desk import audit
from desk.accounts.service import create_user
from desk.attachments import service as attachments
from desk.beneficiaries.service import NewBeneficiary
from desk.errors import NotFound, ValidationFailed
from desk.models import (
    Attachment,
    AuditAction,
    AuditEntry,
    Beneficiary,
    CompensationClaim,
    EventKind,
    InboundMessage,
    Kind,
    OutboxMessage,
    RetentionPeriod,
    SatisfactionResponse,
    SubjectRequest,
    Ticket,
    TicketEvent,
    utcnow,
)
from desk.privacy import anonymise, retention, service
from desk.privacy import export as exporting
from desk.stats import rollup
from desk.stats.service import DateRange, compute
from desk.text import today_riyadh
from tests.conftest import PASSWORD, VALID_NID, close_as_done, count

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
REMOVED = anonymise.REMOVED


@pytest.fixture
def store(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    return tmp_path / "attachments"


@pytest.fixture
def dpo(db, people):
    return create_user(db.session, "dpo@example.org", PASSWORD, "مسؤول البيانات", ["dpo"])




def _document(db, actor, ticket, store, name="letter.pdf"):
    upload = attachments.Upload(stream=io.BytesIO(PDF), filename=name, description="صورة الهوية")
    return attachments.add(db.session, actor, ticket, upload, directory=store, max_bytes=1024 * 1024)


def _person(make_ticket, n=1, **extra):
    return make_ticket(new_beneficiary=NewBeneficiary(
        name="نورة عبدالله الشمري", national_id=VALID_NID, phone=f"+96650000{n:04d}", email="noura@example.org",
        city="حائل"), body="أنا نورة عبدالله الشمري، رقمي 0500000001 ولم تصلني السلة", **extra)


def _figures(db):
    """Every count the statistics show, for the whole history (text lists by their length only)."""
    today = today_riyadh()
    stats = compute(db.session, None, DateRange(date(2020, 1, 1), today), now=utcnow())
    return (stats.totals, stats.by_channel, stats.by_kind, stats.by_department, stats.by_category,
            stats.response_times, stats.resolution_times, stats.series, stats.compensation,
            len(stats.comments), len(stats.actions))


# Who may ------------------------------------------------------------------------------------

def test_the_dpo_lands_on_the_beneficiaries_records(db, dpo, browser):
    browser.refresh_token()
    response = browser.post("/login", {"email": dpo.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/beneficiaries")
    assert 'href="/beneficiaries"' in browser.get("/beneficiaries").text


def test_only_admins_and_the_dpo_handle_requests_about_data(db, people, dpo, make_ticket, as_user):
    ticket = _person(make_ticket)
    person_id = ticket.beneficiary_id
    staff, focal = as_user(people.staff), as_user(people.focal)
    assert staff.get(f"/beneficiaries/{person_id}").status_code == 200  # the record: whoever works the queue
    assert focal.get(f"/beneficiaries/{person_id}").status_code == 404
    for path in ("correct", "erase"):
        assert staff.get(f"/beneficiaries/{person_id}/privacy/{path}").status_code == 404
    assert staff.post(f"/beneficiaries/{person_id}/privacy/export", {"note": ""}).status_code == 404
    assert count(db, SubjectRequest) == 0
    page = as_user(dpo).get(f"/beneficiaries/{person_id}")
    assert page.status_code == 200 and "privacy/export" in page.text and "privacy/erase" in page.text
    assert "1•" in page.text and VALID_NID not in page.text  # the record page masks the ID
    with pytest.raises(NotFound):
        service.correct(db.session, people.supervisor, person_id, "city", "الرياض", None)


# Export -------------------------------------------------------------------------------------

def test_the_export_is_one_archive_of_everything_held_about_them(db, people, dpo, make_ticket, store, as_user):
    ticket = _person(make_ticket)
    document = _document(db, people.staff, ticket, store, name="هوية.pdf")
    other = make_ticket()  # someone else's: not in it
    db.session.add(SatisfactionResponse(ticket_id=ticket.id, rating=4, solved=True, comment="شكراً لكم",
                                        channel=ticket.channel, kind=ticket.kind))
    db.session.commit()
    service.correct(db.session, dpo, ticket.beneficiary_id, "city", "الرياض", "طلب حضوري")

    response = as_user(dpo).post(f"/beneficiaries/{ticket.beneficiary_id}/privacy/export", {"note": "بخطاب"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    assert f"documents/{ticket.reference}/{document.id}-هوية.pdf" in names
    assert archive.read(f"documents/{ticket.reference}/{document.id}-هوية.pdf") == PDF
    summary = archive.read("index.html").decode()
    assert 'lang="ar" dir="rtl"' in summary
    assert "نورة عبدالله الشمري" in summary and VALID_NID in summary and ticket.reference in summary
    assert "شكراً لكم" in summary and other.reference not in summary
    assert "<script" not in summary and "stylesheet" not in summary  # opens anywhere, nothing from outside
    data = json.loads(archive.read("data.json"))
    assert data["beneficiary"]["city"] == "الرياض"
    assert [r["reference"] for r in data["requests"]] == [ticket.reference]
    assert data["requests"][0]["satisfaction"]["rating"] == 4
    # the access log about them: the correction before the export
    assert any(row["action"] == AuditAction.SUBJECT_REQUEST and row["detail"]["request"] == "correction"
               for row in data["access_log"])

    recorded = db.session.scalars(select(SubjectRequest).order_by(SubjectRequest.id)).all()
    assert [(r.kind, r.outcome, r.actor_id) for r in recorded] == [("correction", "done", dpo.id),
                                                                   ("export", "done", dpo.id)]
    assert recorded[-1].note == "بخطاب" and recorded[-1].detail["documents"] == 1
    assert audit.verify(db.session)[1] is None


def test_an_export_that_fails_half_way_is_neither_sent_nor_recorded(db, people, dpo, make_ticket, store, as_user,
                                                                   monkeypatch):
    ticket = _person(make_ticket)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(exporting, "write_archive", broken)
    with pytest.raises(OSError):
        exporting.export(db.session, dpo, ticket.beneficiary_id, None, store)
    assert count(db, SubjectRequest) == 0
    assert count(db, AuditEntry, AuditEntry.action == AuditAction.SUBJECT_REQUEST) == 0


def test_an_export_note_too_long_is_refused_by_the_field(db, dpo, make_ticket, as_user):
    ticket = _person(make_ticket)
    response = as_user(dpo).post(f"/beneficiaries/{ticket.beneficiary_id}/privacy/export", {"note": "ن" * 501})
    assert response.status_code == 422 and 'id="note-msg"' in response.text
    assert "ن" * 501 in response.text  # what was typed is kept
    assert count(db, SubjectRequest) == 0


# Correction ---------------------------------------------------------------------------------

def test_a_correction_is_recorded_old_to_new_with_identifiers_masked(db, dpo, make_ticket, as_user):
    ticket = _person(make_ticket)
    browser = as_user(dpo)
    refused = browser.post(f"/beneficiaries/{ticket.beneficiary_id}/privacy/correct",
                           {"field": "phone", "value": "٠١١٢٣٤", "note": ""})
    assert refused.status_code == 422 and "هذا ليس رقم جوال صحيحًا" in refused.text
    assert "٠١١٢٣٤" in refused.text
    done = browser.post(f"/beneficiaries/{ticket.beneficiary_id}/privacy/correct",
                        {"field": "phone", "value": "٠٥٠ ١٢٣ ٤٥٦٧", "note": "اتصل بنا"})
    assert done.status_code == 302
    person = db.session.get(Beneficiary, ticket.beneficiary_id)
    db.session.refresh(person)
    assert person.phone == "+966501234567"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.SUBJECT_REQUEST)).one()
    assert entry.record_type == "beneficiary" and entry.record_id == str(person.id) and entry.actor_id == dpo.id
    assert entry.detail["field"] == "phone"
    assert entry.detail["old"].endswith("001") and "0000001" not in entry.detail["old"]
    assert entry.detail["new"].endswith("567") and "1234567" not in entry.detail["new"]
    edit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.RECORD_EDITED)).one()
    assert (edit.record_id, edit.detail["field"], edit.detail["new"]) == (str(person.id), "phone", entry.detail["new"])


def test_a_corrected_name_is_what_the_queue_finds(db, dpo, make_ticket):
    ticket = _person(make_ticket)
    service.correct(db.session, dpo, ticket.beneficiary_id, "name", "نوره عبدالله الشمّري", None)
    db.session.refresh(ticket)
    assert "الشمري" in ticket.search_text
    with pytest.raises(ValidationFailed):
        service.correct(db.session, dpo, ticket.beneficiary_id, "name", "  ", None)


# Erasure ------------------------------------------------------------------------------------

def test_an_open_request_holds_the_erasure_and_the_refusal_is_recorded(db, dpo, make_ticket, store, as_user):
    ticket = _person(make_ticket)
    browser = as_user(dpo)
    page = browser.get(f"/beneficiaries/{ticket.beneficiary_id}/privacy/erase")
    assert page.status_code == 200 and ticket.reference in page.text and 'id="erase-holds"' in page.text
    response = browser.post(f"/beneficiaries/{ticket.beneficiary_id}/privacy/erase", {"note": "", "confirm": "y"})
    assert response.status_code == 422 and ticket.reference in response.text
    person = db.session.get(Beneficiary, ticket.beneficiary_id)
    db.session.refresh(person)
    assert person.name == "نورة عبدالله الشمري" and person.anonymised_at is None
    refused = db.session.scalars(select(SubjectRequest)).one()
    assert (refused.kind, refused.outcome) == ("erasure", "refused") and ticket.reference in refused.detail["holds"][0]


def test_an_erasure_needs_the_box_ticked(db, dpo, make_ticket, as_user):
    ticket = close_as_done(db, _person(make_ticket), 3)
    response = as_user(dpo).post(f"/beneficiaries/{ticket.beneficiary_id}/privacy/erase", {"note": "بخطاب"})
    assert response.status_code == 422 and 'id="confirm"' in response.text and "بخطاب" in response.text
    assert count(db, SubjectRequest) == 0


def test_a_compensation_claim_holds_until_its_retention_period_passed(db, dpo, make_ticket):
    ticket = close_as_done(db, _person(make_ticket, kind=Kind.COMPENSATION, verified=True, attested=True), 30)
    db.session.add(CompensationClaim(ticket_id=ticket.id, amount_halalas=50000))
    db.session.add(RetentionPeriod(kind=Kind.COMPENSATION, months=24))
    db.session.commit()
    reasons = service.holds(db.session, ticket.beneficiary)
    assert len(reasons) == 1 and ticket.reference in reasons[0]
    later = utcnow() + timedelta(days=800)
    assert service.holds(db.session, ticket.beneficiary, later) == []
    result = service.erase(db.session, dpo, ticket.beneficiary_id, None, "/nonexistent", now=later)
    assert result.refused == [] and result.tickets == 1


def test_a_committee_decision_holds_by_the_proposed_period_when_none_is_set(db, people, dpo, make_ticket):
    ticket = close_as_done(db, _person(make_ticket, kind=Kind.SUPPORT, verified=True, attested=True), 10)
    db.session.add(TicketEvent(ticket_id=ticket.id, kind=EventKind.COMMITTEE_DECISION, new_value="accepted",
                               body="مقبول", public=True, version=ticket.version))
    db.session.commit()
    assert service.period_for(db.session, Kind.SUPPORT) == service.PROPOSED_MONTHS[Kind.SUPPORT]
    result = service.erase(db.session, dpo, ticket.beneficiary_id, None, "/nonexistent")
    assert len(result.refused) == 1 and "لجنة البحث" in result.refused[0]


def test_an_erasure_anonymises_the_person_everywhere_and_the_figures_stay(db, people, dpo, make_ticket, store,
                                                                         as_user):
    ticket = _person(make_ticket)
    ticket.beneficiary.landline, ticket.beneficiary.id_document = "+966112345678", "P12345678"
    document = _document(db, people.staff, ticket, store)
    path = store / document.stored_name
    db.session.add(SatisfactionResponse(ticket_id=ticket.id, rating=2, solved=False, comment="تأخرتم علي كثيراً",
                                        channel=ticket.channel, kind=ticket.kind))
    db.session.add(TicketEvent(ticket_id=ticket.id, kind=EventKind.REPLY, body="أهلاً نورة عبدالله الشمري",
                               public=True, version=ticket.version))
    db.session.add(OutboxMessage(channel="sms", to_address="+966500000001", subject="x", body_text="ردنا عليك",
                                 ticket_id=ticket.id, reason="reply", status="sent"))
    db.session.add(OutboxMessage(channel="sms", to_address="+966500000001", subject="x", body_text="لم يرسل",
                                 ticket_id=ticket.id, reason="reply"))
    db.session.add(InboundMessage(channel="email", key="<a@b>", sender="noura@example.org", ticket_id=None,
                                  outcome="ignored"))
    # Someone else's request that names her, by name (another spelling) and by number.
    mention = make_ticket(body="المستفيدة نوره عبدالله الشمري جارتي، جوالها ٠٥٠٠٠٠٠٠٠١ وتحتاج مساعدة")
    db.session.commit()
    close_as_done(db, ticket, 5)
    before = _figures(db)
    person_id, reference = ticket.beneficiary_id, ticket.reference
    staff_browser = as_user(people.staff)

    response = as_user(dpo).post(f"/beneficiaries/{person_id}/privacy/erase",
                                 {"note": "طلب كتابي من نورة عبدالله الشمري", "confirm": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    person = db.session.get(Beneficiary, person_id)
    assert person.name == REMOVED and person.anonymised_at is not None
    assert (person.national_id, person.phone, person.email, person.city) == (None, None, None, None)
    assert (person.landline, person.id_document) == (None, None)  # a passport's number is as personal
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.subject, ticket.body, ticket.action_taken) == (REMOVED, REMOVED, REMOVED)
    assert ticket.beneficiary_id is None and ticket.anonymised_at is not None and "نورة" not in ticket.search_text
    bodies = db.session.scalars(select(TicketEvent.body).where(TicketEvent.ticket_id == ticket.id,
                                                               TicketEvent.body.is_not(None))).all()
    assert bodies and set(bodies) == {REMOVED}
    assert db.session.scalars(select(SatisfactionResponse.comment)).one() == REMOVED
    assert count(db, Attachment) == 0 and not path.exists()
    messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_user_id.is_(None))).all()
    assert [(m.to_address, m.body_text) for m in messages] == [(REMOVED, REMOVED)]  # the unsent one dropped
    assert set(db.session.scalars(select(OutboxMessage.body_text).where(OutboxMessage.ticket_id == ticket.id))) \
        == {REMOVED}  # the staff's notices about it too
    assert db.session.scalars(select(InboundMessage.sender)).one() is None
    mention = db.session.get(Ticket, mention.id)
    assert "الشمري" not in mention.body and "٠٥٠٠٠٠٠٠٠١" not in mention.body
    assert mention.body.startswith("المستفيدة " + REMOVED) and "وتحتاج مساعدة" in mention.body
    assert _figures(db) == before
    done = db.session.scalars(select(SubjectRequest)).one()
    assert (done.kind, done.outcome, done.detail["documents"], done.detail["mentions"]) == ("erasure", "done", 1, 1)
    assert done.note == "طلب كتابي من " + REMOVED
    assert audit.verify(db.session)[1] is None
    page = as_user(dpo).get(f"/beneficiaries/{person_id}")
    assert "الشمري" not in page.text and "privacy/erase" not in page.text
    shown = staff_browser.get(f"/tickets/{reference}")
    assert shown.status_code == 200 and "الشمري" not in shown.text and "noura@" not in shown.text
    assert "At the beneficiary's request to erase their data" in shown.text or "بطلب المستفيد إتلاف بياناته" in shown.text


def test_an_erased_name_is_gone_from_the_names_index(db, dpo, make_ticket, store):
    """The intake's lookup no longer finds them, and on SQLite nor does its trigram index over
    the names, asked directly (migration 0026: the old text taken out, not left behind)."""
    from desk.beneficiaries.service import search_people
    ticket = close_as_done(db, _person(make_ticket), 3)
    sqlite = db.engine.dialect.name == "sqlite"

    def indexed(needle: str) -> int:
        return db.session.scalar(sa.text("SELECT count(*) FROM beneficiaries_fts WHERE beneficiaries_fts MATCH :q"),
                                 {"q": f'"{needle}"'})

    assert [b.id for b in search_people(db.session, "نورة الشمري")] == [ticket.beneficiary_id]
    if sqlite:
        assert indexed("الشمري") == indexed("نوره") == 1
    assert service.erase(db.session, dpo, ticket.beneficiary_id, None, store).refused == []
    assert search_people(db.session, "نورة الشمري") == [] and search_people(db.session, "عبدالله") == []
    if sqlite:
        assert indexed("الشمري") == indexed("نوره") == indexed("عبدالله") == 0
        db.session.execute(sa.text("INSERT INTO beneficiaries_fts(beneficiaries_fts, rank) "
                                   "VALUES ('integrity-check', 1)"))


def test_an_erasure_that_fails_half_way_changes_nothing(db, people, dpo, make_ticket, store, monkeypatch):
    ticket = close_as_done(db, _person(make_ticket), 5)
    document = _document(db, people.staff, ticket, store)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(service, "anonymise_person", broken)
    with pytest.raises(RuntimeError):
        service.erase(db.session, dpo, ticket.beneficiary_id, None, store)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).body.startswith("أنا نورة")
    assert db.session.get(Attachment, document.id) is not None and (store / document.stored_name).exists()
    assert count(db, SubjectRequest) == 0


# Retention ----------------------------------------------------------------------------------

def test_months_before_keeps_the_day_or_takes_the_months_last():
    assert service.months_before(datetime(2026, 3, 31, 10), 1) == datetime(2026, 2, 28, 10)
    assert service.months_before(datetime(2026, 1, 15), 13) == datetime(2024, 12, 15)
    assert service.months_before(datetime(2024, 2, 29), -12) == datetime(2025, 2, 28)


def test_the_admin_sets_the_periods_with_the_proposed_ones_filled_in(db, admin, people, as_user):
    page = admin.get("/admin/retention")
    assert page.status_code == 200 and 'id="retention-unsaved"' in page.text
    assert 'name="compensation"' in page.text and 'value="120"' in page.text
    refused = admin.post("/admin/retention", {"complaint": "abc", "inquiry": "٦"})
    assert refused.status_code == 422 and 'id="retention-complaint-msg"' in refused.text and "abc" in refused.text
    assert count(db, RetentionPeriod) == 0
    saved = admin.post("/admin/retention", {"complaint": "٢٤", "inquiry": "6", "compensation": ""})
    assert saved.status_code == 302
    assert service.periods(db.session) == {"complaint": 24, "inquiry": 6}
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.ADMIN_CHANGE)).one()
    assert entry.detail["months"]["complaint"] == [None, 24]
    assert as_user(people.supervisor).get("/admin/retention").status_code == 404


def test_the_retention_run_anonymises_what_passed_its_period(app, db, people, make_ticket, store):
    old = close_as_done(db, _person(make_ticket, n=1), 400)
    old_person = old.beneficiary_id
    second = close_as_done(db, make_ticket(), 380)
    document = _document(db, people.staff, old, store)
    recent = close_as_done(db, make_ticket(), 30)
    still_open = make_ticket()
    db.session.add(RetentionPeriod(kind=Kind.COMPLAINT, months=12))
    db.session.commit()
    rollup.catch_up(db.session, today_riyadh(), full=True)
    before = _figures(db)

    dry = app.test_cli_runner().invoke(args=["desk", "retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert old.reference in dry.output and second.reference in dry.output and recent.reference not in dry.output
    db.session.expire_all()
    assert db.session.get(Ticket, old.id).anonymised_at is None and (store / document.stored_name).exists()

    done = app.test_cli_runner().invoke(args=["desk", "retention"])
    assert done.exit_code == 0, done.output
    assert "2 requests anonymised, 1 documents deleted, 2 beneficiary records" in done.output
    db.session.expire_all()
    assert db.session.get(Ticket, old.id).body == REMOVED and not (store / document.stored_name).exists()
    assert db.session.get(Ticket, recent.id).anonymised_at is None
    assert db.session.get(Ticket, still_open.id).anonymised_at is None
    person = db.session.get(Beneficiary, old_person)
    assert person.name == REMOVED and person.national_id is None  # with her last request
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.RETENTION)).all()
    assert sorted(r.ticket_id for r in rows) == sorted([old.id, second.id])
    events = db.session.scalars(select(TicketEvent).where(TicketEvent.kind == EventKind.ANONYMISED)).all()
    assert sorted((e.ticket_id, e.reason) for e in events) == sorted([(old.id, "retention"), (second.id, "retention")])
    assert _figures(db) == before
    rollup.catch_up(db.session, today_riyadh(), full=True)  # rebuilt from the anonymised tickets: the same
    assert _figures(db) == before

    again = app.test_cli_runner().invoke(args=["desk", "retention"])
    assert again.exit_code == 0 and "0 requests anonymised" in again.output
    assert count(db, AuditEntry, AuditEntry.action == AuditAction.RETENTION) == 2


def test_a_person_keeps_their_record_while_a_request_of_theirs_is_kept(db, people, make_ticket, store):
    old = close_as_done(db, _person(make_ticket, n=1), 400)
    person_id = old.beneficiary_id
    newer = make_ticket(beneficiary_id=person_id, new_beneficiary=None)
    close_as_done(db, newer, 10)
    db.session.add(RetentionPeriod(kind=Kind.COMPLAINT, months=12))
    db.session.commit()
    report = retention.run(db.session, store)
    assert report.tickets[Kind.COMPLAINT] == 1 and report.people == 0
    db.session.expire_all()
    assert db.session.get(Beneficiary, person_id).name == "نورة عبدالله الشمري"


def test_a_run_that_fails_half_way_leaves_each_request_whole(db, people, make_ticket, store, monkeypatch):
    first = close_as_done(db, make_ticket(), 400)
    second = close_as_done(db, make_ticket(), 390)
    document = _document(db, people.staff, second, store)
    db.session.add(RetentionPeriod(kind=Kind.COMPLAINT, months=12))
    db.session.commit()
    real = audit.record
    calls = []

    def failing(session, action, **kwargs):
        if action == AuditAction.RETENTION:
            calls.append(kwargs["ticket_id"])
            if kwargs["ticket_id"] == second.id:
                raise RuntimeError("the disk is full")
        return real(session, action, **kwargs)

    monkeypatch.setattr(retention.audit, "record", failing)
    report = retention.run(db.session, store)
    assert report.failed == [second.reference] and report.tickets[Kind.COMPLAINT] == 1
    db.session.expire_all()
    assert db.session.get(Ticket, first.id).anonymised_at is not None
    untouched = db.session.get(Ticket, second.id)
    assert untouched.anonymised_at is None and untouched.body != REMOVED and untouched.beneficiary_id is not None
    assert db.session.get(Attachment, document.id) is not None and (store / document.stored_name).exists()
    assert count(db, TicketEvent, TicketEvent.ticket_id == second.id, TicketEvent.kind == EventKind.ANONYMISED) == 0

    monkeypatch.setattr(retention.audit, "record", real)
    report = retention.run(db.session, store)
    assert report.failed == [] and report.references == [second.reference]
    assert not (store / document.stored_name).exists()


def test_no_period_set_means_nothing_is_removed(app, db, people, make_ticket, store):
    old = close_as_done(db, make_ticket(), 4000)
    result = app.test_cli_runner().invoke(args=["desk", "retention"])
    assert result.exit_code == 0 and "no period is set" in result.output
    db.session.expire_all()
    assert db.session.get(Ticket, old.id).anonymised_at is None


def test_an_erasure_racing_a_change_to_their_request_does_nothing(db, people, dpo, make_ticket, store, monkeypatch):
    ticket = close_as_done(db, _person(make_ticket), 5)
    real = anonymise.anonymise_ticket

    def racing(session, actor, victim, *args, **kwargs):  # someone reopens it between our read and our write
        session.connection().execute(Ticket.__table__.update().where(Ticket.id == victim.id)
                                     .values(version=Ticket.version + 1))
        return real(session, actor, victim, *args, **kwargs)

    monkeypatch.setattr(service, "anonymise_ticket", racing)
    with pytest.raises(ValidationFailed) as refused:
        service.erase(db.session, dpo, ticket.beneficiary_id, None, store)
    assert "note" in refused.value.errors
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).anonymised_at is None
    assert db.session.get(Beneficiary, ticket.beneficiary_id).anonymised_at is None
    assert count(db, SubjectRequest) == 0
