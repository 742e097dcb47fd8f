"""Phone numbers: parse to E.164 (default region Saudi Arabia) and mask for display."""
from __future__ import annotations

import re

import phonenumbers

from desk.text.arabic import strip_invisible, to_ascii_digits

__all__ = ["InvalidPhone", "parse_phone", "parse_mobile", "is_mobile", "mask_phone"]

DEFAULT_REGION = "SA"
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—().]+")
_SHAPE = re.compile(r"\+?[0-9]+")
MASK = "•••••"
_SAUDI_E164 = re.compile(r"\+966[0-9]{8,9}")


class InvalidPhone(ValueError):
    """Raised by :func:`parse_phone`; ``reason`` is "empty", "invalid" or (``parse_mobile``)
    "not_mobile"."""

    def __init__(self, reason: str, value: str = "") -> None:
        super().__init__(f"invalid phone ({reason}): {value!r}")
        self.reason = reason
        self.value = value


def parse_phone(s: str) -> str:
    """Return the E.164 form ("+966501234567") of a typed phone number.

    Accepts ASCII/Arabic-Indic digits, spaces, dashes, dots and parentheses; Saudi national
    forms (05…, 5…, 011…), 966…, +966…, 00966…. Numbers written with + or 00 may belong to any
    country phonenumbers considers valid; anything else must be a valid Saudi number.
    """
    raw = s if isinstance(s, str) else ""
    compact = _SEPARATORS.sub("", to_ascii_digits(strip_invisible(raw))).replace("＋", "+")
    if not compact:
        raise InvalidPhone("empty", raw)
    if not _SHAPE.fullmatch(compact):
        raise InvalidPhone("invalid", raw)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    try:
        number = phonenumbers.parse(compact, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("invalid", raw) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("invalid", raw)
    if not compact.startswith("+") and phonenumbers.region_code_for_number(number) != DEFAULT_REGION:
        raise InvalidPhone("invalid", raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# What can receive the SMS and WhatsApp messages the desk sends. FIXED_LINE_OR_MOBILE: countries
# (the United States, Canada…) whose numbering does not tell the two apart.
_MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def parse_mobile(s: str) -> str:
    """``parse_phone``, refusing what cannot receive an SMS: a Saudi landline (011…), a unified
    number (920…), a toll-free number (800…), a foreign landline. InvalidPhone("not_mobile")."""
    e164 = parse_phone(s)
    if not is_mobile(e164):
        raise InvalidPhone("not_mobile", s)
    return e164


def is_mobile(e164: str | None) -> bool:
    """True for a stored number (E.164) that is a mobile one; False for a landline, a unified or
    toll-free number, or what does not parse (data recorded before the desk told them apart)."""
    if not e164:
        return False
    try:
        number = phonenumbers.parse(e164, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) in _MOBILE_TYPES


def mask_phone(e164: str | None) -> str:
    """Mask for lists/logs: "+966 ••••• 567" (country code, five bullets, last 3 digits).

    The bullet count is fixed so the mask does not leak the number's length. Non-E.164 input
    is run through :func:`parse_phone` first; unparseable input keeps only its last 3 digits
    ("••••• 567"). None/"" → "".
    """
    if not e164:
        return ""
    if _SAUDI_E164.fullmatch(e164):  # what the desk stores; the common case, without parsing
        return f"+966 {MASK} {e164[-3:]}"
    try:
        number = phonenumbers.parse(parse_phone(e164), None)
    except (InvalidPhone, phonenumbers.NumberParseException):
        digits = "".join(ch for ch in to_ascii_digits(e164) if ch in "0123456789")
        return f"{MASK} {digits[-3:]}" if len(digits) > 3 else MASK
    national = str(phonenumbers.national_significant_number(number))
    return f"+{number.country_code} {MASK} {national[-3:]}"
