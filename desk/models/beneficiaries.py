"""The people the association serves."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow
from desk.text import is_mobile, normalize_search


class Beneficiary(Base):
    __tablename__ = "beneficiaries"
    __table_args__ = (Index("ix_beneficiaries_file_number", "file_number", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    national_id: Mapped[str | None] = mapped_column(String(10), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164; the mobile (SMS, WhatsApp)
    # E.164; a landline, unified (920) or other number for calls. Numbers recorded in ``phone``
    # before the desk told them apart stay there and are flagged (desk.text.is_mobile).
    landline: Mapped[str | None] = mapped_column(String(20))
    # The identity document (desk.text.ID_TYPES); None on records made before: a national ID or
    # iqama by its first digit. A Saudi number is in ``national_id``, any other in ``id_document``.
    id_type: Mapped[str | None] = mapped_column(String(12))
    id_document: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(254))
    city: Mapped[str | None] = mapped_column(String(80))
    # normalize_search(name); the name's search key, written once on every change.
    search_name: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Erased at their request, or when the last of their requests passed its retention
    # (desk.privacy): the row stays, naming no one, so the requests keep their history.
    anonymised_at: Mapped[datetime | None]
    # Registration (issue 20 point 5, desk.casefile): new, documents pending, registered (with
    # the file number, رقم الملف, unique), closed; every step in beneficiary_events.
    registration_state: Mapped[str] = mapped_column(String(20), default="new", server_default=text("'new'"))
    file_number: Mapped[str | None] = mapped_column(String(30))

    @property
    def phone_is_mobile(self) -> bool:
        return not self.phone or is_mobile(self.phone)

    def refresh_search(self) -> None:
        self.search_name = normalize_search(self.name)
