"""Compensation claims (desk.compensation): the four policy conditions with evidence from the
same ticket, the negotiation log, the proposal, and the general manager's decision: approval
only with all four met, never by the proposer; role checks, CSRF, htmx and full page."""
from __future__ import annotations

import secrets
from decimal import Decimal

import pytest
from sqlalchemy import select

from desk.accounts.service import create_user
from desk.beneficiaries.service import NewBeneficiary
from desk.compensation import service
from desk.errors import Forbidden, NotFound, StaleVersion, ValidationFailed
from desk.models import Attachment, CompensationClaim, EventKind, Kind, Ticket, TicketEvent
from desk.permissions import Action, can, visible_tickets
from tests.conftest import PASSWORD
from tests.test_committee import _national_id


@pytest.fixture
def manager(db):
    return create_user(db.session, "gm@example.org", PASSWORD, "المدير العام", ["manager"])


@pytest.fixture
def compensation(make_ticket):
    """``compensation()``: a new compensation ticket of SOCIAL (identity required, attested)."""
    numbers = iter(range(5000, 6000))

    def make():
        n = next(numbers)
        return make_ticket(kind=Kind.COMPENSATION, attested=True, verified=True, new_beneficiary=NewBeneficiary(
            name=f"سعد {n}", national_id=_national_id(), phone=f"+96655555{n:04d}"))
    return make


@pytest.fixture
def claim_ticket(compensation):
    return compensation()


def _attach(db, ticket, name="إقرار.pdf"):
    row = Attachment(ticket_id=ticket.id, filename=name, stored_name=secrets.token_hex(16),
                     content_type="application/pdf", size=10, sha256="0" * 64)
    db.session.add(row)
    db.session.commit()
    return row


def _events(db, ticket, kind):
    return list(db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                             TicketEvent.kind == kind)))


def _meet_all(db, actor, ticket):
    doc = _attach(db, ticket)
    for n in (1, 2, 3, 4):
        service.assess(db.session, actor, ticket, n, "met", f"ملاحظة {n}", doc.id if n == 3 else None,
                       "admission" if n == 3 else None, expected_version=ticket.version)


# The checklist ------------------------------------------------------------------------

def test_assess_records_state_note_evidence_and_an_event(db, people, claim_ticket):
    doc = _attach(db, claim_ticket)
    version = claim_ticket.version
    service.assess(db.session, people.staff, claim_ticket, "3", "met", "أقرت الجمعية بالتأخير", str(doc.id),
                   "admission", expected_version=version)
    claim = service.claim_of(db.session, claim_ticket)
    assert [c.state for c in claim.conditions] == ["unknown", "unknown", "met", "unknown"]
    third = claim.conditions[2]
    assert (third.note, third.evidence_id, third.evidence_kind) == ("أقرت الجمعية بالتأخير", doc.id, "admission")
    [event] = _events(db, claim_ticket, EventKind.COMPENSATION_CONDITION)
    assert (event.old_value, event.new_value, event.actor_id) == ("3:unknown", "3:met", people.staff.id)
    assert claim_ticket.version == version + 1


def test_condition_three_needs_evidence_to_be_met(db, people, claim_ticket):
    with pytest.raises(ValidationFailed) as failed:
        service.assess(db.session, people.staff, claim_ticket, 3, "met", "", None, None,
                       expected_version=claim_ticket.version)
    assert "evidence" in failed.value.errors
    db.session.rollback()
    assert service.claim_of(db.session, claim_ticket) is None  # nothing half-saved
    # Other conditions may be met without a document; condition 3 may be "not met" without one.
    service.assess(db.session, people.staff, claim_ticket, 1, "met", "", None, None,
                   expected_version=claim_ticket.version)
    service.assess(db.session, people.staff, claim_ticket, 3, "not_met", "", None, None,
                   expected_version=claim_ticket.version)


def test_evidence_must_belong_to_the_same_ticket(db, people, claim_ticket, compensation):
    other = compensation()
    foreign = _attach(db, other)
    with pytest.raises(ValidationFailed) as failed:
        service.assess(db.session, people.staff, claim_ticket, 3, "met", "", foreign.id, "ruling",
                       expected_version=claim_ticket.version)
    assert "evidence" in failed.value.errors
    db.session.rollback()
    assert foreign not in service.evidence_choices(db.session, claim_ticket)


@pytest.mark.parametrize("state,evidence,kind,field", [
    ("maybe", None, None, "state"),
    ("met", "doc", None, "evidence_kind"),
    ("met", "doc", "rumour", "evidence_kind"),
    ("met", None, "ruling", "evidence"),
    ("met", "abc", "ruling", "evidence"),
])
def test_assess_refusals_by_the_field(db, people, claim_ticket, state, evidence, kind, field):
    doc = _attach(db, claim_ticket)
    raw = doc.id if evidence == "doc" else evidence
    with pytest.raises(ValidationFailed) as failed:
        service.assess(db.session, people.staff, claim_ticket, 1, state, "", raw, kind,
                       expected_version=claim_ticket.version)
    assert field in failed.value.errors


def test_stale_version_is_refused(db, people, claim_ticket):
    with pytest.raises(StaleVersion):
        service.assess(db.session, people.staff, claim_ticket, 1, "met", "", None, None,
                       expected_version=claim_ticket.version - 1)


# Negotiation and proposal -------------------------------------------------------------

def test_negotiation_log_is_timeline_notes_without_a_version_bump(db, people, claim_ticket):
    version = claim_ticket.version
    service.add_note(db.session, people.supervisor, claim_ticket, "اتصلنا بالمستفيد وعرضنا التسوية")
    [event] = _events(db, claim_ticket, EventKind.COMPENSATION_NOTE)
    assert (event.actor_id, event.body) == (people.supervisor.id, "اتصلنا بالمستفيد وعرضنا التسوية")
    assert claim_ticket.version == version
    with pytest.raises(ValidationFailed) as failed:
        service.add_note(db.session, people.staff, claim_ticket, "  ")
    assert "text" in failed.value.errors


@pytest.mark.parametrize("raw,expected", [
    ("١٬٥٠٠٫٥٠", Decimal("1500.50")), ("1,500", Decimal("1500.00")), ("٢٠٠ ر.س", Decimal("200.00")), ("", None),
])
def test_amount_accepts_arabic_indic_digits(raw, expected):
    assert service.parse_amount(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "-5", "0", "1.234", "NaN", "1e400"])
def test_amount_refuses_what_is_not_an_amount(raw):
    with pytest.raises(ValueError):
        service.parse_amount(raw)


def test_propose_records_amount_remedy_and_proposer(db, people, claim_ticket):
    service.propose(db.session, people.staff, claim_ticket, "١٥٠٠", "اعتذار رسمي", expected_version=claim_ticket.version)
    claim = service.claim_of(db.session, claim_ticket)
    assert (claim.amount, claim.remedy, claim.proposed_by_id) == (Decimal("1500"), "اعتذار رسمي", people.staff.id)
    [event] = _events(db, claim_ticket, EventKind.COMPENSATION_PROPOSED)
    assert event.new_value == "1500.00"
    with pytest.raises(ValidationFailed) as failed:
        service.propose(db.session, people.staff, claim_ticket, "", " ", expected_version=claim_ticket.version)
    assert "amount" in failed.value.errors


# The general manager's decision ---------------------------------------------------------

def test_approval_refused_unless_all_four_met(db, people, claim_ticket, manager):
    service.propose(db.session, people.staff, claim_ticket, "500", None, expected_version=claim_ticket.version)
    with pytest.raises(ValidationFailed) as failed:
        service.decide(db.session, manager, claim_ticket, "approved", "", expected_version=claim_ticket.version)
    assert "decision" in failed.value.errors
    db.session.rollback()
    assert service.claim_of(db.session, claim_ticket).outcome == "pending"
    _meet_all(db, people.staff, claim_ticket)
    service.decide(db.session, manager, claim_ticket, "approved", "موافق", expected_version=claim_ticket.version)
    claim = service.claim_of(db.session, claim_ticket)
    assert (claim.outcome, claim.decided_by_id) == ("approved", manager.id)
    [event] = _events(db, claim_ticket, EventKind.COMPENSATION_DECISION)
    assert (event.old_value, event.new_value) == ("pending", "approved")
    # Decided: nothing changes any more.
    with pytest.raises(ValidationFailed):
        service.propose(db.session, people.staff, claim_ticket, "900", None, expected_version=claim_ticket.version)


def test_rejection_needs_no_conditions_but_a_proposal(db, people, claim_ticket, manager):
    with pytest.raises(ValidationFailed):
        service.decide(db.session, manager, claim_ticket, "rejected", "", expected_version=claim_ticket.version)
    service.propose(db.session, people.staff, claim_ticket, None, "إعادة الخدمة", expected_version=claim_ticket.version)
    service.decide(db.session, manager, claim_ticket, "rejected", "لم يثبت الإخلال", expected_version=claim_ticket.version)
    assert service.claim_of(db.session, claim_ticket).outcome == "rejected"


def test_separation_of_duties_the_proposer_never_decides(db, people, claim_ticket):
    both = create_user(db.session, "both@example.org", PASSWORD, "مشرف ومدير", ["supervisor", "manager"])
    _meet_all(db, both, claim_ticket)
    service.propose(db.session, both, claim_ticket, "1000", None, expected_version=claim_ticket.version)
    with pytest.raises(ValidationFailed) as failed:
        service.decide(db.session, both, claim_ticket, "approved", "", expected_version=claim_ticket.version)
    message = str(failed.value.errors["decision"][0])
    assert "separation of duties" in message or "الفصل بين المهام" in message
    db.session.rollback()
    assert service.claim_of(db.session, claim_ticket).outcome == "pending"


def test_roles(db, people, claim_ticket, manager, make_ticket):
    complaint = make_ticket()
    assert can(people.staff, Action.COMPENSATION_EDIT, claim_ticket)
    assert can(people.supervisor, Action.COMPENSATION_EDIT, claim_ticket)
    assert not can(people.staff, Action.COMPENSATION_EDIT, complaint)
    assert not can(people.focal, Action.COMPENSATION_EDIT, claim_ticket)
    for who in (people.staff, people.supervisor, people.admin, people.focal):
        assert not can(who, Action.COMPENSATION_DECIDE, claim_ticket)
    assert can(manager, Action.COMPENSATION_DECIDE, claim_ticket)
    assert not can(manager, Action.COMPENSATION_DECIDE, complaint)
    # The manager reads every ticket and changes nothing else.
    assert can(manager, Action.TICKET_VIEW, complaint)
    assert not can(manager, Action.TICKET_NOTE, complaint)
    assert not can(manager, Action.COMPENSATION_EDIT, claim_ticket)
    assert db.session.scalar(select(Ticket.id).where(Ticket.id == complaint.id, visible_tickets(manager)))
    with pytest.raises(Forbidden):
        service.decide(db.session, people.supervisor, claim_ticket, "approved", "", expected_version=claim_ticket.version)
    with pytest.raises(Forbidden):
        service.propose(db.session, manager, claim_ticket, "5", None, expected_version=claim_ticket.version)
    with pytest.raises(NotFound):
        service.add_note(db.session, people.other_focal, claim_ticket, "x")


# The screens --------------------------------------------------------------------------

def _url(ticket, name):
    return f"/tickets/{ticket.reference}/compensation/{name}"


def test_panel_on_compensation_tickets_only(db, people, claim_ticket, make_ticket, as_user):
    staff = as_user(people.staff)
    page = staff.get(f"/tickets/{claim_ticket.reference}").get_data(as_text=True)
    assert 'id="ticket-compensation"' in page and 'id="compensation-assess-3"' in page
    assert 'id="compensation-decide"' not in page
    other = staff.get(f"/tickets/{make_ticket().reference}").get_data(as_text=True)
    assert 'id="ticket-compensation"' not in other


def test_manager_sees_the_decision_form_once_something_is_proposed(db, people, claim_ticket, manager, as_user):
    gm = as_user(manager)
    before = gm.get(f"/tickets/{claim_ticket.reference}").get_data(as_text=True)
    assert 'id="compensation-decide"' not in before  # nothing to decide yet (QA: a form that can only fail)
    service.propose(db.session, people.staff, claim_ticket, "1000", None, expected_version=claim_ticket.version)
    page = gm.get(f"/tickets/{claim_ticket.reference}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="compensation-decide"' in html and 'id="compensation-propose"' not in html


def test_full_page_step_redirects_and_htmx_returns_the_panel(db, people, claim_ticket, as_user):
    staff = as_user(people.staff)
    response = staff.post(_url(claim_ticket, "propose"), {"amount": "١٢٠٠", "remedy": "", "version": claim_ticket.version})
    assert response.status_code == 302
    db.session.refresh(claim_ticket)
    response = staff.post(_url(claim_ticket, "note"), {"text": "اتفاق مبدئي", "version": claim_ticket.version}, htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="ticket-compensation"' in html and "اتفاق مبدئي" in html and 'hx-swap-oob="true"' in html
    claim = db.session.scalar(select(CompensationClaim).where(CompensationClaim.ticket_id == claim_ticket.id))
    assert claim.amount_halalas == 120000


def test_refused_form_keeps_input_with_message_by_field(db, people, claim_ticket, compensation, as_user):
    foreign = _attach(db, compensation(), "غريب.pdf")
    staff = as_user(people.staff)
    data = {"number": "3", "state": "met", "note": "نص محفوظ", "evidence": str(foreign.id),
            "evidence_kind": "ruling", "version": claim_ticket.version}
    response = staff.post(_url(claim_ticket, "assess"), data, htmx=True)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "نص محفوظ" in html and 'id="compensation-assess-3-evidence-error"' in html
    full = staff.post(_url(claim_ticket, "propose"), {"amount": "abc", "remedy": "يبقى", "version": claim_ticket.version})
    assert full.status_code == 422
    html = full.get_data(as_text=True)
    assert 'id="compensation-propose-amount-error"' in html and 'value="abc"' in html and "يبقى" in html
    db.session.expire_all()
    assert service.claim_of(db.session, claim_ticket) is None


def test_manager_refused_own_proposal_on_screen(db, people, claim_ticket, as_user):
    both = create_user(db.session, "both2@example.org", PASSWORD, "مشرف ومدير", ["supervisor", "manager"])
    service.propose(db.session, both, claim_ticket, "10", None, expected_version=claim_ticket.version)
    response = as_user(both).post(_url(claim_ticket, "decide"), {"decision": "rejected", "version": claim_ticket.version},
                                  htmx=True)
    assert response.status_code == 422
    assert 'id="compensation-decide-decision-error"' in response.get_data(as_text=True)


def test_csrf_roles_and_404(db, people, claim_ticket, manager, as_user, make_ticket):
    staff = as_user(people.staff)
    assert staff.post(_url(claim_ticket, "note"), {"text": "x"}, csrf=False).status_code == 400
    assert staff.post(_url(claim_ticket, "note"), {"text": "x"}, htmx=True, csrf=False).status_code == 400
    assert staff.post(_url(claim_ticket, "decide"), {"decision": "rejected", "version": claim_ticket.version}).status_code == 403
    assert as_user(manager).post(_url(claim_ticket, "note"), {"text": "x"}).status_code == 403
    focal = as_user(people.other_focal)  # AID's focal point: the ticket is SOCIAL's
    assert focal.post(_url(claim_ticket, "note"), {"text": "x"}).status_code == 404
    assert focal.get(f"/tickets/{claim_ticket.reference}").status_code == 404
    assert staff.post(_url(claim_ticket, "nothing"), {"text": "x"}).status_code == 404
    assert staff.post(_url(make_ticket(), "note"), {"text": "x"}).status_code == 404
    assert not _events(db, claim_ticket, EventKind.COMPENSATION_NOTE)


def test_stale_form_is_a_conflict(db, people, claim_ticket, as_user):
    staff = as_user(people.staff)
    response = staff.post(_url(claim_ticket, "propose"), {"amount": "5", "version": claim_ticket.version - 1}, htmx=True)
    assert response.status_code == 409
