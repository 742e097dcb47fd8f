"""Password reset by email (issue 16, point 6).

Asking: whatever the address, the same answer (the page never says whether an account has it);
for an active account a link is queued in the outbox, in the caller's transaction. The link
carries a random token built into ``DESK_BASE_URL`` (never the request's Host header, which a
sender of the form could choose); only the token's hash is stored. It works once, for
``DESK_PASSWORD_RESET_MINUTES``, and only the newest one: asking again voids the older links.

Using it: the password is set, every session of the user ends, the link and any other open
link of theirs are spent; the second factor, if they have one, is still asked at sign-in.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from desk import audit
from desk.accounts import sessions
from desk.accounts.service import normalize_email, password_errors, set_new_password
from desk.errors import ValidationFailed
from desk.models import AuditAction, PasswordReset, User, utcnow
from desk.notify import messages
from desk.notify.service import notify_users

REASON = "password_reset"


def request_reset(session: Session, email: str, minutes: int, now: datetime | None = None) -> bool:
    """Queue a reset link for the account of ``email`` if there is an active one (no commit).
    Returns whether one was queued: for the tests and the log, never for the page."""
    now = now or utcnow()
    address = normalize_email(email)
    user = session.scalar(select(User).where(User.email == address)) if address else None
    if user is None or not user.active:
        audit.record(session, AuditAction.PASSWORD_RESET_REQUESTED, actor="anonymous",
                     detail={"email": address[:254], "known": False})
        return False
    _void(session, user, now)
    token = secrets.token_urlsafe(32)
    session.add(PasswordReset(user_id=user.id, token_hash=sessions.token_hash(token), created_at=now,
                              expires_at=now + timedelta(minutes=minutes)))
    notify_users(session, REASON, [user], "accounts/password_reset.txt",
                 link=messages.absolute_url("accounts.reset_password", token=token), minutes=minutes)
    audit.record(session, AuditAction.PASSWORD_RESET_REQUESTED, actor="anonymous", record_type="user",
                 record_id=user.id, detail={"known": True})
    return True


def _void(session: Session, user: User, now: datetime) -> None:
    session.execute(update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
                    .values(used_at=now))


def valid(session: Session, token: str, now: datetime | None = None) -> PasswordReset | None:
    """The open, unexpired link of ``token`` whose user is active, else None."""
    now = now or utcnow()
    reset = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == sessions.token_hash(token or "")))
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        return None
    user = session.get(User, reset.user_id)
    if user is None or not user.active:
        return None
    return reset


def use(session: Session, token: str, password: str, now: datetime | None = None) -> User | None:
    """Set the password through the link (no commit). None: the link is spent, expired or
    unknown (nothing changes); ValidationFailed: the password breaks the rule."""
    now = now or utcnow()
    reset = valid(session, token, now)
    if reset is None:
        return None
    errors = password_errors(password)
    if errors:
        raise ValidationFailed(errors)
    spent = cast(CursorResult, session.execute(
        update(PasswordReset).where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)))
    if spent.rowcount != 1:  # the same link used at the same moment elsewhere
        return None
    user = session.get(User, reset.user_id)
    assert user is not None  # noqa: S101 - valid() just read it
    _void(session, user, now)
    set_new_password(session, "anonymous", user, password, "reset link")
    return user
