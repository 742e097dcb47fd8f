"""Categories (تصنيفات) per kind and the routing rules that send a new ticket to a department."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import Department, User
from desk.models.base import Base, utcnow


class Category(Base):
    """A subject heading within one kind, e.g. complaint → "delay in aid"; it may name the
    department its tickets usually go to (used when no rule matches first)."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name_ar: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    default_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    default_department: Mapped[Department | None] = relationship(lazy="joined")

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_ar


class RoutingRule(Base):
    """Conditions → department. Rules are tried in ``position`` order; the first whose every
    non-empty condition holds wins. Each list condition matches any of its values; keywords
    (stored normalised, see desk.text.normalize_search) match any of them in subject or body."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    category_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    department: Mapped[Department] = relationship(lazy="joined")
    updated_by: Mapped[User | None] = relationship()

    def conditions(self) -> dict[str, Any]:
        return {"kinds": self.kinds, "channels": self.channels, "category_ids": self.category_ids,
                "keywords": self.keywords}
