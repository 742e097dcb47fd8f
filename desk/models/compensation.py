"""A compensation claim (طلب تعويض) on a compensation ticket: the policy's four conditions
as a checklist, each with evidence (one of the ticket's attachments), a proposed amount or
remedy, and the general manager's decision. The negotiation log is the ticket's timeline
(EventKind.COMPENSATION_NOTE)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import User
from desk.models.base import Base, utcnow


class ConditionState(StrEnum):
    UNKNOWN = "unknown"
    MET = "met"
    NOT_MET = "not_met"


class EvidenceKind(StrEnum):
    ADMISSION = "admission"    # إقرار من الجمعية
    RULING = "ruling"          # حكم نهائي


class ClaimOutcome(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


# The policy's four conditions, numbered as in seed 001.
CONDITIONS = (1, 2, 3, 4)
EVIDENCE_CONDITION = 3  # the breach proven by the association's admission or a final ruling


class CompensationClaim(Base):
    __tablename__ = "compensation_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The proposed amount in halalas (1 SAR = 100): an integer, exact on every database.
    amount_halalas: Mapped[int | None] = mapped_column(BigInteger)
    remedy: Mapped[str | None] = mapped_column(Text)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    proposed_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(10), default=ClaimOutcome.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)

    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")
    conditions: Mapped[list[CompensationCondition]] = relationship(
        order_by="CompensationCondition.number", lazy="selectin", cascade="all, delete-orphan")


    @property
    def amount(self) -> Decimal | None:
        """The proposed amount in SAR."""
        return None if self.amount_halalas is None else Decimal(self.amount_halalas) / 100


class CompensationCondition(Base):
    __tablename__ = "compensation_conditions"
    __table_args__ = (UniqueConstraint("claim_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("compensation_claims.id", ondelete="CASCADE"))
    number: Mapped[int]
    state: Mapped[str] = mapped_column(String(10), default=ConditionState.UNKNOWN)
    note: Mapped[str | None] = mapped_column(Text)
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id", ondelete="SET NULL"))
    evidence_kind: Mapped[str | None] = mapped_column(String(10))
