"""The case file and registration (issue 20, points 3 and 5; R17, R21, desk.casefile): the
printable case file with both calendars and the policy's attestation; the signed scan attached
back records the attestation; the admin's rule per kind refuses resolving or approving without
it; a beneficiary's registration state machine, its checklist ticked from the attachments, and
nothing half-written when the database fails."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from desk import audit as audit_module
from desk.attachments import service as attachments
from desk.casefile import service
from desk.committee import service as committee_service
from desk.compensation import service as compensation_service
from desk.errors import NotFound, ValidationFailed
from desk.models import (
    Attachment,
    AuditAction,
    AuditEntry,
    Beneficiary,
    BeneficiaryEvent,
    EventKind,
    Kind,
    KindRequirement,
    RegistrationState,
    Status,
    TicketEvent,
)
from desk.tickets import actions
from tests.conftest import count
from tests.test_committee import committee, support  # noqa: F401 - fixtures
from tests.test_compensation import _meet_all, compensation, manager  # noqa: F401 - fixtures

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def store(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    return tmp_path / "attachments"


def _rule(db, people, kind, attestation="none", documents=()):
    return service.set_requirement(db.session, people.admin, kind, attestation, list(documents))


def _attach(db, actor, ticket, store, document_type="", name="scan.pdf"):
    upload = attachments.Upload(stream=io.BytesIO(PDF), filename=name, document_type=document_type)
    return attachments.add(db.session, actor, ticket, upload, directory=store, max_bytes=10 * 1024 * 1024)


def _events(db, ticket, kind):
    return list(db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                             TicketEvent.kind == kind)))


# The admin's rule per kind ------------------------------------------------------------------

def test_the_admin_sets_a_rule_per_kind_on_the_audit_trail(db, people):
    assert service.requirement(db.session, Kind.SUPPORT).attestation == "none"  # nothing set: not required
    _rule(db, people, Kind.SUPPORT, "signed", ["national_id_copy", "lease"])
    row = db.session.get(KindRequirement, "support")
    assert (row.attestation, row.documents, row.updated_by_id) == ("signed", ["national_id_copy", "lease"],
                                                                   people.admin.id)
    assert count(db, AuditEntry, AuditEntry.record_type == "kind_requirement", AuditEntry.record_id == "support") == 1


def test_the_rule_refuses_unknown_values_and_non_admins(db, people):
    with pytest.raises(ValidationFailed) as failed:
        _rule(db, people, Kind.SUPPORT, "maybe", ["passport_of_the_cat"])
    assert set(failed.value.errors) == {"attestation-support", "documents-support"}
    with pytest.raises(NotFound):
        service.set_requirement(db.session, people.staff, Kind.SUPPORT, "tick", [])
    assert count(db, KindRequirement) == 0


def test_the_admin_page_saves_and_keeps_what_was_chosen_on_a_refusal(as_user, people, db):
    browser = as_user(people.admin)
    assert browser.get("/admin/requirements").status_code == 200
    refused = browser.post("/admin/requirements", {"kind": "support", "attestation": "sometimes",
                                                   "documents": ["lease"]})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'aria-invalid="true"' in html and re.search(r'value="lease" id="documents-support-lease" checked', html)
    done = browser.post("/admin/requirements", {"kind": "support", "attestation": "signed",
                                                "documents": ["lease", "income_proof"]})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(KindRequirement, "support").documents == ["income_proof", "lease"]
    assert as_user(people.staff).get("/admin/requirements").status_code == 404


# The case file ---------------------------------------------------------------------------------

def test_the_case_file_has_both_calendars_the_masked_data_and_the_attestation(as_user, people, db, support):  # noqa: F811
    ticket = support()
    page = as_user(people.staff).get(f"/tickets/{ticket.reference}/casefile")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'lang="ar" dir="rtl"' in html and "ملف الحالة" in html
    assert "هـ" in html and "الموافق" in html  # Hijri beside Gregorian
    assert service.POLICY_ATTESTATION in html and "مسؤول مسؤولية مباشرة" in html
    assert "التوقيع" in html
    assert ticket.beneficiary.national_id not in html and ticket.beneficiary.phone not in html  # masked
    assert ticket.subject in html and ticket.reference in html
    english = as_user(people.staff).get(f"/tickets/{ticket.reference}/casefile?lang=en").get_data(as_text=True)
    assert 'lang="en" dir="ltr"' in english and "directly responsible" in english and " AH" in english


def test_an_organisations_case_file_prints_its_numbers_and_contact_person_not_a_national_id(as_user, people, db,
                                                                                             make_ticket):
    from desk.beneficiaries.service import NewBeneficiary
    ticket = make_ticket(department_id=people.social.id, new_beneficiary=NewBeneficiary(
        name="شركة الريادة للتوريد", requester_kind="company", commercial_registration="1010123456",
        unified_number="7001234567", contact_name="سالم العتيبي", phone="+966501112233"))
    html = as_user(people.staff).get(f"/tickets/{ticket.reference}/casefile").get_data(as_text=True)
    for label in ("رقم السجل التجاري", "الرقم الموحد (٧٠٠)", "مسؤول التواصل لدى الجهة"):
        assert label in html
    assert "سالم العتيبي" in html and "1010123456" not in html and "7001234567" not in html  # masked
    assert "رقم الهوية" not in html and "National ID" not in html
    english = as_user(people.staff).get(f"/tickets/{ticket.reference}/casefile?lang=en").get_data(as_text=True)
    assert "Commercial registration number" in english and "Contact person" in english
    assert "National ID" not in english
    # A person's case file keeps the national ID line.
    person = make_ticket(department_id=people.social.id)
    assert "National ID" in as_user(people.staff).get(f"/tickets/{person.reference}/casefile?lang=en").get_data(
        as_text=True)


def test_the_case_file_is_refused_to_whoever_may_not_see_the_ticket(as_user, people, db, make_ticket):
    ticket = make_ticket(department_id=people.social.id)
    assert as_user(people.other_focal).get(f"/tickets/{ticket.reference}/casefile").status_code == 404
    assert as_user(people.focal).get(f"/tickets/{ticket.reference}/casefile").status_code == 200


# The signed scan -------------------------------------------------------------------------------

def test_a_signed_scan_records_the_attestation_on_the_timeline(db, people, make_ticket, store):
    ticket = make_ticket()
    assert not ticket.attested
    attachment = _attach(db, people.staff, ticket, store, "signed_attestation", "إقرار موقع.pdf")
    db.session.expire_all()
    assert ticket.attested and ticket.attested_at is not None
    assert attachment.document_type == "signed_attestation"
    [event] = _events(db, ticket, EventKind.ATTESTED)
    assert (event.actor_id, event.reason, event.new_value) == (people.staff.id, "signed_scan", "إقرار موقع.pdf")
    assert service.signed_scan(db.session, ticket).id == attachment.id


def test_an_unknown_document_type_is_refused_and_nothing_is_kept(db, people, make_ticket, store):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as failed:
        _attach(db, people.staff, ticket, store, "love_letter")
    assert "document_type" in failed.value.errors
    assert count(db, Attachment) == 0 and not (store.exists() and list(store.iterdir()))


def test_a_database_failure_while_recording_the_signature_keeps_nothing(db, people, make_ticket, store, monkeypatch):
    ticket = make_ticket()

    def broken(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))
    monkeypatch.setattr(service, "record", broken)
    with pytest.raises(OperationalError):
        _attach(db, people.staff, ticket, store, "signed_attestation")
    db.session.expire_all()
    assert count(db, Attachment) == 0 and not ticket.attested
    assert not (store.exists() and list(store.iterdir()))


def test_the_upload_form_marks_a_signed_attestation(as_user, people, db, make_ticket, store):
    ticket = make_ticket()
    browser = as_user(people.staff)
    answer = browser.post(f"/tickets/{ticket.reference}/attachments",
                          {"file": (io.BytesIO(PDF), "signed.pdf"), "description": "",
                           "document_type": "signed_attestation"},
                          content_type="multipart/form-data", htmx=True)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "إقرار موقّع" in html and 'id="ticket-props" class="card mb-3" hx-swap-oob="true"' in html
    db.session.expire_all()
    assert ticket.attested


# Resolving and approving without the attestation --------------------------------------------------

def test_resolving_is_refused_without_the_signed_scan_where_the_admin_requires_it(db, people, make_ticket, store):
    _rule(db, people, Kind.COMPLAINT, "signed")
    ticket = make_ticket(attested=True)  # a tick is not enough: the scan is required
    with pytest.raises(ValidationFailed) as failed:
        actions.resolve(db.session, people.staff, ticket, "تم صرف السلة", expected_version=ticket.version)
    assert "الإقرار الموقّع" in str(failed.value.errors["action_taken"][0])
    db.session.rollback()
    assert ticket.status != Status.RESOLVED
    _attach(db, people.staff, ticket, store, "signed_attestation")
    db.session.refresh(ticket)
    actions.resolve(db.session, people.staff, ticket, "تم صرف السلة", expected_version=ticket.version)
    assert ticket.status == Status.RESOLVED


def test_a_tick_rule_asks_for_the_tick_and_no_rule_asks_for_nothing(db, people, make_ticket):
    plain, ticket = make_ticket(), make_ticket()  # recorded before the rule (intake asks for the tick after)
    actions.resolve(db.session, people.staff, plain, "تم", expected_version=plain.version)  # no rule: as before
    _rule(db, people, Kind.COMPLAINT, "tick")
    with pytest.raises(ValidationFailed):
        actions.resolve(db.session, people.staff, ticket, "تم", expected_version=ticket.version)
    db.session.rollback()
    ticket = make_ticket(attested=True)
    actions.resolve(db.session, people.staff, ticket, "تم", expected_version=ticket.version)
    assert ticket.status == Status.RESOLVED


def test_the_resolve_form_says_why_and_keeps_the_action_typed(as_user, people, db, make_ticket):
    _rule(db, people, Kind.COMPLAINT, "signed")
    ticket = make_ticket()
    answer = as_user(people.staff).post(f"/tickets/{ticket.reference}/actions/resolve",
                                         {"action_taken": "تم التواصل وحل المشكلة", "version": ticket.version},
                                         htmx=True)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "الإقرار الموقّع" in html and "تم التواصل وحل المشكلة" in html


def test_the_committee_decides_only_with_the_signed_scan_where_required(db, people, support, committee, store):  # noqa: F811
    _rule(db, people, Kind.SUPPORT, "signed")
    ticket = support()
    committee_service.refer(db.session, people.staff, ticket, "للدراسة", expected_version=ticket.version)
    with pytest.raises(ValidationFailed) as failed:
        committee_service.decide(db.session, committee, ticket, "accepted", "مستحق", "سلة",
                                 expected_version=ticket.version)
    assert "decision" in failed.value.errors
    db.session.rollback()
    assert ticket.status == Status.AWAITING_COMMITTEE
    _attach(db, people.staff, ticket, store, "signed_attestation")
    db.session.refresh(ticket)
    committee_service.decide(db.session, committee, ticket, "accepted", "مستحق", "سلة", expected_version=ticket.version)
    assert ticket.status == Status.OPEN


def test_the_committee_may_reject_without_the_signed_scan(db, people, support, committee):  # noqa: F811
    """Else a request whose applicant never signs would wait on the committee for ever."""
    _rule(db, people, Kind.SUPPORT, "signed")
    ticket = support()
    committee_service.refer(db.session, people.staff, ticket, "للدراسة", expected_version=ticket.version)
    committee_service.decide(db.session, committee, ticket, "rejected", "لم يُعد الإقرار الموقّع",
                             expected_version=ticket.version)
    assert ticket.status != Status.AWAITING_COMMITTEE


def test_compensation_is_approved_only_with_the_signed_scan_where_required(db, people, compensation, manager, store):  # noqa: F811
    _rule(db, people, Kind.COMPENSATION, "signed")
    ticket = compensation()
    _meet_all(db, people.staff, ticket)
    compensation_service.propose(db.session, people.staff, ticket, "500", None, expected_version=ticket.version)
    with pytest.raises(ValidationFailed) as failed:
        compensation_service.decide(db.session, manager, ticket, "approved", "", expected_version=ticket.version)
    assert "decision" in failed.value.errors
    db.session.rollback()
    assert compensation_service.claim_of(db.session, ticket).outcome == "pending"
    _attach(db, people.staff, ticket, store, "signed_attestation")
    db.session.refresh(ticket)
    compensation_service.decide(db.session, manager, ticket, "approved", "", expected_version=ticket.version)
    assert compensation_service.claim_of(db.session, ticket).outcome == "approved"


# Registration ------------------------------------------------------------------------------------

def test_the_checklist_fills_from_the_documents_attached_to_the_beneficiarys_requests(db, people, make_ticket, store):
    _rule(db, people, Kind.DISPUTE, documents=["national_id_copy", "family_record"])
    ticket = make_ticket(kind=Kind.DISPUTE)
    person = ticket.beneficiary
    assert [(i.document, i.done) for i in service.checklist(db.session, person)] == [
        ("national_id_copy", False), ("family_record", False)]
    later = make_ticket(kind=Kind.COMPLAINT, beneficiary_id=person.id, new_beneficiary=None)
    copy = _attach(db, people.staff, later, store, "national_id_copy", "هوية.pdf")
    _attach(db, people.staff, ticket, store, "", "other.pdf")  # a document like any other ticks nothing
    items = service.checklist(db.session, person)
    assert [(i.document, i.done) for i in items] == [("national_id_copy", True), ("family_record", False)]
    assert items[0].attachment.id == copy.id and items[0].reference == later.reference


def test_the_registration_state_machine_and_its_refusals(db, people, make_ticket, store):
    _rule(db, people, Kind.DISPUTE, documents=["national_id_copy"])
    ticket = make_ticket(kind=Kind.DISPUTE)
    person = ticket.beneficiary
    assert person.registration_state == RegistrationState.NEW
    with pytest.raises(ValidationFailed) as failed:  # documents missing, no file number
        service.change_registration(db.session, people.staff, person, "registered", "")
    assert set(failed.value.errors) == {"file_number", "override"}
    db.session.rollback()
    with pytest.raises(ValidationFailed) as failed:  # not an admin: no override
        service.change_registration(db.session, people.staff, person, "registered", "12", "ظرف خاص")
    assert "override" in failed.value.errors
    db.session.rollback()
    service.change_registration(db.session, people.staff, person, "documents_pending")
    with pytest.raises(ValidationFailed) as failed:  # not a state that may follow
        service.change_registration(db.session, people.staff, person, "new")
    assert "state" in failed.value.errors
    db.session.rollback()
    _attach(db, people.staff, ticket, store, "national_id_copy")
    service.change_registration(db.session, people.staff, person, "registered", "١٤٤٧/٠٠٢٣")  # Arabic-Indic digits
    db.session.expire_all()
    assert (person.registration_state, person.file_number) == ("registered", "1447/0023")
    steps = service.history(db.session, person)
    assert [(e.old_value, e.new_value, e.actor_id) for e in steps] == [
        ("documents_pending", "registered", people.staff.id), ("new", "documents_pending", people.staff.id)]
    trail = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.RECORD_EDITED,
                                                             AuditEntry.record_id == str(person.id))))
    assert [(e.detail["field"], e.detail["new"]) for e in trail] == [
        ("registration_state", "documents_pending"), ("registration_state", "registered"),
        ("file_number", "1447/0023")]
    other = make_ticket(kind=Kind.INQUIRY).beneficiary
    with pytest.raises(ValidationFailed) as failed:  # the file number is the other's
        service.change_registration(db.session, people.admin, other, "registered", "1447/0023", "نقص مستندات")
    assert "file_number" in failed.value.errors
    db.session.rollback()
    with pytest.raises(NotFound):  # a focal point does not register
        service.change_registration(db.session, people.focal, other, "closed")


def test_an_admin_registers_without_every_document_with_a_written_override(db, people, make_ticket):
    _rule(db, people, Kind.DISPUTE, documents=["lease"])
    person = make_ticket(kind=Kind.DISPUTE).beneficiary
    service.change_registration(db.session, people.admin, person, "registered", "77", "عقد الإيجار لدى الجهة الحكومية")
    [event] = service.history(db.session, person)
    assert event.body == "عقد الإيجار لدى الجهة الحكومية" and event.file_number == "77"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.record_id == str(person.id))
                               .order_by(AuditEntry.id)).first()
    assert entry.detail["field"] == "registration_state" and entry.detail["override"] is True  # its words stay in the history, which an erasure clears


def test_a_database_failure_half_way_through_registration_leaves_nothing(db, people, make_ticket, monkeypatch):
    person = make_ticket(kind=Kind.DISPUTE).beneficiary

    def broken(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))
    monkeypatch.setattr(audit_module, "record", broken)
    with pytest.raises(OperationalError):
        service.change_registration(db.session, people.staff, person, "registered", "5")
    db.session.expire_all()
    assert db.session.get(Beneficiary, person.id).registration_state == "new"
    assert db.session.get(Beneficiary, person.id).file_number is None
    assert count(db, BeneficiaryEvent) == 0


def test_the_panel_beside_the_ticket_and_its_form(as_user, people, db, make_ticket, store):
    _rule(db, people, Kind.DISPUTE, documents=["income_proof"])
    ticket = make_ticket(kind=Kind.DISPUTE)
    person = ticket.beneficiary
    browser = as_user(people.staff)
    page = browser.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert f"/beneficiaries/{person.id}/registration" in page
    panel = browser.get(f"/beneficiaries/{person.id}/registration", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "إثبات الدخل" in panel.get_data(as_text=True)
    refused = browser.post(f"/beneficiaries/{person.id}/registration", {"state": "registered", "file_number": "٩٩"},
                           htmx=True)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'value="٩٩"' in html and "المستندات" in html
    saved = browser.post(f"/beneficiaries/{person.id}/registration", {"state": "documents_pending"}, htmx=True)
    assert saved.status_code == 200 and "بانتظار استكمال المستندات" in saved.get_data(as_text=True)
    record = browser.get(f"/beneficiaries/{person.id}").get_data(as_text=True)
    assert 'id="registration"' in record and "سجل التسجيل" in record
    # a focal point sees the ticket but neither the panel nor the beneficiary's record
    focal = as_user(people.focal)
    assert f"/beneficiaries/{person.id}/registration" not in focal.get(f"/tickets/{ticket.reference}").get_data(
        as_text=True)
    assert focal.get(f"/beneficiaries/{person.id}/registration", headers={"HX-Request": "true"}).status_code == 404
    assert focal.post(f"/beneficiaries/{person.id}/registration", {"state": "closed"}, htmx=True).status_code == 404


def test_the_committee_panel_says_why_and_keeps_the_reasons_typed(as_user, people, db, support, committee):  # noqa: F811
    _rule(db, people, Kind.SUPPORT, "signed")
    ticket = support()
    committee_service.refer(db.session, people.staff, ticket, "للدراسة", expected_version=ticket.version)
    answer = as_user(committee).post(f"/tickets/{ticket.reference}/committee/decide",
                                     {"decision": "accepted", "reasons": "مستحق حسب الدراسة", "service": "سلة شهرية",
                                      "version": ticket.version}, htmx=True)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "الإقرار الموقّع" in html and "مستحق حسب الدراسة" in html
    db.session.expire_all()
    assert ticket.status == Status.AWAITING_COMMITTEE


def test_an_erasure_removes_the_file_number_and_the_override_and_keeps_the_steps(db, people, make_ticket):
    from desk.accounts.service import create_user
    from desk.privacy import service as privacy
    from tests.conftest import PASSWORD
    dpo = create_user(db.session, "dpo-casefile@example.org", PASSWORD, "مسؤول البيانات", ["dpo"])
    _rule(db, people, Kind.COMPLAINT, documents=["lease"])
    ticket = make_ticket()
    person = ticket.beneficiary
    service.change_registration(db.session, people.admin, person, "registered", "1447-9", "نورة تسكن لدى أختها")
    ticket.status = Status.CLOSED
    ticket.version += 1
    db.session.commit()
    result = privacy.erase(db.session, dpo, person.id, None, "/nonexistent")
    assert result.refused == []
    db.session.expire_all()
    assert db.session.get(Beneficiary, person.id).file_number is None
    [step] = service.history(db.session, db.session.get(Beneficiary, person.id))
    assert (step.new_value, step.file_number, step.body) == ("registered", None, None)


def test_the_beneficiarys_export_holds_their_registration(db, people, make_ticket, as_user):
    import json
    import zipfile

    from desk.accounts.service import create_user
    from tests.conftest import PASSWORD
    dpo = create_user(db.session, "dpo-export@example.org", PASSWORD, "مسؤول البيانات", ["dpo"])
    person = make_ticket().beneficiary
    service.change_registration(db.session, people.staff, person, "documents_pending")
    response = as_user(dpo).post(f"/beneficiaries/{person.id}/privacy/export", {"note": "بخطاب"})
    assert response.status_code == 200
    data = json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("data.json"))
    assert data["registration"]["state"] == "documents_pending"
    assert [(h["old"], h["new"]) for h in data["registration"]["history"]] == [("new", "documents_pending")]


def test_staff_intake_asks_for_the_tick_as_the_admin_decided(db, people, make_ticket, support):  # noqa: F811
    support()  # no rule set: the policy's default, a support request asks for the tick
    with pytest.raises(ValidationFailed) as failed:
        support(attested=False)
    assert "attested" in failed.value.errors
    db.session.rollback()
    _rule(db, people, Kind.SUPPORT, "signed")  # signed after intake, on paper: not a tick at intake
    assert not support(attested=False).attested
    _rule(db, people, Kind.COMPLAINT, "tick")
    with pytest.raises(ValidationFailed) as failed:
        make_ticket()
    assert "attested" in failed.value.errors


def test_the_handling_panel_shows_the_signed_scan_where_it_is_required(as_user, people, db, make_ticket, store):
    _rule(db, people, Kind.COMPLAINT, "signed")
    ticket = make_ticket()
    browser = as_user(people.staff)
    page = browser.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "لم يُرفق الإقرار الموقّع بعد" in page and "تسجيل الإقرار" not in page  # no tick offered
    scan = _attach(db, people.staff, ticket, store, "signed_attestation")
    page = browser.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert f"/attachments/{scan.id}" in page and "لم يُرفق الإقرار الموقّع بعد" not in page


def test_two_registrations_racing_for_one_file_number_end_with_one_and_a_message(db, people, make_ticket,
                                                                                 monkeypatch):
    first, second = make_ticket().beneficiary, make_ticket().beneficiary
    service.change_registration(db.session, people.staff, first, "registered", "500")
    monkeypatch.setattr(service, "file_number_taken", lambda *args: False)  # the other commit came after the check
    with pytest.raises(ValidationFailed) as failed:
        service.change_registration(db.session, people.staff, second, "registered", "٥٠٠")
    assert "file_number" in failed.value.errors
    db.session.expire_all()
    assert db.session.get(Beneficiary, second.id).registration_state == "new"
    assert count(db, BeneficiaryEvent, BeneficiaryEvent.beneficiary_id == second.id) == 0


def test_the_audit_screen_reads_the_rules_and_the_registration_steps(db, people, make_ticket, as_user):
    _rule(db, people, Kind.COMPLAINT, "tick", ["lease"])  # an admin change: old/new are mappings
    person = make_ticket(attested=True).beneficiary
    service.change_registration(db.session, people.staff, person, "documents_pending")
    page = as_user(people.admin).get("/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "kind_requirement" in html and "حالة التسجيل" in html and "بانتظار استكمال المستندات" in html
