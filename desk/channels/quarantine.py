"""The quarantine: mail the desk could not take as it came, kept whole until a person decides.

What goes in (desk.channels.pipe): a message whose headers cannot be trusted (a sender that
does not parse, a header with a line break once decoded…), a message that failed to be taken
DESK_MAIL_MAX_ATTEMPTS times (instead of being retried forever), and a message written on a
ticket (by reference or thread) by a sender our receiving server did not verify.

What a person does (the admin's quarantine screen, and the ticket page for an unverified
message): take it as a new ticket, attach it to a ticket chosen by reference, or discard it;
each recorded in the audit trail with who and when, and on the ticket's timeline. Nothing
in it is rendered as HTML: the screen shows the sender as written, the subject and the text
as plain text, escaped.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.channels.email import ParsedEmail, written_from
from desk.models import QuarantinedMail, QuarantineState, utcnow
from desk.transaction import commit, discard


def known(session: Session, key: str) -> QuarantinedMail | None:
    """The quarantined message with this intake key, if any (whatever became of it)."""
    return session.scalar(select(QuarantinedMail).where(QuarantinedMail.key == key[:255]))


def _row(raw: bytes, parsed: ParsedEmail | None, key: str, source: str) -> QuarantinedMail:
    return QuarantinedMail(
        key=key[:255], source=source[:80], sender=written_from(raw),
        subject=(parsed.subject if parsed is not None else "")[:200], size=len(raw),
        sent_at=parsed.date if parsed is not None else None, attempts=0, raw=raw, created_at=utcnow())


def hold(session: Session, raw: bytes, parsed: ParsedEmail, source: str, reason: str, *,
         state: str = QuarantineState.HELD, ticket_id: int | None = None) -> QuarantinedMail | None:
    """Put a message in the quarantine and commit. None if its key was held meanwhile (a
    concurrent delivery of the same message)."""
    row = known(session, parsed.key)
    if row is None:
        row = _row(raw, parsed, parsed.key, source)
        session.add(row)
    row.state, row.reason, row.ticket_id = state, reason[:200], ticket_id
    try:
        commit(session)
    except IntegrityError:
        return None
    return row


def failed_attempt(session: Session, raw: bytes, key: str, parsed: ParsedEmail | None, source: str,
                   error: BaseException, max_attempts: int) -> bool:
    """Count one failed attempt to take the message in (the caller has rolled back); at
    ``max_attempts`` it is held for a person instead of being tried again. Commits. True if
    it is now held (the mail server may forget it)."""
    discard(session)
    row = known(session, key)
    if row is None:
        row = _row(raw, parsed, key, source)
        row.state, row.reason = QuarantineState.FAILING, "could not be taken in"
        session.add(row)
    if row.state != QuarantineState.FAILING:
        return row.state in QuarantineState.WAITING
    row.attempts = (row.attempts or 0) + 1
    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    if row.attempts >= max_attempts:
        row.state = QuarantineState.HELD
        row.reason = f"failed {row.attempts} times: {type(error).__name__}"[:200]
    try:
        commit(session)
    except IntegrityError:  # another delivery recorded it first: it counts next time
        discard(session)
        return False
    return row.state == QuarantineState.HELD


def forget(session: Session, row: QuarantinedMail) -> None:
    """The failed attempts of a message that was taken in after all; commits."""
    if row.state == QuarantineState.FAILING:
        session.delete(row)
        commit(session)


def counts(session: Session) -> dict[str, int]:
    """How many messages wait in the quarantine (held, unverified) and are failing."""
    found = dict(session.execute(
        select(QuarantinedMail.state, func.count()).where(QuarantinedMail.state.in_(
            (*QuarantineState.WAITING, QuarantineState.FAILING))).group_by(QuarantinedMail.state)).all())
    return {state: found.get(state, 0) for state in (*QuarantineState.WAITING, QuarantineState.FAILING)}


def oldest(session: Session) -> datetime | None:
    return session.scalar(select(func.min(QuarantinedMail.created_at))
                          .where(QuarantinedMail.state.in_(QuarantineState.WAITING)))
