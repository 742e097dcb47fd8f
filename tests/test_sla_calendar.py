"""The business calendar's due-time arithmetic (desk/sla/calendar.py): pure functions, no database.

Dates below are Riyadh-local; 2026-11-22 is a Sunday, 2026-11-26 a Thursday, 2026-11-27 a
Friday. Ramadan 1447 runs 2026-02-18 … 2026-03-19 (Umm al-Qura)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk.sla.calendar import (
    BusinessCalendar,
    SlaState,
    Unit,
    add_business_time,
    business_time_between,
    due_with_pauses,
    is_ramadan,
    is_working_time,
    next_working_moment,
    pauses_from_status_changes,
    risk_moment,
    sla_state,
    working_period,
)
from desk.text.dates import RIYADH

CAL = BusinessCalendar()  # Sunday–Thursday 08:00–16:00, no holidays
RAMADAN_CAL = BusinessCalendar(ramadan_start=time(10, 0), ramadan_end=time(15, 0))


def r(*args) -> datetime:
    """A Riyadh wall-clock time as an aware datetime (converted to UTC like the desk stores it)."""
    return datetime(*args, tzinfo=RIYADH).astimezone(UTC)


def local(moment: datetime) -> datetime:
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)  # UTC out
    return moment.astimezone(RIYADH).replace(tzinfo=None)


def due(start, amount, unit, cal=CAL, pauses=None):
    result = add_business_time(start, amount, unit, cal) if pauses is None else due_with_pauses(start, amount, unit, cal, pauses)
    return None if result is None else local(result)


# Working time -------------------------------------------------------------------------

def test_the_saudi_week_and_hours():
    assert [d.strftime("%a") for d in (date(2026, 11, 22) + timedelta(n) for n in range(7)) if CAL.is_working_day(d)] == \
        ["Sun", "Mon", "Tue", "Wed", "Thu"]
    assert is_working_time(r(2026, 11, 22, 8, 0), CAL)
    assert is_working_time(r(2026, 11, 22, 15, 59, 59), CAL)
    assert not is_working_time(r(2026, 11, 22, 16, 0), CAL)   # the end is not inside
    assert not is_working_time(r(2026, 11, 22, 7, 59), CAL)
    assert not is_working_time(r(2026, 11, 27, 10, 0), CAL)   # Friday
    assert not is_working_time(r(2026, 11, 28, 10, 0), CAL)   # Saturday
    assert working_period(date(2026, 11, 27), CAL) is None
    start, end = working_period(date(2026, 11, 22), CAL)
    assert (start, end) == (r(2026, 11, 22, 8), r(2026, 11, 22, 16)) and start.tzinfo == UTC


def test_next_working_moment():
    assert local(next_working_moment(r(2026, 11, 22, 9, 30), CAL)) == datetime(2026, 11, 22, 9, 30)
    assert local(next_working_moment(r(2026, 11, 22, 6, 0), CAL)) == datetime(2026, 11, 22, 8, 0)
    assert local(next_working_moment(r(2026, 11, 26, 16, 0), CAL)) == datetime(2026, 11, 29, 8, 0)  # Thu end → Sun
    assert local(next_working_moment(r(2026, 11, 27, 12, 0), CAL)) == datetime(2026, 11, 29, 8, 0)  # Friday
    # Late at night UTC is already the next day in Riyadh (UTC+3).
    assert local(next_working_moment(datetime(2026, 11, 25, 22, 0, tzinfo=UTC), CAL)) == datetime(2026, 11, 26, 8, 0)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        add_business_time(datetime(2026, 11, 22, 9), 1, Unit.HOURS, CAL)


def test_bad_targets_and_calendars_are_refused():
    with pytest.raises(ValueError):
        add_business_time(r(2026, 11, 22, 9), 0, Unit.HOURS, CAL)
    with pytest.raises(ValueError):
        add_business_time(r(2026, 11, 22, 9), -2, Unit.DAYS, CAL)
    with pytest.raises(ValueError):
        add_business_time(r(2026, 11, 22, 9), 1.5, Unit.DAYS, CAL)
    with pytest.raises(ValueError):
        BusinessCalendar(start=time(16), end=time(8))
    with pytest.raises(ValueError):
        BusinessCalendar(ramadan_start=time(10))
    with pytest.raises(ValueError):
        BusinessCalendar(holidays=((date(2026, 9, 24), date(2026, 9, 23)),))
    with pytest.raises(ValueError):
        add_business_time(r(2026, 11, 22, 9), 1, Unit.HOURS, BusinessCalendar(work_days=frozenset()))


# Business hours -----------------------------------------------------------------------

@pytest.mark.parametrize("start, hours, expected", [
    ((2026, 11, 22, 9, 0), 2, (2026, 11, 22, 11, 0)),       # inside one day
    ((2026, 11, 22, 8, 0), 8, (2026, 11, 22, 16, 0)),       # a whole day ends at its end, not next morning
    ((2026, 11, 22, 15, 0), 2, (2026, 11, 23, 9, 0)),       # overnight
    ((2026, 11, 26, 15, 59), 1, (2026, 11, 29, 8, 59)),     # Thursday 15:59: one minute, then Sunday
    ((2026, 11, 26, 15, 59), 8, (2026, 11, 29, 15, 59)),
    ((2026, 11, 27, 10, 0), 1, (2026, 11, 29, 9, 0)),       # Friday: counts from Sunday 08:00
    ((2026, 11, 28, 23, 0), 3, (2026, 11, 29, 11, 0)),      # Saturday night
    ((2026, 11, 22, 6, 0), 1, (2026, 11, 22, 9, 0)),        # before opening
    ((2026, 11, 22, 17, 0), 1, (2026, 11, 23, 9, 0)),       # after closing
    ((2026, 11, 22, 8, 0), 40, (2026, 11, 26, 16, 0)),      # a working week
    ((2026, 11, 22, 8, 0), 41, (2026, 11, 29, 9, 0)),
])
def test_business_hours(start, hours, expected):
    assert due(r(*start), hours, Unit.HOURS) == datetime(*expected)


# Business days ------------------------------------------------------------------------

@pytest.mark.parametrize("start, days, expected", [
    ((2026, 11, 22, 10, 0), 1, (2026, 11, 23, 10, 0)),      # same clock time, next working day
    ((2026, 11, 22, 10, 0), 5, (2026, 11, 29, 10, 0)),      # a week: over the Friday/Saturday weekend
    ((2026, 11, 26, 15, 59), 1, (2026, 11, 29, 15, 59)),    # created Thursday 15:59 → Sunday 15:59
    ((2026, 11, 26, 16, 0), 1, (2026, 11, 30, 8, 0)),       # Thursday at closing: starts Sunday 08:00
    ((2026, 11, 27, 11, 0), 1, (2026, 11, 30, 8, 0)),       # created Friday: starts Sunday 08:00
    ((2026, 11, 28, 11, 0), 10, (2026, 12, 13, 8, 0)),      # Saturday, ten days (≈ two weeks)
    ((2026, 11, 22, 7, 0), 2, (2026, 11, 24, 8, 0)),        # before opening
])
def test_business_days(start, days, expected):
    assert due(r(*start), days, Unit.DAYS) == datetime(*expected)


# Holidays -----------------------------------------------------------------------------

NATIONAL_DAY = BusinessCalendar(holidays=((date(2026, 9, 23), date(2026, 9, 23)),))      # a Wednesday
# Eid al-Adha 1447 off Tuesday 2026-05-26 … Sunday 2026-05-31: spans a weekend.
EID = BusinessCalendar(holidays=((date(2026, 5, 26), date(2026, 5, 31)),))


def test_a_one_day_holiday_is_skipped():
    assert due(r(2026, 9, 22, 10), 1, Unit.DAYS, NATIONAL_DAY) == datetime(2026, 9, 24, 10)
    assert due(r(2026, 9, 22, 15), 2, Unit.HOURS, NATIONAL_DAY) == datetime(2026, 9, 24, 9)
    assert due(r(2026, 9, 23, 10), 1, Unit.HOURS, NATIONAL_DAY) == datetime(2026, 9, 24, 9)  # created on it
    assert not is_working_time(r(2026, 9, 23, 10), NATIONAL_DAY)


def test_a_holiday_spanning_a_weekend():
    # Monday 25 May 10:00, 1 day → Monday 1 June 10:00 (Tue–Thu holiday, Fri–Sat weekend, Sun holiday).
    assert due(r(2026, 5, 25, 10), 1, Unit.DAYS, EID) == datetime(2026, 6, 1, 10)
    assert due(r(2026, 5, 25, 15), 2, Unit.HOURS, EID) == datetime(2026, 6, 1, 9)
    assert due(r(2026, 5, 28, 9), 3, Unit.HOURS, EID) == datetime(2026, 6, 1, 11)  # created inside
    assert business_time_between(r(2026, 5, 25, 8), r(2026, 6, 1, 16), EID) == timedelta(hours=16)


# Ramadan ------------------------------------------------------------------------------

def test_ramadan_is_umm_al_qura_month_nine():
    assert not is_ramadan(date(2026, 2, 17)) and is_ramadan(date(2026, 2, 18))
    assert is_ramadan(date(2026, 3, 19)) and not is_ramadan(date(2026, 3, 20))  # Eid al-Fitr 1447
    assert not is_ramadan(date(1900, 1, 1))  # outside hijridate's range: never


def test_ramadan_hours():
    assert not is_working_time(r(2026, 2, 22, 9, 0), RAMADAN_CAL)     # Sunday in Ramadan opens at 10:00
    assert is_working_time(r(2026, 2, 22, 10, 0), RAMADAN_CAL)
    assert not is_working_time(r(2026, 2, 22, 15, 30), RAMADAN_CAL)
    assert is_working_time(r(2026, 2, 22, 9, 0), CAL)                  # no Ramadan hours set: normal hours
    assert due(r(2026, 2, 22, 14), 2, Unit.HOURS, RAMADAN_CAL) == datetime(2026, 2, 23, 11)
    # The last day before Ramadan (Tuesday 17 Feb) keeps normal hours, the next day does not.
    assert due(r(2026, 2, 17, 15), 3, Unit.HOURS, RAMADAN_CAL) == datetime(2026, 2, 18, 12)
    # Business days clamp the clock time into the shorter hours: 08:30 → opening, 15:30 → closing.
    assert due(r(2026, 2, 17, 8, 30), 1, Unit.DAYS, RAMADAN_CAL) == datetime(2026, 2, 18, 10)
    assert due(r(2026, 2, 17, 15, 30), 1, Unit.DAYS, RAMADAN_CAL) == datetime(2026, 2, 18, 15)
    # Last day of Ramadan (Thursday 19 March) → the next working day has normal hours again.
    assert due(r(2026, 3, 19, 12), 1, Unit.DAYS, RAMADAN_CAL) == datetime(2026, 3, 22, 12)
    assert business_time_between(r(2026, 2, 22, 0), r(2026, 2, 23, 0), RAMADAN_CAL) == timedelta(hours=5)


# Time between -------------------------------------------------------------------------

def test_business_time_between():
    assert business_time_between(r(2026, 11, 26, 15), r(2026, 11, 29, 9), CAL) == timedelta(hours=2)
    assert business_time_between(r(2026, 11, 29, 9), r(2026, 11, 26, 15), CAL) == -timedelta(hours=2)
    assert business_time_between(r(2026, 11, 27, 9), r(2026, 11, 28, 9), CAL) == timedelta(0)
    assert business_time_between(r(2026, 11, 22, 8), r(2026, 11, 29, 8), CAL) == timedelta(hours=40)


# Pauses (waiting on the beneficiary) -------------------------------------------------

def test_a_pause_moves_the_due_time_by_the_working_time_paused():
    start = r(2026, 11, 22, 9)
    # Paused Sunday 10:00–12:00: two working hours → 4 hours due at 15:00 instead of 13:00.
    assert due(start, 4, Unit.HOURS, pauses=[(r(2026, 11, 22, 10), r(2026, 11, 22, 12))]) == datetime(2026, 11, 22, 15)
    # A pause over the weekend costs nothing.
    assert due(r(2026, 11, 26, 15), 2, Unit.HOURS, pauses=[(r(2026, 11, 26, 16), r(2026, 11, 29, 8))]) == \
        datetime(2026, 11, 29, 9)
    # Paused from Thursday 15:00 to Sunday 10:00: one hour Thursday + two Sunday.
    assert due(r(2026, 11, 26, 14), 2, Unit.HOURS, pauses=[(r(2026, 11, 26, 15), r(2026, 11, 29, 10))]) == \
        datetime(2026, 11, 29, 11)
    # Business days: a one-day target, paused a whole working day, ends a working day later.
    assert due(start, 1, Unit.DAYS, pauses=[(r(2026, 11, 22, 9), r(2026, 11, 23, 9))]) == datetime(2026, 11, 24, 9)


def test_pauses_after_the_due_time_or_overlapping_count_once():
    start = r(2026, 11, 22, 9)
    assert due(start, 2, Unit.HOURS, pauses=[(r(2026, 11, 23, 9), r(2026, 11, 23, 12))]) == datetime(2026, 11, 22, 11)
    overlapping = [(r(2026, 11, 22, 10), r(2026, 11, 22, 12)), (r(2026, 11, 22, 11), r(2026, 11, 22, 13))]
    assert due(start, 2, Unit.HOURS, pauses=overlapping) == datetime(2026, 11, 22, 14)
    # A pause that began before the start counts only from the start; an inverted one is ignored.
    assert due(start, 2, Unit.HOURS, pauses=[(r(2026, 11, 21, 9), r(2026, 11, 22, 10))]) == datetime(2026, 11, 22, 12)
    assert due(start, 2, Unit.HOURS, pauses=[(r(2026, 11, 22, 12), r(2026, 11, 22, 10))]) == datetime(2026, 11, 22, 11)
    # A second pause reached only because the first moved the due time later.
    chain = [(r(2026, 11, 22, 10), r(2026, 11, 22, 11)), (r(2026, 11, 22, 11, 30), r(2026, 11, 22, 13))]
    assert due(start, 2, Unit.HOURS, pauses=chain) == datetime(2026, 11, 22, 13, 30)


def test_an_open_pause_stops_the_clock():
    start = r(2026, 11, 22, 9)
    assert due(start, 2, Unit.HOURS, pauses=[(r(2026, 11, 22, 10), None)]) is None
    # … unless it began after the due time: the ticket was already late.
    assert due(start, 2, Unit.HOURS, pauses=[(r(2026, 11, 22, 12), None)]) == datetime(2026, 11, 22, 11)


def test_pauses_from_status_changes():
    t = [r(2026, 11, 22, h) for h in range(8, 15)]
    changes = [(t[0], "open"), (t[1], "waiting"), (t[2], "waiting"), (t[3], "open"), (t[4], "waiting"), (t[5], "resolved"),
               (t[6], "waiting")]
    assert pauses_from_status_changes(changes) == [(t[1], t[3]), (t[4], t[5]), (t[6], None)]
    assert pauses_from_status_changes([]) == []


# At risk and the state ----------------------------------------------------------------

def test_risk_moment_is_the_last_fifth():
    start = r(2026, 11, 22, 8)
    deadline = add_business_time(start, 5, Unit.DAYS, CAL)  # Sunday 29th 08:00 = 40 working hours
    # After 32 working hours: Wednesday's end (a moment equal in working time to Thursday 08:00).
    assert local(risk_moment(start, deadline, CAL)) == datetime(2026, 11, 25, 16)
    paused = [(r(2026, 11, 22, 8), r(2026, 11, 23, 8))]  # one working day paused
    later = due_with_pauses(start, 5, Unit.DAYS, CAL, paused)
    assert local(later) == datetime(2026, 11, 29, 16)  # eight working hours later
    assert local(risk_moment(start, later, CAL, paused)) == datetime(2026, 11, 26, 16)  # 32 unpaused hours


def test_sla_state():
    due_at, risk = r(2026, 11, 26, 8), r(2026, 11, 25, 8)
    assert sla_state(r(2026, 11, 24, 8), due_at, risk) is SlaState.DUE
    assert sla_state(r(2026, 11, 25, 8), due_at, risk) is SlaState.AT_RISK
    assert sla_state(r(2026, 11, 26, 8), due_at, risk) is SlaState.OVERDUE
    assert sla_state(r(2026, 11, 26, 8), None, None) is SlaState.PAUSED


# Properties ---------------------------------------------------------------------------

def _moments():
    return st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                        timezones=st.just(UTC))


@st.composite
def calendars(draw):
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    start_h = draw(st.integers(0, 22))
    end_h = draw(st.integers(start_h + 1, 23))
    ramadan = draw(st.booleans())
    r_start = draw(st.integers(0, 22)) if ramadan else None
    r_end = draw(st.integers(r_start + 1, 23)) if ramadan else None
    holidays = []
    for first in draw(st.lists(st.dates(date(2025, 1, 1), date(2028, 12, 31)), max_size=6)):
        holidays.append((first, first + timedelta(days=draw(st.integers(0, 10)))))
    return BusinessCalendar(work_days=days, start=time(start_h, draw(st.sampled_from([0, 30]))), end=time(end_h, 45),
                            ramadan_start=time(r_start) if ramadan else None, ramadan_end=time(r_end) if ramadan else None,
                            holidays=tuple(holidays))


def _at_working_time_or_period_end(moment: datetime, cal: BusinessCalendar) -> bool:
    if is_working_time(moment, cal):
        return True
    period = working_period(moment.astimezone(cal.tz).date(), cal)
    return period is not None and moment == period[1]


@st.composite
def pause_lists(draw, start):
    pauses = []
    for _ in range(draw(st.integers(0, 4))):
        begin = start + timedelta(minutes=draw(st.integers(-600, 60 * 24 * 30)))
        pauses.append((begin, begin + timedelta(minutes=draw(st.integers(1, 60 * 24 * 5)))))
    return pauses


PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(cal=calendars(), start=_moments(), amount=st.integers(1, 60), unit=st.sampled_from(list(Unit)), data=st.data())
def test_due_times_are_in_working_time(cal, start, amount, unit, data):
    result = add_business_time(start, amount, unit, cal)
    assert result >= start and result.tzinfo == UTC
    assert _at_working_time_or_period_end(result, cal)
    paused = due_with_pauses(start, amount, unit, cal, data.draw(pause_lists(start)))
    assert paused is not None and paused >= result
    assert _at_working_time_or_period_end(paused, cal)
    risk = risk_moment(start, paused, cal, [])
    assert risk is not None and next_working_moment(start, cal) <= risk <= paused


@PROPS
@given(cal=calendars(), start=_moments(), amount=st.integers(1, 40), unit=st.sampled_from(list(Unit)), data=st.data())
def test_due_times_are_monotonic_in_the_target(cal, start, amount, unit, data):
    pauses = data.draw(pause_lists(start))
    assert add_business_time(start, amount, unit, cal) <= add_business_time(start, amount + 1, unit, cal)
    if unit is Unit.DAYS:
        assert add_business_time(start, amount, unit, cal) < add_business_time(start, amount + 1, unit, cal)
    assert due_with_pauses(start, amount, unit, cal, pauses) <= due_with_pauses(start, amount + 1, unit, cal, pauses)


@PROPS
@given(cal=calendars(), start=_moments(), hours=st.integers(1, 80), data=st.data())
def test_business_hours_are_exactly_the_working_time_between(cal, start, hours, data):
    result = add_business_time(start, hours, Unit.HOURS, cal)
    assert business_time_between(start, result, cal) == timedelta(hours=hours)
    pauses = data.draw(pause_lists(start))
    paused = due_with_pauses(start, hours, Unit.HOURS, cal, pauses)
    # Unpaused working time from start to due is the target.
    lost = timedelta()
    spans = sorted((max(a, start), min(b, paused)) for a, b in pauses if min(b, paused) > max(a, start))
    merged = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    for a, b in merged:
        lost += business_time_between(a, b, cal)
    assert business_time_between(start, paused, cal) - lost == timedelta(hours=hours)


@PROPS
@given(day=st.dates(date(2025, 1, 1), date(2028, 12, 31)), minute=st.integers(0, 8 * 60 - 1), amount=st.integers(1, 30))
def test_business_days_keep_the_clock_time_in_a_plain_week(day, minute, amount):
    while not CAL.is_working_day(day):
        day += timedelta(days=1)
    start = r(day.year, day.month, day.day, 8) + timedelta(minutes=minute)
    assert is_working_time(start, CAL)
    result = add_business_time(start, amount, Unit.DAYS, CAL)
    assert local(result).time() == local(start).time()
    days = [start.astimezone(RIYADH).date() + timedelta(n) for n in range(1, (local(result).date() - local(start).date()).days + 1)]
    assert sum(CAL.is_working_day(d) for d in days) == amount
