"""Issue 16, point 1: the portal's privacy notice before the send button, the full notice the
admin edits in Arabic and English (each save a version), the version a request accepted, and
the explicit consent that documents (sensitive data) need."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func as sa_func
from sqlalchemy import select

from desk.errors import NotFound, ValidationFailed
from desk.models import AuditAction, AuditEntry, PrivacyNotice, Ticket
from desk.portal import privacy
from tests.test_portal import PDF, _form

VERSION_FIELD = re.compile(r'name="notice_version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="notice_version"')


def _shown_version(page: str) -> int:
    match = VERSION_FIELD.search(page)
    assert match, "no notice_version field on the form"
    return int(match.group(1) or match.group(2))


def _send(v, files=(), **overrides):
    data = _form(**overrides)
    if files:
        data["files"] = [(io.BytesIO(content), name) for name, content in files]
    return v.post("/portal/new", data, content_type="multipart/form-data")


def _only_ticket(db) -> Ticket:
    db.session.expire_all()
    return db.session.scalars(select(Ticket)).one()


# The short notice and the full page -------------------------------------------------------------

def test_the_short_notice_comes_before_the_send_button_and_links_the_full_one(db, people, visitor):
    page = visitor().get("/portal/new").get_data(as_text=True)
    notice, button = page.index('id="privacy-title"'), page.index('class="btn btn-primary btn-lg w-100"')
    assert notice < button
    short = page[notice:button]
    for words in ("لماذا", "من يطّلع", "مدة", "حقوقك", "للتواصل"):
        assert words in short or words in page[notice - 200:button], words
    assert 'href="/portal/privacy"' in short
    assert _shown_version(page) == privacy.DEFAULT_VERSION


def test_the_full_notice_before_any_save_is_the_desks_own_in_both_languages(db, people, visitor):
    v = visitor()
    page = v.get("/portal/privacy")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "لماذا نجمع بياناتك" in html and "سدايا" in html
    assert "36" in html or "٣٦" in html  # how long a complaint is kept (the retention period)
    v.post("/language", {"locale": "en", "next": "/portal/privacy"})
    assert "Why we collect your data" in v.get("/portal/privacy").get_data(as_text=True)
    assert v.get("/portal/privacy/4").status_code == 404


# The admin edits it: every save a version ----------------------------------------------------------

def test_the_admin_saves_a_new_version_recorded_in_the_audit_trail(db, people, as_user, visitor):
    admin = as_user(people.admin)
    page = admin.get("/admin/privacy-notice")
    assert page.status_code == 200 and "لماذا نجمع بياناتك" in page.get_data(as_text=True)  # the text in force, to edit
    answer = admin.post("/admin/privacy-notice", {"body_ar": "إشعار الجمعية الأول", "body_en": "First notice"})
    assert answer.status_code == 303
    answer = admin.post("/admin/privacy-notice", {"body_ar": "إشعار الجمعية الثاني", "body_en": "Second notice"})
    assert answer.status_code == 303
    rows = db.session.scalars(select(PrivacyNotice).order_by(PrivacyNotice.version)).all()
    assert [(r.version, r.body_ar, r.created_by_id) for r in rows] == [
        (1, "إشعار الجمعية الأول", people.admin.id), (2, "إشعار الجمعية الثاني", people.admin.id)]
    audits = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "privacy_notice")
                                .order_by(AuditEntry.id)).all()
    assert [(a.action, a.record_id, a.actor_id, a.detail["version"]) for a in audits] == [
        (AuditAction.ADMIN_CHANGE, "1", people.admin.id, [0, 1]), (AuditAction.ADMIN_CHANGE, "2", people.admin.id, [1, 2])]
    # The portal shows the latest; the earlier one stays readable, marked as earlier.
    v = visitor()
    assert "إشعار الجمعية الثاني" in v.get("/portal/privacy").get_data(as_text=True)
    earlier = v.get("/portal/privacy/1").get_data(as_text=True)
    assert "إشعار الجمعية الأول" in earlier and 'href="/portal/privacy"' in earlier
    assert _shown_version(v.get("/portal/new").get_data(as_text=True)) == 2


def test_a_refused_save_keeps_what_was_typed_and_writes_nothing(db, people, as_user):
    admin = as_user(people.admin)
    answer = admin.post("/admin/privacy-notice", {"body_ar": "نص عربي جديد كتبه المشرف", "body_en": "  "})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "نص عربي جديد كتبه المشرف" in html
    assert 'id="body_en"' in html and "is-invalid" in html
    unchanged = admin.post("/admin/privacy-notice", {"body_ar": privacy.DEFAULT_AR, "body_en": privacy.DEFAULT_EN})
    assert unchanged.status_code == 422
    assert db.session.scalar(select(PrivacyNotice.id)) is None
    assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.record_type == "privacy_notice")) is None


def test_only_admins_edit_the_notice(db, people, as_user):
    for user in (people.staff, people.supervisor, people.focal):
        assert as_user(user).get("/admin/privacy-notice").status_code == 404
        assert as_user(user).post("/admin/privacy-notice", {"body_ar": "x", "body_en": "y"}).status_code == 404
    with pytest.raises(NotFound):
        privacy.save(db.session, people.staff, "x", "y")
    assert db.session.scalar(select(PrivacyNotice.id)) is None


def test_two_saves_of_the_same_version_at_once_make_one(db, people, monkeypatch):
    privacy.save(db.session, people.admin, "أ", "a")
    # The second admin read the highest version before the first committed: the unique version refuses it.
    class Stale:  # the highest version as the second admin read it, before the first save committed
        @staticmethod
        def max(column):
            return sa_func.max(column) - 1

    monkeypatch.setattr(privacy, "func", Stale)
    with pytest.raises(ValidationFailed) as refused:
        privacy.save(db.session, people.admin, "ب", "b")
    assert list(refused.value.errors) == ["body_ar"]
    assert [r.version for r in db.session.scalars(select(PrivacyNotice))] == [1]


# The version accepted is kept with the request --------------------------------------------------

def test_a_request_keeps_the_version_its_sender_was_shown(db, people, visitor, as_user):
    privacy.save(db.session, people.admin, "النسخة الأولى", "First")
    v = visitor()
    form_page = v.get("/portal/new").get_data(as_text=True)
    shown = _shown_version(form_page)
    privacy.save(db.session, people.admin, "النسخة الثانية", "Second")  # changed while they typed
    assert _send(v, notice_version=str(shown)).status_code == 303
    ticket = _only_ticket(db)
    assert ticket.privacy_notice_version == 1
    staff_page = as_user(people.staff).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert 'href="/portal/privacy/1"' in staff_page


@pytest.mark.parametrize("typed", ["99", "abc", ""])
def test_a_version_that_does_not_exist_records_the_one_in_force(db, people, visitor, typed):
    privacy.save(db.session, people.admin, "النسخة الأولى", "First")
    assert _send(visitor(), notice_version=typed).status_code == 303
    assert _only_ticket(db).privacy_notice_version == 1


# Consent for documents ------------------------------------------------------------------------

def test_documents_without_the_consent_tick_are_refused_by_the_field_keeping_the_text(db, people, visitor):
    v = visitor()
    answer = _send(v, files=[("تقرير طبي.pdf", PDF)], body="تشخيص السكري منذ سنة")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="consent-msg"' in html and "ضع علامة في المربع" in html
    assert "تشخيص السكري منذ سنة" in html and 'value="سارة العتيبي"' in html
    assert db.session.scalar(select(Ticket.id)) is None


def test_with_the_tick_the_documents_go_and_the_consent_is_kept(db, people, visitor, as_user):
    assert _send(visitor(), files=[("تقرير طبي.pdf", PDF)], consent="y").status_code == 303
    ticket = _only_ticket(db)
    assert ticket.sensitive_consent_at is not None and ticket.privacy_notice_version == 0
    page = as_user(people.staff).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "الموافقة على معالجة المستندات" in page


def test_without_documents_no_tick_is_asked(db, people, visitor):
    assert _send(visitor()).status_code == 303
    ticket = _only_ticket(db)
    assert ticket.sensitive_consent_at is None and ticket.privacy_notice_version == 0


def test_a_portal_reply_with_documents_needs_the_tick_too(db, people, visitor):
    v = visitor()
    assert _send(v).status_code == 303
    ticket = _only_ticket(db)
    path = f"/portal/t/{ticket.reference}/reply"
    refused = v.post(path, {"body": "أرفقت التقرير", "files": [(io.BytesIO(PDF), "report.pdf")]},
                     content_type="multipart/form-data")
    assert refused.status_code == 422 and "أرفقت التقرير" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).sensitive_consent_at is None
    sent = v.post(path, {"body": "أرفقت التقرير", "consent": "y", "files": [(io.BytesIO(PDF), "report.pdf")]},
                  content_type="multipart/form-data")
    assert sent.status_code == 303
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).sensitive_consent_at is not None


def test_the_notice_accepted_and_the_consent_are_in_the_persons_data_export(db, people, visitor, as_user, app,
                                                                             tmp_path, monkeypatch):
    import json
    import zipfile
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    assert _send(visitor(), files=[("تقرير.pdf", PDF)], consent="y").status_code == 303
    ticket = _only_ticket(db)
    response = as_user(people.admin).post(f"/beneficiaries/{ticket.beneficiary_id}/privacy/export", {"note": "بخطاب"})
    assert response.status_code == 200
    data = json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("data.json"))
    (request,) = data["requests"]
    assert request["privacy_notice_accepted"] == 0 and request["consent_to_process_documents_at"]
