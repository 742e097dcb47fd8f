"""The outbox's senders for the channels other than email (desk.notify.outbox._deliver_channels);
they sit below the channels' intake, so the outbox can use them without reaching up.

A sender has ``send(session, claimed, now) -> provider id`` (raising desk.notify.mail's
DeliveryError or ConnectionFailed), ``sent(session, outbox_id, provider_id)`` called once the
outcome is committed, and ``close()``."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from desk.channels.graph import GraphSender, OnFailed
from desk.channels.sms import SmsSender


def sender_for(channel: str, config: Mapping[str, Any], on_failed: OnFailed | None = None):
    """The sender of ``channel``, or None when the desk has none (the message then fails).
    ``on_failed``: what a provider's late "failed" receipt sets off (WhatsApp's, applied when
    the message's id is recorded)."""
    if channel == "whatsapp":
        return GraphSender.from_config(config, on_failed)
    if channel == "sms":
        return SmsSender.from_config(config)
    return None
