"""Signed-in browsers, held on the server (issue 16, point 6).

Flask's session is a signed cookie: clearing it on sign-out does nothing to a copy taken
before. So each sign-in makes a ``StaffSession`` row and puts a random token in the cookie
(only its hash is stored); every request's user is loaded only if that row is still open, the
user's ``session_version`` still matches, and neither time-out has passed:

- idle: no request of the person's own for ``DESK_SESSION_IDLE_MINUTES`` (the queue's
  30-second refresh is the page's, not the person's: it sends ``X-Desk-Background`` and keeps
  nothing alive);
- absolute: ``DESK_SESSION_HOURS`` after signing in, however busy.

Signing out ends the row; a password change, a password reset and a deactivation end all of
the user's rows.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import MutableMapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session, joinedload

from desk import audit
from desk.models import AuditAction, PasswordReset, StaffSession, User, utcnow
from desk.transaction import commit

TOKEN_KEY = "sid"  # noqa: S105 - the cookie key of the session token, not a password
SEEN_KEY = "seen"    # the last request of the person's own (seconds since the epoch)
BACKGROUND_HEADER = "X-Desk-Background"
SEEN_GRANULARITY = 60  # seconds: the cookie is rewritten at most once a minute for "seen"

# Why a request's user was refused (shown on the sign-in page).
IDLE, EXPIRED, ENDED = "idle", "expired", "ended"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def renew(session: Session, user: User, address: str | None) -> str:
    """A new session row for ``user`` (no record, no commit). Returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(user_id=user.id, token_hash=token_hash(token), created_at=utcnow(),
                             address=(address or "")[:45] or None))
    return token


def start(session: Session, user: User, address: str | None, detail: dict[str, Any] | None = None) -> str:
    """A new signed-in session for ``user``, recorded (SIGN_IN); no commit. Returns the token
    for the cookie."""
    token = renew(session, user, address)
    user.last_login_at = utcnow()
    audit.record(session, AuditAction.SIGN_IN, actor=user, record_type="user", record_id=user.id,
                 detail=detail or {})
    return token


def end(session: Session, token: str | None, reason: str) -> None:
    """The session of ``token`` ends (no commit): its cookie is refused from now on."""
    if token:
        session.execute(update(StaffSession).where(StaffSession.token_hash == token_hash(token),
                                                   StaffSession.ended_at.is_(None))
                        .values(ended_at=utcnow(), end_reason=reason))


def end_all(session: Session, user: User, reason: str) -> None:
    """Every session of ``user`` ends (no commit), and their ``session_version`` moves on."""
    session.execute(update(StaffSession).where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
                    .values(ended_at=utcnow(), end_reason=reason))
    user.session_version = (user.session_version or 0) + 1


# Every signed-in request runs it: built once, so each request only binds the token's hash (the
# statement's SQL is compiled once per process, and its options are not built again).
_BY_TOKEN = (select(StaffSession).where(StaffSession.token_hash == bindparam("token_hash"))
             .options(joinedload(StaffSession.user).joinedload(User.role_rows),
                      joinedload(StaffSession.user).joinedload(User.memberships)))


def load(session: Session, user_id: str, cookie: MutableMapping[str, Any], *, idle: timedelta,
         absolute: timedelta, background: bool, now: datetime | None = None) -> tuple[User | None, str | None]:
    """Flask-Login's loader: the user of ``"<id>:<session_version>"`` if the cookie's session
    is still theirs and open, and why not otherwise. Marks the person seen (the cookie's
    ``seen``) unless the request is a background one."""
    now = now or utcnow()
    uid, _, version = user_id.partition(":")
    token = cookie.get(TOKEN_KEY)
    if not uid.isdigit() or not version.isdigit() or not isinstance(token, str):
        return None, ENDED
    row = session.scalar(_BY_TOKEN, {"token_hash": token_hash(token)})
    if row is None or row.ended_at is not None or row.user_id != int(uid):
        return None, ENDED
    user = row.user
    if user.session_version != int(version) or not user.active:
        return None, ENDED
    if now - row.created_at >= absolute:
        return None, EXPIRED
    seen = cookie.get(SEEN_KEY)
    if not isinstance(seen, int) or now.timestamp() - seen >= idle.total_seconds():
        return None, IDLE
    if not background and now.timestamp() - seen >= SEEN_GRANULARITY:
        cookie[SEEN_KEY] = int(now.timestamp())
    return user, None


def mark_seen(cookie: MutableMapping[str, Any], now: datetime | None = None) -> None:
    cookie[SEEN_KEY] = int((now or utcnow()).timestamp())



def sweep(session: Session, *, absolute: timedelta, now: datetime | None = None) -> tuple[int, int]:
    """Forget the sessions that can no longer be used (ended, or past the absolute time-out)
    and the reset links past their time, a day on (the audit trail keeps who signed in when).
    How many of each."""
    cutoff = (now or utcnow()) - timedelta(days=1)
    ended = cast(CursorResult, session.execute(delete(StaffSession).where(or_(
        StaffSession.ended_at < cutoff, StaffSession.created_at < cutoff - absolute)))).rowcount
    links = cast(CursorResult, session.execute(delete(PasswordReset).where(PasswordReset.expires_at < cutoff))).rowcount
    commit(session)
    return int(ended or 0), int(links or 0)
