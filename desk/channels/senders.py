"""The outbox's senders for the channels other than email (desk.notify.outbox._deliver_channels).

A sender has ``send(session, claimed, now) -> provider id`` (raising desk.notify.mail's
DeliveryError or ConnectionFailed), ``sent(session, outbox_id, provider_id)`` called once the
outcome is committed, and ``close()``."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def sender_for(channel: str, config: Mapping[str, Any]):
    """The sender of ``channel``, or None when the desk has none (the message then fails)."""
    if channel == "whatsapp":
        from desk.channels.whatsapp import GraphSender
        return GraphSender.from_config(config)
    if channel == "sms":
        from desk.channels.sms import SmsSender
        return SmsSender.from_config(config)
    return None
