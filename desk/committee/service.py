"""The research committee (لجنة البحث) for support requests (handling steps 4–7).

Plain functions of (session, actor, ticket, text…). Each state change is one transaction with
its timeline event, refused when stale (``expected_version``, as desk.tickets.actions):

- ``refer``: staff or the department's focal point send a support request to the committee
  (status awaiting_committee, event COMMITTEE_REFERRED);
- ``decide``: a committee member accepts (the ticket opens again: registration completes, the
  service follows) or rejects (the ticket is resolved, the reasons are the action taken); the
  event COMMITTEE_DECISION is public, so the beneficiary's portal will show it, and a
  beneficiary with an email address is written to in Arabic (the outbox);
- ``deliver``: after an acceptance, the service delivered (event SERVICE_DELIVERED); the ticket
  is then resolved as usual.

Only this module moves a ticket into or out of awaiting_committee, through the ticket workflow
(desk.tickets.workflow.change_status), which owns those steps like every other.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk import labels
from desk.casefile import service as casefile
from desk.errors import ValidationFailed, add_error, required_text, too_long
from desk.models import EventKind, Kind, Status, Ticket, TicketEvent, User, utcnow
from desk.notify import service as notify_service
from desk.permissions import Action, committee_tickets, visible_tickets
from desk.portal.links import signed_link
from desk.sla.calendar import Unit, add_business_time
from desk.sla.service import SlaPolicy, load_policy
from desk.tickets.service import MAX_COMMENT, REASON_COMMITTEE
from desk.tickets.workflow import change_status, check_version, record, require
from desk.transaction import atomic

ACCEPTED, REJECTED = "accepted", "rejected"
DECISIONS = labels.DECISIONS  # accepted / rejected
SERVICE_LABEL = _l("Service that follows")  # in the decision's body, after the reasons
DEFAULT_DECISION_DAYS = 10  # "within about two weeks" when no service level is set for support requests


def expected_decision(ticket: Ticket, policy: SlaPolicy | None = None,
                      session: Session | None = None) -> datetime | None:
    """When the committee's decision is due: the support requests' resolution target from the
    service levels (desk.sla) counted from intake, else 10 business days. None for other kinds.
    The policy is loaded with ``session`` when not given: one of the two is needed."""
    if ticket.kind != Kind.SUPPORT:
        return None
    if policy is None:
        if session is None:
            raise TypeError("expected_decision needs a policy or a session")
        policy = load_policy(session)
    due = policy.due_times(ticket.kind, ticket.priority, ticket.created_at, []).resolution_due
    return due or add_business_time(ticket.created_at, DEFAULT_DECISION_DAYS, Unit.DAYS, policy.calendar)


def committee_decided(ticket: Ticket) -> bool:
    return bool(((ticket.meta or {}).get("committee") or {}).get("decision"))


def expected_date(session: Session, ticket: Ticket) -> datetime | None:
    """The date promised to the beneficiary (the portal, the receipt): the committee's decision
    for a support request it has not decided yet, else the resolution due time; None once
    resolved."""
    if not ticket.is_open:
        return None
    if ticket.kind == Kind.SUPPORT and not committee_decided(ticket):
        return expected_decision(ticket, session=session)
    return ticket.due_at


@dataclass(frozen=True)
class CommitteeState:
    """What the ticket page shows of the committee: the expected date, the decision if any."""

    expected: datetime | None
    awaiting: bool
    decision: TicketEvent | None
    delivered: TicketEvent | None

    @property
    def accepted(self) -> bool:
        return self.decision is not None and self.decision.new_value == ACCEPTED


def state(session: Session, ticket: Ticket) -> CommitteeState | None:
    """None for a ticket that is not a support request."""
    if ticket.kind != Kind.SUPPORT:
        return None
    events = {e.kind: e for e in session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                  TicketEvent.kind.in_([EventKind.COMMITTEE_DECISION, EventKind.SERVICE_DELIVERED]))
        .order_by(TicketEvent.id))}  # the latest of each kind
    return CommitteeState(expected_decision(ticket, session=session), ticket.status == Status.AWAITING_COMMITTEE,
                          events.get(EventKind.COMMITTEE_DECISION), events.get(EventKind.SERVICE_DELIVERED))


def awaiting(session: Session, actor: User) -> list[tuple[Ticket, datetime | None]]:
    """Support requests awaiting the committee, oldest first, with their expected decision."""
    tickets = session.scalars(
        select(Ticket).where(Ticket.status == Status.AWAITING_COMMITTEE, committee_tickets(), visible_tickets(actor))
        .order_by(Ticket.created_at, Ticket.id))
    policy = load_policy(session)
    return [(t, expected_decision(t, policy)) for t in tickets]


def decided(session: Session, actor: User, limit: int = 50) -> list[tuple[Ticket, TicketEvent]]:
    """The latest decisions, newest first."""
    rows = session.execute(
        select(Ticket, TicketEvent).join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .where(TicketEvent.kind == EventKind.COMMITTEE_DECISION, visible_tickets(actor))
        .order_by(TicketEvent.id.desc()).limit(limit))
    return [(t, e) for t, e in rows]


def refer(session: Session, actor: User, ticket: Ticket, note: str | None = None, *,
          expected_version: int | None) -> TicketEvent:
    """Send an open support request to the committee (handling step 5)."""
    require(actor, Action.COMMITTEE_REFER, ticket)
    errors: dict = {}
    text = (note or "").strip()
    if len(text) > MAX_COMMENT:
        errors["note"] = [too_long(MAX_COMMENT)]
    if ticket.kind != Kind.SUPPORT:
        errors["note"] = [_l("Only a support request goes to the research committee.")]
    elif ticket.status == Status.AWAITING_COMMITTEE:
        errors["note"] = [_l("This request already awaits the research committee.")]
    elif not ticket.is_open:
        errors["note"] = [_l("This ticket is no longer open: reopen it first.")]
    if errors:
        raise ValidationFailed(errors)
    seen = check_version(session, ticket, expected_version)
    with atomic(session, ticket, seen):
        event = change_status(session, ticket, Status.AWAITING_COMMITTEE, actor=actor,
                              event=EventKind.COMMITTEE_REFERRED, body=text or None)
    return event


def decide(session: Session, actor: User, ticket: Ticket, decision: str | None, reasons: str | None,
           service: str | None = None, *, expected_version: int | None) -> TicketEvent:
    """The committee's decision (handling step 6): accepted (with the service that follows)
    or rejected, with reasons. Refused, nothing saved: not a committee member, a ticket not
    awaiting the committee, a missing decision, reasons or (accepted) service."""
    require(actor, Action.COMMITTEE_DECIDE, ticket)
    errors: dict = {}
    if ticket.status != Status.AWAITING_COMMITTEE:
        errors["decision"] = [_l("This request is not awaiting the research committee.")]
    decision = (decision or "").strip()
    if decision not in DECISIONS:
        add_error(errors, "decision", _l("Choose accepted or rejected."))
    reasons = required_text(errors, "reasons", reasons, _l("Write the reasons for the decision."), MAX_COMMENT)
    service = (service or "").strip()
    if decision == ACCEPTED:
        service = required_text(errors, "service", service, _l("Write the service that follows the acceptance."),
                                MAX_COMMENT)
    else:
        service = ""
    # The admin's rule for this kind (R17) holds back an acceptance only: a rejection must stay
    # possible, or a request whose applicant never returns the signed case file would wait on
    # the committee for ever (a request awaiting it can leave only by a decision).
    refusal = casefile.attestation_refusal(session, ticket) if decision == ACCEPTED else None
    if refusal:
        add_error(errors, "decision", refusal)
    if errors:
        raise ValidationFailed(errors)
    seen = check_version(session, ticket, expected_version)
    with atomic(session, ticket, seen):
        now = utcnow()
        body = reasons if not service else f"{reasons}\n\n{SERVICE_LABEL}: {service}"
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        ticket.meta = {**(ticket.meta or {}), "committee": {"decision": decision, "service": service or None,
                                                            "decided_at": now.isoformat(), "by": actor.id}}
        event = record(session, ticket, actor, EventKind.COMMITTEE_DECISION, old=Status.AWAITING_COMMITTEE,
                       new=decision, body=body, public=True, at=now)
        # Accepted: registration completes and the service follows. Rejected: resolved, the reasons
        # are the action taken. The decision is its own announcement (below): no survey, no second
        # "resolved" message to whoever recorded the ticket.
        change_status(session, ticket, Status.OPEN if decision == ACCEPTED else Status.RESOLVED, actor=actor,
                      now=now, body=None if decision == ACCEPTED else reasons, reason=REASON_COMMITTEE,
                      announce=False)
        notify_service.notify_beneficiary(session, "committee_decision", ticket, note=body, link=signed_link(ticket))
        notify_service.notify(session, "committee_decision", ticket, _staff_to_tell(session, ticket),
                              actor=actor, note=body)
    return event


def _staff_to_tell(session: Session, ticket: Ticket) -> list[User]:
    """Whoever recorded the ticket and the department's focal points: they carry on."""
    people = list(notify_service.department_focal_points(session, ticket.department_id))
    if ticket.created_by is not None:
        people.insert(0, ticket.created_by)
    return people or notify_service.intake_staff(session)


def deliver(session: Session, actor: User, ticket: Ticket, note: str | None, *,
            expected_version: int | None) -> TicketEvent:
    """Record the accepted service delivered (handling step 7); then resolve as usual."""
    require(actor, Action.SERVICE_DELIVER, ticket)
    errors: dict = {}
    text = required_text(errors, "note", note, _l("Write what was delivered."), MAX_COMMENT)
    current = state(session, ticket)
    if current is None or not current.accepted:
        errors["note"] = [_l("Only a request the research committee accepted can have its service delivered.")]
    elif current.delivered is not None:
        errors["note"] = [_l("The service is already recorded as delivered.")]
    elif not ticket.is_open:
        errors["note"] = [_l("This ticket is no longer open: reopen it first.")]
    if errors:
        raise ValidationFailed(errors)
    seen = check_version(session, ticket, expected_version)
    with atomic(session, ticket, seen):
        event = record(session, ticket, actor, EventKind.SERVICE_DELIVERED, body=text)
    return event
