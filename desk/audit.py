"""The audit trail (سجل التدقيق): who did what to whose data, append-only and hash-chained.

``record`` adds one row to the caller's transaction, so the act and its record commit or roll
back together (a refusal that writes nothing else commits it with ``transaction.commit``).
Each row's ``hash`` is sha256 over the previous row's hash and the row's own content, in id
order; ``verify`` walks the chain and names the first row that does not fit, so a row deleted,
edited or inserted out of turn is found (``flask --app wsgi desk audit-verify``).

Rows are chained in the order they are written. Two transactions must not both read the same
"last row": on PostgreSQL a transaction-scoped advisory lock serialises the writers of the
trail (held until commit, and audited acts are short); SQLite allows one writer at a time, and
the row is flushed before its predecessor is read, so the write lock is already held.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from desk.models.audit import AuditAction, AuditEntry
from desk.models.base import utcnow

GENESIS = "0" * 64
# pg_advisory_xact_lock key of the trail's writers ("audit" in ASCII).
_LOCK_KEY = 0x6175646974


def _canonical_at(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def digest(entry: AuditEntry, prev_hash: str) -> str:
    """The row's hash: its content and the previous row's hash, canonically serialised."""
    body = json.dumps({
        "prev": prev_hash, "id": entry.id, "at": _canonical_at(entry.at), "actor_id": entry.actor_id,
        "actor": entry.actor, "action": entry.action, "record_type": entry.record_type,
        "record_id": entry.record_id, "ticket_id": entry.ticket_id, "detail": entry.detail or {},
        "address": entry.address,
    }, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _actor(actor: Any) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    if not getattr(actor, "is_authenticated", False):
        return None, "anonymous"
    return actor.id, actor.email


def record(session: Session, action: AuditAction, *, actor: Any = None, record_type: str | None = None,
           record_id: object = None, ticket_id: int | None = None,
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Add one row to the trail in the caller's transaction.

    ``actor``: a User (or the anonymous user), a label ("portal", "worker", "cli:…"), or None for
    the system. The request's address is taken when there is a request."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("select pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    actor_id, label = _actor(actor)
    entry = AuditEntry(
        at=utcnow(), actor_id=actor_id, actor=label[:254], action=str(action), record_type=record_type,
        record_id=None if record_id is None else str(record_id)[:64], ticket_id=ticket_id,
        detail=detail or {}, address=request.remote_addr if has_request_context() else None,
        prev_hash="", hash="",
    )
    session.add(entry)
    session.flush()  # the id, and on SQLite the write lock, before the previous row is read
    previous = session.scalar(
        select(AuditEntry.hash).where(AuditEntry.id < entry.id).order_by(AuditEntry.id.desc()).limit(1))
    entry.prev_hash = previous or GENESIS
    entry.hash = digest(entry, entry.prev_hash)
    session.flush()
    return entry


@dataclass(frozen=True)
class Break:
    """The first row whose chain does not hold, and why."""

    entry_id: int
    reason: str


def verify(session: Session, batch: int = 5000) -> tuple[int, Break | None]:
    """Walk the whole trail in id order: how many rows were checked, and the first break."""
    expected_prev = GENESIS
    checked = 0
    for entry in _walk(session, batch):
        if entry.prev_hash != expected_prev:
            return checked, Break(entry.id, "the previous row is missing or was changed")
        if digest(entry, entry.prev_hash) != entry.hash:
            return checked, Break(entry.id, "this row was changed after it was written")
        expected_prev = entry.hash
        checked += 1
    return checked, None


def _walk(session: Session, batch: int) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = list(session.scalars(
            select(AuditEntry).where(AuditEntry.id > last).order_by(AuditEntry.id).limit(batch)))
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()
