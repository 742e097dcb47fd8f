"""SMS through an HTTP gateway (the outbox's "sms" channel), so a beneficiary without email
gets the tracking link and the desk's news on their mobile (issue 6, item 2).

Saudi SMS providers (Unifonic, Taqnyat, Msegat…) each have their own REST API; the desk speaks
one small shape and a provider is reached directly when it accepts it, or through a few lines of
adapter in front of it:

    POST DESK_SMS_URL   Authorization: Bearer DESK_SMS_TOKEN   Content-Type: application/json
    {"to": "+9665XXXXXXXX", "from": DESK_SMS_SENDER, "body": "…", "reference": "C-1448-000123"}
    → 2xx {"id": "<the provider's message id>"}

What an answer means is desk.channels.http's rule for every HTTP provider: 429 (with its
``Retry-After``), 502–504, an unreachable gateway or our credentials refused are the gateway's
trouble (the outbox's outage rule: nothing lost, nothing counted); 500 or a timeout, this
message's temporary failure (tried again for a time); any other 4xx, the gateway refused the
message (a permanent failure). Without DESK_SMS_URL nothing is ever queued for SMS.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session

from desk.channels import http
from desk.notify.mail import ConnectionFailed, DeliveryError
from desk.transaction import discard

MAX_LENGTH = 670  # ten Arabic (UCS-2) segments: a gateway splits and joins them


def enabled(config: Mapping[str, Any] | None = None) -> bool:
    """A gateway is set (the app's settings unless ``config`` is given)."""
    if config is None:
        from flask import current_app
        config = current_app.config
    return bool(config.get("DESK_SMS_URL"))


class SmsSender:
    def __init__(self, url: str, token: str, sender: str, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None):
        self.url, self.sender = url, sender
        self.http = httpx.Client(headers={"Authorization": f"Bearer {token}"} if token else {},
                                 timeout=httpx.Timeout(timeout), follow_redirects=False,
                                 transport=transport or httpx.HTTPTransport(retries=2))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmsSender:
        return cls(config.get("DESK_SMS_URL") or "", config.get("DESK_SMS_TOKEN") or "",
                   config.get("DESK_SMS_SENDER") or "", float(config.get("DESK_SMS_TIMEOUT") or 10))

    def send(self, session: Session, claimed, now: datetime) -> str:
        if not self.url:
            raise ConnectionFailed("DESK_SMS_URL is not set")
        discard(session)  # hold nothing while the gateway answers
        payload = {"to": claimed.to_address, "from": self.sender, "body": claimed.body_text[:MAX_LENGTH],
                   "reference": (claimed.meta or {}).get("reference") or "", "id": f"desk-outbox-{claimed.id}"}
        try:  # the same key on a retry: a gateway that honours it never sends the text twice
            response = self.http.post(self.url, json=payload, headers={"Idempotency-Key": f"desk-outbox-{claimed.id}"})
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise ConnectionFailed(f"{type(error).__name__}: {error}") from error
        except httpx.HTTPError as error:  # read timeout, protocol error: maybe sent; tried again later
            raise DeliveryError(f"{type(error).__name__}: {error}", permanent=False) from error
        if not 200 <= response.status_code < 300:
            raise http.failure(response, "the SMS gateway", now)
        try:  # accepted: whatever the body says, the message is sent
            body = response.json()
        except ValueError:
            return ""
        return str(body.get("id") or "")[:128] if isinstance(body, dict) else ""

    def sent(self, session: Session, outbox_id: int, provider_id: str) -> None:
        pass

    def close(self) -> None:
        self.http.close()
