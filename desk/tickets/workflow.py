"""The one owner of a ticket's life: who may act on it, whether they saw its latest version,
and every change of its status.

- ``require(actor, action, ticket)``: NotFound when the actor may not see the ticket (the
  same answer as for a ticket that does not exist), Forbidden when they may see but not do.
- ``check_version(session, ticket, seen)``: StaleVersion when someone changed the ticket
  after the actor read it, with what they did (the optimistic lock; ``desk.transaction.atomic``
  catches the race between this check and the commit).
- ``record(...)``: one timeline event (who, when, what, old → new), in the caller's transaction.
- ``change_status(...)``: the only way a ticket's status changes. It refuses a step that
  TRANSITIONS does not allow, records one event with old → new (a kind of STATUS_EVENTS),
  ends or resumes the service-level pause, keeps the resolution and closing dates, and runs
  what resolving sets off (the creator told, the satisfaction survey) in one place.

Nothing here commits: the use cases (desk.tickets.service, .actions, desk.committee, the
portal and the channels) end their transaction with ``desk.transaction.atomic``.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from desk.errors import Forbidden, InvalidTransition, NotFound
from desk.models import STATUS_EVENTS, EventKind, Status, Ticket, TicketEvent, User, utcnow
from desk.notify import service as notify_service  # called as notify_service.notify: tests replace it
from desk.permissions import QUEUE_ROLES, Action, can
from desk.portal import links
from desk.sla import tickets as sla_tickets
from desk.transaction import stale

# Which status may follow which. Reopening is resolved/closed → open. The research committee's
# edges (into awaiting_committee and out of it by its decision) are here too; who may take each
# step is the use case's permission (``require``), and which steps a person may choose by hand
# in the ticket's Handling panel is ``status_refusal``.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.WAITING, Status.RESOLVED, Status.CLOSED, Status.AWAITING_COMMITTEE}),
    Status.OPEN: frozenset({Status.WAITING, Status.RESOLVED, Status.CLOSED, Status.AWAITING_COMMITTEE}),
    Status.WAITING: frozenset({Status.OPEN, Status.RESOLVED, Status.CLOSED, Status.AWAITING_COMMITTEE}),
    Status.AWAITING_COMMITTEE: frozenset({Status.OPEN, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.OPEN}),
}

# Statuses whose service-level clock stands still: waiting on the beneficiary, and done.
_STOPPED = frozenset({Status.WAITING, Status.RESOLVED, Status.CLOSED})


# Who may act, and on which version ---------------------------------------------------------

def require(actor: User, action: Action, ticket: Ticket) -> None:
    if not can(actor, Action.TICKET_VIEW, ticket):
        raise NotFound()
    if not can(actor, action, ticket):
        raise Forbidden(_l("You may not do this on this ticket."))


def check_version(session: Session, ticket: Ticket, seen: int | None) -> int:
    """The version the actor saw, if it is the ticket's current one; StaleVersion otherwise."""
    if seen is None or seen != ticket.version:
        raise stale(session, ticket, seen)
    return seen


# Events -----------------------------------------------------------------------------------

def record(session: Session, ticket: Ticket, actor: User | None, kind: EventKind, *,
           old: object = None, new: object = None, body: str | None = None, reason: str | None = None,
           public: bool = False, bump: bool = True, at: datetime | None = None) -> TicketEvent:
    """Append one timeline event; state changes bump the ticket's version."""
    at = at or utcnow()
    if bump:
        ticket.version += 1
    ticket.updated_at = at
    if kind == EventKind.BENEFICIARY_REPLY:  # flagged unread until staff open the ticket
        ticket.beneficiary_message_at = at
    event = TicketEvent(
        ticket_id=ticket.id, actor_id=actor.id if actor else None, created_at=at, kind=kind,
        old_value=None if old is None else str(old), new_value=None if new is None else str(new),
        body=body, reason=reason, public=public, version=ticket.version,
    )
    session.add(event)
    return event


# Status -----------------------------------------------------------------------------------

def status_refusal(actor: User, ticket: Ticket, new: str) -> str | None:
    """Why ``actor`` may not set the status ``new`` by hand (a message), or None.

    Resolving is never a bare status change: it needs the action taken (actions.resolve).
    Closing a ticket that was resolved is for anyone who may change the status; closing one
    that was never resolved (a duplicate, spam) only for intake staff, supervisors and admins:
    a focal point resolves it instead, with the action taken."""
    committee = Status.AWAITING_COMMITTEE  # in and out only by the committee's referral and decision
    if new not in TRANSITIONS.get(ticket.status, ()) or committee in (ticket.status, new):
        return _l("This status cannot follow the current one.")
    if new == Status.RESOLVED:
        return _l("To resolve, write the action taken in the resolve form.")
    if new == Status.CLOSED and ticket.status != Status.RESOLVED and not actor.has_role(*QUEUE_ROLES):
        return _l("Only a resolved ticket can be closed: resolve it first, with the action taken.")
    return None


def allowed_statuses(actor: User, ticket: Ticket) -> list[str]:
    """The status list on the ticket page: the current one, what may follow, and "resolved"
    (which opens the resolve form)."""
    return [s.value for s in Status
            if s == ticket.status or (s == Status.RESOLVED and s in TRANSITIONS[ticket.status])
            or status_refusal(actor, ticket, s) is None]


def change_status(session: Session, ticket: Ticket, new: str, *, actor: User | None, now: datetime | None = None,
                  event: EventKind = EventKind.STATUS, body: str | None = None, reason: str | None = None,
                  public: bool = False, message: str = "", announce: bool = True) -> TicketEvent:
    """Move the ticket to ``new``, in the caller's transaction, with one ``event`` (old → new).

    ``actor`` None: the beneficiary did it (``reason`` says how: portal, email, WhatsApp).
    Resolving records ``body`` as the action taken (الإجراء المتخذ) and, with ``announce``,
    tells whoever recorded the ticket (if they work the shared queue) and sends the beneficiary
    the satisfaction survey with ``message`` (the outcome in their words) — or the message alone
    when no survey goes out. Closing keeps ``resolved_at`` as it was (None for a ticket closed
    without being resolved); reopening clears both dates. Leaving a stopped clock (waiting,
    resolved, closed) for a running one moves the due times by the time it stood still."""
    old = ticket.status
    if event not in STATUS_EVENTS or event == EventKind.CREATED:
        raise ValueError(f"{event!r} does not record a status change")
    if new not in TRANSITIONS.get(old, ()):
        raise InvalidTransition(old, new)
    now = now or utcnow()
    ticket.status = new
    if new == Status.RESOLVED:
        ticket.resolved_at = now
        ticket.action_taken = body
    elif new == Status.CLOSED:
        ticket.closed_at = now
    elif old in (Status.RESOLVED, Status.CLOSED):  # reopened
        ticket.resolved_at = None
        ticket.closed_at = None
    recorded = record(session, ticket, actor, event, old=old, new=new, body=body, reason=reason,
                      public=public, at=now)
    if old in _STOPPED and new not in _STOPPED:  # the clock runs again
        sla_tickets.apply_due_times(session, ticket, now=now)
    if new == Status.RESOLVED and announce:
        _announce_resolution(session, ticket, actor, body or "", message)
    return recorded


def _announce_resolution(session: Session, ticket: Ticket, actor: User | None, action_taken: str,
                         message: str) -> None:
    creator = ticket.created_by
    if creator is not None and creator.has_role(*QUEUE_ROLES):
        notify_service.notify(session, "resolved", ticket, [creator], actor=actor, note=action_taken)
    # قياس رضا المستفيد: the survey link to the beneficiary, with the outcome's message.
    if links.send_survey(session, ticket, note=message) is None and message:
        notify_service.notify_beneficiary(session, "reply", ticket, note=message, link=links.signed_link(ticket))
