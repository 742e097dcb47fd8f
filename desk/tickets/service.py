"""Everything a person does to a ticket after intake.

Plain functions of (session, actor, …). Each public function is one transaction: the
change and its timeline event are committed together, or neither is.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from desk.errors import Forbidden, NotFound, StaleVersion, ValidationFailed
from desk.models import (
    KIND_LETTER, Department, DepartmentMember, EventKind, Priority, ReferenceCounter, Role,
    Status, Ticket, TicketEvent, User, UserRole, utcnow,
)
from desk.permissions import QUEUE_ROLES, Action, can, visible_tickets
from desk.text import hijri_year

# Which status may follow which. Reopening is resolved/closed → open.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.WAITING, Status.RESOLVED, Status.CLOSED}),
    Status.OPEN: frozenset({Status.WAITING, Status.RESOLVED, Status.CLOSED}),
    Status.WAITING: frozenset({Status.OPEN, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.OPEN}),
}

CHANGEABLE = {
    "status": Action.TICKET_STATUS,
    "priority": Action.TICKET_PRIORITY,
    "department": Action.TICKET_DEPARTMENT,
    "assignee": Action.TICKET_ASSIGN,
    # Handling steps 2 and 4 done after intake: the data checked, the attestation signed.
    "verified": Action.TICKET_STATUS,
    "attested": Action.TICKET_STATUS,
}

MAX_COMMENT = 20_000


# Loading ---------------------------------------------------------------------------

def get_ticket(session: Session, actor: User, reference: str) -> Ticket:
    """The ticket, if the actor may see it; NotFound otherwise (the same for both)."""
    ticket = session.scalar(
        select(Ticket).where(Ticket.reference == reference.strip().upper(), visible_tickets(actor))
    )
    if ticket is None:
        raise NotFound()
    return ticket


def timeline(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return list(session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    ))


def beneficiary_history(session: Session, actor: User, ticket: Ticket, limit: int = 10) -> list[Ticket]:
    """The beneficiary's other tickets that the actor may see, newest first."""
    if ticket.beneficiary_id is None:
        return []
    return list(session.scalars(
        select(Ticket)
        .where(Ticket.beneficiary_id == ticket.beneficiary_id, Ticket.id != ticket.id, visible_tickets(actor))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    ))


def changes_since(session: Session, ticket: Ticket, version: int) -> list[TicketEvent]:
    """Events that moved the ticket past ``version``: what a stale editor did not see."""
    return list(session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.version > version,
               TicketEvent.kind != EventKind.NOTE)
        .order_by(TicketEvent.id)
    ))


# References ------------------------------------------------------------------------

def next_reference(session: Session, kind: str, when: datetime) -> str:
    """``C-1447-000123``: kind letter, Hijri year, one sequence per Hijri year.

    The counter row is updated in place (a row lock on PostgreSQL, the write lock on
    SQLite), so two intakes at once never draw the same number.
    """
    year = hijri_year(when)
    bump = (
        update(ReferenceCounter)
        .where(ReferenceCounter.hijri_year == year)
        .values(last=ReferenceCounter.last + 1)
        .returning(ReferenceCounter.last)
        .execution_options(synchronize_session=False)
    )
    seq = session.execute(bump).scalar()
    if seq is None:
        try:
            with session.begin_nested():
                session.execute(insert(ReferenceCounter).values(hijri_year=year, last=1))
            seq = 1
        except IntegrityError:  # another intake created the year's row first
            seq = session.execute(bump).scalar_one()
    return f"{KIND_LETTER[kind]}-{year}-{seq:06d}"


# Events ----------------------------------------------------------------------------

def record(session: Session, ticket: Ticket, actor: User | None, kind: EventKind, *,
           old: object = None, new: object = None, body: str | None = None,
           public: bool = False, bump: bool = True, at: datetime | None = None) -> TicketEvent:
    """Append one timeline event; state changes bump the ticket's version."""
    at = at or utcnow()
    if bump:
        ticket.version += 1
    ticket.updated_at = at
    event = TicketEvent(
        ticket_id=ticket.id, actor_id=actor.id if actor else None, created_at=at, kind=kind,
        old_value=None if old is None else str(old), new_value=None if new is None else str(new),
        body=body, public=public, version=ticket.version,
    )
    session.add(event)
    return event


def _commit(session: Session, ticket: Ticket, expected_version: int) -> None:
    try:
        session.commit()
    except StaleDataError:  # someone committed between our read and our write
        session.rollback()
        session.refresh(ticket)
        raise StaleVersion(ticket.version, changes_since(session, ticket, expected_version))


def _check_version(session: Session, ticket: Ticket, expected_version: int | None) -> int:
    if expected_version is None or expected_version != ticket.version:
        raise StaleVersion(ticket.version, changes_since(session, ticket, expected_version or 0))
    return expected_version


def _require(actor: User, action: Action, ticket: Ticket) -> None:
    if not can(actor, Action.TICKET_VIEW, ticket):
        raise NotFound()
    if not can(actor, action, ticket):
        raise Forbidden(_l("You may not do this on this ticket."))


# Comments --------------------------------------------------------------------------

def add_comment(session: Session, actor: User, ticket: Ticket, body: str, *, public: bool,
                expected_version: int | None) -> TicketEvent:
    """An internal note (never conflicts) or a public reply (refused when stale)."""
    _require(actor, Action.TICKET_REPLY if public else Action.TICKET_NOTE, ticket)
    body = (body or "").strip()
    if not body:
        raise ValidationFailed({"body": [_l("Write the text first.")]})
    if len(body) > MAX_COMMENT:
        raise ValidationFailed({"body": [_l("The text is too long (at most %(n)s characters).", n=MAX_COMMENT)]})
    if public:
        expected = _check_version(session, ticket, expected_version)
    else:
        expected = ticket.version
    now = utcnow()
    event = record(session, ticket, actor, EventKind.REPLY if public else EventKind.NOTE,
                   body=body, public=public, bump=public, at=now)
    if public:
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        if ticket.status == Status.NEW:
            _set_status(session, actor, ticket, Status.OPEN, now)
    _commit(session, ticket, expected)
    return event


# Field changes ---------------------------------------------------------------------

@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def allowed_statuses(ticket: Ticket) -> list[str]:
    return [s.value for s in Status if s == ticket.status or s in TRANSITIONS[ticket.status]]


def assignable_users(session: Session, actor: User, ticket: Ticket) -> list[User]:
    """Who the actor may assign this ticket to: the department's focal points, and for
    queue roles also intake staff and supervisors."""
    members = select(DepartmentMember.user_id).where(DepartmentMember.department_id == ticket.department_id)
    condition = User.id.in_(members)
    if can(actor, Action.TICKET_DEPARTMENT, ticket):  # a queue role
        queue_users = select(UserRole.user_id).where(UserRole.role.in_([Role.STAFF, Role.SUPERVISOR]))
        condition = condition | User.id.in_(queue_users)
    return list(session.scalars(select(User).where(User.active.is_(True), condition).order_by(User.name)))


def active_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.code)))


def _set_status(session: Session, actor: User, ticket: Ticket, new: str, now: datetime) -> None:
    old = ticket.status
    ticket.status = new
    if new == Status.RESOLVED:
        ticket.resolved_at = now
    elif new == Status.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    elif old in (Status.RESOLVED, Status.CLOSED):  # reopened
        ticket.resolved_at = None
        ticket.closed_at = None
    record(session, ticket, actor, EventKind.STATUS, old=old, new=new, at=now)


def change_field(session: Session, actor: User, ticket: Ticket, field: str, raw: str | None, *,
                 expected_version: int | None) -> bool:
    """Change status, priority, department or assignee, or record the data verified or the
    applicant's attestation. False when the value was already so."""
    if field not in CHANGEABLE:
        raise ValidationFailed({"field": [_l("This field cannot be changed here.")]})
    _require(actor, CHANGEABLE[field], ticket)
    expected = _check_version(session, ticket, expected_version)
    raw = (raw or "").strip()
    now = utcnow()

    if field == "status":
        if raw == ticket.status:
            return False
        if raw not in TRANSITIONS.get(ticket.status, ()):
            raise ValidationFailed({"status": [_l("This status cannot follow the current one.")]})
        _set_status(session, actor, ticket, raw, now)

    elif field == "priority":
        try:
            value = Priority(int(raw))
        except ValueError:
            raise ValidationFailed({"priority": [_l("Choose a priority from the list.")]}) from None
        if value == ticket.priority:
            return False
        old, ticket.priority = ticket.priority, int(value)
        record(session, ticket, actor, EventKind.PRIORITY, old=old, new=int(value), at=now)

    elif field == "department":
        department = None
        if raw:
            department = session.get(Department, int(raw)) if raw.isdigit() else None
            if department is None or not department.active:
                raise ValidationFailed({"department": [_l("Choose an active department.")]})
        new_id = department.id if department else None
        if new_id == ticket.department_id:
            return False
        old = ticket.department_id
        ticket.department_id = new_id
        record(session, ticket, actor, EventKind.DEPARTMENT, old=old, new=new_id, at=now)
        assignee = ticket.assignee
        if assignee is not None and not assignee.has_role(*QUEUE_ROLES) and new_id not in assignee.department_ids:
            ticket.assignee_id = None  # a focal point of the old department no longer fits
            record(session, ticket, actor, EventKind.ASSIGNEE, old=assignee.id, new=None, at=now)

    elif field in ("verified", "attested"):
        if raw != "1":
            raise ValidationFailed({field: [_l("This can only be recorded, not undone.")]})
        if field == "verified":
            if ticket.verified_at is not None:
                return False
            ticket.verified_by_id, ticket.verified_at = actor.id, now
            record(session, ticket, actor, EventKind.VERIFIED, at=now)
        else:
            if ticket.attested:
                return False
            ticket.attested, ticket.attested_at = True, now
            record(session, ticket, actor, EventKind.ATTESTED, at=now)

    elif field == "assignee":
        new_id = None
        if raw:
            allowed = {u.id for u in assignable_users(session, actor, ticket)}
            if not raw.isdigit() or int(raw) not in allowed:
                raise ValidationFailed({"assignee": [_l("Choose someone who works on this department's tickets.")]})
            new_id = int(raw)
        if new_id == ticket.assignee_id:
            return False
        old = ticket.assignee_id
        ticket.assignee_id = new_id
        record(session, ticket, actor, EventKind.ASSIGNEE, old=old, new=new_id, at=now)
        if ticket.status == Status.NEW and new_id is not None:
            _set_status(session, actor, ticket, Status.OPEN, now)

    _commit(session, ticket, expected)
    return True
