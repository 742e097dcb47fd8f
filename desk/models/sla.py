"""The business calendar (working time, holidays) and the service-level targets.

The rules that read them are pure functions in desk/sla/calendar.py; desk/sla/service.py
loads these rows into its ``BusinessCalendar`` value object."""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import JSON, Date, ForeignKey, Integer, SmallInteger, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow


class WorkingTime(Base):
    """One row (id 1): the work week and the day's hours in Asia/Riyadh, and the Ramadan hours
    (both empty = the normal hours apply in Ramadan too)."""

    __tablename__ = "sla_working_time"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Python weekday numbers, Monday 0 … Sunday 6; the Saudi week is [6, 0, 1, 2, 3].
    work_days: Mapped[list[int]] = mapped_column(JSON, default=lambda: [6, 0, 1, 2, 3])
    day_start: Mapped[time] = mapped_column(Time, default=time(8, 0))
    day_end: Mapped[time] = mapped_column(Time, default=time(16, 0))
    ramadan_start: Mapped[time | None] = mapped_column(Time)
    ramadan_end: Mapped[time | None] = mapped_column(Time)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The fingerprint (SlaPolicy.fingerprint) of the calendar and targets the open tickets' due
    # times were last computed with: the sweep recomputes them when the policy differs.
    applied_policy: Mapped[str | None] = mapped_column(String(64))
    # A recompute in progress (bounded work per sweep): the policy being applied and the last
    # ticket id done; the next sweep goes on from there.
    recomputing_policy: Mapped[str | None] = mapped_column(String(64))
    recompute_cursor: Mapped[int | None] = mapped_column(Integer)


class Holiday(Base):
    """An official holiday (إجازة رسمية), first and last day inclusive, as Gregorian dates.
    ``entered_as`` remembers the calendar it was typed in, so the form shows it the same way."""

    __tablename__ = "sla_holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_ar: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    first_day: Mapped[date] = mapped_column(Date, index=True)
    last_day: Mapped[date] = mapped_column(Date)
    entered_as: Mapped[str] = mapped_column(String(10), default="gregorian")  # gregorian | hijri
    # Which official holiday a computed row is ("eid_fitr:1447", "national_day:2026"), so the
    # seeding adds each one once, whatever the admin later does to its dates.
    official_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    # None: proposed, computed by rule (desk init, the sweep), to confirm when the ministry
    # announces it (the Eids hang on the moon sighting); else when an admin confirmed the dates.
    confirmed_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()  # the supervisors were told it is unconfirmed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_ar

    @property
    def proposed(self) -> bool:
        return self.confirmed_at is None


class ServiceTarget(Base):
    """The service level of a kind of request, for one priority or (priority None) for any
    priority not listed on its own. A target is an amount of business hours or days; a missing
    target (None) means none is promised for that step."""

    __tablename__ = "sla_targets"
    __table_args__ = (UniqueConstraint("kind", "priority", name="kind_priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int | None] = mapped_column(SmallInteger)
    first_response_amount: Mapped[int | None] = mapped_column(Integer)
    first_response_unit: Mapped[str | None] = mapped_column(String(10))  # hours | days
    resolution_amount: Mapped[int | None] = mapped_column(Integer)
    resolution_unit: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
