"""The business calendar and the service-level targets in the database.

Plain functions of (session, actor, data). Every public function that writes is one
transaction; a refused change raises ValidationFailed (field → messages) and writes nothing.
The arithmetic lives in desk/sla/calendar.py; ``load_policy`` gives the next layers (intake,
queue, the sweep) everything they need in three queries:

    policy = load_policy(session)
    times = policy.due_times(ticket.kind, ticket.priority, ticket.created_at, pauses)
    times.resolution_due, times.resolution_at_risk, times.first_response_due, …
"""
from __future__ import annotations

import calendar as gregorian_calendar
import hashlib
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _nl
from hijridate import Gregorian, Hijri
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.errors import NotFound, ValidationFailed, add_error
from desk.models import Holiday, Kind, Priority, ServiceTarget, User, WorkingTime, utcnow
from desk.permissions import Action, require
from desk.sla.calendar import (
    DEFAULT_WORK_DAYS,
    SUNDAY_FIRST,
    BusinessCalendar,
    Unit,
    due_with_pauses,
    is_ramadan,
    risk_moment,
)
from desk.text import hijri_date, strip_invisible, to_ascii_digits
from desk.transaction import commit

Errors = dict[str, list[str]]
GREGORIAN, HIJRI = "gregorian", "hijri"
MAX_HOLIDAY_DAYS = 60        # a longer "holiday" is a typing mistake (a wrong year or month)
MAX_AMOUNT = {Unit.HOURS: 2000, Unit.DAYS: 250}  # about a working year
WORKING_TIME_ID = 1


# Loading the calendar and the targets -------------------------------------------------

def working_time(session: Session) -> WorkingTime:
    """The saved settings, or (not added to the session) the defaults: Sunday–Thursday 08:00–16:00,
    in Ramadan 10:00–16:00."""
    row = session.get(WorkingTime, WORKING_TIME_ID)
    if row is None:
        row = WorkingTime(id=WORKING_TIME_ID, work_days=sorted(DEFAULT_WORK_DAYS), day_start=time(8, 0),
                          day_end=time(16, 0), ramadan_start=DEFAULT_RAMADAN_HOURS[0],
                          ramadan_end=DEFAULT_RAMADAN_HOURS[1])
    return row


def load_calendar(session: Session) -> BusinessCalendar:
    """The calendar value object: one query for the working time, one for the holidays."""
    row = working_time(session)
    spans = tuple((first, last) for first, last in session.execute(select(Holiday.first_day, Holiday.last_day).order_by(Holiday.first_day)))
    return BusinessCalendar(work_days=frozenset(row.work_days), start=row.day_start, end=row.day_end,
                            ramadan_start=row.ramadan_start, ramadan_end=row.ramadan_end, holidays=spans)


@dataclass(frozen=True)
class Target:
    """One service level: ``first_response`` and ``resolution`` as (amount, unit) or None."""

    kind: str
    priority: int | None
    first_response: tuple[int, Unit] | None
    resolution: tuple[int, Unit] | None


@dataclass(frozen=True)
class DueTimes:
    """What to store on a ticket. A ``*_due`` of None: no target for that step, or the clock is
    stopped by a pause still open. ``*_at_risk``: the moment the last 20 % of the time begins."""

    first_response_due: datetime | None = None
    first_response_at_risk: datetime | None = None
    resolution_due: datetime | None = None
    resolution_at_risk: datetime | None = None


def _pair(amount: int | None, unit: str | None) -> tuple[int, Unit] | None:
    return (amount, Unit(unit)) if amount and unit else None


@dataclass(frozen=True)
class SlaPolicy:
    calendar: BusinessCalendar
    targets: dict[tuple[str, int | None], Target] = field(default_factory=dict)

    def target(self, kind: str, priority: int | None) -> Target | None:
        """The kind's target for this priority, else the kind's "any priority" target, else None."""
        return self.targets.get((str(kind), None if priority is None else int(priority))) or self.targets.get((str(kind), None))

    def due(self, start: datetime, target: tuple[int, Unit] | None,
            pauses: Iterable[tuple[datetime, datetime | None]] = ()) -> tuple[datetime | None, datetime | None]:
        """(due, at risk) of one target counted from ``start``, the clock stopped in ``pauses``."""
        if target is None:
            return None, None
        pauses = list(pauses)
        due = due_with_pauses(start, target[0], target[1], self.calendar, pauses)
        if due is None:
            return None, None
        return due, risk_moment(start, due, self.calendar, pauses)

    def fingerprint(self) -> str:
        """A digest of everything that decides a due time: the work week and hours, Ramadan
        hours, the holidays and every target. Equal policies, equal fingerprints."""
        c = self.calendar
        targets = sorted((kind, -1 if priority is None else priority, repr(t.first_response), repr(t.resolution))
                         for (kind, priority), t in self.targets.items())
        canonical = repr((sorted(c.work_days), c.start, c.end, c.ramadan_start, c.ramadan_end,
                          sorted(c.holidays), targets))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def due_times(self, kind: str, priority: int | None, start: datetime,
                  pauses: Iterable[tuple[datetime, datetime | None]] = ()) -> DueTimes:
        target = self.target(kind, priority)
        if target is None:
            return DueTimes()
        pauses = list(pauses)
        first, first_risk = self.due(start, target.first_response, pauses)
        resolution, resolution_risk = self.due(start, target.resolution, pauses)
        return DueTimes(first, first_risk, resolution, resolution_risk)


POLICY_KEY = "desk.sla.policy"  # session.info: the policy held for a batch (one_policy)


@contextmanager
def one_policy(session: Session) -> Iterator[SlaPolicy]:
    """Within the block every ``load_policy(session)`` answers the policy loaded once on entry:
    a batch of changes (the queue's bulk actions) computes every ticket's due times with it
    instead of reading the calendar and the targets again for each ticket."""
    session.info[POLICY_KEY] = policy = load_policy(session)
    try:
        yield policy
    finally:
        session.info.pop(POLICY_KEY, None)


def load_policy(session: Session) -> SlaPolicy:
    """The calendar and every target (three queries). Load once per request or sweep run
    (within ``one_policy``: the batch's, not read again)."""
    held = session.info.get(POLICY_KEY)
    if held is not None:
        return held
    targets = {}
    for row in session.scalars(select(ServiceTarget)):
        targets[(row.kind, row.priority)] = Target(
            row.kind, row.priority, _pair(row.first_response_amount, row.first_response_unit),
            _pair(row.resolution_amount, row.resolution_unit))
    return SlaPolicy(load_calendar(session), targets)


# Default targets ----------------------------------------------------------------------

# The policies: complaints handled fast, inquiries answered, support requests decided by the
# research committee "within about two weeks" (10 business days).
DEFAULT_TARGETS = (
    (Kind.COMPLAINT, (1, Unit.DAYS), (5, Unit.DAYS)),
    (Kind.INQUIRY, (1, Unit.DAYS), (2, Unit.DAYS)),
    (Kind.SUPPORT, None, (10, Unit.DAYS)),
)


def ensure_default_targets(session: Session) -> int:
    """Add the policy's default "any priority" targets that are missing (an admin's own values
    are kept). Returns how many were added; commits."""
    existing = set(session.scalars(select(ServiceTarget.kind).where(ServiceTarget.priority.is_(None))))
    added = 0
    for kind, first, resolution in DEFAULT_TARGETS:
        if kind.value in existing:
            continue
        session.add(ServiceTarget(
            kind=kind.value, priority=None,
            first_response_amount=first[0] if first else None, first_response_unit=first[1].value if first else None,
            resolution_amount=resolution[0] if resolution else None,
            resolution_unit=resolution[1].value if resolution else None))
        added += 1
    commit(session)
    return added


DEFAULT_RAMADAN_HOURS = (time(10, 0), time(16, 0))  # Labour Law art. 98: six hours a day in Ramadan
REMIND_BEFORE = timedelta(days=30)                   # supervisors hear of an unconfirmed holiday


@dataclass(frozen=True)
class OfficialHoliday:
    key: str            # "eid_fitr:1447", "founding_day:2026": added once per installation
    name_ar: str
    name_en: str
    first: date
    last: date
    entered_as: str


def shift_off_weekend(day: date) -> date:
    """National Day and Founding Day on a Friday are taken the Thursday before, on a Saturday
    the Sunday after (HRSD's practice, e.g. Sunday 23 February 2025)."""
    if day.weekday() == 4:
        return day - timedelta(days=1)
    if day.weekday() == 5:
        return day + timedelta(days=1)
    return day


def official_holidays(hijri_year: int) -> list[OfficialHoliday]:
    """The Saudi official holidays of the private and non-profit sector in one Umm al-Qura year
    (Labour Law implementing regulation art. 24): Eid al-Fitr four days from the day after
    29 Ramadan (so a 30-day Ramadan does not push it a day late), Eid al-Adha four days from
    the Day of Arafah (9 Dhu al-Hijjah), and National Day (23 September) and Founding Day
    (22 February) of the Gregorian years the Hijri year touches, moved off the weekend. The
    Eids hang on the moon sighting: they are proposals until the ministry announces them."""
    fitr = Hijri(hijri_year, 9, 29).to_gregorian() + timedelta(days=1)
    arafah = Hijri(hijri_year, 12, 9).to_gregorian()
    days = [OfficialHoliday(f"eid_fitr:{hijri_year}", "عيد الفطر", "Eid al-Fitr", fitr, fitr + timedelta(days=3), HIJRI),
            OfficialHoliday(f"eid_adha:{hijri_year}", "عيد الأضحى", "Eid al-Adha", arafah, arafah + timedelta(days=3), HIJRI)]
    first_day = Hijri(hijri_year, 1, 1).to_gregorian()
    last_day = Hijri(hijri_year, 12, Hijri(hijri_year, 12, 1).month_length()).to_gregorian()
    for year in range(first_day.year, last_day.year + 1):
        for key, name_ar, name_en, month, day in (("founding_day", "يوم التأسيس", "Founding Day", 2, 22),
                                                  ("national_day", "اليوم الوطني", "National Day", 9, 23)):
            official = date(year, month, day)
            if first_day <= official <= last_day:
                taken = shift_off_weekend(official)
                days.append(OfficialHoliday(f"{key}:{year}", name_ar, name_en, taken, taken, GREGORIAN))
    return sorted(days, key=lambda d: d.first)


def ensure_official_holidays(session: Session, today: date | None = None) -> int:
    """Add, as *proposed*, the official holidays of the current and the next Hijri year that
    were never added (by key) and do not overlap a holiday already entered. Returns how many
    were added; commits. Run by ``flask desk init``, ``desk demo`` and every ``sla-sweep``."""
    from desk.text import today_riyadh
    current = Gregorian.fromdate(today or today_riyadh()).to_hijri().year
    added = 0
    for hijri_year in (current, current + 1):
        for official in official_holidays(hijri_year):
            if session.scalar(select(Holiday.id).where(Holiday.official_key == official.key)) is not None:
                continue
            clash = session.scalar(select(Holiday.id).where(Holiday.first_day <= official.last,
                                                            Holiday.last_day >= official.first))
            if clash is None:
                session.add(Holiday(name_ar=official.name_ar, name_en=official.name_en, first_day=official.first,
                                    last_day=official.last, entered_as=official.entered_as, confirmed_at=None,
                                    official_key=official.key))
                session.flush()
                added += 1
    commit(session)
    return added


def ensure_ramadan_hours(session: Session) -> bool:
    """Save the default working time with six Ramadan hours (10:00–16:00) when nothing was
    saved yet. True when it wrote the row; commits."""
    if session.get(WorkingTime, WORKING_TIME_ID) is not None:
        return False
    session.add(working_time(session))
    commit(session)
    return True


def unconfirmed_soon(session: Session, today: date) -> list[Holiday]:
    """Proposed holidays starting within a month that nobody was reminded of yet."""
    return list(session.scalars(select(Holiday).where(
        Holiday.confirmed_at.is_(None), Holiday.reminded_at.is_(None), Holiday.first_day >= today,
        Holiday.first_day <= today + REMIND_BEFORE).order_by(Holiday.first_day)))


# Parsing what was typed ---------------------------------------------------------------

_TIME_RE = re.compile(r"^([0-9]{1,2})[:.٫]([0-9]{2})$")
_DATE_RE = re.compile(r"^([0-9]{1,4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,4})$")


def _clean(text: str | None) -> str:
    return to_ascii_digits(strip_invisible(text or "")).strip()


def parse_clock(text: str | None) -> time:
    """"08:00", "8:30", "٠٨:٠٠" → time; ValueError otherwise."""
    match = _TIME_RE.match(_clean(text))
    if not match:
        raise ValueError(text)
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24 and minute == 0:
        return time(23, 59)  # "until midnight"
    return time(hour, minute)


def parse_day(text: str | None, entered_as: str) -> date:
    """A typed date as a Gregorian date. Year first ("1447-10-01") or day first ("01/10/1447");
    Hijri dates are Umm al-Qura, converted with hijridate. ValueError when not a real date."""
    match = _DATE_RE.match(_clean(text))
    if not match:
        raise ValueError(text)
    a, b, c = match.groups()
    year, month, day = (int(a), int(b), int(c)) if len(a) == 4 else (int(c), int(b), int(a))
    if entered_as == HIJRI:
        try:
            return Hijri(year, month, day, validate=True).to_gregorian()
        except (OverflowError, ValueError) as error:
            raise ValueError(text) from error
    return date(year, month, day)


def format_day(day: date, entered_as: str) -> str:
    """The inverse of ``parse_day`` (year first), for filling the form."""
    if entered_as == HIJRI:
        h = Gregorian(day.year, day.month, day.day).to_hijri()
        return f"{h.year:04d}-{h.month:02d}-{h.day:02d}"
    return day.isoformat()


# Working time -------------------------------------------------------------------------

@dataclass
class WorkingTimeData:
    work_days: list[str] = field(default_factory=list)   # weekday numbers as typed
    day_start: str = ""
    day_end: str = ""
    ramadan_start: str = ""
    ramadan_end: str = ""


def _hours(errors: Errors, data: WorkingTimeData, start_name: str, end_name: str, optional: bool):
    typed = {name: (getattr(data, name) or "").strip() for name in (start_name, end_name)}
    if optional and not any(typed.values()):
        return None, None
    parsed = {}
    for name, text in typed.items():
        if not text:
            add_error(errors, name, _l("Enter a time, e.g. 08:00."))
            continue
        try:
            parsed[name] = parse_clock(text)
        except ValueError:
            add_error(errors, name, _l("Enter the time as hours and minutes, e.g. 08:00 or 15:30."))
    start, end = parsed.get(start_name), parsed.get(end_name)
    if start is not None and end is not None and end <= start:
        add_error(errors, end_name, _l("The working hours must end after they start."))
    return start, end


def save_working_time(session: Session, actor: User, data: WorkingTimeData) -> WorkingTime:
    require(actor, Action.ADMIN_MANAGE)
    errors: Errors = {}
    days = set()
    for value in data.work_days:
        if str(value) not in {str(n) for n in range(7)}:
            add_error(errors, "work_days", _l("Choose only from the days listed."))
            break
        days.add(int(value))
    if not days and "work_days" not in errors:
        add_error(errors, "work_days", _l("Choose at least one working day."))
    day_start, day_end = _hours(errors, data, "day_start", "day_end", optional=False)
    ramadan_start, ramadan_end = _hours(errors, data, "ramadan_start", "ramadan_end", optional=True)
    if errors:
        raise ValidationFailed(errors)
    row = working_time(session)
    if row not in session:
        session.add(row)
    row.work_days = [d for d in SUNDAY_FIRST if d in days]
    row.day_start, row.day_end = day_start, day_end
    row.ramadan_start, row.ramadan_end = ramadan_start, ramadan_end
    row.updated_at, row.updated_by_id = utcnow(), actor.id
    commit(session)
    return row


# Holidays -----------------------------------------------------------------------------

@dataclass
class HolidayData:
    name_ar: str = ""
    name_en: str = ""
    entered_as: str = GREGORIAN
    first_day: str = ""
    last_day: str = ""
    confirmed: bool = True   # the dates are the announced ones (else: proposed, to confirm)


def holidays(session: Session) -> list[Holiday]:
    return list(session.scalars(select(Holiday).order_by(Holiday.first_day.desc(), Holiday.id)))


def get_holiday(session: Session, actor: User, holiday_id: int) -> Holiday:
    require(actor, Action.ADMIN_MANAGE)
    holiday = session.get(Holiday, holiday_id)
    if holiday is None:
        raise NotFound()
    return holiday


def _day(errors: Errors, name: str, text: str, entered_as: str) -> date | None:
    if not (text or "").strip():
        add_error(errors, name, _l("Enter the date."))
        return None
    try:
        return parse_day(text, entered_as)
    except ValueError:
        if entered_as == HIJRI:
            add_error(errors, name, _l("Enter a real Hijri (Umm al-Qura) date as year-month-day, e.g. 1447-10-01."))
        else:
            add_error(errors, name, _l("Enter a real Gregorian date as year-month-day, e.g. 2026-09-23."))
        return None


def save_holiday(session: Session, actor: User, data: HolidayData, holiday: Holiday | None = None) -> Holiday:
    """Create (``holiday`` None) or change a holiday. Refused: empty names, dates that are not
    real, a last day before the first, more than 60 days, or days another holiday already has."""
    require(actor, Action.ADMIN_MANAGE)
    errors: Errors = {}
    name_ar, name_en = (data.name_ar or "").strip(), (data.name_en or "").strip()
    if not name_ar:
        add_error(errors, "name_ar", _l("Enter the Arabic name."))
    if not name_en:
        add_error(errors, "name_en", _l("Enter the English name."))
    entered_as = data.entered_as if data.entered_as in (GREGORIAN, HIJRI) else None
    first: date | None = None
    last: date | None = None
    if entered_as is None:
        add_error(errors, "entered_as", _l("Choose Hijri or Gregorian."))
    else:
        first = _day(errors, "first_day", data.first_day, entered_as)
        last = _day(errors, "last_day", data.last_day, entered_as)
        if first and last:
            if last < first:
                add_error(errors, "last_day", _l("The last day cannot be before the first day."))
            elif (last - first).days + 1 > MAX_HOLIDAY_DAYS:
                add_error(errors, "last_day", _nl("A holiday is at most %(num)s day. Check the year and the month.",
                                                     "A holiday is at most %(num)s days. Check the year and the month.", MAX_HOLIDAY_DAYS))
            else:
                clash = session.scalars(select(Holiday).where(
                    Holiday.first_day <= last, Holiday.last_day >= first,
                    Holiday.id != (holiday.id if holiday is not None else -1)).order_by(Holiday.first_day)).first()
                if clash is not None:
                    add_error(errors, "first_day", _l("These days overlap the holiday “%(name)s” (%(first)s – %(last)s).",
                                                 name=clash.name_ar + " / " + clash.name_en,
                                                 first=clash.first_day.isoformat(), last=clash.last_day.isoformat()))
    if errors or entered_as is None or first is None or last is None:  # (each None has its error)
        raise ValidationFailed(errors)
    if holiday is None:
        holiday = Holiday()
        session.add(holiday)
    holiday.name_ar, holiday.name_en, holiday.entered_as = name_ar[:120], name_en[:120], entered_as
    holiday.first_day, holiday.last_day = first, last
    holiday.updated_at, holiday.updated_by_id = utcnow(), actor.id
    if not data.confirmed:
        holiday.confirmed_at = None
    elif holiday.confirmed_at is None:
        holiday.confirmed_at = utcnow()
    session.flush()
    commit(session)
    return holiday


def confirm_holiday(session: Session, actor: User, holiday: Holiday) -> Holiday:
    """An admin confirms a proposed holiday's dates as the ministry announced them."""
    require(actor, Action.ADMIN_MANAGE)
    holiday.confirmed_at = utcnow()
    holiday.updated_at, holiday.updated_by_id = utcnow(), actor.id
    commit(session)
    return holiday


def delete_holiday(session: Session, actor: User, holiday: Holiday) -> None:
    require(actor, Action.ADMIN_MANAGE)
    session.delete(holiday)
    commit(session)


# Service-level targets ----------------------------------------------------------------

@dataclass
class TargetData:
    kind: str = ""
    priority: str = ""            # "" = any priority
    first_response_amount: str = ""
    first_response_unit: str = ""
    resolution_amount: str = ""
    resolution_unit: str = ""


def targets(session: Session) -> list[ServiceTarget]:
    kinds = [k.value for k in Kind]
    rows = list(session.scalars(select(ServiceTarget)))
    return sorted(rows, key=lambda t: (kinds.index(t.kind) if t.kind in kinds else 99, t.priority or 0))


def get_target(session: Session, actor: User, target_id: int) -> ServiceTarget:
    require(actor, Action.ADMIN_MANAGE)
    target = session.get(ServiceTarget, target_id)
    if target is None:
        raise NotFound()
    return target


def _amount(errors: Errors, prefix: str, data: TargetData) -> tuple[int | None, str | None]:
    typed = _clean(getattr(data, f"{prefix}_amount"))
    unit = getattr(data, f"{prefix}_unit") or ""
    if not typed:
        return None, None
    try:
        amount = int(typed)
    except ValueError:
        add_error(errors, f"{prefix}_amount", _l("Enter a whole number."))
        return None, None
    if amount <= 0:
        add_error(errors, f"{prefix}_amount", _l("A target must be greater than zero."))
        return None, None
    if unit not in set(Unit):
        add_error(errors, f"{prefix}_unit", _l("Choose business hours or business days."))
        return None, None
    if amount > MAX_AMOUNT[Unit(unit)]:
        add_error(errors, f"{prefix}_amount", _l("At most %(n)s.", n=MAX_AMOUNT[Unit(unit)]))
        return None, None
    return amount, unit


def save_target(session: Session, actor: User, data: TargetData, target: ServiceTarget | None = None) -> ServiceTarget:
    """Create or change the target of a kind and priority. Refused: an unknown kind or priority,
    an amount of zero or less, no target at all, or a second row for the same kind and priority."""
    require(actor, Action.ADMIN_MANAGE)
    errors: Errors = {}
    kind = data.kind if data.kind in set(Kind) else None
    if kind is None:
        add_error(errors, "kind", _l("Choose the kind of request."))
    priority: int | None = None
    if data.priority:
        if data.priority not in {str(p.value) for p in Priority}:
            add_error(errors, "priority", _l("Choose a priority from the list."))
        else:
            priority = int(data.priority)
    first = _amount(errors, "first_response", data)
    resolution = _amount(errors, "resolution", data)
    if not errors and first[0] is None and resolution[0] is None:
        add_error(errors, "first_response_amount", _l("Enter a first-response target, a resolution target or both."))
    if kind is not None and "priority" not in errors:
        same = select(ServiceTarget.id).where(ServiceTarget.kind == kind,
                                              ServiceTarget.priority.is_(None) if priority is None else ServiceTarget.priority == priority)
        if target is not None:
            same = same.where(ServiceTarget.id != target.id)
        if session.scalar(same) is not None:
            add_error(errors, "priority", _l("This kind of request already has a target for this priority: edit that one."))
    if errors or kind is None:  # (a None kind has its error)
        raise ValidationFailed(errors)
    if target is None:
        target = ServiceTarget()
        session.add(target)
    target.kind, target.priority = kind, priority
    target.first_response_amount, target.first_response_unit = first
    target.resolution_amount, target.resolution_unit = resolution
    target.updated_at, target.updated_by_id = utcnow(), actor.id
    commit(session)
    return target


def delete_target(session: Session, actor: User, target: ServiceTarget) -> None:
    require(actor, Action.ADMIN_MANAGE)
    session.delete(target)
    commit(session)


# The month in both calendars ----------------------------------------------------------

@dataclass(frozen=True)
class DayCell:
    day: date
    hijri: tuple[int, int, int] | None
    in_month: bool
    working: bool
    weekend: bool
    ramadan: bool
    holidays: tuple[Holiday, ...]


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    weeks: list[list[DayCell]]
    hijri_months: list[tuple[int, int]]   # (year, month) of the Hijri months the month touches
    previous: str
    next: str
    holidays: list[Holiday]


def parse_month(text: str | None, today: date) -> tuple[int, int]:
    """"2026-03" → (2026, 3); anything else → today's month."""
    match = re.match(r"^([0-9]{4})-([0-9]{1,2})$", _clean(text))
    if match and 1 <= int(match.group(2)) <= 12 and 1900 <= int(match.group(1)) <= 2100:
        return int(match.group(1)), int(match.group(2))
    return today.year, today.month


def month_view(session: Session, year: int, month: int) -> Month:
    """Weeks of a Gregorian month, Sunday first, each day with its Umm al-Qura date, whether it is
    worked, in Ramadan, and the holidays on it (three queries)."""
    calendar = load_calendar(session)
    first = date(year, month, 1)
    last = date(year, month, gregorian_calendar.monthrange(year, month)[1])
    grid_start = first - timedelta(days=(first.weekday() + 1) % 7)  # back to Sunday
    grid_end = last + timedelta(days=(5 - last.weekday()) % 7)        # on to Saturday
    on_screen = list(session.scalars(select(Holiday).where(Holiday.first_day <= grid_end, Holiday.last_day >= grid_start)
                                     .order_by(Holiday.first_day)))
    weeks: list[list[DayCell]] = []
    hijri_months: list[tuple[int, int]] = []
    day = grid_start
    while day <= grid_end:
        week = []
        for _ in range(7):
            h = hijri_date(day)
            if h and first <= day <= last and (h[0], h[1]) not in hijri_months:
                hijri_months.append((h[0], h[1]))
            week.append(DayCell(
                day=day, hijri=h, in_month=first <= day <= last, working=calendar.is_working_day(day),
                weekend=day.weekday() not in calendar.work_days, ramadan=is_ramadan(day),
                holidays=tuple(x for x in on_screen if x.first_day <= day <= x.last_day)))
            day += timedelta(days=1)
        weeks.append(week)
    previous = date(year - 1, 12, 1) if month == 1 else date(year, month - 1, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Month(year, month, weeks, hijri_months, f"{previous:%Y-%m}", f"{following:%Y-%m}",
                 [x for x in on_screen if x.first_day <= last and x.last_day >= first])
