"""What every inbound channel shares: the idempotency key, the documents that pass the
attachment rules, a new ticket or a reply on an existing one (one transaction with the key),
and each channel's health.

New tickets go through desk.intake.service.add_ticket and replies through
desk.portal.service.reply (the reopen rule, the BENEFICIARY_REPLY event, the focal points told):
nothing here decides what those decide.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.attachments import contents
from desk.attachments import service as attachments
from desk.attachments.service import EXTENSIONS, Upload, clean_filename, sniff
from desk.channels import original
from desk.intake.service import IntakeData, add_ticket
from desk.models import Beneficiary, ChannelState, InboundMessage, InboundOutcome, Ticket, utcnow
from desk.portal import profile
from desk.portal import service as portal
from desk.settings import PORTAL_FILES
from desk.transaction import atomic, commit, discard

MAX_BODY = 20_000  # a new ticket's text; longer is cut (an email: with a notice, desk.channels.original)


@dataclass(frozen=True)
class Storage:
    """Where documents go and how large one may be (DESK_ATTACHMENT_DIR, DESK_ATTACHMENT_MAX_MB),
    and the association's reopen rule."""

    directory: str
    max_bytes: int
    reopen_days: int = 14

    @classmethod
    def from_config(cls, session: Session, config: Mapping[str, Any]) -> Storage:
        return cls(config["DESK_ATTACHMENT_DIR"], int(config["DESK_ATTACHMENT_MAX_MB"] * 1024 * 1024),
                   profile.get(session, config).reopen_days)


@dataclass
class Incoming:
    """One message from outside, already read: what the ticket or reply is made of."""

    channel: str              # InboundMessage.channel: "email", "whatsapp", "webhook"
    key: str
    source: str
    sender: str | None
    text: str
    documents: list[tuple[str, bytes]] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # documents refused or unreadable, said on the ticket
    message_id: str | None = None
    references: str | None = None
    received_at: datetime | None = None
    original: tuple[str, bytes] | None = None  # email: (document name, the raw message), kept with the ticket


def already(session: Session, channel: str, key: str) -> InboundMessage | None:
    return session.scalar(select(InboundMessage).where(InboundMessage.channel == channel, InboundMessage.key == key))


def acceptable(data: bytes, filename: str, max_bytes: int) -> str | None:
    """Why a document would be refused by desk.attachments.service.store (its rules: size,
    the bytes' kind, the name's extension), or None. Checked first, so one bad attachment
    leaves the message's text and its other documents in."""
    if not data:
        return "empty"
    if len(data) > max_bytes:
        return "too large"
    with tempfile.NamedTemporaryFile() as probe:
        probe.write(data)
        probe.flush()
        content_type = sniff(Path(probe.name))
        if content_type is None:
            return "not an accepted kind of file"
        try:
            contents.check(Path(probe.name), content_type)
        except contents.UnsafeContent:
            return "contents refused (too large once unpacked, or unreadable)"
    name = clean_filename(filename)
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension not in EXTENSIONS[content_type]:
        return "name does not match its content"
    return None


def uploads_of(incoming: Incoming, max_bytes: int, limit: int = PORTAL_FILES) -> list[Upload]:
    """The documents that pass the rules (at most ``limit``); the others are named in
    ``incoming.left_out``."""
    uploads: list[Upload] = []
    for filename, data in incoming.documents:
        why = acceptable(data, filename, max_bytes)
        if why is None and len(uploads) >= limit:
            why = "too many documents"
        if why is None:
            uploads.append(Upload(io.BytesIO(data), filename))
        else:
            incoming.left_out.append(f"{clean_filename(filename)} ({why})")
    return uploads


# Stored in the ticket's text (data, not interface: every reader sees the same words), so both languages.
LEFT_OUT = "مرفقات لم تُقبل / Not attached"


def _with_left_out(text: str, incoming: Incoming) -> str:
    if not incoming.left_out:
        return text
    return (text + "\n\n" if text else "") + f"[{LEFT_OUT}: " + "; ".join(incoming.left_out) + "]"


def signature_valid(secret: str, raw: bytes, header: str | None) -> bool:
    """``sha256=<hex>`` is the HMAC-SHA256 of the raw body under ``secret``, compared in
    constant time. No secret configured: nothing is valid."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def _record(session: Session, incoming: Incoming, outcome: str, ticket: Ticket | None,
            reason: str | None = None) -> InboundMessage:
    row = InboundMessage(
        channel=incoming.channel, key=incoming.key[:255], source=incoming.source[:80],
        sender=(incoming.sender or None) and incoming.sender[:254], message_id=incoming.message_id,
        references=incoming.references, ticket_id=ticket.id if ticket is not None else None,
        outcome=outcome, reason=(reason or "")[:200] or None, received_at=incoming.received_at,
        created_at=utcnow())
    session.add(row)
    return row


def ignore(session: Session, incoming: Incoming, reason: str) -> bool:
    """Record a message that makes no ticket (noise), and commit. False if it was recorded before."""
    _record(session, incoming, InboundOutcome.IGNORED, None, reason)
    return _commit_once(session)


def _commit_once(session: Session) -> bool:
    try:
        commit(session)
    except IntegrityError:  # another fetcher or webhook delivery recorded the same key first
        return False
    return True


def open_ticket(session: Session, incoming: Incoming, intake: IntakeData, beneficiary: Beneficiary | None,
                storage: Storage, *, via: str, before_commit=None, verified: bool | None = None) -> Ticket | None:
    """A new ticket from ``incoming``, its documents and its key, in one transaction. None if the
    key was recorded meanwhile (a concurrent delivery): nothing is written then.
    ``before_commit(ticket)`` adds what else belongs to the same transaction (an acknowledgement);
    the message's original (``incoming.original``) is kept as a document of the ticket."""
    from desk.intake.rules import may_be_requester
    if not may_be_requester(intake.kind, beneficiary):  # an organisation's support request
        beneficiary, intake.beneficiary_id = None, None
    uploads = uploads_of(incoming, storage.max_bytes)
    intake.body = _with_left_out(intake.body[:MAX_BODY], incoming)
    try:
        with atomic(session) as written:
            ticket = add_ticket(session, None, intake, beneficiary, reason=via)
            for upload in uploads:
                attachments.store(session, None, ticket, upload, directory=storage.directory,
                                  max_bytes=storage.max_bytes, written=written, field="files", reason=via)
            _record(session, incoming, InboundOutcome.TICKET, ticket,
                    "; ".join(incoming.left_out) if incoming.left_out else None).verified = verified
            if incoming.original is not None:
                original.keep(session, ticket, incoming.original[1], name=incoming.original[0],
                              directory=storage.directory, written=written, reason=via)
            if before_commit is not None:
                before_commit(ticket)
    except IntegrityError:
        if already(session, incoming.channel, incoming.key) is not None:
            return None
        raise
    return ticket


def join(session: Session, ticket: Ticket, incoming: Incoming, storage: Storage, *, via: str,
         channel: str, before_commit=None, verified: bool | None = None) -> portal.Replied | None:
    """The beneficiary's message on their ticket (desk.portal.service.reply: reopen rule, events,
    focal points told), with its key and its original (``incoming.original``), in one
    transaction. None if the key was recorded meanwhile. ``before_commit(ticket)`` adds what
    else belongs to it, for the ticket the reply landed on."""
    uploads = uploads_of(incoming, storage.max_bytes)
    text = incoming.text
    if incoming.original is not None:
        text = original.shown(text, incoming.original[0], portal.MAX_REPLY - 1000)
    text = _with_left_out(text, incoming)
    if len(text) > portal.MAX_REPLY:
        text = text[:portal.MAX_REPLY - 1] + "…"
    if not text.strip() and not uploads:
        text = "…"
    row = _record(session, incoming, InboundOutcome.REPLY, ticket,
                  "; ".join(incoming.left_out) if incoming.left_out else None)
    row.verified = verified

    def landed(where: Ticket, written) -> None:
        # The message belongs to the ticket it landed on (a follow-up after the reopen window):
        # the sender's next message finds that one; its original and pending media go there too.
        row.ticket_id = where.id
        if incoming.original is not None:
            name, raw = incoming.original
            original.keep(session, where, raw, name=name, directory=storage.directory, written=written, reason=via)
        if before_commit is not None:
            before_commit(where)

    try:
        return portal.reply(session, ticket, text, uploads, reopen_days=storage.reopen_days,
                            directory=storage.directory, max_bytes=storage.max_bytes, via=via, channel=channel,
                            also=landed)
    except IntegrityError:
        if already(session, incoming.channel, incoming.key) is not None:
            return None
        raise


# Health -------------------------------------------------------------------------------------

def _state(session: Session, name: str) -> ChannelState:
    state = session.get(ChannelState, name)
    if state is None:
        state = ChannelState(name=name, errors=0, waiting=0, received=0)
        session.add(state)
    return state


def healthy(session: Session, name: str, *, received: int = 0, waiting: int | None = None) -> None:
    """A successful run (or delivery) of channel ``name``; commits."""
    state = _state(session, name)
    state.last_success_at = utcnow()
    state.errors = 0
    state.received = (state.received or 0) + received
    if waiting is not None:
        state.waiting = waiting
    _commit_state(session)


def failed(session: Session, name: str, error: str) -> None:
    """A failed run of channel ``name`` (the error as the admin reads it); commits."""
    discard(session)
    state = _state(session, name)
    state.last_error_at = utcnow()
    state.last_error = (error or "")[:2000]
    state.errors = (state.errors or 0) + 1
    _commit_state(session)


def _commit_state(session: Session) -> None:
    try:
        commit(session)
    except IntegrityError:  # two runs created the row at once: the other one's counts stand
        pass


def states(session: Session) -> list[ChannelState]:
    return list(session.scalars(select(ChannelState).order_by(ChannelState.name)))


def sender_tickets(session: Session, channel: str, sender: str) -> Select:
    """Ids of the tickets this sender's earlier messages went to (newest first)."""
    return (select(InboundMessage.ticket_id)
            .where(InboundMessage.channel == channel, InboundMessage.sender == sender,
                   InboundMessage.ticket_id.is_not(None)))
