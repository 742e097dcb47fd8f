"""The WhatsApp Cloud (Graph) API on our side of the outbox: the HTTP client, the outbox's
sender for the "whatsapp" channel, and the delivery statuses Meta reports on what we sent.

Below the webhook's intake (desk.channels.whatsapp): the outbox worker (desk.notify.outbox,
through desk.channels.senders) sends with it without depending on tickets or intake.

Status updates may come in any order and more than once: a message's delivery status only
moves forward (sent → delivered → read; failed is final). One that comes before the worker
recorded the message's id is kept (an InboundMessage of channel "whatsapp_status") and applied
when the worker records it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.channels import http
from desk.models import InboundMessage, InboundOutcome, OutboxMessage, utcnow
from desk.notify.mail import ConnectionFailed, DeliveryError
from desk.transaction import commit, discard

WINDOW = timedelta(hours=24)  # after the customer's last message, free-form messages may be sent
STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}
OUTSIDE_WINDOW_CODES = {131047}  # "re-engagement message": more than 24 hours since they wrote
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})  # sent as images; anything else as a document


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

    def send(self, phone_id: str, payload: dict, now: datetime | None = None) -> str:
        """POST a message; the wamid. Raises DeliveryError: ConnectionFailed when the API cannot be
        reached, refuses our credentials or throttles us (not the message's fault), a GraphError
        (with Meta's error code) otherwise; see desk.channels.http and GRAPH_* for which is
        which. ``now``: the worker's clock, for a Retry-After date."""
        answer = self._post(f"/{phone_id}/messages", now, json=payload)
        try:
            return str(answer.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise GraphError(f"unexpected answer: {answer.text[:300]}", permanent=False) from error

    def upload(self, phone_id: str, data: bytes, content_type: str, filename: str, now: datetime | None = None) -> str:
        """Upload a document to send (Meta keeps it for 30 days); its media id. Raises as ``send``."""
        answer = self._post(f"/{phone_id}/media", now, data={"messaging_product": "whatsapp", "type": content_type},
                            files={"file": (filename, data, content_type)})
        try:
            return str(answer.json()["id"])
        except (ValueError, KeyError, TypeError) as error:
            raise GraphError(f"unexpected answer: {answer.text[:300]}", permanent=False) from error

    def _post(self, path: str, now: datetime | None, **request: Any) -> httpx.Response:
        try:
            response = self.http.post(path, **request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise ConnectionFailed(f"{type(error).__name__}: {error}") from error
        except httpx.HTTPError as error:  # read timeout, protocol error: maybe sent, retried later
            raise GraphError(f"{type(error).__name__}: {error}", permanent=False) from error
        if response.status_code == 200:
            return response
        failure = http.failure(response, "the Graph API", now or utcnow(), GraphError)
        if not isinstance(failure, GraphError):
            raise failure
        try:
            failure.code = int(response.json()["error"]["code"])
        except (ValueError, KeyError, TypeError):
            pass
        if failure.code in GRAPH_THROTTLED:  # every message of ours waits, however the API answered
            raise ConnectionFailed(failure.text, retry_after=failure.retry_after or THROTTLED_WAIT)
        if failure.code in GRAPH_TEMPORARY:
            failure.permanent, failure.cause = False, "failing"
        elif failure.code in GRAPH_UNDELIVERABLE:
            failure.permanent, failure.cause = True, "recipient"
        raise failure


class GraphError(DeliveryError):
    code: int | None = None


# Meta's error codes (its "WhatsApp error codes" page) that say more than the HTTP status: the
# app, the account or the sending number is over its rate (every message waits); the API's
# temporary trouble, or too many messages to one person at once (this message tries again);
# a number that cannot receive the message.
GRAPH_THROTTLED = frozenset({4, 80007, 130429, 131048})
GRAPH_TEMPORARY = frozenset({1, 2, 131000, 131016, 131056, 133004})
GRAPH_UNDELIVERABLE = frozenset({131026})
THROTTLED_WAIT = timedelta(minutes=1)  # throttled without a Retry-After: at least this long


# The outbox's sender --------------------------------------------------------------------------

def last_message_at(session: Session, phone: str) -> datetime | None:
    """When this number last wrote to us (the 24-hour window runs from it)."""
    return session.scalar(select(func.max(func.coalesce(InboundMessage.received_at, InboundMessage.created_at)))
                          .where(InboundMessage.channel == "whatsapp", InboundMessage.sender == phone))


# What a "failed" receipt sets off beyond the status (desk.notify.undelivered.receipt_failed: the
# message is not delivered after all, and its ticket says so), in the same transaction: given by
# the caller, so this module stays below tickets.
OnFailed = Callable[[Session, int, str | None], object]


class GraphSender:
    def __init__(self, client: GraphClient, phone_id: str, template: str, language: str,
                 on_failed: OnFailed | None = None, attachment_dir: str = ""):
        self.client, self.phone_id, self.template, self.language = client, phone_id, template, language
        self.on_failed, self.attachment_dir = on_failed, attachment_dir

    @classmethod
    def from_config(cls, config: Mapping[str, Any], on_failed: OnFailed | None = None) -> GraphSender:
        return cls(GraphClient.from_config(config), config.get("DESK_WHATSAPP_PHONE_ID") or "",
                   config.get("DESK_WHATSAPP_TEMPLATE") or "", config.get("DESK_WHATSAPP_TEMPLATE_LANGUAGE") or "ar",
                   on_failed, config.get("DESK_ATTACHMENT_DIR") or "")

    def _text(self, to: str, body: str) -> dict:
        return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
                "text": {"preview_url": False, "body": body[:4096]}}

    def _template(self, to: str, reference: str, link: str) -> dict:
        """The approved template (outside the 24-hour window): its body's {{1}} is the
        reference, {{2}} the beneficiary's private portal link (where the message itself is)."""
        parameters = [{"type": "text", "text": reference}, {"type": "text", "text": link or "-"}]
        return {"messaging_product": "whatsapp", "to": to, "type": "template",
                "template": {"name": self.template, "language": {"code": self.language},
                             "components": [{"type": "body", "parameters": parameters}]}}

    def send(self, session: Session, claimed, now: datetime) -> str:
        if not self.phone_id:
            raise ConnectionFailed("DESK_WHATSAPP_PHONE_ID is not set")
        to = claimed.to_address.lstrip("+")
        last = last_message_at(session, claimed.to_address)
        discard(session)  # a read: hold nothing while the API answers
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        reference = (claimed.meta or {}).get("reference") or ""
        document = (claimed.meta or {}).get("document")
        if document:
            return self._send_document(to, document, last is not None and now - last < WINDOW, now)
        if last is not None and now - last < WINDOW:
            try:
                return self.client.send(self.phone_id, self._text(to, claimed.body_text), now)
            except GraphError as error:
                if error.code not in OUTSIDE_WINDOW_CODES:
                    raise
                if not self.template:
                    raise DeliveryError(f"outside the 24-hour window and no template (DESK_WHATSAPP_TEMPLATE) "
                                        f"is set: {error.text}", permanent=True, cause="window") from error
        if not self.template:
            raise DeliveryError("outside the 24-hour window and no template (DESK_WHATSAPP_TEMPLATE) is set",
                                permanent=True, cause="window")
        return self.client.send(self.phone_id, self._template(to, reference, (claimed.meta or {}).get("link") or ""), now)

    def _send_document(self, to: str, document: dict, in_window: bool, now: datetime) -> str:
        """A document the staff member ticked under the reply: uploaded, then sent as a media
        message. Only within the 24-hour window (a template cannot carry it): outside it the
        message fails for good, said on the ticket and in the supervisors' notice."""
        if not in_window:
            raise DeliveryError("outside the 24-hour window a document cannot be sent on WhatsApp",
                                permanent=True, cause="document_window")
        try:
            with open(Path(self.attachment_dir) / Path(document["stored_name"]).name, "rb") as f:
                data = f.read()
        except OSError as error:
            raise DeliveryError(f"the document cannot be read: {error.strerror}", permanent=True,
                                cause="unwritable") from error
        content_type, filename = document.get("content_type") or "application/octet-stream", document["filename"]
        media_id = self.client.upload(self.phone_id, data, content_type, filename, now)
        kind = "image" if content_type in IMAGE_TYPES else "document"
        part = {"id": media_id, **({"filename": filename} if kind == "document" else {})}
        return self.client.send(self.phone_id, {"messaging_product": "whatsapp", "recipient_type": "individual",
                                                "to": to, "type": kind, kind: part}, now)

    def sent(self, session: Session, outbox_id: int, wamid: str) -> None:
        """Apply the status updates that came before we knew this message's id."""
        early = session.scalars(select(InboundMessage.reason).where(
            InboundMessage.channel == "whatsapp_status", InboundMessage.sender == wamid)).all()
        for status in early:
            if _advance(session, outbox_id, status or "", None) and status == "failed" and self.on_failed:
                self.on_failed(session, outbox_id, None)
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


def record_status(session: Session, status: dict, on_failed: OnFailed | None = None) -> str:
    """One status update; commits. "applied", "kept" (its message is not known yet), "stale".
    A "failed" one applied also runs ``on_failed`` in the same transaction."""
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
    if applied and value == "failed" and on_failed is not None:
        on_failed(session, outbox_id, error)
    commit(session)
    return "applied" if applied else "stale"


# Messages in ----------------------------------------------------------------------------------
