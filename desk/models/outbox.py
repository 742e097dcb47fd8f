"""The outbox: every message that leaves the desk is a row, written in the same transaction
as the change that caused it, and delivered later by ``flask desk worker``."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"    # waiting for its next attempt (next_attempt_at)
    SENDING = "sending"    # claimed by a worker until locked_until
    SENT = "sent"
    FAILED = "failed"      # could not be delivered (desk.notify.outbox says when); an admin may retry it


# The failed messages no supervisor has dealt with yet: what the desk's notice counts.
UNHANDLED_WHERE = "status = 'failed' AND handled_at IS NULL"


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_unhandled", "failed_at",
              postgresql_where=text(UNHANDLED_WHERE), sqlite_where=text(UNHANDLED_WHERE)),
    )

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
    # The outbox tells the truth (migration 0014). While it is being tried: since when this
    # message's own temporary failures go on (DESK_OUTBOX_RETRY_HOURS runs from the first), and
    # how many of its attempts ended with no outcome at all (its worker stopped while sending).
    # Once it finally failed: when, why (a cause, desk.labels.UNDELIVERED), and which
    # supervisor dealt with it (the desk's notice counts those nobody has handled).
    failing_since: Mapped[datetime | None]
    stalls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_at: Mapped[datetime | None]
    failure: Mapped[str | None] = mapped_column(String(20))
    handled_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A message to many (desk.broadcasts, migration 0024): the send it belongs to. Its rows are
    # released in batches by their due time (next_attempt_at), so a large send never floods a gateway.
    broadcast_id: Mapped[int | None] = mapped_column(Integer, index=True)
