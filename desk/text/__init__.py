"""Pure text helpers for an Arabic-first desk: search normalisation, digits, IDs, phones, dates.

No Flask imports here; everything is a plain function usable from models, services and CLI.
"""
from __future__ import annotations

from desk.text.arabic import (
    format_number,
    normalize_search,
    parse_int,
    strip_invisible,
    to_arabic_digits,
    to_ascii_digits,
)
from desk.text.dates import (
    RIYADH,
    format_both,
    format_gregorian,
    format_hijri,
    hijri_date,
    hijri_month_name,
    hijri_year,
    riyadh_midnight,
    to_riyadh,
    today_riyadh,
)
from desk.text.ids import (
    ID_TYPES,
    InvalidNationalId,
    mask_document,
    mask_email,
    mask_national_id,
    national_id_check_digit,
    normalize_reference,
    parse_document,
    parse_national_id,
)
from desk.text.phones import InvalidPhone, is_mobile, mask_phone, parse_mobile, parse_phone
from desk.text.registrations import (
    InvalidRegistration,
    parse_commercial_registration,
    parse_unified_number,
    ten_digits,
)

__all__ = [
    "InvalidRegistration",
    "parse_commercial_registration",
    "parse_unified_number",
    "ten_digits",
    "ID_TYPES",
    "mask_document",
    "parse_document",
    "RIYADH",
    "InvalidNationalId",
    "InvalidPhone",
    "format_both",
    "format_number",
    "format_gregorian",
    "format_hijri",
    "hijri_date",
    "hijri_month_name",
    "hijri_year",
    "riyadh_midnight",
    "today_riyadh",
    "mask_email",
    "mask_national_id",
    "mask_phone",
    "national_id_check_digit",
    "normalize_reference",
    "normalize_search",
    "parse_int",
    "parse_national_id",
    "parse_phone",
    "parse_mobile",
    "is_mobile",
    "strip_invisible",
    "to_arabic_digits",
    "to_ascii_digits",
    "to_riyadh",
]
