"""Follow-up: for every active department, what is open, waiting and unassigned, and how long
the oldest ticket awaiting the department (new or in progress, not waiting on the beneficiary)
has sat, counted from when it was received (created_at); and the nudge (تذكير) that reminds
its focal points about that ticket.

The board is one GROUP BY over the open tickets (the department/status index), never a
loop over tickets in Python.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from desk.errors import ValidationFailed
from desk.models import Department, Status, Ticket, User, utcnow
from desk.permissions import visible_tickets
from desk.tickets import actions


@dataclass(frozen=True)
class Row:
    department: Department | None  # None: the unrouted tickets of the shared queue
    open: int                      # every open ticket: new, in progress, waiting
    waiting: int                   # waiting on the beneficiary
    unassigned: int
    oldest: datetime | None        # when the oldest ticket awaiting the department was received
    days: int | None               # and how many days ago


# What the department has to act on: open, and not waiting on the beneficiary.
_AWAITING_DEPARTMENT = (Status.NEW, Status.OPEN)


def board(session: Session, actor: User, now: datetime | None = None) -> list[Row]:
    """One row per active department (by code; none left out, even with nothing open), then
    the unrouted tickets."""
    now = now or utcnow()
    stmt = (
        select(
            Ticket.department_id,
            func.count().label("open"),
            func.sum(case((Ticket.status == Status.WAITING, 1), else_=0)).label("waiting"),
            func.sum(case((Ticket.assignee_id.is_(None), 1), else_=0)).label("unassigned"),
            func.min(case((Ticket.status.in_(_AWAITING_DEPARTMENT), Ticket.created_at))).label("oldest"),
        )
        .where(Ticket.is_open, visible_tickets(actor))
        .group_by(Ticket.department_id)
    )
    counts = {row.department_id: row for row in session.execute(stmt)}
    departments = session.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.code))

    def make(department: Department | None, key: int | None) -> Row:
        row = counts.get(key)
        if row is None:
            return Row(department, 0, 0, 0, None, None)
        return Row(department, row.open, int(row.waiting or 0), int(row.unassigned or 0), row.oldest,
                   max((now - row.oldest).days, 0) if row.oldest else None)

    rows = [make(d, d.id) for d in departments]
    rows.append(make(None, None))
    return rows


def oldest_awaiting_ticket(session: Session, actor: User, department_id: int) -> Ticket | None:
    """The department's oldest ticket that is new or in progress (a ticket waiting on the
    beneficiary is not the department's to hurry), by when it was received."""
    return session.scalar(
        select(Ticket)
        .where(Ticket.department_id == department_id, Ticket.status.in_(_AWAITING_DEPARTMENT), visible_tickets(actor))
        .order_by(Ticket.created_at, Ticket.id)
        .limit(1)
    )


@dataclass(frozen=True)
class Nudged:
    ticket: Ticket
    notified: int  # focal points emailed (actions.Reminded)


def nudge_department(session: Session, actor: User, department_id: int, note: str | None = None) -> Nudged:
    """Remind a department's focal points. The reminder is recorded on the department's oldest
    ticket awaiting it (oldest_awaiting_ticket: the email names it and links to it), so the
    nudge is part of that ticket's timeline. To nudge about another ticket, use the reminder
    on that ticket's page (desk.tickets.actions.remind)."""
    ticket = oldest_awaiting_ticket(session, actor, department_id)
    if ticket is None:
        raise ValidationFailed({"note": [_l("This department has no new or in-progress ticket to remind about.")]})
    reminded = actions.remind(session, actor, ticket, note)
    return Nudged(ticket, reminded.notified)

