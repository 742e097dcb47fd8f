"""Forms taken once (desk.submissions): one row per form that created something, written in the
same transaction as what it created, so "the ticket exists" and "its form was used" are one fact.

``key`` is the SHA-256 of the form's kind, the sender's scope (the signed-in user, or the portal
visitor's session) and the form's random token: the token itself is not stored, and the same
token sent by someone else is another key. The unique index decides between two requests that
carry the same form at once: the second insert waits for the first transaction (PostgreSQL) or
for the write lock (SQLite), then fails, and that request answers with the first one's result.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow


class FormSubmission(Base):
    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # sha256(kind, scope, token), hex
    kind: Mapped[str] = mapped_column(String(20))              # desk.submissions.Kind
    # Who sent it: a staff member; None for a portal visitor (their session is in the key).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The ticket created or written on: what the second answer shows again.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    # The rest of the first answer (e.g. the portal reply's outcome; a new tracking key, sealed
    # with the form's token, which only the sender holds).
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
