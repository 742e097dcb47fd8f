"""Two-factor sign-in: a six-digit code from an authenticator app (TOTP, RFC 6238, pyotp),
or one of ten single-use recovery codes (issue 16, point 6).

Enrolling: a secret is kept on the user (not yet in force) and shown as a QR code (segno,
inline SVG) and as text; the first correct code puts it in force and makes the recovery codes,
shown once (only their hashes are kept). A code is accepted for its 30-second step and the
steps either side (a phone's clock a little off), and never twice: the last step used is
kept, and moved on by one guarded UPDATE, so two requests with the same code cannot both pass.

The admin chooses the roles whose holders must have a second factor (``TwoFactorRole``); a
holder without one enrols at their next sign-in, before any page of the desk opens.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import cast

import pyotp
import segno
from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.orm import Session

from desk import audit
from desk.models import AuditAction, RecoveryCode, Role, TwoFactorRole, User, utcnow
from desk.text import to_ascii_digits

ISSUER = "Desk"
STEP = 30             # seconds per code (the authenticator apps' default)
WINDOW = 1            # steps either side accepted
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper and typed back


def required_roles(session: Session) -> set[str]:
    return set(session.scalars(select(TwoFactorRole.role)))


def is_required(session: Session, user: User) -> bool:
    return bool(user.roles & required_roles(session))


def set_required_roles(session: Session, actor: User, roles: Iterable[str]) -> None:
    """The admin's choice (no commit); recorded as an admin change, old → new."""
    wanted = {r for r in roles if r in set(Role)}
    before = required_roles(session)
    if wanted == before:
        return
    session.execute(delete(TwoFactorRole).where(TwoFactorRole.role.not_in(wanted)))
    for role in sorted(wanted - before):
        session.add(TwoFactorRole(role=role))
    audit.record(session, AuditAction.ADMIN_CHANGE, actor=actor, record_type="setting", record_id="two_factor_roles",
                 detail={"old": sorted(before), "new": sorted(wanted)})


# Enrolment ------------------------------------------------------------------------------------

def pending_secret(user: User) -> str:
    """The secret being enrolled (made once, kept across reloads of the page until confirmed)."""
    if user.totp_secret is None or user.totp_enabled_at is not None:
        user.totp_secret = pyotp.random_base32()
        user.totp_enabled_at = None
        user.totp_last_step = None
    return user.totp_secret


def provisioning_uri(user: User, issuer: str) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(name=user.email, issuer_name=issuer or ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code as an inline <svg> (no script, no outside request, within the CSP)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, border=3, dark="#000", light="#fff"))


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def confirm(session: Session, user: User, code: str, now: datetime | None = None) -> list[str] | None:
    """The first code from the app: the secret is in force and the recovery codes are made
    (returned, to be shown once). None: the code is not right (nothing changes). No commit."""
    if user.totp_secret is None or user.totp_enabled_at is not None:
        return None
    step = _matching_step(user.totp_secret, code, now)
    if step is None or not _use_step(session, user, step):
        return None
    user.totp_enabled_at = now or utcnow()
    codes = new_recovery_codes(session, user)
    audit.record(session, AuditAction.TWO_FACTOR_CHANGED, actor=user, record_type="user", record_id=user.id,
                 detail={"change": "enrolled"})
    return codes


def remove(session: Session, actor: User, user: User, reason: str) -> None:
    """The user has no second factor any more (lost phone: the admin; or they turn it off).
    If their role requires one, they enrol again at their next sign-in. No commit."""
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record(session, AuditAction.TWO_FACTOR_CHANGED, actor=actor, record_type="user", record_id=user.id,
                 detail={"change": "removed", "by": reason})


# Checking a code ------------------------------------------------------------------------------

def _clean(code: str) -> str:
    return "".join(ch for ch in to_ascii_digits(code or "").lower() if ch.isalnum())


def _matching_step(secret: str, code: str, now: datetime | None) -> int | None:
    code = _clean(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int((now or utcnow()).timestamp()) // STEP
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def _use_step(session: Session, user: User, step: int) -> bool:
    """Take ``step`` as used, if no later or equal step was: one guarded UPDATE (a replay loses)."""
    result = cast(CursorResult, session.execute(
        update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        return False
    user.totp_last_step = step
    return True


def looks_like_totp(code: str) -> bool:
    cleaned = _clean(code)
    return len(cleaned) == 6 and cleaned.isdigit()


def verify(session: Session, user: User, code: str, now: datetime | None = None) -> str | None:
    """A second factor for ``user``: "totp" or "recovery" (the method that passed), else None.
    Recorded either way (SECOND_FACTOR / SECOND_FACTOR_FAILED); no commit."""
    method: str | None = None
    if user.totp_secret and user.totp_enabled_at:
        if looks_like_totp(code):
            step = _matching_step(user.totp_secret, code, now)
            if step is not None and _use_step(session, user, step):
                method = "totp"
        elif _use_recovery_code(session, user, code, now):
            method = "recovery"
    if method is None:
        audit.record(session, AuditAction.SECOND_FACTOR_FAILED, actor=user, record_type="user", record_id=user.id)
        return None
    detail: dict[str, object] = {"method": method}
    if method == "recovery":
        detail["left"] = recovery_codes_left(session, user)
    audit.record(session, AuditAction.SECOND_FACTOR, actor=user, record_type="user", record_id=user.id, detail=detail)
    return method


# Recovery codes -------------------------------------------------------------------------------

def _code_hash(code: str) -> str:
    return hashlib.sha256(_clean(code).encode("ascii", "ignore")).hexdigest()


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Ten fresh codes (the old ones stop working); only their hashes are kept. No commit."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=_code_hash(raw)))
    return codes


def _use_recovery_code(session: Session, user: User, code: str, now: datetime | None) -> bool:
    if len(_clean(code)) != 10:
        return False
    result = cast(CursorResult, session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _code_hash(code),
                                   RecoveryCode.used_at.is_(None))
        .values(used_at=now or utcnow()).execution_options(synchronize_session=False)))
    return result.rowcount == 1


def recovery_codes_left(session: Session, user: User) -> int:
    return len(list(session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))))
