"""Disputes settled amicably first (R37) and limiting the harm on a compensation claim (R33),
issue 20 point 7: each attempt at amicable settlement of a dispute ticket (date, parties,
outcome: settled / referred to whom / pending, the agreement concerned), and each interim
measure taken on a compensation ticket (what, from when, until when). Every row is also an
event on the ticket's timeline (EventKind.SETTLEMENT_ATTEMPT, EventKind.INTERIM_MEASURE)."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import User
from desk.models.attachments import Attachment
from desk.models.base import Base, utcnow


class SettlementOutcome(StrEnum):
    SETTLED = "settled"      # سُوّي ودياً
    REFERRED = "referred"    # أُحيل (إلى جهة: referred_to)
    PENDING = "pending"      # قيد المتابعة


class SettlementAttempt(Base):
    __tablename__ = "settlement_attempts"
    __table_args__ = (Index("ix_settlement_attempts_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    attempted_on: Mapped[date]
    parties: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(10))
    referred_to: Mapped[str | None] = mapped_column(String(200))
    # The agreement concerned: one of the ticket's documents, and/or its number or title.
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id", ondelete="SET NULL"))
    agreement_ref: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agreement: Mapped[Attachment | None] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(lazy="joined")


class InterimMeasure(Base):
    __tablename__ = "interim_measures"
    __table_args__ = (Index("ix_interim_measures_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    measure: Mapped[str] = mapped_column(Text)
    taken_on: Mapped[date]
    until: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship(lazy="joined")
