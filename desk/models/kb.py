"""The knowledge base (قاعدة المعرفة, desk.kb): articles in Arabic and English, in categories,
for the public (the portal's help and rights pages) or for staff only (the staff's library of
tools: the bylaws, the beneficiaries' regulation, the acceptance steps, the guides).

An article holds its working draft; publishing copies the draft into a new numbered version
(KbVersion) and points the article at it (``published_number``). The public and the staff who
do not write read the published version only, so editing a published article changes nothing
they see until it is published again. Every version published stays, as the history."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import User
from desk.models.base import Base, utcnow


class Audience(StrEnum):
    PUBLIC = "public"      # the portal's help section, readable without signing in
    INTERNAL = "internal"  # staff (and focal points) only


class KbCategory(Base):
    __tablename__ = "kb_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_ar: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    # What `flask desk init` seeded it as (its articles find it again); None: an admin's own.
    seed_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def name(self, locale: str) -> str:
        return (self.name_en if locale == "en" else self.name_ar) or self.name_ar


class KbArticle(Base):
    __tablename__ = "kb_articles"
    __table_args__ = (Index("ix_kb_articles_audience", "audience", "published_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("kb_categories.id", ondelete="SET NULL"))
    audience: Mapped[str] = mapped_column(String(10), default=Audience.PUBLIC)
    # The working draft (what the writers edit).
    title_ar: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    body_ar: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text, default="")
    # desk.search.indexed_text of the draft's titles and bodies: the staff's search.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # The version the public and the readers see; None: not published.
    published_number: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime | None]
    # The draft differs from the published version (edited since it was published).
    draft_changed: Mapped[bool] = mapped_column(Boolean, default=True)
    seed_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    category: Mapped[KbCategory | None] = relationship(lazy="joined")

    @property
    def published(self) -> bool:
        return self.published_number is not None

    def title(self, locale: str) -> str:
        return (self.title_en if locale == "en" else self.title_ar) or self.title_ar


class KbVersion(Base):
    """One published version of an article: a copy of its draft when it was published."""

    __tablename__ = "kb_versions"
    __table_args__ = (UniqueConstraint("article_id", "number", name="uq_kb_versions_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    # Who reads this version: a draft moved from staff-only to public is public only once published.
    audience: Mapped[str] = mapped_column(String(10), default=Audience.PUBLIC)
    title_ar: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    body_ar: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")  # the portal's search
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship(lazy="joined")

    def title(self, locale: str) -> str:
        return (self.title_en if locale == "en" else self.title_ar) or self.title_ar

    def body(self, locale: str) -> str:
        return (self.body_en if locale == "en" else self.body_ar) or self.body_ar


class KbDocument(Base):
    """A document attached to an article (the bylaws' PDF, a guide): stored like a ticket's
    documents (desk.attachments.service.write_file: sniffed, random name), in its own folder."""

    __tablename__ = "kb_documents"
    __table_args__ = (Index("ix_kb_documents_article", "article_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
