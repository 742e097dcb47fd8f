"""Saved queue views (issue 18, point 5): a named set of the queue's filters and sort, kept
for one person, shared with a department or with the whole desk.

Only the filters are stored, never who may see what: every count and every page of a view
applies ``visible_tickets`` of the person looking, at query time."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow


class ViewScope(StrEnum):
    PERSONAL = "personal"      # the owner alone
    DEPARTMENT = "department"  # the members of one department
    DESK = "desk"              # everyone who works the desk


class SavedView(Base):
    __tablename__ = "saved_views"
    __table_args__ = (
        Index("ix_saved_views_owner", "owner_id"),
        Index("ix_saved_views_scope_department", "scope", "department_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(12), default=ViewScope.PERSONAL)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    # The queue's URL arguments ([name, value] pairs, desk.queue.service.Filters.query_args),
    # read back through the same allowlists as a typed URL (parse_filters).
    args: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
