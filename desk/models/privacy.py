"""The data subject's rights and retention under the privacy law (desk.privacy): every request a
beneficiary made about their data and what became of it, and how long each kind of request is
kept after it closed."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import User
from desk.models.base import Base, utcnow


class SubjectRequestKind(StrEnum):
    EXPORT = "export"          # a copy of everything held about them
    CORRECTION = "correction"  # a field of their record corrected
    ERASURE = "erasure"        # anonymised everywhere, documents destroyed


class SubjectRequestOutcome(StrEnum):
    DONE = "done"
    REFUSED = "refused"        # a legal hold applies (detail: the reasons)


class SubjectRequest(Base):
    """One data-subject request: who asked it to be done, when, what, and the outcome. The row
    outlives the erasure it records (it names the record by id only)."""

    __tablename__ = "subject_requests"
    __table_args__ = (Index("ix_subject_requests_beneficiary", "beneficiary_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    beneficiary_id: Mapped[int | None] = mapped_column(ForeignKey("beneficiaries.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(12))
    outcome: Mapped[str] = mapped_column(String(12))
    # Particulars: the field corrected (identifiers masked), the reasons of a refusal, what an
    # export held, what an erasure changed (counts, never the values).
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # How the beneficiary asked (in person, a letter, an email…) as staff typed it.
    note: Mapped[str | None] = mapped_column(String(500))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="joined")


class RetentionPeriod(Base):
    """How many months a closed request of ``kind`` is kept before ``flask desk retention``
    anonymises it. A kind without a row is kept (the admin has not decided)."""

    __tablename__ = "retention_periods"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    months: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
