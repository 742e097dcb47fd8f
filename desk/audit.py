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
from sqlalchemy import event, inspect, select, text
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


def masked(field: str, value: str | None) -> str | None:
    """A beneficiary's value as the trail keeps it: identifiers masked, as everywhere in the
    desk (a name or a city in full)."""
    from desk.text import mask_email, mask_national_id, mask_phone
    if not value:
        return None
    masks = {"national_id": mask_national_id, "phone": mask_phone, "email": mask_email}
    return masks[field](value) if field in masks else value


def record_edit(session: Session, actor: Any, beneficiary_id: int, field: str, old: str | None, new: str | None,
                **extra: str) -> AuditEntry:
    """A beneficiary's record edited, wherever (a correction, intake completing a missing ID):
    old → new with identifiers masked; ``extra`` says where (request, at)."""
    return record(session, AuditAction.RECORD_EDITED, actor=actor, record_type="beneficiary", record_id=beneficiary_id,
                  detail={"field": field, "old": masked(field, old), "new": masked(field, new), **extra})


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


# Admin changes ---------------------------------------------------------------------------------
#
# What an administrator changes in the desk's set-up — users and their roles and departments,
# departments, categories, routing rules, the calendar (working time, holidays, service levels),
# the association's settings, the survey's sites and items, the counter's auxiliary services — is
# recorded old → new, one row per
# thing changed, whichever screen or service changed it: the session is watched (before_flush
# reads each object's attribute history; before_commit writes the rows, in the same transaction,
# so a rolled-back change leaves no row). Only in a request of a signed-in administrator: the
# command line and the tests' fixtures set things up without an actor. What the services record
# themselves (two-factor roles, role grants, retention periods) is not watched.

_PENDING = "desk.audit.admin_changes"
# Columns that are bookkeeping, secrets or runtime state, not an administrator's choice.
_NOT_CHOICES = {"id", "created_at", "updated_at", "updated_by_id", "set_at", "password_hash", "session_version",
                "last_login_at", "totp_secret", "totp_enabled_at", "totp_last_step", "applied_policy",
                "recomputing_policy", "recompute_cursor", "logo_stored_name"}


def _watched() -> dict[type, tuple[str, str]]:
    """Watched model → (the record type written, the attribute holding the record's id)."""
    from desk.models import (
        Association,
        AuxService,
        Availability,
        Category,
        Department,
        DepartmentMember,
        Holiday,
        RoutingRule,
        ServiceTarget,
        Site,
        SurveyItem,
        User,
        UserRole,
        WorkingTime,
    )
    return {User: ("user", "id"), UserRole: ("user", "user_id"), DepartmentMember: ("user", "user_id"),
            Department: ("department", "id"), Category: ("category", "id"), RoutingRule: ("routing_rule", "id"),
            WorkingTime: ("working_time", "id"), Holiday: ("holiday", "id"), ServiceTarget: ("service_target", "id"),
            Association: ("setting", "id"), Site: ("site", "id"), SurveyItem: ("survey_item", "id"),
            AuxService: ("aux_service", "id"),
            Availability: ("appointment_availability", "id")}


def plain(value: Any) -> Any:
    """A value as JSON keeps it (dates and times as ISO text, enums as their value)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return str(value) if isinstance(value, str) else value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _admin_actor() -> Any:
    if not has_request_context():
        return None
    from flask_login import current_user

    from desk.models import Role
    user = current_user._get_current_object() if current_user else None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user if user.has_role(Role.ADMIN) else None


def _snapshot(obj: Any) -> dict[str, Any]:
    """The chosen values of a row (created or deleted), empty ones left out."""
    values = {attr.key: plain(getattr(obj, attr.key)) for attr in inspect(obj).mapper.column_attrs
              if attr.key not in _NOT_CHOICES}
    return {k: v for k, v in values.items() if v not in (None, "", [], {})}


def _edits(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The columns changed since the row was loaded: old, new."""
    state = inspect(obj)
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in _NOT_CHOICES:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        before = plain(history.deleted[0]) if history.deleted else None
        after = plain(history.added[0]) if history.added else None
        if before != after:
            old[attr.key], new[attr.key] = before, after
    return old, new


@event.listens_for(Session, "before_flush")
def _collect_admin_changes(session: Session, flush_context: Any, instances: Any) -> None:
    actor = _admin_actor()
    if actor is None:
        return
    watched = _watched()
    pending = session.info.setdefault(_PENDING, [])
    seen = session.info.setdefault(_PENDING + ".seen", set())
    removed: list[Any] = list(session.deleted)
    for obj in list(session.dirty):
        if type(obj) not in watched or not session.is_modified(obj):
            continue
        # rows dropped from a collection (a user's roles, departments) are deleted by this flush
        for relationship in inspect(obj).mapper.relationships:
            if relationship.cascade.delete_orphan:
                removed += inspect(obj).attrs[relationship.key].history.deleted or ()
        old, new = _edits(obj)
        if old or new:
            pending.append((actor, obj, "edited", old, new))
    for obj in session.new:
        if type(obj) in watched and id(obj) not in seen:
            seen.add(id(obj))
            pending.append((actor, obj, "created", None, None))  # its values once flushed (its ids)
    for obj in removed:
        if type(obj) in watched and id(obj) not in seen:
            seen.add(id(obj))
            pending.append((actor, obj, "deleted", _snapshot(obj), None))


@event.listens_for(Session, "before_commit")
def _write_admin_changes(session: Session) -> None:
    if not session.info.get(_PENDING) and not _admin_actor():
        return
    session.flush()  # what is not flushed yet is collected too, and the new rows get their ids
    pending = session.info.pop(_PENDING, None)
    session.info.pop(_PENDING + ".seen", None)
    if not pending:
        return
    watched = _watched()
    for actor, obj, change, old, new in pending:
        record_type, id_attribute = watched[type(obj)]
        detail: dict[str, Any] = {"change": change}
        if id_attribute != "id":  # a row of the record's (a user's role, their department)
            detail["what"] = type(obj).__tablename__
        if change == "created":
            new = _snapshot(obj)
        if old:
            detail["old"] = old
        if new:
            detail["new"] = new
        record(session, AuditAction.ADMIN_CHANGE, actor=actor, record_type=record_type,
               record_id=(old or {}).get(id_attribute) if change == "deleted" and id_attribute != "id"
               else getattr(obj, id_attribute), detail=detail)


@event.listens_for(Session, "after_soft_rollback")
def _drop_admin_changes(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_PENDING + ".seen", None)
