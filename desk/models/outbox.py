"""The outbox: every message that leaves the desk is a row, written in the same transaction
as the change that caused it, and delivered later by ``flask desk worker``."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"    # waiting for its next attempt (next_attempt_at)
    SENDING = "sending"    # claimed by a worker until locked_until
    SENT = "sent"
    FAILED = "failed"      # permanent failure, or out of attempts; an admin may retry it


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), default="email")
    to_address: Mapped[str] = mapped_column(String(254))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str] = mapped_column(String(40))  # what caused it, e.g. "assigned", "returned"
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # desk.channels (migration 0012): the email headers that thread a reply (in_reply_to,
    # references) and other per-channel details; the id the provider gave the message (a
    # WhatsApp wamid), and what the provider said of it since (delivered, read, failed).
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    external_id: Mapped[str | None] = mapped_column(String(128), index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(12))
