"""Words the search treats as one: broken plurals of the desk's vocabulary, synonyms and the
ways a name is written (admins edit them at /admin/search-words, like routing keywords)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow


class SearchWords(Base):
    """One group of interchangeable words: a search for any of them looks for all of them."""

    __tablename__ = "search_words"

    id: Mapped[int] = mapped_column(primary_key=True)
    # As the admin typed them, comma separated (shown on the admin screen).
    typed: Mapped[str] = mapped_column(String(400))
    # normalize_search of each, space separated: what the search compares.
    words: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
