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
from typing import cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk import audit
from desk.channels import inbound, service
from desk.channels.email import ParsedEmail, parse, written_from
from desk.channels.inbound import Storage
from desk.errors import NotFound, ValidationFailed
from desk.models import (
    AuditAction,
    Channel,
    EventKind,
    InboundMessage,
    InboundOutcome,
    QuarantinedMail,
    QuarantineState,
    Ticket,
    User,
    utcnow,
)
from desk.permissions import Action, can
from desk.text import to_ascii_digits
from desk.tickets.service import REASON_EMAIL, get_ticket
from desk.tickets.workflow import record, require
from desk.transaction import commit, discard

SHOWN = 5000  # the text the screen shows of a message (the rest is in its original)


def known(session: Session, key: str) -> QuarantinedMail | None:
    """The quarantined message with this intake key, if any (whatever became of it)."""
    return session.scalar(select(QuarantinedMail).where(QuarantinedMail.key == key[:255]))


def _row(raw: bytes, parsed: ParsedEmail | None, key: str, source: str) -> QuarantinedMail:
    sender = written_from(raw)
    if parsed is not None and parsed.from_address:  # strictly parsed (unverified, or failing): decoded
        sender = f"{parsed.from_name} <{parsed.from_address}>" if parsed.from_name else parsed.from_address
    return QuarantinedMail(
        key=key[:255], source=source[:80], sender=sender[:500],
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


# What a person sees and does -----------------------------------------------------------------

def held(session: Session, limit: int = 200) -> list[QuarantinedMail]:
    """The messages waiting for a person on the admin's screen, oldest first."""
    return list(session.scalars(select(QuarantinedMail).where(QuarantinedMail.state == QuarantineState.HELD)
                                .order_by(QuarantinedMail.id).limit(limit)))


def unverified_on(session: Session, ticket: Ticket) -> list[QuarantinedMail]:
    """Messages for ``ticket`` from a sender our server did not verify, waiting for staff."""
    return list(session.scalars(select(QuarantinedMail).where(
        QuarantinedMail.ticket_id == ticket.id, QuarantinedMail.state == QuarantineState.UNVERIFIED)
        .order_by(QuarantinedMail.id)))


def opened_unverified(session: Session, ticket: Ticket) -> bool:
    """Whether ``ticket`` was opened by an email whose sender our server did not verify (its
    contact address may not be the writer's)."""
    return session.scalar(select(InboundMessage.id).where(
        InboundMessage.ticket_id == ticket.id, InboundMessage.outcome == InboundOutcome.TICKET,
        InboundMessage.verified.is_(False)).limit(1)) is not None


def text_of(row: QuarantinedMail) -> str:
    """The message's readable text (plain text: the templates escape it), cut for the screen."""
    text = parse(row.raw).text
    return text if len(text) <= SHOWN else text[:SHOWN].rstrip() + "…"


def _held_row(session: Session, actor: User, row_id: int, state: str = QuarantineState.HELD) -> QuarantinedMail:
    if not can(actor, Action.CHANNELS_VIEW):
        raise NotFound()
    row = session.get(QuarantinedMail, row_id)
    if row is None or row.state != state:
        raise NotFound()
    return row


def _decide(session: Session, actor: User, row: QuarantinedMail, state: str, ticket: Ticket | None) -> None:
    """Mark the decision (if nobody decided meanwhile: NotFound otherwise) and write it in the
    audit trail, in the caller's transaction."""
    now = utcnow()
    done = cast(CursorResult, session.execute(
        update(QuarantinedMail).where(QuarantinedMail.id == row.id, QuarantinedMail.state == row.state)
        .values(state=state, decided_by_id=actor.id, decided_at=now,
                ticket_id=ticket.id if ticket is not None else row.ticket_id)
        .execution_options(synchronize_session=False))).rowcount
    if not done:
        discard(session)
        raise NotFound()
    audit.record(session, AuditAction.MAIL_DECIDED, actor=actor, record_type="quarantined_mail", record_id=row.id,
                 ticket_id=ticket.id if ticket is not None else None,
                 detail={"decision": state, "reason": row.reason, "size": row.size})


def _parsed(row: QuarantinedMail) -> tuple[ParsedEmail, service.Mailbox]:
    parsed = parse(row.raw)
    parsed.key = row.key  # the key it was held under (the same unless the parser changed)
    return parsed, service.Mailbox(row.source or "quarantine", acknowledge=False)


def take(session: Session, actor: User, row_id: int, storage: Storage) -> Ticket:
    """A held message as a new email ticket (routed by the rules; no acknowledgement: its
    sender was never trusted), with its original, in one transaction."""
    row = _held_row(session, actor, row_id)
    parsed, mailbox = _parsed(row)
    incoming = service.incoming_of(parsed, mailbox, row.raw)
    _decide(session, actor, row, QuarantineState.TAKEN, None)
    taken = service.open_email_ticket(session, parsed, incoming, mailbox, storage, verified=False)
    if taken.ticket is None:  # its key was taken in meanwhile (delivered again and taken)
        raise NotFound()
    _set_ticket(session, row.id, taken.ticket)
    return taken.ticket


def _set_ticket(session: Session, row_id: int, ticket: Ticket) -> None:
    session.execute(update(QuarantinedMail).where(QuarantinedMail.id == row_id).values(ticket_id=ticket.id))
    commit(session)


NO_TICKET = _l("No ticket has this reference, or you may not see it.")


def attach(session: Session, actor: User, row_id: int, reference: str, storage: Storage) -> Ticket:
    """A held message added to the ticket ``reference`` as the beneficiary's message (the
    reopen rule applies), with its original. ValidationFailed on "reference" when there is no
    such ticket the actor may see."""
    row = _held_row(session, actor, row_id)
    try:
        ticket = get_ticket(session, actor, to_ascii_digits(reference or ""))
    except NotFound:
        raise ValidationFailed({"reference": [NO_TICKET]}) from None
    return _join(session, actor, row, ticket, storage, QuarantineState.ATTACHED)


def _join(session: Session, actor: User, row: QuarantinedMail, ticket: Ticket, storage: Storage, state: str) -> Ticket:
    parsed, mailbox = _parsed(row)
    incoming = service.incoming_of(parsed, mailbox, row.raw)
    incoming.text = service.strip_quoted(parsed.text)
    _decide(session, actor, row, state, ticket)
    replied = inbound.join(session, ticket, incoming, storage, via=REASON_EMAIL, channel=Channel.EMAIL, verified=False)
    if replied is None:
        raise NotFound()
    return replied.ticket


def throw_away(session: Session, actor: User, row_id: int) -> None:
    """Discard a held message (kept no more as a ticket; the row stays, with who and when)."""
    row = _held_row(session, actor, row_id)
    _decide(session, actor, row, QuarantineState.DISCARDED, None)
    row.raw = b""
    commit(session)


# Unverified messages on their ticket --------------------------------------------------------

# Stored in the ticket's timeline (data, not interface), so both languages.
REJECTED = "رُفضت رسالة بريد لم يُتحقق من مرسلها / An email from an unverified sender was rejected"


def _unverified(session: Session, actor: User, ticket: Ticket, row_id: int) -> QuarantinedMail:
    require(actor, Action.TICKET_REPLY, ticket)
    row = session.get(QuarantinedMail, row_id)
    if row is None or row.ticket_id != ticket.id or row.state != QuarantineState.UNVERIFIED:
        raise NotFound()
    return row


def accept(session: Session, actor: User, ticket: Ticket, row_id: int, storage: Storage) -> Ticket:
    """Staff vouch for an unverified message on ``ticket``: it joins it as the beneficiary's
    (the reopen rule applies), with its original; recorded with who and when."""
    row = _unverified(session, actor, ticket, row_id)
    return _join(session, actor, row, ticket, storage, QuarantineState.ATTACHED)


def reject(session: Session, actor: User, ticket: Ticket, row_id: int) -> None:
    """Staff reject an unverified message on ``ticket``: said on its timeline, and discarded."""
    row = _unverified(session, actor, ticket, row_id)
    _decide(session, actor, row, QuarantineState.DISCARDED, ticket)
    record(session, ticket, actor, EventKind.NOTE, body=f"{REJECTED}: {row.sender[:200]} — {row.subject[:200]}",
           bump=False)
    row.raw = b""
    commit(session)
