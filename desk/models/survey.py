"""The supervisors' field work (مركز قياس خدمة المستفيد): the association's sites, the daily
field survey (المسح الميداني اليومي) with its items and answers, emergencies (الحالات الطارئة)
reported to the general manager, and the daily visitor count (حصر أعداد المترددين).

A survey is one row per site per day, enforced by a unique constraint (not a check in
Python), so two supervisors opening or submitting the same survey at once end with one row.
An answer keeps the item's text as it was when answered: editing or deactivating an item
never rewrites history.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import User
from desk.models.base import Base, utcnow


class Site(Base):
    """Where service is given: the main office and each branch office (an admin setting)."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_ar: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def name(self, locale: str) -> str:
        return (self.name_en if locale == "en" else self.name_ar) or self.name_ar


class ItemCode(StrEnum):
    """The seven items of the policy. An item an admin adds has no code."""

    PUBLIC_ORDER = "public_order"
    GUIDELINES = "guidelines"
    WORKFLOW = "workflow"
    EMERGENCIES = "emergencies"   # links to recording an emergency
    OFFICES = "offices"
    COMPLAINTS = "complaints"     # pre-filled with live figures, snapshotted on submit
    WEBSITE = "website"
    STAFF_READINESS = "staff_readiness"  # who is on duty, and whether reception is staffed (R49)


class SurveyItem(Base):
    __tablename__ = "survey_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    text_ar: Mapped[str] = mapped_column(String(400))
    text_en: Mapped[str] = mapped_column(String(400))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def text(self, locale: str) -> str:
        return (self.text_en if locale == "en" else self.text_ar) or self.text_ar


class SurveyStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class Survey(Base):
    """One site's survey of one (Riyadh-local) day."""

    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("site_id", "day", name="uq_surveys_site_day"),
        Index("ix_surveys_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=SurveyStatus.DRAFT)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None]

    site: Mapped[Site] = relationship(lazy="joined")
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id], lazy="joined")
    answers: Mapped[list[SurveyAnswer]] = relationship(
        back_populates="survey", cascade="all, delete-orphan", order_by="SurveyAnswer.position, SurveyAnswer.id")

    @property
    def submitted(self) -> bool:
        return self.status == SurveyStatus.SUBMITTED


class AnswerState(StrEnum):
    OK = "ok"
    ATTENTION = "attention"   # needs attention: a finding
    NOT_APPLICABLE = "na"


class SurveyAnswer(Base):
    """One item's answer. The item's text and position are copied in when answered."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("survey_id", "item_id", name="uq_survey_answers_survey_item"),
        Index("ix_survey_answers_item_state", "item_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("survey_items.id", ondelete="RESTRICT"))
    item_text_ar: Mapped[str] = mapped_column(String(400))
    item_text_en: Mapped[str] = mapped_column(String(400))
    position: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    # Item 6: the live figures the supervisor saw, frozen when the survey is submitted.
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The staff-readiness item: {"staffed": "yes" | "partly" | "no", "on_duty": [{"user_id": 3,
    # "name": "سارة"}, {"user_id": null, "name": "typed name"}]} (desk.survey.service.ReadinessData).
    readiness: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)

    survey: Mapped[Survey] = relationship(back_populates="answers")
    item: Mapped[SurveyItem] = relationship(lazy="joined")
    photos: Mapped[list[SurveyPhoto]] = relationship(
        back_populates="answer", cascade="all, delete-orphan", order_by="SurveyPhoto.id", lazy="selectin")

    def item_text(self, locale: str) -> str:
        return (self.item_text_en if locale == "en" else self.item_text_ar) or self.item_text_ar


class SurveyPhoto(Base):
    """A photo of an answer, on disk under a random name (desk.attachments' helpers)."""

    __tablename__ = "survey_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("survey_answers.id", ondelete="CASCADE"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))

    answer: Mapped[SurveyAnswer] = relationship(back_populates="photos")


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class EmergencyStatus(StrEnum):
    OPEN = "open"                  # until the general manager acknowledges it
    ACKNOWLEDGED = "acknowledged"


class Emergency(Base):
    """A situation handled on the spot (الحالات الطارئة), reported to the general manager."""

    __tablename__ = "emergencies"
    __table_args__ = (
        Index("ix_emergencies_status_occurred", "status", "occurred_at"),
        Index("ix_emergencies_occurred", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime]
    what_happened: Mapped[str] = mapped_column(Text)
    action_taken: Mapped[str] = mapped_column(Text)   # the corrective action on the spot
    severity: Mapped[str] = mapped_column(String(10), default=Severity.MEDIUM)
    status: Mapped[str] = mapped_column(String(14), default=EmergencyStatus.OPEN)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime | None]
    acknowledgement_note: Mapped[str | None] = mapped_column(Text)

    site: Mapped[Site] = relationship(lazy="joined")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id], lazy="joined")
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id], lazy="joined")

    @property
    def is_open(self) -> bool:
        return self.status == EmergencyStatus.OPEN


class VisitorTap(Base):
    """One walk-in visitor counted at the desk (one tap of "+1 visitor")."""

    __tablename__ = "visitor_taps"
    __table_args__ = (Index("ix_visitor_taps_day_site", "day", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date)          # the Riyadh-local day of created_at
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str | None] = mapped_column(String(20))       # one of desk.survey.service.VISIT_REASONS
    reason_text: Mapped[str | None] = mapped_column(String(200))  # free text


class AuxService(Base):
    """An auxiliary service given at the desk (الخدمات المساعدة: copying, a call, a form filled
    in…), counted like visitors. An admin setting; one added by an admin has no code."""

    __tablename__ = "aux_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    name_ar: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def name(self, locale: str) -> str:
        return (self.name_en if locale == "en" else self.name_ar) or self.name_ar


class AuxServiceTap(Base):
    """One auxiliary service given at a site (one tap of its button on the visitor counter)."""

    __tablename__ = "aux_service_taps"
    __table_args__ = (Index("ix_aux_service_taps_day_site", "day", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    service_id: Mapped[int] = mapped_column(ForeignKey("aux_services.id", ondelete="RESTRICT"), index=True)
    day: Mapped[date] = mapped_column(Date)          # the Riyadh-local day of created_at
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
