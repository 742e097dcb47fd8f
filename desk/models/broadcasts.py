"""Messages to many (تعاميم, issue 20 point 6): one message written once and sent through the
outbox to a chosen group of beneficiaries (desk.broadcasts), and the beneficiaries who asked
to receive no such message."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import User
from desk.models.base import Base, utcnow


class BroadcastGroup(StrEnum):
    """The groups a message may go to."""

    OPEN = "open"              # the beneficiaries of open tickets in a category or a department
    REFERENCES = "references"  # the beneficiaries of a pasted list of references
    KIND_RANGE = "kind_range"  # everyone with a ticket of a kind (or category) created in a date range


class Purpose(StrEnum):
    MESSAGE = "message"        # a message to many
    AID_DELAY = "aid_delay"    # an aid delay outside the association's control (R38): each ticket marked too


class Broadcast(Base):
    """One send: who wrote what to which group, and how many it reached when it was queued.
    What became of each message since (sent, failed) is read from the outbox rows that carry
    its id (OutboxMessage.broadcast_id)."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    purpose: Mapped[str] = mapped_column(String(12), default=Purpose.MESSAGE)
    reason: Mapped[str | None] = mapped_column(Text)  # the aid delay's reason, as told to the beneficiaries
    audience: Mapped[str] = mapped_column(String(12))
    # The group as chosen: department/category ids, the references, kind and dates.
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body_ar: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text, default="")
    # Counted when it was queued: the people reached, and those left out (no address, opted out).
    people: Mapped[int] = mapped_column(Integer, default=0)
    queued: Mapped[int] = mapped_column(Integer, default=0)
    skipped_no_address: Mapped[int] = mapped_column(Integer, default=0)
    skipped_opted_out: Mapped[int] = mapped_column(Integer, default=0)
    tickets_marked: Mapped[int] = mapped_column(Integer, default=0)  # AID_DELAY: tickets given the event

    author: Mapped[User | None] = relationship(lazy="joined")


class BroadcastOptOut(Base):
    """An address (an email in lower case, or a phone in E.164) that receives no message to
    many: asked from the portal, by the link at the foot of an email, or by a STOP reply. Its
    beneficiary record, when known, is kept too, so every address of theirs is left out.
    Messages about their own tickets still go."""

    __tablename__ = "broadcast_optouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)
    beneficiary_id: Mapped[int | None] = mapped_column(
        ForeignKey("beneficiaries.id", ondelete="SET NULL"), index=True)
    via: Mapped[str] = mapped_column(String(12))  # "portal", "link", "stop"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
