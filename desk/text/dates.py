"""Dates for display in Asia/Riyadh: Umm al-Qura Hijri and Gregorian, Arabic and English."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from hijridate import Gregorian

from desk.text.arabic import to_arabic_digits

__all__ = [
    "RIYADH",
    "to_riyadh",
    "today_riyadh",
    "riyadh_midnight",
    "hijri_date",
    "hijri_year",
    "hijri_month_name",
    "format_hijri",
    "format_gregorian",
    "format_both",
]

RIYADH = ZoneInfo("Asia/Riyadh")

HIJRI_MONTHS_AR = (
    "محرم", "صفر", "ربيع الأول", "ربيع الآخر", "جمادى الأولى", "جمادى الآخرة",
    "رجب", "شعبان", "رمضان", "شوال", "ذو القعدة", "ذو الحجة",
)
HIJRI_MONTHS_EN = (
    "Muharram", "Safar", "Rabi al-Awwal", "Rabi al-Thani", "Jumada al-Ula", "Jumada al-Akhirah",
    "Rajab", "Shaban", "Ramadan", "Shawwal", "Dhu al-Qadah", "Dhu al-Hijjah",
)

_CIVIL_EPOCH_ORDINAL = date(622, 7, 19).toordinal()  # 1 Muharram 1 AH (tabular, = Julian 16 July 622)


def _is_ar(locale: str) -> bool:
    return (locale or "").lower().startswith("ar")


def to_riyadh(dt: datetime) -> datetime:
    """Convert to Asia/Riyadh; a naive datetime is taken to be UTC."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(RIYADH)


def today_riyadh(now: datetime | None = None) -> date:
    """The day it is in Riyadh (``now`` or the clock's)."""
    return to_riyadh(now or datetime.now(UTC)).date()


def riyadh_midnight(day: date) -> datetime:
    """Riyadh midnight at the start of ``day``, as an aware datetime (compares with UTC columns)."""
    return datetime.combine(day, time(0, 0), tzinfo=RIYADH)


def _local_date(value: datetime | date) -> date:
    """Riyadh-local calendar date; a plain ``date`` is already a calendar date and is kept."""
    if isinstance(value, datetime):
        return to_riyadh(value).date()
    return value


def _tabular_hijri(d: date) -> tuple[int, int, int]:
    """Arithmetic (civil tabular, 30-year cycle) Hijri date; can differ from Umm al-Qura by a day or two."""
    days = d.toordinal() - _CIVIL_EPOCH_ORDINAL  # 0 on 1 Muharram 1 AH
    cycles, rest = divmod(days, 10631)
    year = 30 * cycles + 1
    while True:
        length = 355 if (11 * year + 14) % 30 < 11 else 354
        if rest < length:
            break
        rest -= length
        year += 1
    month = 1
    while True:
        length = 30 if month % 2 == 1 or (month == 12 and (11 * year + 14) % 30 < 11) else 29
        if rest < length:
            break
        rest -= length
        month += 1
    return year, month, rest + 1


def hijri_date(value: datetime | date) -> tuple[int, int, int] | None:
    """Umm al-Qura (year, month, day) of the Riyadh-local date, or None outside hijridate's range."""
    return _hijri_of_day(_local_date(value))


# A queue page shows a few distinct days many times over: each day's conversion and texts are
# computed once per process (a calendar day's Hijri date and its text never change).
@lru_cache(maxsize=8192)
def _hijri_of_day(local: date) -> tuple[int, int, int] | None:
    try:
        h = Gregorian(local.year, local.month, local.day).to_hijri()
    except (OverflowError, ValueError):
        return None
    return h.year, h.month, h.day


def hijri_year(dt: datetime | date) -> int:
    """Umm al-Qura Hijri year of the Riyadh-local date.

    Outside hijridate's range (1343–1500 AH, 1924-08-01..2077-11-16) this falls back to the
    arithmetic tabular calendar rather than raising, so it never fails for a real timestamp.
    """
    local = _local_date(dt)
    exact = hijri_date(local)
    return exact[0] if exact else _tabular_hijri(local)[0]


def hijri_month_name(month: int, locale: str = "ar") -> str:
    """Umm al-Qura month name (1 = Muharram … 12 = Dhu al-Hijjah); ValueError outside 1..12."""
    if not isinstance(month, int) or not 1 <= month <= 12:
        raise ValueError(f"hijri month must be 1..12, got {month!r}")
    return (HIJRI_MONTHS_AR if _is_ar(locale) else HIJRI_MONTHS_EN)[month - 1]


# Inside one date the spaces do not break, so a narrow column never splits "١٣ / ٠٦ /" from its year.
NBSP = "\u00a0"


def format_hijri(dt: datetime | date, locale: str = "ar") -> str:
    """"٢٦ / ١٠ / ١٤٤٦ هـ" (ar) or "26/10/1446 AH" (other locales); "" outside the Umm al-Qura range.

    The spaces inside the date are no-break spaces (NBSP)."""
    return _hijri_text(_local_date(dt), _is_ar(locale))


@lru_cache(maxsize=8192)
def _hijri_text(local: date, ar: bool) -> str:
    h = _hijri_of_day(local)
    if h is None:
        return ""
    year, month, day = h
    if ar:
        return to_arabic_digits(f"{day:02d} / {month:02d} / {year} هـ").replace(" ", NBSP)
    return f"{day:02d}/{month:02d}/{year}{NBSP}AH"


def format_gregorian(dt: datetime | date, locale: str = "ar") -> str:
    """"٢٤ / ٠٤ / ٢٠٢٥ م" (ar) or "24/04/2025" (other locales) of the Riyadh-local date (NBSP inside)."""
    return _gregorian_text(_local_date(dt), _is_ar(locale))


@lru_cache(maxsize=8192)
def _gregorian_text(d: date, ar: bool) -> str:
    if ar:
        return to_arabic_digits(f"{d.day:02d} / {d.month:02d} / {d.year:04d} م").replace(" ", NBSP)
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def format_both(dt: datetime | date, locale: str = "ar", with_time: bool = True) -> str:
    """Hijri and Gregorian together, plus 24h Riyadh time.

    ar: "٢٦ / ١٠ / ١٤٤٦ هـ الموافق ٢٤ / ٠٤ / ٢٠٢٥ م، ١٤:٠٥"; en: "26/10/1446 AH (24/04/2025) 14:05".
    Outside the Hijri range only the Gregorian part (and time) is shown. A plain ``date`` has no time.
    """
    ar = _is_ar(locale)
    hijri = format_hijri(dt, locale)
    greg = format_gregorian(dt, locale)
    if ar:
        text = f"{hijri} الموافق {greg}" if hijri else greg
    else:
        text = f"{hijri} ({greg})" if hijri else greg
    if with_time and isinstance(dt, datetime):
        clock = to_riyadh(dt).strftime("%H:%M")
        text = f"{text}، {to_arabic_digits(clock)}" if ar else f"{text} {clock}"
    return text
