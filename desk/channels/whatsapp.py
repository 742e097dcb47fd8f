"""WhatsApp Business (Cloud API): the webhook's signature and handshake, messages in (a
ticket per conversation) and the status updates on our messages (applied by
desk.channels.graph, which also holds the Graph API client and the outbox's sender).

Every webhook call is authenticated by ``X-Hub-Signature-256``: the HMAC-SHA256 of the raw
body under the app secret, compared in constant time. Each message is taken in exactly once
(its id is committed with the ticket or reply, desk.channels.inbound); Meta retries a call we
did not answer with 200, and a replayed call finds every key already recorded.
"""
from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from desk.beneficiaries import service as beneficiaries
from desk.broadcasts import optout
from desk.channels import inbound
from desk.channels import media as media_files
from desk.channels.graph import record_status
from desk.channels.inbound import Incoming, Storage
from desk.channels.payloads import Message, WhatsAppCall
from desk.intake.service import IntakeData
from desk.models import (
    Channel,
    SocialPlatform,
    Ticket,
    utcnow,
)
from desk.notify import undelivered
from desk.text import InvalidPhone, parse_phone
from desk.tickets.service import REASON_WHATSAPP
from desk.transaction import discard

log = logging.getLogger("desk.channels.whatsapp")



def signature_valid(secret: str, raw: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex>``: the HMAC of the raw body under the app secret."""
    return inbound.signature_valid(secret, raw, header)


def handshake(config: Mapping[str, Any], mode: str | None, token: str | None, challenge: str | None) -> str | None:
    """The challenge to echo when Meta subscribes with our verify token, else None."""
    expected = config.get("DESK_WHATSAPP_VERIFY_TOKEN") or ""
    if mode == "subscribe" and expected and token and hmac.compare_digest(expected.encode(), token.encode()):
        return challenge or ""
    return None


# The Graph API ---------------------------------------------------------------------------------

@dataclass
class Taken:
    tickets: int = 0
    replies: int = 0
    duplicates: int = 0
    statuses: int = 0
    ignored: int = 0


def _phone(wa_id: str) -> str:
    try:
        return parse_phone("+" + wa_id.lstrip("+"))
    except InvalidPhone:
        return "+" + "".join(ch for ch in wa_id if ch.isdigit())


def _text(message: Message) -> str:
    kind = message.type
    if kind == "text":
        return message.text.body if message.text else ""
    media = message.media()
    if media is not None:
        return media.caption
    if kind == "location" and message.location:
        place = message.location
        return " ".join(str(v) for v in (place.name, place.address, place.latitude, place.longitude) if v)
    if kind == "button" and message.button:
        return message.button.text
    if kind == "interactive" and message.interactive:
        chosen = message.interactive.button_reply or message.interactive.list_reply
        return chosen.title if chosen else ""
    if kind == "contacts":
        return "; ".join(c.name.formatted_name for c in message.contacts if c.name)
    return ""


def _media(session: Session, message: Message, incoming: Incoming) -> Callable[[Ticket], object] | None:
    """What the message's media become: a job queued with the ticket or reply (the worker fetches
    it, desk.channels.media), or a line in ``left_out`` for what cannot be fetched at all."""
    kind = message.type
    media = message.media()
    if media is None:
        if kind not in ("text", "location", "button", "interactive", "contacts"):
            incoming.left_out.append(f"{kind or 'message'} (not supported)")
        return None
    name = media.filename or f"whatsapp-{kind}"
    if not media.id:
        incoming.left_out.append(f"{name} (could not be downloaded)")
        return None
    if not incoming.text:
        incoming.text = f"[{media_files.FILE_SENT}: {name}]"
    return lambda ticket: media_files.queue(session, ticket, message_key=incoming.key,
                                            media_id=media.id, filename=name, mime_type=media.mime_type)


def whatsapp_ticket(session: Session, phone: str) -> Ticket | None:
    """The number's latest WhatsApp ticket, whatever its status: one its messages went to, or
    its beneficiary's. A message joins it through desk.portal.service.reply, the one reply rule
    of every channel: an open ticket takes it, a resolved one reopens within the association's
    reopen window, after that (or closed) a linked follow-up is opened."""
    ids = [b.id for b in beneficiaries.find_by_phone(session, phone)]
    mine = Ticket.id.in_(inbound.sender_tickets(session, "whatsapp", phone))
    return session.scalar(
        select(Ticket).where(Ticket.channel == Channel.SOCIAL, Ticket.channel_detail == SocialPlatform.WHATSAPP,
                             or_(mine, Ticket.beneficiary_id.in_(ids)) if ids else mine)
        .order_by(Ticket.id.desc()).limit(1))


# What the sender did not write to us: a reaction to a message, Meta's notice that the number
# changed, the "welcome" request when a chat is opened. Recorded (once), never a ticket or reply.
NOT_A_MESSAGE = frozenset({"reaction", "system", "request_welcome", "ephemeral"})


def take_message(session: Session, message: Message, names: dict[str, str], storage: Storage,
                 config: Mapping[str, Any], phone_id: str = "") -> str:
    """One message: "ticket", "reply", "ignored" (not a message: NOT_A_MESSAGE) or "duplicate". Commits."""
    key = message.id
    if not key or inbound.already(session, "whatsapp", key) is not None:
        discard(session)
        return "duplicate"
    wa_id = message.from_
    phone = _phone(wa_id)
    try:
        sent_at = datetime.fromtimestamp(int(message.timestamp), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        sent_at = utcnow()
    incoming = Incoming(channel="whatsapp", key=key, source=phone_id, sender=phone, text=_text(message).strip(),
                        received_at=sent_at)
    if message.type in NOT_A_MESSAGE:
        return "ignored" if inbound.ignore(session, incoming, f"whatsapp {message.type}") else "duplicate"
    if optout.is_stop(incoming.text):  # "STOP": no more messages to many to this number (desk.broadcasts)
        found = beneficiaries.find_by_phone(session, phone)
        optout.add(session, [phone], found[0].id if found else None, "stop")
        return "ignored" if inbound.ignore(session, incoming, "whatsapp stop") else "duplicate"
    queue_media = _media(session, message, incoming)
    ticket = whatsapp_ticket(session, phone)
    if ticket is not None:
        if not (ticket.meta or {}).get("whatsapp"):
            ticket.meta = {**(ticket.meta or {}), "whatsapp": {"phone": phone, "wa_id": wa_id}}
        replied = inbound.join(session, ticket, incoming, storage, via=REASON_WHATSAPP, channel=Channel.SOCIAL,
                               before_commit=queue_media)
        return "reply" if replied is not None else "duplicate"
    found = beneficiaries.find_by_phone(session, phone)
    beneficiary = found[0] if found else None
    name = names.get(wa_id) or (beneficiary.name if beneficiary else "")
    first_line = (incoming.text.splitlines() or [""])[0].strip()
    kind = config.get("DESK_WHATSAPP_KIND") or "inquiry"
    intake = IntakeData(
        kind=kind, channel=Channel.SOCIAL, channel_detail=SocialPlatform.WHATSAPP,
        subject=(first_line[:80] or "WhatsApp"), body=incoming.text or first_line,
        beneficiary_id=beneficiary.id if beneficiary else None, department_as_proposed=True,
        meta={"contact": {"name": name, "phone": phone, "email": None}, "locale": "ar",
              "whatsapp": {"phone": phone, "wa_id": wa_id}},
    )
    ticket = inbound.open_ticket(session, incoming, intake, beneficiary, storage, via=REASON_WHATSAPP,
                                 before_commit=queue_media)
    return "ticket" if ticket is not None else "duplicate"


def handle(session: Session, call: WhatsAppCall, config: Mapping[str, Any]) -> Taken:
    """Every message and status update of one (checked) webhook call, each in its own transaction.
    Nothing here calls Meta back: media are queued for the worker (desk.channels.media)."""
    taken = Taken()
    storage = Storage.from_config(session, config)
    for entry in call.entry:
        for change in entry.changes:
            value = change.value
            if value is None:
                continue
            phone_id = value.metadata.phone_number_id if value.metadata else ""
            names = {c.wa_id: (c.profile.name if c.profile else "") for c in value.contacts}
            for message in value.messages:
                outcome = take_message(session, message, names, storage, config, phone_id)
                if outcome == "ticket":
                    taken.tickets += 1
                elif outcome == "reply":
                    taken.replies += 1
                elif outcome == "ignored":
                    taken.ignored += 1
                else:
                    taken.duplicates += 1
            for status in value.statuses:
                record_status(session, status.model_dump(), on_failed=undelivered.receipt_failed)
                taken.statuses += 1
    return taken
