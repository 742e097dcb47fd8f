"""Service levels applied to tickets, and the escalation sweep (issue 5, items 2 and 3).

A ticket stores its due moments (``first_response_due_at``, ``first_response_at_risk_at``,
``due_at`` = resolution due, ``at_risk_at``) so the queue and the sweep compare columns and
never recompute (``SlaPolicy.due_times`` costs ~0.2 ms a ticket). They are computed by
``apply_due_times``:

* when the ticket is created (desk.intake.service.create_ticket),
* when its priority (or kind) changes, and when it stops waiting on the beneficiary
  (desk.tickets.service.change_field),

always from ``created_at`` with the pauses of its status history (time "waiting on the
beneficiary" stops the clock). While a ticket waits the stored values are those without the
open pause; the queue shows it as paused and the sweep skips it. Every other open status
(new, open, awaiting the committee…) is a running clock. No target: no due time.

and, after an admin changes the calendar or the targets, for every open ticket by the next
sweep (``refresh_open_due_times``): the sweep compares the policy's fingerprint with the one
the due times were computed with (``WorkingTime.applied_policy``). A holiday declared late
moves the due times that fall in it; a ticket's promised dates follow the calendar in force.

``sweep`` (``flask desk sla-sweep``, every minute from cron) marks first-response breaches
(an unanswered ticket past its first-response due time: its focal points are told), resolution
breaches and,
``escalate_after`` (wall-clock hours, DESK_SLA_ESCALATE_AFTER_HOURS, default 24) later, the
escalation: each mark is claimed with one ``UPDATE … WHERE breached_at IS NULL … RETURNING``,
so two sweeps at once never mark a ticket twice (PostgreSQL re-checks the condition on the
rows the other one locked; SQLite runs one writer at a time), records a timeline event (the
queue's change token moves) and notifies the department's focal points, then the supervisors.
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, and_, bindparam, select, update
from sqlalchemy.orm import Session

from desk.models import (
    OPEN_STATUSES,
    STATUS_EVENTS,
    EventKind,
    Holiday,
    Role,
    Status,
    Ticket,
    TicketEvent,
    User,
    UserRole,
    utcnow,
)
from desk.sla.calendar import SlaState, pauses_from_status_changes, sla_state
from desk.sla.service import SlaPolicy, load_policy, unconfirmed_soon, working_time
from desk.text import to_riyadh
from desk.transaction import atomic, commit

SLA_EVENTS = (EventKind.SLA_FIRST_RESPONSE, EventKind.SLA_BREACHED, EventKind.SLA_ESCALATED)
DEFAULT_ESCALATE_AFTER_HOURS = 24.0
_CHUNK = 500


def running_statuses() -> list[str]:
    """Open statuses whose clock runs: every open status but "waiting on the beneficiary"."""
    return [str(s) for s in OPEN_STATUSES if s != Status.WAITING]


def _pauses(changes: Iterable[tuple[datetime, str | None]], status: str, now: datetime):
    """The pauses of a status history (every status change is an event of STATUS_EVENTS: the
    ticket workflow records one for each). The ticket's current status is the truth: a pause
    still open is left out while it waits (the stored values are those before it), and closed at
    ``now`` otherwise: the caller is moving it out of WAITING, and that event is not flushed yet."""
    pauses = pauses_from_status_changes([(at, value or "") for at, value in changes], waiting=Status.WAITING)
    if pauses and pauses[-1][1] is None:
        pauses[-1] = (pauses[-1][0], None if status == Status.WAITING else now)
        if status == Status.WAITING:
            pauses.pop()
    return pauses


def status_changes(session: Session, ticket: Ticket) -> list[tuple[datetime, str | None]]:
    """The ticket's committed status history. A status event the caller recorded but has not
    flushed is not needed: the ticket's current status closes an open pause at ``now``."""
    return list(session.execute(
        select(TicketEvent.created_at, TicketEvent.new_value)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_([str(k) for k in STATUS_EVENTS]))
        .order_by(TicketEvent.id)).all())


def _due_values(policy: SlaPolicy, kind: str, priority: int, created_at: datetime, status: str,
                breached_at: datetime | None, first_response_breached_at: datetime | None,
                changes: list, now: datetime) -> dict[str, datetime | None]:
    """The stored due moments of one ticket. A breach mark whose due time moved into the
    future (or went away) is cleared, so the sweep can mark it again if it comes."""
    times = policy.due_times(kind, priority, created_at, _pauses(changes, status, now))
    values = {
        "first_response_due_at": times.first_response_due,
        "first_response_at_risk_at": times.first_response_at_risk,
        "due_at": times.resolution_due,
        "at_risk_at": times.resolution_at_risk,
    }
    if breached_at is not None and (times.resolution_due is None or times.resolution_due > now):
        values["breached_at"] = values["escalated_at"] = None
    if first_response_breached_at is not None and (
            times.first_response_due is None or times.first_response_due > now):
        values["first_response_breached_at"] = None
    return values


def apply_due_times(session: Session, ticket: Ticket, policy: SlaPolicy | None = None,
                    now: datetime | None = None, changes: list | None = None) -> bool:
    """Set the ticket's stored due moments from its kind, priority, ``created_at`` and pauses,
    in the caller's transaction (no commit). True when anything changed."""
    # No flush before the caller's commit: its optimistic-lock check (StaleVersion) stays there.
    with session.no_autoflush:
        policy = policy or load_policy(session)
        if changes is None:
            changes = status_changes(session, ticket) if ticket.id is not None else []
    now = now or utcnow()
    values = _due_values(policy, ticket.kind, ticket.priority, ticket.created_at, ticket.status,
                         ticket.breached_at, ticket.first_response_breached_at, changes, now)
    changed = False
    for name, value in values.items():
        if getattr(ticket, name) != value:
            setattr(ticket, name, value)
            changed = True
    return changed


_DUE_COLUMNS = ("first_response_due_at", "first_response_at_risk_at", "due_at", "at_risk_at",
                "breached_at", "escalated_at", "first_response_breached_at")


@dataclass
class Refreshed:
    changed: int = 0              # tickets whose stored due moments changed
    last_id: int | None = None    # the last ticket id done
    done: bool = True             # every open ticket after the starting point was done


def refresh_open_due_times(session: Session, policy: SlaPolicy | None = None, now: datetime | None = None,
                           only_missing: bool = False, after_id: int = 0,
                           deadline: float | None = None) -> Refreshed:
    """Recompute the stored due moments of the open tickets with an id above ``after_id``
    (``only_missing``: of those with none yet), a chunk at a time: one query for the chunk's
    status events, one for its rows, one executemany UPDATE of the rows whose values changed.
    Commits each chunk. Stops after the chunk during which ``deadline`` (time.monotonic)
    passes, saying where (``Refreshed.last_id``, ``done`` False).

    The UPDATE carries ``WHERE version = <read>`` and does not bump it: a ticket someone
    changed meanwhile is left alone (their change computed its due times itself, with the
    policy in force), and nobody's edit is refused because of the recompute."""
    policy = policy or load_policy(session)
    now = now or utcnow()
    stmt = select(Ticket.id).where(Ticket.is_open, Ticket.id > after_id).order_by(Ticket.id)
    if only_missing:
        stmt = stmt.where(Ticket.due_at.is_(None))
    ids = list(session.scalars(stmt))
    result = Refreshed(last_id=after_id)
    columns = [getattr(Ticket, name) for name in _DUE_COLUMNS]
    write = (update(Ticket.__table__)
             .where(Ticket.__table__.c.id == bindparam("_id"), Ticket.__table__.c.version == bindparam("_version"))
             .values({name: bindparam(name) for name in _DUE_COLUMNS}))
    for start in range(0, len(ids), _CHUNK):
        if deadline is not None and start and time.monotonic() > deadline:
            result.done = False
            break
        chunk = ids[start:start + _CHUNK]
        history: dict[int, list] = {i: [] for i in chunk}
        for ticket_id, at, value in session.execute(
                select(TicketEvent.ticket_id, TicketEvent.created_at, TicketEvent.new_value)
                .where(TicketEvent.ticket_id.in_(chunk), TicketEvent.kind.in_([str(k) for k in STATUS_EVENTS]))
                .order_by(TicketEvent.ticket_id, TicketEvent.id)):
            history[ticket_id].append((at, value))
        rows = []
        for row in session.execute(select(Ticket.id, Ticket.version, Ticket.kind, Ticket.priority, Ticket.created_at,
                                          Ticket.status, *columns).where(Ticket.id.in_(chunk))):
            current = dict(zip(_DUE_COLUMNS, row[6:], strict=True))
            values = {**current, **_due_values(policy, row.kind, row.priority, row.created_at, row.status,
                                               current["breached_at"], current["first_response_breached_at"],
                                               history[row.id], now)}
            if values != current:
                rows.append({"_id": row.id, "_version": row.version, **values})
        if rows:
            result.changed += session.connection().execute(write, rows).rowcount or 0
        commit(session)
        result.last_id = chunk[-1]
    return result


def apply_due_times_to_open(session: Session, policy: SlaPolicy | None = None, now: datetime | None = None,
                            only_missing: bool = True) -> int:
    """Due times for the open tickets that have none yet (``desk demo``). Commits."""
    return refresh_open_due_times(session, policy, now, only_missing=only_missing).changed


# What the queue and the ticket page show ----------------------------------------------

def ticket_state(ticket: Ticket, now: datetime) -> SlaState | None:
    """Due / at risk / overdue / paused for an open ticket; None when it is closed or resolved,
    or has no resolution target."""
    if not ticket.is_open:
        return None
    if ticket.status == Status.WAITING:
        return SlaState.PAUSED
    if ticket.due_at is None:
        return None
    return sla_state(now, ticket.due_at, ticket.at_risk_at)


def first_response_state(ticket: Ticket, now: datetime) -> SlaState | None:
    if ticket.first_response_due_at is None or ticket.first_response_at is not None or not ticket.is_open:
        return None
    if ticket.status == Status.WAITING:
        return SlaState.PAUSED
    return sla_state(now, ticket.first_response_due_at, ticket.first_response_at_risk_at)


def sla_events(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return list(session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_([str(k) for k in SLA_EVENTS])).order_by(TicketEvent.id)))


# The sweep ---------------------------------------------------------------------------------

@dataclass
class SweepResult:
    recomputed: int = 0       # open tickets whose due times moved with a new calendar or targets
    recompute_pending: bool = False  # the recompute goes on at the next sweep (a large desk)
    first_response: int = 0   # first-response breaches marked
    breached: int = 0
    escalated: int = 0
    notified: int = 0


def supervisors(session: Session) -> list[User]:
    return list(session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.SUPERVISOR, User.active.is_(True)).order_by(User.id)))


def _claim(session: Session, condition, values: dict, due=Ticket.due_at) -> list[tuple[int, int, datetime | None]]:
    """Mark the rows matching ``condition`` and return (id, version, ``due``) of those this call
    marked: one UPDATE … RETURNING, so a concurrent sweep cannot claim them too."""
    stmt = (update(Ticket).where(condition).values(**values)
            .returning(Ticket.id, Ticket.version, due)
            .execution_options(synchronize_session=False))
    return list(session.execute(stmt).all())


def _tell(session: Session, rows, kind: EventKind, now: datetime, recipients_of, notice: str = "sla_breach") -> int:
    """An event per claimed ticket (no version bump: nobody's edit is refused for it) and the
    notifications, a chunk of tickets loaded at a time."""
    queued = 0
    from desk.notify import service as notify_service
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        session.add_all([TicketEvent(ticket_id=i, actor_id=None, created_at=now, kind=kind,
                                     new_value=due.isoformat() if due else None, public=False, version=version)
                         for i, version, due in chunk])
        tickets = session.scalars(select(Ticket).where(Ticket.id.in_([r[0] for r in chunk])).order_by(Ticket.id)
                                  .execution_options(populate_existing=True))
        for ticket in tickets:
            queued += len(notify_service.notify(session, notice, ticket, recipients_of(ticket)))
    return queued


RECOMPUTE_BUDGET_S = 2.0  # a sweep's share of a recompute: it stays well under its 5 s target


def refresh_if_policy_changed(session: Session, policy: SlaPolicy, now: datetime,
                              budget_s: float | None = None) -> Refreshed:
    """Recompute the open tickets' due times when the calendar or the targets changed since
    they were last computed (commits), ``budget_s`` seconds of it per call (None: all of it; the
    sweep gives RECOMPUTE_BUDGET_S): a large desk
    finishes over a few sweeps (the policy being applied and where it got to are kept), a
    policy changed again meanwhile starts over. The fingerprint counts as applied only once
    every open ticket was done. Two sweeps at once may both recompute; the result is the same."""
    fingerprint = policy.fingerprint()
    row = working_time(session)
    if row.applied_policy == fingerprint:
        return Refreshed(done=True)
    after = (row.recompute_cursor or 0) if row.recomputing_policy == fingerprint else 0
    deadline = None if budget_s is None else time.monotonic() + budget_s
    result = refresh_open_due_times(session, policy, now, after_id=after, deadline=deadline)
    row = working_time(session)
    if row not in session:
        session.add(row)
    if result.done:
        row.applied_policy, row.recomputing_policy, row.recompute_cursor = fingerprint, None, None
    else:
        row.recomputing_policy, row.recompute_cursor = fingerprint, result.last_id
    commit(session)
    return result


def remind_unconfirmed_holidays(session: Session, now: datetime) -> tuple[int, int]:
    """Tell the supervisors (and admins, who confirm) of each proposed holiday starting within a
    month, once: (holidays, emails queued); commits. Two sweeps at once remind once: the
    ``reminded_at`` update is the claim."""
    from desk.notify.messages import absolute_url
    from desk.notify.service import notify_users

    holidays = unconfirmed_soon(session, to_riyadh(now).date())
    if not holidays:
        return 0, 0
    told, queued = 0, 0
    with atomic(session):
        people = supervisors(session) + admins(session)
        for holiday in holidays:
            claimed = cast(CursorResult, session.execute(
                update(Holiday).where(Holiday.id == holiday.id, Holiday.reminded_at.is_(None))
                .values(reminded_at=now).execution_options(synchronize_session=False))).rowcount
            if claimed != 1:
                continue
            told += 1
            queued += len(notify_users(session, "holiday_unconfirmed", people, "notify/holiday_unconfirmed.txt",
                                       holiday=holiday, link=absolute_url("sla.holidays")))
    return told, queued


def admins(session: Session) -> list[User]:
    return list(session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)))


def sweep(session: Session, now: datetime | None = None,
          escalate_after: timedelta = timedelta(hours=DEFAULT_ESCALATE_AFTER_HOURS)) -> SweepResult:
    """Bring due times up to date after a policy change, then mark first-response breaches,
    resolution breaches and escalations, with their events and notifications: one transaction
    (commits). Idempotent: a second run at once finds nothing left to mark."""
    from desk.notify.service import department_focal_points

    now = now or utcnow()
    result = SweepResult()
    refreshed = refresh_if_policy_changed(session, load_policy(session), now, budget_s=RECOMPUTE_BUDGET_S)
    result.recomputed, result.recompute_pending = refreshed.changed, not refreshed.done
    running = Ticket.status.in_(running_statuses())
    with atomic(session):
        # Ticket.is_open too: the partial index's own condition, so both databases use it.
        unanswered = _claim(session, and_(Ticket.is_open, running, Ticket.first_response_at.is_(None),
                                          Ticket.first_response_breached_at.is_(None),
                                          Ticket.first_response_due_at.is_not(None), Ticket.first_response_due_at < now),
                            {"first_response_breached_at": now}, due=Ticket.first_response_due_at)
        breached = _claim(session, and_(running, Ticket.breached_at.is_(None), Ticket.due_at.is_not(None),
                                        Ticket.due_at < now), {"breached_at": now})
        focal_points: dict[int | None, list[User]] = {}

        def department_people(ticket: Ticket) -> list[User]:
            if ticket.department_id not in focal_points:
                focal_points[ticket.department_id] = department_focal_points(session, ticket.department_id)
            return focal_points[ticket.department_id]

        result.notified += _tell(session, unanswered, EventKind.SLA_FIRST_RESPONSE, now, department_people,
                                 notice="sla_first_response")
        result.first_response = len(unanswered)
        result.notified += _tell(session, breached, EventKind.SLA_BREACHED, now, department_people)
        result.breached = len(breached)

        escalated = _claim(session, and_(running, Ticket.breached_at.is_not(None), Ticket.escalated_at.is_(None),
                                         Ticket.breached_at <= now - escalate_after), {"escalated_at": now})
        bosses = supervisors(session) if escalated else []
        result.notified += _tell(session, escalated, EventKind.SLA_ESCALATED, now, lambda ticket: bosses)
        result.escalated = len(escalated)
    return result
