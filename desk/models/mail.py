"""Mail the desk could not take as it came (desk.channels.quarantine): headers that cannot be
trusted, a message that kept failing, a sender our server could not verify. Kept whole (the
raw bytes) until a person takes it as a ticket, attaches it to one, or discards it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow


class QuarantineState:
    FAILING = "failing"        # failed to be taken; tried again until DESK_MAIL_MAX_ATTEMPTS
    HELD = "held"              # waiting for a person (the admin's quarantine screen)
    UNVERIFIED = "unverified"  # a message for a ticket whose sender is not verified (shown on the ticket)
    TAKEN = "taken"            # made a new ticket
    ATTACHED = "attached"      # added to a ticket (chosen by reference, or accepted on it)
    DISCARDED = "discarded"    # thrown away by a person (or an unverified message rejected)

    WAITING = (HELD, UNVERIFIED)


class QuarantinedMail(Base):
    __tablename__ = "quarantined_mail"
    __table_args__ = (
        Index("ix_quarantined_mail_state", "state", "id"),
        Index("ix_quarantined_mail_ticket", "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)  # the message's intake key (InboundMessage.key)
    source: Mapped[str] = mapped_column(String(80), default="")  # the mailbox's name, "import-mail"
    state: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(500), default="")   # the From header as written, never trusted
    subject: Mapped[str] = mapped_column(String(200), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]                                # its Date header
    attempts: Mapped[int] = mapped_column(Integer, default=0)       # failed attempts to take it
    last_error: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
