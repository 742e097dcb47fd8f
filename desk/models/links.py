"""Duplicates merged and requests related (desk.tickets.merge): which ticket a duplicate was
merged into, and "related to" links between two tickets without merging them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow


class TicketMerge(Base):
    """``merged_id`` was a duplicate of ``into_id`` and was merged into it (closed, with its
    documents moved and its timeline shown on the surviving ticket). One row per merged ticket."""

    __tablename__ = "ticket_merges"
    __table_args__ = (Index("ix_ticket_merges_into", "into_id"),)

    merged_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True,
                                           autoincrement=False)
    into_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketRelation(Base):
    """Two tickets related to each other ("related to"), stored once: the lower id first."""

    __tablename__ = "ticket_relations"
    __table_args__ = (
        UniqueConstraint("low_id", "high_id", name="uq_ticket_relations_pair"),
        CheckConstraint("low_id < high_id", name="ordered"),
        Index("ix_ticket_relations_high", "high_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    low_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    high_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
