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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from desk.beneficiaries import service as beneficiaries
from desk.channels import inbound
from desk.channels.graph import GraphClient, record_status
from desk.channels.inbound import Incoming, Storage
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

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")


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


def _phone(wa_id: str) -> str:
    try:
        return parse_phone("+" + wa_id.lstrip("+"))
    except InvalidPhone:
        return "+" + "".join(ch for ch in wa_id if ch.isdigit())


def _text(message: dict) -> str:
    kind = message.get("type")
    if kind == "text":
        return (message.get("text") or {}).get("body") or ""
    if kind in MEDIA_TYPES:
        return (message.get(kind) or {}).get("caption") or ""
    if kind == "location":
        place = message.get("location") or {}
        return " ".join(str(place.get(k)) for k in ("name", "address", "latitude", "longitude") if place.get(k))
    if kind == "button":
        return (message.get("button") or {}).get("text") or ""
    if kind == "interactive":
        reply = (message.get("interactive") or {})
        chosen = reply.get("button_reply") or reply.get("list_reply") or {}
        return chosen.get("title") or ""
    if kind == "contacts":
        return "; ".join((c.get("name") or {}).get("formatted_name", "") for c in message.get("contacts") or [])
    return ""


def _media(message: dict, client: GraphClient | None, max_bytes: int, incoming: Incoming) -> None:
    kind = message.get("type")
    if kind not in MEDIA_TYPES:
        if kind not in ("text", "location", "button", "interactive", "contacts"):
            incoming.left_out.append(f"{kind or 'message'} (not supported)")
        return
    media = message.get(kind) or {}
    name = media.get("filename") or f"whatsapp-{kind}"
    if client is None or not media.get("id"):
        incoming.left_out.append(f"{name} (could not be downloaded)")
        return
    try:
        data, mime = client.media(str(media["id"]), max_bytes)
    except ValueError:
        incoming.left_out.append(f"{name} (too large)")
        return
    except (httpx.HTTPError, KeyError, TypeError) as error:
        log.warning("whatsapp: media %s could not be downloaded: %s", media.get("id"), error)
        incoming.left_out.append(f"{name} (could not be downloaded)")
        return
    if "." not in name:
        name = f"{name}.{EXTENSIONS.get(mime, 'bin')}"
    incoming.documents.append((name, data))


def open_whatsapp_ticket(session: Session, phone: str) -> Ticket | None:
    """The number's open WhatsApp ticket: one its messages went to, or its beneficiary's."""
    ids = [b.id for b in beneficiaries.find_by_phone(session, phone)]
    mine = Ticket.id.in_(inbound.sender_tickets(session, "whatsapp", phone))
    return session.scalar(
        select(Ticket).where(Ticket.is_open, Ticket.channel == Channel.SOCIAL,
                             Ticket.channel_detail == SocialPlatform.WHATSAPP,
                             or_(mine, Ticket.beneficiary_id.in_(ids)) if ids else mine)
        .order_by(Ticket.id.desc()).limit(1))


def take_message(session: Session, message: dict, names: dict[str, str], storage: Storage,
                 config: Mapping[str, Any], client: GraphClient | None, phone_id: str = "") -> str:
    """One message: "ticket", "reply" or "duplicate". Commits."""
    key = str(message.get("id") or "")
    if not key or inbound.already(session, "whatsapp", key) is not None:
        discard(session)
        return "duplicate"
    wa_id = str(message.get("from") or "")
    phone = _phone(wa_id)
    try:
        sent_at = datetime.fromtimestamp(int(message["timestamp"]), UTC)
    except (KeyError, TypeError, ValueError):
        sent_at = utcnow()
    incoming = Incoming(channel="whatsapp", key=key, source=phone_id, sender=phone, text=_text(message).strip(),
                        received_at=sent_at)
    _media(message, client, storage.max_bytes, incoming)
    ticket = open_whatsapp_ticket(session, phone)
    if ticket is not None:
        if not (ticket.meta or {}).get("whatsapp"):
            ticket.meta = {**(ticket.meta or {}), "whatsapp": {"phone": phone, "wa_id": wa_id}}
        replied = inbound.join(session, ticket, incoming, storage, via=REASON_WHATSAPP, channel=Channel.SOCIAL)
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
    ticket = inbound.open_ticket(session, incoming, intake, beneficiary, storage, via=REASON_WHATSAPP)
    return "ticket" if ticket is not None else "duplicate"


def handle(session: Session, payload: dict, config: Mapping[str, Any], client: GraphClient | None = None) -> Taken:
    """Every message and status update of one webhook call, each in its own transaction."""
    taken = Taken()
    storage = Storage.from_config(session, config)
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            if not isinstance(value, dict):
                continue
            phone_id = str((value.get("metadata") or {}).get("phone_number_id") or "")
            names = {str(c.get("wa_id")): ((c.get("profile") or {}).get("name") or "")
                     for c in value.get("contacts") or [] if isinstance(c, dict)}
            for message in value.get("messages") or []:
                if not isinstance(message, dict):
                    continue
                outcome = take_message(session, message, names, storage, config, client, phone_id)
                if outcome == "ticket":
                    taken.tickets += 1
                elif outcome == "reply":
                    taken.replies += 1
                else:
                    taken.duplicates += 1
            for status in value.get("statuses") or []:
                if not isinstance(status, dict):
                    continue
                record_status(session, status, on_failed=undelivered.receipt_failed)
                taken.statuses += 1
    return taken
