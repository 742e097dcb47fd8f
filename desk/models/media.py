"""Media a message named, fetched later by the worker (desk.channels.media): the webhook answers
at once and nothing is lost when the provider is slow or down. One row per message's media,
written in the same transaction as the ticket or reply the message made."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow


class MediaStatus:
    PENDING = "pending"     # due at next_attempt_at
    FETCHING = "fetching"   # a worker holds it until locked_until
    DONE = "done"           # attached (attachment_id), or refused by the attachment rules (last_error)
    FAILED = "failed"       # given up: the ticket says so, staff may try again


class MediaJob(Base):
    __tablename__ = "media_jobs"
    __table_args__ = (
        UniqueConstraint("channel", "message_key", name="uq_media_jobs_channel_message_key"),
        Index("ix_media_jobs_due", "status", "next_attempt_at"),
        Index("ix_media_jobs_ticket", "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20), default="whatsapp")
    message_key: Mapped[str] = mapped_column(String(255))   # the message's id (wamid)
    media_id: Mapped[str] = mapped_column(String(256))      # the provider's id for the file
    filename: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str | None] = mapped_column(String(100))  # as the payload says (the bytes decide)
    status: Mapped[str] = mapped_column(String(12), default=MediaStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
