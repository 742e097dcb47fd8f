"""The training log of service staff (التنمية المهنية لممثلي/ات خدمة المستفيد, R52): one row per
course a staff member took, with an optional certificate kept on disk like the tickets'
documents (a random name, desk.attachments' helpers)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import User
from desk.models.base import Base, utcnow


class TrainingEntry(Base):
    __tablename__ = "training_entries"
    __table_args__ = (
        Index("ix_training_entries_user_day", "user_id", "day"),
        Index("ix_training_entries_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200))
    day: Mapped[date] = mapped_column(Date)
    # Hundredths of an hour (1.5 hours → 150): decimals kept exactly and summed in SQL as integers.
    centihours: Mapped[int] = mapped_column(Integer)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The certificate, if any: stored under training_dir() by its random name.
    certificate_filename: Mapped[str | None] = mapped_column(String(255))
    certificate_stored_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    certificate_content_type: Mapped[str | None] = mapped_column(String(100))
    certificate_size: Mapped[int | None] = mapped_column(Integer)
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id], lazy="joined")

    @property
    def hours(self) -> float:
        return self.centihours / 100
