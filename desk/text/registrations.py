"""An establishment's numbers (issue 20, point 1): the commercial registration (السجل التجاري)
and the unified national number of the establishment (الرقم الوطني الموحد للمنشأة, 700…).

Both are 10 digits, typed with Arabic-Indic or Western digits, spaces, dashes or invisible
bidi marks; stored as 10 ASCII digits.
"""
from __future__ import annotations

from desk.text.arabic import strip_invisible, to_ascii_digits

__all__ = ["InvalidRegistration", "parse_commercial_registration", "parse_unified_number", "ten_digits"]

_DASHES = str.maketrans("", "", "-\u2010\u2011\u2012\u2013\u2014\u2212")
_DIGITS = frozenset("0123456789")


class InvalidRegistration(ValueError):
    """``reason``: "chars" (not only digits), "length" (not 10 digits), "prefix" (a unified
    number that does not start with 7, a commercial registration that starts with 0)."""

    def __init__(self, reason: str, value: str = "") -> None:
        super().__init__(f"invalid establishment number ({reason}): {value!r}")
        self.reason = reason
        self.value = value


def _digits(raw: str | None) -> str:
    return "".join(to_ascii_digits(strip_invisible(raw or "")).translate(_DASHES).split())


def _ten(raw: str | None) -> str:
    digits = _digits(raw)
    if not set(digits) <= _DIGITS:
        raise InvalidRegistration("chars", raw or "")
    if len(digits) != 10:
        raise InvalidRegistration("length", raw or "")
    return digits


def parse_commercial_registration(raw: str | None) -> str:
    """A commercial registration number: 10 digits, the first not 0 (it is the city's code,
    1010… in Riyadh, 4030… in Jeddah)."""
    digits = _ten(raw)
    if digits[0] == "0":
        raise InvalidRegistration("prefix", raw or "")
    return digits


def parse_unified_number(raw: str | None) -> str:
    """The establishment's unified national number: 10 digits starting with 7 (700…)."""
    digits = _ten(raw)
    if digits[0] != "7":
        raise InvalidRegistration("prefix", raw or "")
    return digits


def ten_digits(raw: str | None) -> str | None:
    """The 10 ASCII digits a lookup was typed as (any digits, spaces, dashes), else None: a
    national ID, a commercial registration or a unified number is then looked up exactly."""
    digits = _digits(raw)
    return digits if len(digits) == 10 and set(digits) <= _DIGITS else None
