"""Saved replies (الردود الجاهزة): texts in Arabic and English with placeholders, kept by admins
(desk-wide) and by a department's focal points (that department only); desk.replies."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import Department
from desk.models.base import Base, utcnow


class SavedReply(Base):
    __tablename__ = "saved_replies"
    # The picker's list and the screen's: desk-wide (department NULL) or one department's, by title.
    __table_args__ = (Index("ix_saved_replies_department", "department_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body_ar: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text, default="")
    # None: desk-wide (kept by admins); else the department whose focal points keep it and
    # whose tickets alone offer it.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    # normalize_search(title + both texts): the picker's search-as-you-type.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Counted when a public reply that used it is sent (not when inserted).
    use_count: Mapped[int] = mapped_column(Integer, default=0)
    last_used_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    department: Mapped[Department | None] = relationship(lazy="joined")
