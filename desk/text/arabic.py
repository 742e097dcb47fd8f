"""Arabic-aware text helpers: digit conversion, search normalisation, integer parsing."""
from __future__ import annotations

import re
import unicodedata

__all__ = [
    "to_ascii_digits",
    "to_arabic_digits",
    "format_number",
    "normalize_search",
    "strip_invisible",
    "parse_int",
]

_ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"  # U+0660–U+0669
_EXTENDED_INDIC = "۰۱۲۳۴۵۶۷۸۹"  # U+06F0–U+06F9 (Persian / Urdu)
_ASCII = "0123456789"

_TO_ASCII = str.maketrans(_ARABIC_INDIC + _EXTENDED_INDIC, _ASCII * 2)
_TO_ARABIC = str.maketrans(_ASCII, _ARABIC_INDIC)

# Invisible formatting characters that sneak in when text is pasted from RTL UIs:
# zero-width space/joiners, LRM/RLM, bidi embeddings/isolates, BOM, Arabic letter mark.
_INVISIBLE = (
    "\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e"
    "\u2066\u2067\u2068\u2069"
    "\ufeff\u061c"
)
_DROP_INVISIBLE = str.maketrans("", "", _INVISIBLE)

_TASHKEEL_RANGES = (
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06ED),
)
_TATWEEL = "\u0640"

# One table for everything that is deleted, replaced by a space, or folded to another letter.
_SEARCH_TABLE: dict[int, str | None] = {}
for _lo, _hi in _TASHKEEL_RANGES:
    for _cp in range(_lo, _hi + 1):
        _SEARCH_TABLE[_cp] = None
_SEARCH_TABLE[ord(_TATWEEL)] = None
for _ch in _INVISIBLE:
    _SEARCH_TABLE[ord(_ch)] = None
for _ch in "،؛؟":
    _SEARCH_TABLE[ord(_ch)] = " "
for _src, _dst in {
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ة": "ه",
    "ى": "ي",
    # Hamza carriers fold to the bare hamza, so that مسؤول = مسئول = مسءول (the policies
    # spell it both ways in one sentence); ي before a hamza goes too (شاطيء = شاطئ).
    "ؤ": "ء",
    "ئ": "ء",
    "ی": "ي",  # Persian yeh (U+06CC), produced by some keyboards
    "ک": "ك",  # Persian keheh (U+06A9)
}.items():
    _SEARCH_TABLE[ord(_src)] = _dst
for _i, (_a, _e) in enumerate(zip(_ARABIC_INDIC, _EXTENDED_INDIC, strict=True)):
    _SEARCH_TABLE[ord(_a)] = _ASCII[_i]
    _SEARCH_TABLE[ord(_e)] = _ASCII[_i]


def to_ascii_digits(s: str) -> str:
    """Map Arabic-Indic (U+0660–9) and extended/Persian (U+06F0–9) digits to 0-9; keep the rest."""
    return s.translate(_TO_ASCII)


def to_arabic_digits(s: str) -> str:
    """Map ASCII digits 0-9 to Arabic-Indic ٠-٩ for Arabic display; keep the rest."""
    return s.translate(_TO_ARABIC)


def format_number(value: int | float | str, locale: str = "ar") -> str:
    """A quantity for reading: Arabic-Indic digits with ٬ for thousands and ٫ for decimals in
    Arabic ("٢٠٬٠٠٠", "٢٫٥"), ASCII with "," in other locales. A string is taken as it is
    (only its digits change in Arabic). The one formatter of every number in the desk's text."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        text = f"{value:,.0f}" if value.is_integer() else f"{value:,}"
    else:
        text = str(value)
    if not (locale or "").lower().startswith("ar"):
        return text
    if isinstance(value, (int, float)):
        text = text.replace(",", "\u066c").replace(".", "\u066b")
    return to_arabic_digits(text)


def strip_invisible(s: str) -> str:
    """Remove zero-width and bidi control characters (LRM, RLM, ALM, ZWJ, BOM, …)."""
    return s.translate(_DROP_INVISIBLE)


# The defective noun's tanween (الاسم المنقوص): محامٍ is محامي without its ي, so "…اXٍ" at
# the end of a word gets the ي back before the marks are dropped (قاضٍ = قاضي, وادٍ = وادي).
_MANQUS = re.compile(r"(ا\w)\u0651?\u064d(?!\w)")
_YA_HAMZA = re.compile("ي+ء")
# Compound names are indexed and searched joined: عبد الله = عبدالله, أبو بكر = أبوبكر.
_COMPOUND = re.compile(r"(?<!\S)(عبد|ابو) (?=\S)")


def _normalize_once(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).casefold()
    s = unicodedata.normalize("NFKC", s)
    s = _MANQUS.sub(r"\1ي", s.replace(_TATWEEL, ""))
    s = s.translate(_SEARCH_TABLE)
    s = _YA_HAMZA.sub("ء", " ".join(s.split()))
    return _COMPOUND.sub(r"\1", s)


def normalize_search(s: str | None) -> str:
    """Normalise text for search columns and queries (write and read use the same function).

    NFKC, casefold, drop tashkeel/tatweel/invisible marks, fold alef/ta marbuta/alef maqsura/
    hamza carriers (ؤ ئ يء → ء), give the defective noun its ي (محامٍ → محامي), join compound
    names (عبد الله → عبدالله, أبو بكر → ابوبكر), Arabic-Indic digits to ASCII, Arabic punctuation ، ؛ ؟ and whitespace to
    single spaces, strip. ``None`` gives ``""``. Idempotent: the pass is repeated until the
    text stops changing (deleting a mark can let NFKC compose neighbours on a second pass).
    """
    if not s:
        return ""
    out = _normalize_once(s)
    for _ in range(8):
        again = _normalize_once(out)
        if again == out:
            return out
        out = again
    return out


_INT_RE = re.compile(r"[+-]?[0-9]+")


def parse_int(s: str) -> int:
    """Parse a typed integer: ASCII or Arabic-Indic digits, optional sign, surrounding whitespace.

    Raises ``ValueError`` for anything else (including ``None``, separators, other scripts).
    """
    if not isinstance(s, str):
        raise ValueError(f"not a number: {s!r}")
    text = to_ascii_digits(strip_invisible(s)).strip().replace("−", "-")
    if not _INT_RE.fullmatch(text):
        raise ValueError(f"not a number: {s!r}")
    return int(text)
