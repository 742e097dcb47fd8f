"""The audit screen (/audit): the trail filtered by person, record, action and dates, a page at
a time, its export as CSV (itself recorded), and whether the chain holds. For admins and the
data protection officer; for everyone else it does not exist (404).

Pages are keyset-paginated on (time, id), newest first, so a deep page costs what the first
does; the filters match the trail's indexes (actor and time, record, action and time, time,
ticket).
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from desk import audit
from desk.errors import ValidationFailed
from desk.models import AuditAction, AuditEntry, Ticket, User
from desk.permissions import Action, require
from desk.sla.service import GREGORIAN, parse_day
from desk.stats.export import neutralise
from desk.text import riyadh_midnight, to_riyadh
from desk.transaction import commit

PAGE = 50
EXPORT_MAX = 50_000  # rows in one CSV; narrow the filters for more
_RECORD = re.compile(r"^([a-z_]{2,30}):(\S{1,64})$")
_REFERENCE = re.compile(r"^[A-Z]{1,3}-\d{4}-\d{1,10}$")


@dataclass
class Filters:
    """What the reader asked for, as typed (``typed``) and as understood."""

    typed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[Any]] = field(default_factory=dict)
    person: int | None = None
    record_type: str | None = None
    record_id: str | None = None
    ticket_id: int | None = None
    action: str | None = None
    start: date | None = None
    end: date | None = None

    def query_args(self) -> dict[str, str]:
        return {k: v for k, v in self.typed.items() if v}


def parse(session: Session, args: Mapping[str, str]) -> Filters:
    """The filters from the query string, with a message by each wrong field (``errors``)."""
    typed = {name: (args.get(name) or "").strip()[:80] for name in ("person", "record", "action", "start", "end")}
    filters = Filters(typed=typed)
    errors = filters.errors
    if typed["person"]:
        if not typed["person"].isdigit() or session.get(User, int(typed["person"])) is None:
            errors["person"] = [_l("Choose a person from the list.")]
        else:
            filters.person = int(typed["person"])
    record = typed["record"]
    if record:
        match = _RECORD.match(record)
        if match:
            filters.record_type, filters.record_id = match.groups()
        elif _REFERENCE.match(record.upper()):
            filters.ticket_id = session.scalar(select(Ticket.id).where(Ticket.reference == record.upper()))
            if filters.ticket_id is None:
                errors["record"] = [_l("No ticket has this reference.")]
        else:
            errors["record"] = [_l("Write a ticket reference, or a record as type:number (for example %(example)s).",
                                    example="\u2066beneficiary:12\u2069")]
    if typed["action"]:
        if typed["action"] not in set(AuditAction):
            errors["action"] = [_l("Choose an action from the list.")]
        else:
            filters.action = typed["action"]
    for name in ("start", "end"):
        if typed[name]:
            try:
                setattr(filters, name, parse_day(typed[name], GREGORIAN))
            except ValueError:
                errors[name] = [_l("Enter a real date as year-month-day, e.g. 2026-01-31.")]
    if filters.start and filters.end and filters.end < filters.start:
        errors["end"] = [_l("The end of the period must not be before its start.")]
    return filters


def _query(filters: Filters) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if filters.person is not None:
        query = query.where(AuditEntry.actor_id == filters.person)
    if filters.record_type is not None:
        query = query.where(AuditEntry.record_type == filters.record_type, AuditEntry.record_id == filters.record_id)
    if filters.ticket_id is not None:  # the ticket itself, or anything done from it
        ticket = select(Ticket.reference).where(Ticket.id == filters.ticket_id).scalar_subquery()
        query = query.where(or_(AuditEntry.ticket_id == filters.ticket_id,
                                (AuditEntry.record_type == "ticket") & (AuditEntry.record_id == ticket)))
    if filters.action is not None:
        query = query.where(AuditEntry.action == filters.action)
    if filters.start is not None:
        query = query.where(AuditEntry.at >= riyadh_midnight(filters.start))
    if filters.end is not None:
        query = query.where(AuditEntry.at < riyadh_midnight(filters.end + timedelta(days=1)))
    # Newest first by time (id within the same instant): each filter has an index ending in
    # ``at`` (actor+at, action+at, at) or selects few rows (record, ticket).
    return query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


@dataclass
class Page:
    rows: list[AuditEntry]
    older: int | None   # the ``before`` of the next page, None on the last


def page(session: Session, actor: User, filters: Filters, before: int | None = None, size: int = PAGE) -> Page:
    require(actor, Action.AUDIT_VIEW)
    if filters.errors:
        return Page([], None)
    query = _query(filters)
    if before is not None:  # keyset: the rows after the last one shown, in the same order
        last = session.get(AuditEntry, before)
        if last is not None:
            # (at <= t) alone bounds the index range; the OR only settles ties within one instant
            query = query.where(AuditEntry.at <= last.at,
                                or_(AuditEntry.at < last.at, AuditEntry.id < last.id))
    rows = list(session.scalars(query.limit(size + 1)))
    return Page(rows[:size], rows[size - 1].id if len(rows) > size else None)


def people(session: Session) -> list[User]:
    """The staff a reader may filter by."""
    return list(session.scalars(select(User).order_by(User.name, User.id)))


HEADERS = ("id", "at (Asia/Riyadh)", "who", "action", "record type", "record id", "ticket id", "detail", "address")


def export_csv(session: Session, actor: User, filters: Filters) -> str:
    """The filtered rows (newest first, at most EXPORT_MAX) as CSV text, the export recorded
    (who, the filters, how many rows) in the same trail before it is handed out."""
    require(actor, Action.AUDIT_VIEW)
    if filters.errors:
        raise ValidationFailed(filters.errors)
    rows = list(session.scalars(_query(filters).limit(EXPORT_MAX)))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for e in rows:
        writer.writerow([e.id, to_riyadh(e.at).strftime("%Y-%m-%d %H:%M:%S"), neutralise(e.actor), e.action,
                         e.record_type or "", neutralise(e.record_id or ""), e.ticket_id or "",
                         neutralise(json.dumps(e.detail or {}, ensure_ascii=False, sort_keys=True, default=str)),
                         e.address or ""])
    audit.record(session, AuditAction.EXPORT, actor=actor, record_type="audit_log",
                 detail={"filters": filters.query_args(), "rows": len(rows), "format": "csv"})
    commit(session)
    return "\ufeff" + out.getvalue()  # a BOM, so Excel reads the Arabic


def chain(session: Session, actor: User) -> tuple[int, audit.Break | None]:
    """The whole chain walked (desk audit-verify) on a session of its own: the walk lets go of
    what it read as it goes, which must not detach the request's objects."""
    require(actor, Action.AUDIT_VIEW)
    with Session(bind=session.get_bind()) as own:
        return audit.verify(own)
