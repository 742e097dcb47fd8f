"""The Saudi business calendar and due-time arithmetic: pure functions, no database, no Flask.

Everything here works on a ``BusinessCalendar`` value object (built from the database by
``desk.sla.service.load_calendar``). Times in and out are timezone-aware UTC datetimes;
the calendar itself is read in its local zone (Asia/Riyadh).

Definitions (chosen, documented and tested in tests/test_sla_calendar.py):

* **Working time** is, on a working day (a work weekday that is not a holiday), the
  half-open period ``[start, end)`` of that day's hours: the Ramadan hours on days of
  Ramadan (Umm al-Qura month 9, via hijridate) when they are set, the normal hours otherwise.
* A start outside working time counts from the **next working moment** (the start of the
  next working period).
* **Business hours**: N hours of working time are consumed from the start. A due time that
  falls exactly at the end of a period stays there (16:00 Thursday, not 08:00 Sunday).
* **Business days**: N business days end at the **same clock time N working days later**
  (after moving the start to the next working moment). If that working day's hours do not
  reach that clock time (e.g. shorter Ramadan hours), the due time is clamped into them:
  to the day's end when the clock time is later, to its start when earlier.
* **Pauses** (waiting on the beneficiary): the due time moves later by exactly the working
  time spent paused before it, so the unpaused working time from start to due is the same
  as without the pause. A pause still open (``to`` is None) that starts before the due time
  stops the clock: there is no due time (None) until it ends.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from desk.text.dates import RIYADH, hijri_date

__all__ = [
    "Unit", "BusinessCalendar", "DEFAULT_WORK_DAYS", "SUNDAY_FIRST", "RAMADAN",
    "is_ramadan", "working_period", "is_working_time", "next_working_moment",
    "add_business_time", "business_time_between", "due_with_pauses", "risk_moment",
    "sla_state", "SlaState", "AT_RISK_SHARE", "pauses_from_status_changes",
]

RAMADAN = 9
# Python weekday numbers (Monday 0 … Sunday 6). The Saudi week: Sunday to Thursday.
SUNDAY_FIRST = (6, 0, 1, 2, 3, 4, 5)
DEFAULT_WORK_DAYS = frozenset({6, 0, 1, 2, 3})
AT_RISK_SHARE = 0.2  # "at risk" = in the last 20 % of the time
_SEARCH_DAYS = 3 * 366  # no working period in three years: a calendar that cannot produce one

Pause = tuple[datetime, "datetime | None"]


class Unit(StrEnum):
    HOURS = "hours"   # business hours
    DAYS = "days"     # business days


class SlaState(StrEnum):
    DUE = "due"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    PAUSED = "paused"


@lru_cache(maxsize=4096)
def is_ramadan(day: date) -> bool:
    """Umm al-Qura month 9; outside hijridate's range (1924–2077) never Ramadan."""
    h = hijri_date(day)
    return h is not None and h[1] == RAMADAN


@dataclass(frozen=True)
class BusinessCalendar:
    """Work days (Python weekday numbers), the day's hours, optional Ramadan hours and holidays
    (inclusive ``(first_day, last_day)`` ranges of local dates)."""

    work_days: frozenset[int] = DEFAULT_WORK_DAYS
    start: time = time(8, 0)
    end: time = time(16, 0)
    ramadan_start: time | None = None
    ramadan_end: time | None = None
    holidays: tuple[tuple[date, date], ...] = ()
    tz: ZoneInfo = RIYADH
    _holiday_days: frozenset[date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise ValueError("working hours must end after they start")
        if (self.ramadan_start is None) != (self.ramadan_end is None):
            raise ValueError("Ramadan hours need both a start and an end")
        if (self.ramadan_start is not None and self.ramadan_end is not None
                and not self.ramadan_end > self.ramadan_start):
            raise ValueError("Ramadan hours must end after they start")
        days: set[date] = set()
        for first, last in self.holidays:
            if last < first:
                raise ValueError("a holiday cannot end before it starts")
            days.update(first + timedelta(n) for n in range((last - first).days + 1))
        object.__setattr__(self, "work_days", frozenset(self.work_days))
        object.__setattr__(self, "_holiday_days", frozenset(days))

    def is_holiday(self, day: date) -> bool:
        return day in self._holiday_days

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.work_days and day not in self._holiday_days

    def hours_on(self, day: date) -> tuple[time, time]:
        """The clock hours of ``day`` (whether or not it is a working day)."""
        if self.ramadan_start is not None and self.ramadan_end is not None and is_ramadan(day):
            return self.ramadan_start, self.ramadan_end
        return self.start, self.end


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: give timezone-aware (UTC) datetimes")
    return moment.astimezone(UTC)


def working_period(day: date, calendar: BusinessCalendar) -> tuple[datetime, datetime] | None:
    """The working period of a local date as UTC ``(start, end)``, or None on a day off."""
    if not calendar.is_working_day(day):
        return None
    start, end = calendar.hours_on(day)
    return (datetime.combine(day, start, calendar.tz).astimezone(UTC),
            datetime.combine(day, end, calendar.tz).astimezone(UTC))


def _periods(moment: datetime, calendar: BusinessCalendar) -> Iterator[tuple[datetime, datetime]]:
    """Working periods that end after ``moment``, in order (the first may contain it)."""
    day = moment.astimezone(calendar.tz).date() - timedelta(days=1)  # a period never crosses midnight
    idle = 0
    while True:
        period = working_period(day, calendar)
        day += timedelta(days=1)
        if period is None:
            idle += 1
            if idle > _SEARCH_DAYS:
                raise ValueError("the calendar has no working time (no work day, or holidays everywhere)")
            continue
        idle = 0
        if period[1] > moment:
            yield period


def is_working_time(moment: datetime, calendar: BusinessCalendar) -> bool:
    moment = _utc(moment)
    period = working_period(moment.astimezone(calendar.tz).date(), calendar)
    return period is not None and period[0] <= moment < period[1]


def next_working_moment(moment: datetime, calendar: BusinessCalendar) -> datetime:
    """``moment`` itself in working time, else the start of the next working period."""
    moment = _utc(moment)
    start, _ = next(_periods(moment, calendar))
    return max(start, moment)


def _walk(start: datetime, seconds: float, calendar: BusinessCalendar,
          pauses: Sequence[tuple[datetime, datetime | None]] = ()) -> datetime | None:
    """The moment when ``seconds`` of working time outside ``pauses`` (sorted, merged) have
    passed since ``start``; None when an open pause stops the clock first."""
    remaining = seconds
    pause_index = 0
    for p_start, p_end in _periods(start, calendar):
        cursor = max(p_start, start)
        while cursor < p_end:
            # Skip the pauses that are over, then work up to the next one (or the period end).
            while pause_index < len(pauses) and (until := pauses[pause_index][1]) is not None and until <= cursor:
                pause_index += 1
            if pause_index < len(pauses) and pauses[pause_index][0] <= cursor:
                paused_until = pauses[pause_index][1]
                if paused_until is None:
                    return None
                cursor = min(paused_until, p_end)
                continue
            stop = p_end if pause_index >= len(pauses) else min(p_end, pauses[pause_index][0])
            available = (stop - cursor).total_seconds()
            if remaining <= available:
                return cursor + timedelta(seconds=remaining)
            remaining -= available
            cursor = stop
        if remaining <= 0:  # pragma: no cover - returned above
            return cursor
    raise AssertionError("unreachable")  # pragma: no cover


def _check_target(amount: float, unit: Unit | str) -> Unit:
    unit = Unit(unit)
    if not amount > 0:
        raise ValueError("a target must be greater than zero")
    if unit is Unit.DAYS and int(amount) != amount:
        raise ValueError("business days are whole days")
    return unit


def add_business_time(start: datetime, amount: float, unit: Unit | str, calendar: BusinessCalendar) -> datetime:
    """The due time of a target of ``amount`` business hours or days counted from ``start``."""
    unit = _check_target(amount, unit)
    start = next_working_moment(start, calendar)
    if unit is Unit.HOURS:
        return _walk(start, amount * 3600, calendar)  # type: ignore[return-value]  # no pauses: never None
    local = start.astimezone(calendar.tz)
    clock, day, left = local.timetz().replace(tzinfo=None), local.date(), int(amount)
    idle = 0
    while left:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            left, idle = left - 1, 0
        else:
            idle += 1
            if idle > _SEARCH_DAYS:
                raise ValueError("the calendar has no working time (no work day, or holidays everywhere)")
    opens, closes = calendar.hours_on(day)
    clock = min(max(clock, opens), closes)
    return datetime.combine(day, clock, calendar.tz).astimezone(UTC)


def business_time_between(a: datetime, b: datetime, calendar: BusinessCalendar) -> timedelta:
    """Working time from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
    a, b = _utc(a), _utc(b)
    if b < a:
        return -business_time_between(b, a, calendar)
    total = timedelta()
    for p_start, p_end in _periods(a, calendar):
        if p_start >= b:
            break
        total += min(p_end, b) - max(p_start, a)
    return total


def _clean_pauses(pauses: Iterable[tuple[datetime, datetime | None]], start: datetime) -> list[tuple[datetime, datetime | None]]:
    """Sorted, merged, clipped to start at ``start`` or later; empty or inverted ones dropped."""
    spans: list[tuple[datetime, datetime | None]] = []
    for p_from, p_to in pauses:
        p_from = max(_utc(p_from), start)
        p_to = None if p_to is None else _utc(p_to)
        if p_to is not None and p_to <= p_from:
            continue
        spans.append((p_from, p_to))
    spans.sort(key=lambda span: span[0])
    merged: list[tuple[datetime, datetime | None]] = []
    for p_from, p_to in spans:
        if merged and (merged[-1][1] is None or p_from <= merged[-1][1]):
            last_from, last_to = merged[-1]
            merged[-1] = (last_from, None if (last_to is None or p_to is None) else max(last_to, p_to))
        else:
            merged.append((p_from, p_to))
    return merged


def _paused_time(pauses: Sequence[tuple[datetime, datetime | None]], until: datetime,
                 calendar: BusinessCalendar) -> timedelta | None:
    """Working time inside the pauses before ``until``; None if an open pause begins before it."""
    total = timedelta()
    for p_from, p_to in pauses:
        if p_from >= until:
            break
        if p_to is None:
            return None
        total += business_time_between(p_from, min(p_to, until), calendar)
    return total


def due_with_pauses(start: datetime, amount: float, unit: Unit | str, calendar: BusinessCalendar,
                    pauses: Iterable[tuple[datetime, datetime | None]] = ()) -> datetime | None:
    """``add_business_time`` with the clock stopped during ``pauses`` ((from, to) pairs; ``to``
    None = still paused). Returns None while an open pause that began before the due time lasts."""
    start = _utc(start)
    due = add_business_time(start, amount, unit, calendar)
    spans = _clean_pauses(pauses, next_working_moment(start, calendar))
    paused = _paused_time(spans, due, calendar)
    if paused is None:
        return None
    if not paused:
        return due
    return _walk(due, paused.total_seconds(), calendar, spans)


def risk_moment(start: datetime, due: datetime, calendar: BusinessCalendar,
                pauses: Iterable[tuple[datetime, datetime | None]] = (), share: float = AT_RISK_SHARE) -> datetime | None:
    """When a ticket enters "at risk": ``share`` (20 %) of its unpaused working time from start to
    due is left. Store it beside the due time so lists and the sweep compare columns only."""
    start, due = next_working_moment(start, calendar), _utc(due)
    spans = _clean_pauses(pauses, start)
    paused = _paused_time(spans, due, calendar)
    if paused is None:
        return None
    allowed = business_time_between(start, due, calendar) - paused
    return _walk(start, allowed.total_seconds() * (1 - share), calendar, spans)


def pauses_from_status_changes(changes: Iterable[tuple[datetime, str]], waiting: str = "waiting") -> list[Pause]:
    """The pauses of a ticket from its status history: ``(when, new status)`` pairs in time order
    (the STATUS / INFO_REQUESTED / RESOLVED events' ``created_at`` and ``new_value``). A pause
    opens when the status becomes ``waiting`` and closes at the next change to anything else;
    one still open ends with None."""
    pauses: list[Pause] = []
    opened: datetime | None = None
    for when, status in changes:
        if status == waiting and opened is None:
            opened = when
        elif status != waiting and opened is not None:
            pauses.append((opened, when))
            opened = None
    if opened is not None:
        pauses.append((opened, None))
    return pauses


def sla_state(now: datetime, due: datetime | None, at_risk: datetime | None) -> SlaState:
    """Due, at risk or overdue at ``now`` from the stored moments; no due time = paused."""
    if due is None:
        return SlaState.PAUSED
    now = _utc(now)
    if now >= _utc(due):
        return SlaState.OVERDUE
    if at_risk is not None and now >= _utc(at_risk):
        return SlaState.AT_RISK
    return SlaState.DUE
