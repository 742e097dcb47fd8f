"""The beneficiary portal's records: the association's public profile (branding, contact
details, portal policy) and the beneficiary's satisfaction answer (قياس رضا المستفيد)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import User
from desk.models.base import Base, utcnow


class Association(Base):
    """One row (id 1): who the association is, as the portal and the messages show it, and the
    portal's policy. An admin edits it (desk.portal.admin); defaults come from settings."""

    __tablename__ = "association"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_ar: Mapped[str] = mapped_column(String(160), default="")
    name_en: Mapped[str] = mapped_column(String(160), default="")
    phone: Mapped[str | None] = mapped_column(String(40))
    whatsapp: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(254))
    address_ar: Mapped[str | None] = mapped_column(String(300))
    address_en: Mapped[str | None] = mapped_column(String(300))
    working_hours_ar: Mapped[str | None] = mapped_column(String(200))
    working_hours_en: Mapped[str | None] = mapped_column(String(200))
    # The association's social accounts (R48), shown on the portal as plain text links: a
    # handle or an https address each (desk.portal.profile.social_links).
    x_account: Mapped[str | None] = mapped_column(String(254))
    instagram: Mapped[str | None] = mapped_column(String(254))
    snapchat: Mapped[str | None] = mapped_column(String(254))
    youtube: Mapped[str | None] = mapped_column(String(254))
    # The logo: an image stored under instance/ (random name), served by the portal.
    logo_stored_name: Mapped[str | None] = mapped_column(String(64))
    logo_content_type: Mapped[str | None] = mapped_column(String(100))
    # Show the name of the staff member who wrote a public reply on the portal (off: "the association").
    show_staff_names: Mapped[bool] = mapped_column(Boolean, default=False)
    # A beneficiary's reply within this many days of resolution reopens the ticket; later, it
    # starts a new, linked ticket (issue 5, item 6).
    reopen_days: Mapped[int] = mapped_column(Integer, default=14)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def name(self, locale: str) -> str:
        return (self.name_en if locale == "en" else self.name_ar) or self.name_ar or self.name_en

    def address(self, locale: str) -> str | None:
        return (self.address_en if locale == "en" else self.address_ar) or self.address_ar

    def working_hours(self, locale: str) -> str | None:
        return (self.working_hours_en if locale == "en" else self.working_hours_ar) or self.working_hours_ar


class SurveySource(StrEnum):
    BENEFICIARY = "beneficiary"  # answered on the portal through the survey link
    STAFF = "staff"              # recorded by staff on the beneficiary's behalf (visit, phone)


class SatisfactionResponse(Base):
    """One answer per ticket: overall rating 1–5, was the issue solved, an optional comment.
    The ticket's department and channel are copied in when it is answered, so the statistics
    group answers without joining tickets and do not move if the ticket is transferred later."""

    __tablename__ = "satisfaction_responses"
    __table_args__ = (
        Index("ix_satisfaction_created", "created_at"),
        Index("ix_satisfaction_department_created", "department_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    rating: Mapped[int] = mapped_column(SmallInteger)
    solved: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(12), default=SurveySource.BENEFICIARY)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    recorded_by: Mapped[User | None] = relationship(lazy="joined")


class PrivacyNotice(Base):
    """One version of the portal's full privacy notice (إشعار الخصوصية), in Arabic and English,
    as the admin wrote it (desk.portal.privacy). Saving makes a new row: a request keeps the
    version its sender accepted (Ticket.privacy_notice_version), and that text stays readable."""

    __tablename__ = "privacy_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    body_ar: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()


class PortalCeiling(Base):
    """An hour in which the desk-wide ceiling on portal submissions was reached
    (DESK_PORTAL_ANONYMOUS_PER_HOUR, desk.portal.ceiling): the unique hour makes the
    supervisors' notice one per hour whichever worker refused first; ``refused`` counts the
    requests turned away in it."""

    __tablename__ = "portal_ceilings"

    id: Mapped[int] = mapped_column(primary_key=True)
    hour: Mapped[datetime] = mapped_column(unique=True)
    reached_at: Mapped[datetime] = mapped_column(default=utcnow)
    refused: Mapped[int] = mapped_column(Integer, default=0)
