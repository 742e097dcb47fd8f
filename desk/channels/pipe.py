"""One email in, whichever way it came (IMAP: desk.channels.imap; the mail server's pipe:
``flask desk import-mail``): the same pipeline, exactly once.

1. Read it (desk.channels.email.parse; desk.channels.mailgate for the sender, loops and the
   fingerprint). Already recorded, or already in the quarantine: a duplicate, nothing more.
2. Headers that cannot be trusted: into the quarantine (desk.channels.quarantine).
3. Automatic mail (loops, auto-replies, lists, bounces): recorded, never a ticket nor an
   answer; a bounce of one of our messages marks it undelivered on its ticket.
4. A sender our receiving server did not verify never joins a ticket by reference or thread:
   such a message waits on the ticket for staff to accept or reject, and a new ticket from
   one gets no acknowledgement.
5. Otherwise desk.channels.service.take: a reply or a new ticket, with the original kept.

A message that fails is counted (``attempt_failed``); after DESK_MAIL_MAX_ATTEMPTS it is held
in the quarantine instead of being retried forever.

Exit codes of ``import-mail`` (sysexits.h, what an MTA's pipe transport understands): 0 taken,
quarantined or ignored; 65 (EX_DATAERR) input that is not a message; 75 (EX_TEMPFAIL) the
desk cannot store it now (the database is unreachable): the mail server keeps it and
delivers it again later.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from desk.channels import inbound, quarantine, service
from desk.channels.email import ParsedEmail, parse
from desk.channels.inbound import Storage
from desk.channels.mailgate import fingerprint, looks_like_mail, verified
from desk.models import Department, OutboxMessage, OutboxStatus, QuarantineState, Ticket
from desk.notify.mail import MailSettings
from desk.notify.undelivered import receipt_failed
from desk.transaction import discard

log = logging.getLogger("desk.channels.pipe")

EX_OK, EX_DATAERR, EX_TEMPFAIL = 0, 65, 75


@dataclass(frozen=True)
class Gate:
    """The settings every incoming email is judged by."""

    own_addresses: frozenset[str] = frozenset()
    authserv_id: str = ""           # DESK_MAIL_AUTHSERV_ID: whose Authentication-Results we trust
    require_auth: bool = False      # DESK_MAIL_REQUIRE_AUTH: no trusted result → unverified
    max_attempts: int = 5           # DESK_MAIL_MAX_ATTEMPTS: then the quarantine
    ack_limit: int = 3              # DESK_MAIL_ACK_LIMIT

    @classmethod
    def from_config(cls, config: Mapping[str, Any], more_own: set[str] | frozenset[str] = frozenset()) -> Gate:
        mail = MailSettings.from_config(config)
        own = {mail.from_address.lower(), *more_own}
        own |= {a.strip().lower() for a in config.get("DESK_OWN_ADDRESSES", "").split(",") if a.strip()}
        return cls(frozenset(own - {""}), config.get("DESK_MAIL_AUTHSERV_ID", ""),
                   bool(config.get("DESK_MAIL_REQUIRE_AUTH", False)), int(config.get("DESK_MAIL_MAX_ATTEMPTS", 5)),
                   int(config.get("DESK_MAIL_ACK_LIMIT", 3)))


@dataclass(frozen=True)
class Received:
    outcome: str                    # ticket, reply, ignored, duplicate, quarantined, unverified
    ticket: Ticket | None = None    # the ticket it made or joined (unverified: the ticket it waits on)
    reason: str | None = None       # why it was ignored or quarantined

    def __str__(self) -> str:
        words = self.outcome + (f" {self.ticket.reference}" if self.ticket is not None else "")
        return words + (f" ({self.reason})" if self.reason else "")


def department_of(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    found = session.scalar(select(Department.id).where(Department.code == code.upper(), Department.active.is_(True)))
    discard(session)
    return found


def receive(session: Session, raw: bytes, mailbox: service.Mailbox, storage: Storage, mail: MailSettings,
            gate: Gate, *, department_id: int | None = None) -> Received:
    """Take one raw message through the pipeline (see the module's docstring). Commits what it
    decides; raises only when it could not decide (the caller counts the attempt)."""
    own = gate.own_addresses | ({mailbox.address} if mailbox.address else set())
    parsed = parse(raw, own, mail.domain, gate.authserv_id)
    held = quarantine.known(session, parsed.key)
    if inbound.already(session, "email", parsed.key) is not None or (
            held is not None and held.state != QuarantineState.FAILING):
        discard(session)
        return Received("duplicate")
    if parsed.quarantine:
        row = quarantine.hold(session, raw, parsed, mailbox.name, parsed.quarantine)
        return Received("quarantined" if row is not None else "duplicate", reason=parsed.quarantine)
    if parsed.noise:
        _bounced(session, parsed)
        taken = service.take(session, parsed, mailbox, storage, mail)
        return Received(taken.outcome, reason=parsed.noise)
    ok, why = verified(parsed.authentication, parsed.sender_domain, required=gate.require_auth)
    trusted = (True if parsed.authentication.found else None) if ok else False
    if not ok:
        ticket = service.threaded_ticket(session, parsed, mail)
        if ticket is not None:
            row = quarantine.hold(session, raw, parsed, mailbox.name, why or "unverified",
                                  state=QuarantineState.UNVERIFIED, ticket_id=ticket.id)
            return Received("unverified" if row is not None else "duplicate", ticket, why)
        mailbox = replace(mailbox, acknowledge=False)  # never answer a forged sender
    taken = service.take(session, parsed, mailbox, storage, mail, ack_limit=gate.ack_limit,
                         department_id=department_id, raw=raw, verified=trusted)
    if held is not None:  # it failed before and was taken now: nothing left to count
        quarantine.forget(session, held)
    return Received(taken.outcome, taken.ticket)


def _bounced(session: Session, parsed: ParsedEmail) -> None:
    """A delivery report for one of our messages: the newest message we sent to each failed
    recipient is marked undelivered and said on its ticket (in the transaction that records
    the bounce)."""
    for address in parsed.failed_recipients:
        outbox_id = session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.channel == "email", OutboxMessage.to_address == address,
                                           OutboxMessage.status == OutboxStatus.SENT)
            .order_by(OutboxMessage.id.desc()).limit(1))
        if outbox_id is not None:
            receipt_failed(session, outbox_id, f"bounce: {parsed.subject}"[:500], cause="bounce")


def attempt_failed(session: Session, raw: bytes, mailbox: service.Mailbox, gate: Gate, error: BaseException) -> bool:
    """Count a failed attempt at ``raw`` (rolled back); True if it is now held in the
    quarantine (the mail server may forget it), False if it should be tried again."""
    try:
        parsed: ParsedEmail | None = parse(raw)
    except Exception:  # not even readable: keyed by its fingerprint
        parsed = None
    key = parsed.key if parsed is not None else fingerprint(raw)
    return quarantine.failed_attempt(session, raw, key, parsed, mailbox.name, error, gate.max_attempts)


def unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached (not that the message is wrong)."""
    return isinstance(error, OperationalError) or (isinstance(error, DBAPIError) and error.connection_invalidated)


def import_one(session: Session, raw: bytes, mailbox: service.Mailbox, config: Mapping[str, Any],
               department: str | None = None) -> tuple[int, str]:
    """``flask desk import-mail``: one message from standard input. (exit code, what to print)."""
    if not looks_like_mail(raw):
        return EX_DATAERR, "not an email message (no header block)"
    gate = Gate.from_config(config, {mailbox.address} if mailbox.address else set())
    mail = MailSettings.from_config(config)
    try:
        storage = Storage.from_config(session, config)
        department_id = department_of(session, department)
        received = receive(session, raw, mailbox, storage, mail, gate, department_id=department_id)
    except Exception as error:
        if unreachable(error):
            discard(session)
            return EX_TEMPFAIL, f"the database cannot be reached ({type(error).__name__}): try again later"
        log.exception("import-mail: the message could not be taken in")
        try:
            held = attempt_failed(session, raw, mailbox, gate, error)
        except Exception as again:
            discard(session)
            return EX_TEMPFAIL, f"not taken in, and the failure could not be recorded ({type(again).__name__})"
        if held:
            return EX_OK, f"quarantined (failed {gate.max_attempts} times: {type(error).__name__})"
        return EX_TEMPFAIL, f"not taken in ({type(error).__name__}): try again later"
    try:
        inbound.healthy(session, f"email:{mailbox.name}", received=1 if received.outcome in ("ticket", "reply") else 0)
    except Exception:  # taken in and committed: a health count lost is no reason to deliver it again
        discard(session)
        log.warning("import-mail: the channel's health could not be recorded", exc_info=True)
    return EX_OK, str(received)
