"""WhatsApp Business (Cloud API): the webhook's signature and handshake, messages in (a
ticket per conversation), status updates on our messages, and the outbox's sender.

Every webhook call is authenticated by ``X-Hub-Signature-256``: the HMAC-SHA256 of the raw
body under the app secret, compared in constant time. Each message is taken in exactly once
(its id is committed with the ticket or reply, desk.channels.inbound); Meta retries a call we
did not answer with 200, and a replayed call finds every key already recorded.

Status updates may come in any order and more than once: a message's delivery status only
moves forward (sent → delivered → read; failed is final). One that comes before the worker
recorded the message's id is kept (an InboundMessage of channel "whatsapp_status") and applied
when the worker records it.
"""
from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.beneficiaries import service as beneficiaries
from desk.channels import inbound
from desk.channels.inbound import Incoming, Storage
from desk.intake.service import IntakeData
from desk.models import (
    Channel,
    InboundMessage,
    InboundOutcome,
    OutboxMessage,
    SocialPlatform,
    Ticket,
    utcnow,
)
from desk.notify.mail import ConnectionFailed, DeliveryError
from desk.text import InvalidPhone, parse_phone
from desk.tickets.service import REASON_WHATSAPP
from desk.transaction import commit, discard

log = logging.getLogger("desk.channels.whatsapp")

WINDOW = timedelta(hours=24)  # after the customer's last message, free-form messages may be sent
STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}
OUTSIDE_WINDOW_CODES = {131047}  # "re-engagement message": more than 24 hours since they wrote
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

class GraphClient:
    """The Graph API over HTTPS with timeouts; the transport retries a failed connection twice."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0, transport: httpx.BaseTransport | None = None):
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout), transport=transport or httpx.HTTPTransport(retries=2),
            follow_redirects=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GraphClient:
        return cls(config.get("DESK_GRAPH_API_URL") or "https://graph.facebook.com/v21.0",
                   config.get("DESK_WHATSAPP_TOKEN") or "", float(config.get("DESK_GRAPH_TIMEOUT") or 10))

    def close(self) -> None:
        self.http.close()

    def media(self, media_id: str, max_bytes: int) -> tuple[bytes, str]:
        """A media's bytes and type: its URL from the Graph API, then the download (with the
        token), stopped past ``max_bytes`` (ValueError)."""
        info = self.http.get(f"/{media_id}")
        info.raise_for_status()
        data = info.json()
        with self.http.stream("GET", data["url"]) as response:
            response.raise_for_status()
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise ValueError("too large")
                chunks.append(chunk)
        return b"".join(chunks), (data.get("mime_type") or "").split(";")[0].strip().lower()

    def send(self, phone_id: str, payload: dict) -> str:
        """POST a message; the wamid. Raises DeliveryError (ConnectionFailed when the API cannot
        be reached or refuses our credentials: not the message's fault)."""
        try:
            response = self.http.post(f"/{phone_id}/messages", json=payload)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise ConnectionFailed(f"{type(error).__name__}: {error}") from error
        except httpx.HTTPError as error:  # read timeout, protocol error: maybe sent, retried later
            raise DeliveryError(f"{type(error).__name__}: {error}", permanent=False) from error
        if response.status_code == 200:
            try:
                return str(response.json()["messages"][0]["id"])
            except (ValueError, KeyError, IndexError, TypeError) as error:
                raise DeliveryError(f"unexpected answer: {response.text[:300]}", permanent=False) from error
        text = f"{response.status_code} {response.text[:500]}"
        if response.status_code in (401, 403):
            raise ConnectionFailed(text)  # our token: every message waits until it is fixed
        failure = GraphError(text, permanent=400 <= response.status_code < 500 and response.status_code != 429)
        try:
            failure.code = int(response.json()["error"]["code"])
        except (ValueError, KeyError, TypeError):
            pass
        raise failure


class GraphError(DeliveryError):
    code: int | None = None


# The outbox's sender --------------------------------------------------------------------------

def last_message_at(session: Session, phone: str) -> datetime | None:
    """When this number last wrote to us (the 24-hour window runs from it)."""
    return session.scalar(select(func.max(func.coalesce(InboundMessage.received_at, InboundMessage.created_at)))
                          .where(InboundMessage.channel == "whatsapp", InboundMessage.sender == phone))


class GraphSender:
    def __init__(self, client: GraphClient, phone_id: str, template: str, language: str):
        self.client, self.phone_id, self.template, self.language = client, phone_id, template, language

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GraphSender:
        return cls(GraphClient.from_config(config), config.get("DESK_WHATSAPP_PHONE_ID") or "",
                   config.get("DESK_WHATSAPP_TEMPLATE") or "", config.get("DESK_WHATSAPP_TEMPLATE_LANGUAGE") or "ar")

    def _text(self, to: str, body: str) -> dict:
        return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
                "text": {"preview_url": False, "body": body[:4096]}}

    def _template(self, to: str, reference: str) -> dict:
        return {"messaging_product": "whatsapp", "to": to, "type": "template",
                "template": {"name": self.template, "language": {"code": self.language},
                             "components": [{"type": "body", "parameters": [{"type": "text", "text": reference}]}]}}

    def send(self, session: Session, claimed, now: datetime) -> str:
        if not self.phone_id:
            raise ConnectionFailed("DESK_WHATSAPP_PHONE_ID is not set")
        to = claimed.to_address.lstrip("+")
        last = last_message_at(session, claimed.to_address)
        discard(session)  # a read: hold nothing while the API answers
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        reference = (claimed.meta or {}).get("reference") or ""
        if last is not None and now - last < WINDOW:
            try:
                return self.client.send(self.phone_id, self._text(to, claimed.body_text))
            except GraphError as error:
                if error.code not in OUTSIDE_WINDOW_CODES or not self.template:
                    raise
        if not self.template:
            raise DeliveryError("outside the 24-hour window and no template (DESK_WHATSAPP_TEMPLATE) is set",
                                permanent=True)
        return self.client.send(self.phone_id, self._template(to, reference))

    def sent(self, session: Session, outbox_id: int, wamid: str) -> None:
        """Apply the status updates that came before we knew this message's id."""
        early = session.scalars(select(InboundMessage.reason).where(
            InboundMessage.channel == "whatsapp_status", InboundMessage.sender == wamid)).all()
        for status in early:
            _advance(session, outbox_id, status or "", None)
        commit(session)

    def close(self) -> None:
        self.client.close()


# Status updates ------------------------------------------------------------------------------

def _advance(session: Session, outbox_id: int, status: str, error: str | None) -> bool:
    """Move the message's delivery status forward to ``status`` (never back)."""
    rank = STATUS_RANK.get(status)
    if rank is None:
        return False
    lower = [s for s, r in STATUS_RANK.items() if r < rank]
    values: dict[str, Any] = {"delivery_status": status}
    if error:
        values["last_error"] = error[:1000]
    return bool(cast(CursorResult, session.execute(  # what an UPDATE returns; typed as any Result
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id,
               or_(OutboxMessage.delivery_status.is_(None), OutboxMessage.delivery_status.in_(lower)))
        .values(**values).execution_options(synchronize_session=False))).rowcount)


def record_status(session: Session, status: dict) -> str:
    """One status update; commits. "applied", "kept" (its message is not known yet), "stale"."""
    wamid, value = str(status.get("id") or ""), str(status.get("status") or "")
    if not wamid or value not in STATUS_RANK:
        return "stale"
    errors = status.get("errors") or []
    error = "; ".join(f"{e.get('code')} {e.get('title') or e.get('message') or ''}".strip() for e in errors
                      if isinstance(e, dict)) or None
    outbox_id = session.scalar(select(OutboxMessage.id).where(OutboxMessage.external_id == wamid))
    if outbox_id is None:
        session.add(InboundMessage(channel="whatsapp_status", key=f"{wamid}:{value}"[:255], source="",
                                   sender=wamid[:254], outcome=InboundOutcome.STATUS, reason=value,
                                   created_at=utcnow()))
        try:
            commit(session)
        except IntegrityError:  # the same update delivered twice at once: one row is enough
            pass
        # The worker may have recorded the id between our look-up and our commit, after it
        # applied the kept updates: look once more, so this one is not left behind.
        outbox_id = session.scalar(select(OutboxMessage.id).where(OutboxMessage.external_id == wamid))
        if outbox_id is None:
            discard(session)
            return "kept"
    applied = _advance(session, outbox_id, value, error)
    commit(session)
    return "applied" if applied else "stale"


# Messages in ----------------------------------------------------------------------------------

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
                record_status(session, status)
                taken.statuses += 1
    return taken
