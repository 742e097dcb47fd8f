"""Appointments with officials (المواعيد, R53 of the policy audit, issue 20 point 8).

An official (any staff user) publishes availability: a weekly pattern (e.g. Sundays
10:00–12:00 in 30-minute slots) or one day's hours. The desk turns it into bookable slots for
the coming weeks inside the business calendar (desk.sla). A beneficiary books a slot on the
portal, or intake staff book it for a walk-in or a caller.

One slot holds one booking, enforced by the database: ``appointments.slot_id`` is unique. A
cancelled appointment lets go of its slot (its ``slot_id`` becomes NULL; it keeps its own copy
of the official and the time), so the slot can be booked again."""
from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, SmallInteger, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import User
from desk.models.base import Base, utcnow
from desk.models.tickets import Ticket


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class Availability(Base):
    """When an official receives visitors: every ``weekday`` (Python numbers, Monday 0 … Sunday 6)
    or on one ``on_day``, from ``starts`` to ``ends`` (Asia/Riyadh), in slots of ``slot_minutes``."""

    __tablename__ = "appointment_availability"

    id: Mapped[int] = mapped_column(primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int | None] = mapped_column(SmallInteger)
    on_day: Mapped[date | None] = mapped_column(Date)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    official: Mapped[User] = relationship(foreign_keys=[official_id])


class AppointmentSlot(Base):
    """One bookable period of one official, generated from an availability (UTC)."""

    __tablename__ = "appointment_slots"
    __table_args__ = (
        UniqueConstraint("official_id", "starts_at", name="uq_appointment_slots_official_start"),
        Index("ix_appointment_slots_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    availability_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment_availability.id", ondelete="SET NULL"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]

    official: Mapped[User] = relationship(foreign_keys=[official_id])


class Appointment(Base):
    """A booking. ``slot_id`` is unique: the database refuses a second booking of a slot, even
    when two people click at the same moment."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_starts_at", "starts_at"),
        Index("ix_appointments_remind", "status", "reminded_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment_slots.id", ondelete="SET NULL"), unique=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))     # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(5), default="ar")
    status: Mapped[str] = mapped_column(String(12), default=AppointmentStatus.BOOKED)
    notes: Mapped[str | None] = mapped_column(Text)
    # Who booked: a staff member (walk-in, phone) or nobody (the beneficiary on the portal).
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The beneficiary's private link to see and cancel the booking: its SHA-256 only.
    key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reminded_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(12))  # "beneficiary" | "staff"
    recorded_at: Mapped[datetime | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    official: Mapped[User] = relationship(foreign_keys=[official_id])
    ticket: Mapped[Ticket | None] = relationship(foreign_keys=[ticket_id])
    booked_by: Mapped[User | None] = relationship(foreign_keys=[booked_by_id])
