"""The channels that flow in by themselves (desk.channels): every inbound message once, and
each channel's health.

``InboundMessage`` is the idempotency key of intake: an email's Message-ID (or the SHA-256 of
the message less its trace headers when it has none), a WhatsApp message id, a webhook delivery id. It is written
in the same transaction as the ticket or reply it caused, so a message delivered twice (a
re-run after a crash, a webhook retried) finds its key and makes nothing new.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow


class InboundOutcome:
    TICKET = "ticket"      # opened a new ticket
    REPLY = "reply"        # joined an existing ticket (desk.portal.service.reply)
    IGNORED = "ignored"    # auto-reply, bounce, our own message: recorded, never a ticket
    STATUS = "status"      # a WhatsApp status update whose outgoing message was not known yet


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "key", name="uq_inbound_messages_channel_key"),
        Index("ix_inbound_messages_sender", "channel", "sender", "id"),
        Index("ix_inbound_messages_ticket", "ticket_id", "id"),
        Index("ix_inbound_messages_message_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))      # email, whatsapp, whatsapp_status, webhook
    key: Mapped[str] = mapped_column(String(255))         # Message-ID, "sha256:…", wamid, delivery id
    source: Mapped[str] = mapped_column(String(80), default="")  # the mailbox's name, the phone number id…
    sender: Mapped[str | None] = mapped_column(String(254))  # lower-case email address or E.164 phone
    message_id: Mapped[str | None] = mapped_column(String(255))  # email: the Message-ID header as written
    references: Mapped[str | None] = mapped_column(Text)  # email: its References (space separated)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(200))  # why ignored, or what was left out
    received_at: Mapped[datetime | None]                 # when the sender sent it (their Date / timestamp)
    # email: whether our receiving server vouched for the sender (desk.channels.mailgate); None: not an email
    verified: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelState(Base):
    """One row per mailbox ("email:<name>") and per webhook ("whatsapp", "inbound"): what the
    admin's health page shows."""

    __tablename__ = "channel_states"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_success_at: Mapped[datetime | None]
    last_error_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    errors: Mapped[int] = mapped_column(Integer, default=0)   # errors since the last success
    waiting: Mapped[int] = mapped_column(Integer, default=0)  # messages left on the server after the last run
    received: Mapped[int] = mapped_column(Integer, default=0)  # messages taken in, in all
    refused: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # webhook calls refused (413/400)
    last_refused_at: Mapped[datetime | None]
    last_refusal: Mapped[str | None] = mapped_column(String(200))  # where the last refused call failed, not its content
