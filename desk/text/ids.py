"""Saudi national ID / iqama numbers (10 digits, prefix 1 = citizen, 2 = resident, Luhn check)."""
from __future__ import annotations

import re

from desk.text.arabic import strip_invisible, to_ascii_digits

__all__ = ["InvalidNationalId", "parse_national_id", "national_id_check_digit", "mask_national_id", "normalize_reference",
           "ID_TYPES", "parse_document", "mask_document"]

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"
_DROP_DASHES = str.maketrans("", "", _DASHES)
_DIGITS = frozenset("0123456789")


class InvalidNationalId(ValueError):
    """Raised by :func:`parse_national_id`; ``reason`` is "chars", "length", "prefix" or "checksum"."""

    def __init__(self, reason: str, value: str = "") -> None:
        super().__init__(f"invalid national id ({reason}): {value!r}")
        self.reason = reason
        self.value = value


def _luhn_partial(first9: str) -> int:
    total = 0
    for i, ch in enumerate(first9):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total


def national_id_check_digit(first9: str) -> str:
    """Return the check digit that makes ``first9`` + digit a valid ID (ASCII or Arabic-Indic input)."""
    digits = to_ascii_digits(first9)
    if len(digits) != 9 or not set(digits) <= _DIGITS:
        raise ValueError(f"need exactly 9 digits, got {first9!r}")
    return str((10 - _luhn_partial(digits) % 10) % 10)


def parse_national_id(s: str) -> str:
    """Validate a national ID / iqama; return its 10 ASCII digits.

    Accepts Arabic-Indic digits; ignores spaces, dashes and invisible bidi marks. Checks, in
    order: "chars" (non-digit present), "length" (not 10 digits, also empty/None),
    "prefix" (first digit not 1 or 2), "checksum" (Luhn over all 10 digits).
    """
    raw = s if isinstance(s, str) else ""
    digits = "".join(to_ascii_digits(strip_invisible(raw)).translate(_DROP_DASHES).split())
    if not set(digits) <= _DIGITS:
        raise InvalidNationalId("chars", raw)
    if len(digits) != 10:
        raise InvalidNationalId("length", raw)
    if digits[0] not in "12":
        raise InvalidNationalId("prefix", raw)
    if (_luhn_partial(digits[:9]) + int(digits[9])) % 10 != 0:
        raise InvalidNationalId("checksum", raw)
    return digits


def mask_national_id(nid: str | None) -> str:
    """Mask for lists/logs: first digit and last two kept, "1•••••••67". None/"" → "".

    Inputs shorter than 4 characters are fully masked.
    """
    if not nid:
        return ""
    text = to_ascii_digits(nid).strip()
    if len(text) < 4:
        return "•" * len(text)
    return text[0] + "•" * (len(text) - 3) + text[-2:]


def mask_email(address: str | None) -> str:
    """Mask for lists: the first character of the mailbox and the whole domain, with a fixed
    number of bullets so the length does not show: "f•••••@example.org". None/"" → ""."""
    if not address:
        return ""
    mailbox, at, domain = address.strip().rpartition("@")
    if not at or not mailbox:
        return "•" * 5
    return f"{mailbox[0]}{'•' * 5}@{domain}"


_TYPED_REFERENCE = re.compile(r"^([A-Z])-?([0-9]{4})-?([0-9]{6})$")


def normalize_reference(raw: str | None) -> str:
    """A ticket reference as a person types or pastes it: "C-1447-000123" from "c 1447 000123",
    "C–1447–000123", "C1447000123", Arabic-Indic digits or an SMS's invisible LRM/LRI marks.
    Anything else comes back trimmed and upper-cased (it then matches no ticket)."""
    text = "".join(to_ascii_digits(strip_invisible(raw or "")).split()).upper()
    text = text.translate(str.maketrans(_DASHES, "-" * len(_DASHES)))
    match = _TYPED_REFERENCE.match(text)
    return "-".join(match.groups()) if match else text


# The identity documents a beneficiary may hold (issue 19, point 7). national_id and iqama are
# the Saudi 10-digit numbers (kept in beneficiaries.national_id); the others in id_document.
ID_TYPES = ("national_id", "iqama", "gcc_id", "passport", "border", "none")
SAUDI_PREFIX = {"national_id": "1", "iqama": "2"}
_PASSPORT = re.compile(r"[A-Z0-9]{6,12}")


def parse_document(id_type: str, raw: str | None) -> str | None:
    """The number of a document of ``id_type``, checked as that type is written; None for "none".
    National ID: 10 digits starting 1 with the Luhn check; iqama: the same starting 2; border
    number: 10 digits starting 3 or 4; GCC national ID: 8 to 15 digits; passport: 6 to 12
    letters and digits. InvalidNationalId with reason "chars", "length", "prefix", "checksum",
    "type" (a national ID given as an iqama or the reverse), "border", "gcc" or "passport"."""
    if id_type == "none":
        return None
    text = "".join(to_ascii_digits(strip_invisible(raw or "")).translate(_DROP_DASHES).split()).upper()
    if id_type in SAUDI_PREFIX:
        number = parse_national_id(text)
        if number[0] != SAUDI_PREFIX[id_type]:
            raise InvalidNationalId("type", raw or "")
        return number
    if id_type == "border":
        if not (len(text) == 10 and set(text) <= _DIGITS and text[0] in "34"):
            raise InvalidNationalId("border", raw or "")
        return text
    if id_type == "gcc_id":
        if not (8 <= len(text) <= 15 and set(text) <= _DIGITS):
            raise InvalidNationalId("gcc", raw or "")
        return text
    if id_type == "passport":
        if not _PASSPORT.fullmatch(text):
            raise InvalidNationalId("passport", raw or "")
        return text
    raise InvalidNationalId("type", raw or "")


def mask_document(number: str | None) -> str:
    """"P••••••42": the first character and the last two, a fixed run of bullets between."""
    if not number:
        return ""
    return f"{number[0]}••••••{number[-2:]}" if len(number) > 3 else "••••"
