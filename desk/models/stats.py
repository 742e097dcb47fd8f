"""The statistics' daily roll-ups (desk.stats.rollup): counts per day (and per whole month)
and department × channel × kind × category × requester kind, and histograms of first-response and resolution
times, so a year of figures is read from a few thousand rows instead of every ticket.

They are derived data: `flask desk stats-rollup` rebuilds any range from the tickets and the
satisfaction answers; days after ``StatsRollupState.rolled_through`` are computed live from
the tickets on every read, so today's figures are never stale.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow


class Grain:
    DAY = "d"      # one day, every dimension
    MONTH = "m"    # a whole calendar month (built from its days), every dimension
    SERIES = "s"   # one day, per department only (the created-vs-resolved line)


class StatsRollup(Base):
    """Sums of one grain × day × department × channel × kind × category. ``department_id`` and
    ``category_id`` are 0 for none (not foreign keys: history outlives a deleted category).
    Each count is keyed by the day of its own event: received by the creation day, resolved
    by the resolution day, answers by the answer day (all in Asia/Riyadh)."""

    __tablename__ = "stats_rollup"
    __table_args__ = (Index("ix_stats_rollup_grain_day", "grain", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grain: Mapped[str] = mapped_column(String(1))
    day: Mapped[date]
    department_id: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(20), default="")
    kind: Mapped[str] = mapped_column(String(20), default="")
    category_id: Mapped[int] = mapped_column(Integer, default=0)
    # Who filed the tickets (desk.models.RequesterKind, أصحاب المصالح); "" for anonymous
    # tickets, those without a requester, and the satisfaction answers.
    requester_kind: Mapped[str] = mapped_column(String(12), default="", server_default="")
    received: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    actioned: Mapped[int] = mapped_column(Integer, default=0)      # resolved with the action taken recorded
    responded: Mapped[int] = mapped_column(Integer, default=0)     # first public response that day
    sla_targets: Mapped[int] = mapped_column(Integer, default=0)   # resolved with a due time
    sla_met: Mapped[int] = mapped_column(Integer, default=0)       # … resolved at or before it
    breached: Mapped[int] = mapped_column(Integer, default=0)      # marked past due by the sweep that day
    answers: Mapped[int] = mapped_column(Integer, default=0)       # satisfaction answers
    rating_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    rating_1: Mapped[int] = mapped_column(Integer, default=0)
    rating_2: Mapped[int] = mapped_column(Integer, default=0)
    rating_3: Mapped[int] = mapped_column(Integer, default=0)
    rating_4: Mapped[int] = mapped_column(Integer, default=0)
    rating_5: Mapped[int] = mapped_column(Integer, default=0)
    solved: Mapped[int] = mapped_column(Integer, default=0)        # answers saying the issue was solved
    comments: Mapped[int] = mapped_column(Integer, default=0)


class StatsDuration(Base):
    """How many tickets of a department took a duration in ``bucket`` (desk.stats.buckets),
    keyed by the day the first response (metric "f") or the resolution (metric "r") happened."""

    __tablename__ = "stats_durations"
    __table_args__ = (Index("ix_stats_durations_grain_day", "grain", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grain: Mapped[str] = mapped_column(String(1))
    day: Mapped[date]
    department_id: Mapped[int] = mapped_column(Integer, default=0)
    metric: Mapped[str] = mapped_column(String(1))
    bucket: Mapped[int] = mapped_column(SmallInteger)
    n: Mapped[int] = mapped_column(Integer, default=0)


class StatsRollupState(Base):
    """One row (id 1): the last Riyadh day the roll-ups hold; later days are read live."""

    __tablename__ = "stats_rollup_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    rolled_through: Mapped[date | None]
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)
