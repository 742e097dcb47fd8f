"""The research committee (لجنة البحث) for support requests: expected decision date, referral,
decision, service delivered, the beneficiary told, and who may see and do what."""
from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest
from sqlalchemy import select

from desk.accounts.service import create_user
from desk.beneficiaries.service import NewBeneficiary
from desk.committee import service
from desk.errors import Forbidden, NotFound, StaleVersion, ValidationFailed
from desk.models import EventKind, Kind, OutboxMessage, Status, Ticket, TicketEvent
from desk.permissions import Action, can
from desk.sla.calendar import Unit, add_business_time
from desk.sla.service import load_policy
from desk.text.ids import national_id_check_digit
from desk.tickets import actions
from desk.tickets import service as tickets
from tests.conftest import PASSWORD

_nid = count(100000001)


def _national_id() -> str:
    first9 = f"1{next(_nid) % 100000000:08d}"
    return first9 + national_id_check_digit(first9)


@pytest.fixture
def committee(db, people):
    return create_user(db.session, "committee@example.org", PASSWORD, "سلمان", ["committee"])


@pytest.fixture
def support(db, people, make_ticket):
    """``support(**overrides)``: a support request of the SOCIAL department (national ID, attested, verified)."""
    def make(email=None, **overrides):
        n = next(_nid)
        data = dict(kind=Kind.SUPPORT, attested=True, verified=True,
                    new_beneficiary=NewBeneficiary(name=f"خالد {n}", national_id=_national_id(),
                                                   phone=f"+9665{n % 100000000:08d}", email=email))
        data.update(overrides)
        return make_ticket(**data)
    return make


def _refer(db, actor, ticket):
    return service.refer(db.session, actor, ticket, "للدراسة", expected_version=ticket.version)


def _events(db, ticket, kind):
    return list(db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                             TicketEvent.kind == kind)))


# Expected decision ---------------------------------------------------------------------

def test_expected_decision_is_the_support_target_or_ten_business_days(db, support, make_ticket):
    ticket = support()
    policy = load_policy(db.session)
    expected = service.expected_decision(ticket, session=db.session)
    target = policy.due_times(Kind.SUPPORT, ticket.priority, ticket.created_at, []).resolution_due
    assert expected == (target or add_business_time(ticket.created_at, 10, Unit.DAYS, policy.calendar))
    assert expected > ticket.created_at
    assert service.expected_decision(make_ticket(), session=db.session) is None  # a complaint


def test_expected_decision_falls_back_to_ten_business_days(db, support):
    from desk.sla.service import SlaPolicy
    ticket = support()
    policy = load_policy(db.session)
    bare = SlaPolicy(policy.calendar, {})
    created = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # a Sunday, 09:00 in Riyadh
    ticket.created_at = created
    due = service.expected_decision(ticket, bare)
    assert due == add_business_time(created, 10, Unit.DAYS, policy.calendar)
    assert (due - created).days >= 13  # two working weeks


# Referral ------------------------------------------------------------------------------

def test_staff_refers_a_support_request(db, people, support):
    ticket = support()
    version = ticket.version
    event = _refer(db, people.staff, ticket)
    assert ticket.status == Status.AWAITING_COMMITTEE and ticket.is_open
    assert ticket.version == version + 1
    assert (event.kind, event.old_value, event.new_value) == (EventKind.COMMITTEE_REFERRED, Status.NEW, Status.AWAITING_COMMITTEE)


def test_focal_point_refers_own_department_only(db, people, support):
    ticket = support()
    with pytest.raises(NotFound):
        _refer(db, people.other_focal, ticket)
    _refer(db, people.focal, ticket)
    assert ticket.status == Status.AWAITING_COMMITTEE


def test_refer_refused(db, people, support, make_ticket, committee):
    complaint = make_ticket()
    with pytest.raises(ValidationFailed) as failed:
        _refer(db, people.staff, complaint)
    assert "note" in failed.value.errors
    ticket = support()
    with pytest.raises(StaleVersion):
        service.refer(db.session, people.staff, ticket, "", expected_version=ticket.version - 1)
    _refer(db, people.staff, ticket)
    with pytest.raises(ValidationFailed):  # already awaiting
        _refer(db, people.staff, ticket)
    with pytest.raises(NotFound):  # a committee member does not refer (and sees only its own tickets)
        _refer(db, committee, support())


def test_no_hand_status_change_into_or_out_of_awaiting(db, people, support):
    ticket = support()
    with pytest.raises(ValidationFailed):
        tickets.change_field(db.session, people.staff, ticket, "status", Status.AWAITING_COMMITTEE,
                             expected_version=ticket.version)
    db.session.rollback()
    _refer(db, people.staff, ticket)
    for new in (Status.OPEN, Status.CLOSED, Status.WAITING):
        with pytest.raises(ValidationFailed):
            tickets.change_field(db.session, people.staff, ticket, "status", new, expected_version=ticket.version)
        db.session.rollback()
    with pytest.raises(ValidationFailed) as failed:
        actions.resolve(db.session, people.focal, ticket, "حل", expected_version=ticket.version)
    assert "action_taken" in failed.value.errors
    with pytest.raises(ValidationFailed):
        actions.request_info(db.session, people.focal, ticket, "أرسل", expected_version=ticket.version)
    db.session.rollback()
    assert ticket.status == Status.AWAITING_COMMITTEE


# Decision ------------------------------------------------------------------------------

def test_accept_opens_the_ticket_with_a_public_event(db, people, support, committee):
    ticket = support(email="khalid@example.org")
    _refer(db, people.staff, ticket)
    version = ticket.version
    event = service.decide(db.session, committee, ticket, "accepted", "مستحق حسب الدراسة", "سلة غذائية شهرية",
                           expected_version=ticket.version)
    # Two events, each a version: the decision, and the status change it makes (the workflow's).
    assert ticket.status == Status.OPEN and ticket.version == version + 2
    assert (event.kind, event.old_value, event.new_value, event.public) == (
        EventKind.COMMITTEE_DECISION, Status.AWAITING_COMMITTEE, "accepted", True)
    moved = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                         TicketEvent.kind == EventKind.STATUS)).one()
    assert (moved.old_value, moved.new_value, moved.reason) == (Status.AWAITING_COMMITTEE, Status.OPEN, "committee")
    assert "مستحق حسب الدراسة" in event.body and "سلة غذائية شهرية" in event.body
    assert ticket.meta["committee"]["decision"] == "accepted"
    to_beneficiary = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.to_address == "khalid@example.org", OutboxMessage.reason != "received")).all()  # not the receipt
    assert len(to_beneficiary) == 1
    message = to_beneficiary[0]
    assert message.to_user_id is None and message.reason == "committee_decision"
    # Arabic whatever the catalogs hold yet: the association's Arabic name signs it
    assert ticket.reference in message.subject and "جمعية البر الخيرية" in message.body_text
    assert "مستحق حسب الدراسة" in message.body_text and "/tickets/" not in message.body_text
    assert ticket.beneficiary.national_id not in message.body_text
    # staff told: whoever recorded it and the department's focal point
    staff_mail = {m.to_address for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_user_id.is_not(None)))}
    assert {people.staff.email, people.focal.email} <= staff_mail


def test_reject_resolves_with_the_reasons(db, people, support, committee):
    ticket = support()  # no email: nothing written to the beneficiary
    _refer(db, people.staff, ticket)
    service.decide(db.session, committee, ticket, "rejected", "لا تنطبق الشروط", "", expected_version=ticket.version)
    assert ticket.status == Status.RESOLVED and ticket.action_taken == "لا تنطبق الشروط" and ticket.resolved_at
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_user_id.is_(None))) is None


def test_decision_refusals_save_nothing(db, people, support, committee):
    ticket = support()
    _refer(db, people.staff, ticket)
    version = ticket.version
    cases = [
        (("accepted", "", "خدمة"), {"reasons"}),
        (("accepted", "أسباب", ""), {"service"}),
        (("", "أسباب", ""), {"decision"}),
        (("maybe", "", ""), {"decision", "reasons"}),
    ]
    for (decision, reasons, svc), fields in cases:
        with pytest.raises(ValidationFailed) as failed:
            service.decide(db.session, committee, ticket, decision, reasons, svc, expected_version=ticket.version)
        assert set(failed.value.errors) == fields
        db.session.rollback()
    with pytest.raises(StaleVersion):
        service.decide(db.session, committee, ticket, "rejected", "أسباب", expected_version=version - 1)
    db.session.rollback()
    assert ticket.status == Status.AWAITING_COMMITTEE and ticket.version == version
    assert _events(db, ticket, EventKind.COMMITTEE_DECISION) == []


def test_decision_only_by_committee_and_only_when_awaiting(db, people, support, committee):
    ticket = support()
    with pytest.raises(NotFound):  # not awaiting: the committee does not even see it
        service.decide(db.session, committee, ticket, "rejected", "أسباب", expected_version=ticket.version)
    _refer(db, people.staff, ticket)
    for user in (people.staff, people.supervisor, people.admin, people.focal):
        with pytest.raises(Forbidden):
            service.decide(db.session, user, ticket, "rejected", "أسباب", expected_version=ticket.version)
    service.decide(db.session, committee, ticket, "accepted", "أسباب", "خدمة", expected_version=ticket.version)
    with pytest.raises(ValidationFailed) as failed:  # decided already: still visible, refused by the field
        service.decide(db.session, committee, ticket, "rejected", "أسباب", expected_version=ticket.version)
    assert "decision" in failed.value.errors


# Service delivered ---------------------------------------------------------------------

def test_service_delivered_after_acceptance_then_resolve(db, people, support, committee):
    ticket = support()
    with pytest.raises(ValidationFailed):  # not accepted
        service.deliver(db.session, people.focal, ticket, "تم", expected_version=ticket.version)
    _refer(db, people.staff, ticket)
    service.decide(db.session, committee, ticket, "accepted", "أسباب", "سلة", expected_version=ticket.version)
    with pytest.raises(ValidationFailed) as failed:
        service.deliver(db.session, people.focal, ticket, " ", expected_version=ticket.version)
    assert "note" in failed.value.errors
    with pytest.raises(NotFound):
        service.deliver(db.session, people.other_focal, ticket, "تم", expected_version=ticket.version)
    with pytest.raises(Forbidden):
        service.deliver(db.session, committee, ticket, "تم", expected_version=ticket.version)
    event = service.deliver(db.session, people.focal, ticket, "سلمت السلة", expected_version=ticket.version)
    assert event.kind == EventKind.SERVICE_DELIVERED and event.body == "سلمت السلة"
    with pytest.raises(ValidationFailed):  # once
        service.deliver(db.session, people.focal, ticket, "مرة أخرى", expected_version=ticket.version)
    actions.resolve(db.session, people.focal, ticket, "قدمت الخدمة", expected_version=ticket.version)
    assert ticket.status == Status.RESOLVED


# Visibility ----------------------------------------------------------------------------

def test_committee_sees_only_its_tickets(db, people, support, make_ticket, committee):
    awaiting, decided, fresh, complaint = support(), support(), support(), make_ticket()
    _refer(db, people.staff, awaiting)
    _refer(db, people.staff, decided)
    service.decide(db.session, committee, decided, "rejected", "أسباب", expected_version=decided.version)
    seen = set(db.session.scalars(select(Ticket.id).where(tickets.visible_tickets(committee))))
    assert seen == {awaiting.id, decided.id}
    assert can(committee, Action.TICKET_VIEW, awaiting) and can(committee, Action.TICKET_VIEW, decided)
    assert not can(committee, Action.TICKET_VIEW, fresh) and not can(committee, Action.TICKET_VIEW, complaint)
    assert not can(committee, Action.TICKET_NOTE, awaiting) and not can(committee, Action.TICKET_STATUS, awaiting)
    assert can(committee, Action.COMMITTEE_VIEW) and can(people.supervisor, Action.COMMITTEE_VIEW)
    assert not can(people.staff, Action.COMMITTEE_VIEW) and not can(people.focal, Action.COMMITTEE_VIEW)
    # focal points' rule is unchanged: their department's tickets, no more
    focal_seen = set(db.session.scalars(select(Ticket.id).where(tickets.visible_tickets(people.other_focal))))
    assert focal_seen == set()
    assert [t.id for t, _ in service.awaiting(db.session, committee)] == [awaiting.id]


def test_awaiting_list_oldest_first(db, people, support, committee):
    first, second = support(), support()
    first.created_at = datetime(2026, 1, 1, tzinfo=UTC)
    db.session.commit()
    _refer(db, people.staff, second)
    _refer(db, people.staff, first)
    rows = service.awaiting(db.session, people.supervisor)
    assert [t.id for t, _ in rows] == [first.id, second.id]
    assert all(expected is not None for _, expected in rows)


# Screens -------------------------------------------------------------------------------

def test_committee_page_roles(db, people, support, committee, as_user):
    ticket = support()
    _refer(db, people.staff, ticket)
    page = as_user(committee).get("/committee")
    assert page.status_code == 200 and ticket.reference in page.get_data(as_text=True)
    supervisor = as_user(people.supervisor).get("/committee").get_data(as_text=True)
    assert ticket.reference in supervisor and "committee-decide-submit" not in supervisor
    assert as_user(people.admin).get("/committee").status_code == 200
    assert as_user(people.staff).get("/committee").status_code == 404
    assert as_user(people.focal).get("/committee").status_code == 404
    nav = as_user(committee).get("/committee").get_data(as_text=True)
    assert 'href="/committee"' in nav


def test_ticket_page_shows_expected_date_and_forms_by_role(db, people, support, committee, as_user):
    ticket = support()
    url = f"/tickets/{ticket.reference}"
    page = as_user(people.staff).get(url).get_data(as_text=True)
    assert 'id="ticket-committee"' in page and "desk-committee-expected" in page
    assert "committee-refer-submit" in page and "committee-notice" in page
    assert as_user(committee).get(url).status_code == 404  # not before the committee yet
    _refer(db, people.staff, ticket)
    member = as_user(committee).get(url)
    assert member.status_code == 200 and "committee-decide-submit" in member.get_data(as_text=True)
    staff = as_user(people.staff).get(url).get_data(as_text=True)
    assert "committee-decide-submit" not in staff and "action-resolve" not in staff


def test_committee_member_gets_404_elsewhere(db, people, support, make_ticket, committee, as_user):
    member = as_user(committee)
    for other in (support(), make_ticket()):
        assert member.get(f"/tickets/{other.reference}").status_code == 404
        assert member.get(f"/tickets/{other.reference}/committee-notice").status_code == 404
        assert member.post(f"/tickets/{other.reference}/committee/decide",
                           {"decision": "rejected", "reasons": "x", "version": other.version}).status_code == 404


def test_focal_point_of_another_department_gets_404(db, people, support, as_user):
    ticket = support()
    browser = as_user(people.other_focal)
    assert browser.get(f"/tickets/{ticket.reference}/committee-notice").status_code == 404
    assert browser.post(f"/tickets/{ticket.reference}/committee/refer", {"version": ticket.version}).status_code == 404


def test_refer_and_decide_full_page(db, people, support, committee, as_user):
    ticket = support()
    staff = as_user(people.staff)
    done = staff.post(f"/tickets/{ticket.reference}/committee/refer", {"note": "", "version": ticket.version})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == Status.AWAITING_COMMITTEE
    member = as_user(committee)
    refused = member.post(f"/tickets/{ticket.reference}/committee/decide",
                          {"decision": "accepted", "reasons": "مستحق", "service": "", "version": ticket.version})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "مستحق" in body and "committee-decide-service-error" in body
    ok = member.post(f"/tickets/{ticket.reference}/committee/decide",
                     {"decision": "accepted", "reasons": "مستحق", "service": "سلة", "version": ticket.version})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == Status.OPEN


def test_decide_htmx(db, people, support, committee, as_user):
    ticket = support()
    _refer(db, people.staff, ticket)
    member = as_user(committee)
    url = f"/tickets/{ticket.reference}/committee/decide"
    refused = member.post(url, {"decision": "rejected", "reasons": "", "version": ticket.version}, htmx=True)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and text.lstrip().startswith("<section id=\"ticket-committee\"")
    assert "committee-decide-reasons-error" in text and 'value="rejected" checked' in text
    stale = member.post(url, {"decision": "rejected", "reasons": "أسباب", "version": ticket.version - 1}, htmx=True)
    assert stale.status_code == 409
    ok = member.post(url, {"decision": "rejected", "reasons": "لا تنطبق الشروط", "version": ticket.version}, htmx=True)
    text = ok.get_data(as_text=True)
    assert ok.status_code == 200 and 'id="ticket-timeline"' in text and "لا تنطبق الشروط" in text
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == Status.RESOLVED


def test_deliver_htmx_and_full_page(db, people, support, committee, as_user):
    ticket = support()
    _refer(db, people.staff, ticket)
    service.decide(db.session, committee, ticket, "accepted", "أسباب", "سلة", expected_version=ticket.version)
    focal = as_user(people.focal)
    page = focal.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "committee-deliver-submit" in page
    url = f"/tickets/{ticket.reference}/committee/deliver"
    refused = focal.post(url, {"note": "", "version": ticket.version}, htmx=True)
    assert refused.status_code == 422 and "committee-deliver-note-error" in refused.get_data(as_text=True)
    assert focal.post(url, {"note": "سلمت", "version": ticket.version}).status_code == 302
    db.session.expire_all()
    assert len(_events(db, ticket, EventKind.SERVICE_DELIVERED)) == 1


def test_csrf_required(db, people, support, committee, as_user):
    ticket = support()
    staff = as_user(people.staff)
    url = f"/tickets/{ticket.reference}/committee/refer"
    assert staff.post(url, {"version": ticket.version}, csrf=False).status_code in (400, 403)
    assert staff.post(url, {"version": ticket.version}, htmx=True, csrf=False).status_code in (400, 403)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == Status.NEW


def test_printable_notice(db, people, support, as_user):
    ticket = support()
    nid = ticket.beneficiary.national_id
    browser = as_user(people.staff)
    browser.post("/language", {"locale": "en"})
    page = browser.get(f"/tickets/{ticket.reference}/committee-notice")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'lang="ar"' in text and 'dir="rtl"' in text and "committee-notice.css" in text
    assert ticket.reference in text and "جمعية البر الخيرية" in text
    assert nid not in text and nid[-2:] in text  # masked
    assert "desk-notice-expected" in text
    assert "<script" not in text


def test_notice_only_for_support_requests(db, people, make_ticket, as_user):
    ticket = make_ticket()
    assert as_user(people.staff).get(f"/tickets/{ticket.reference}/committee-notice").status_code == 404


def test_refer_htmx_by_the_focal_point_and_supervisor_reads_only(db, people, support, committee, as_user):
    ticket = support()
    focal = as_user(people.focal)
    url = f"/tickets/{ticket.reference}/committee/refer"
    response = focal.post(url, {"note": "للدراسة", "version": ticket.version}, htmx=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and text.lstrip().startswith('<section id="ticket-committee"')
    assert 'id="ticket-header" class="desk-ticket-header mb-3" hx-swap-oob="true"' in text
    again = focal.post(url, {"note": "", "version": ticket.version + 1}, htmx=True)
    assert again.status_code == 422 and "desk-committee-refused" in again.get_data(as_text=True)
    page = as_user(people.supervisor).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "desk-committee-expected" in page and "committee-decide-submit" not in page
    member_page = as_user(committee).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "committee-decide-submit" in member_page and 'id="ticket-compose"' not in member_page


def test_unknown_step_and_missing_version(db, people, support, as_user):
    ticket = support()
    staff = as_user(people.staff)
    assert staff.post(f"/tickets/{ticket.reference}/committee/nothing", {"version": ticket.version}).status_code == 404
    assert staff.post(f"/tickets/{ticket.reference}/committee/refer", {}).status_code == 409


def test_demo_has_a_committee_member(app, db):
    from desk.models import User
    runner = app.test_cli_runner()
    result = runner.invoke(args=["desk", "demo", "--tickets", "30"])
    assert result.exit_code == 0, result.output
    member = db.session.scalar(select(User).where(User.email == "committee@demo.desk.sa"))
    assert member is not None and member.has_role("committee") and not member.department_ids


def test_a_committee_member_lands_on_the_committee_list(browser, committee, people):
    """After signing in: the committee's own screen, not a queue they have no part in;
    a focal point or staff member who is also on the committee keeps their queue."""
    browser.refresh_token()
    response = browser.post("/login", {"email": committee.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/committee")
    assert browser.get("/login").headers["Location"].endswith("/committee")


def test_staff_on_the_committee_still_land_on_the_queue(browser, db, people):
    both = create_user(db.session, "both@example.org", PASSWORD, "عضو", ["staff", "committee"])
    browser.refresh_token()
    response = browser.post("/login", {"email": both.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/tickets")
