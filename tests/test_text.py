"""Tests for desk.text: Arabic normalisation, digits, national IDs, phones, dates."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from desk.text import (
    RIYADH,
    InvalidNationalId,
    InvalidPhone,
    format_both,
    format_gregorian,
    format_hijri,
    hijri_month_name,
    hijri_year,
    mask_national_id,
    mask_phone,
    national_id_check_digit,
    normalize_search,
    parse_int,
    parse_national_id,
    parse_phone,
    to_arabic_digits,
    to_ascii_digits,
    to_riyadh,
)
from desk.text.dates import _tabular_hijri

ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"
PERSIAN = "۰۱۲۳۴۵۶۷۸۹"
TASHKEEL = [chr(c) for r in ((0x0610, 0x061A), (0x064B, 0x065F), (0x0670, 0x0670), (0x06D6, 0x06ED)) for c in range(r[0], r[1] + 1)]
TATWEEL = "\u0640"
# Bare Arabic letters (no hamza forms that a following hamza mark could compose into), digits, space.
ARABIC_LETTERS = "ابتثجحخدذرسشصضطظعغفقكلمنهويءةى"


# --------------------------------------------------------------------------- digits


def plain(text: str) -> str:
    """Dates keep their inner spaces unbreakable (NBSP); compare them as plain spaces."""
    return text.replace("\u00a0", " ")


def test_dates_do_not_break_inside():
    assert "\u00a0" in format_hijri(APRIL_24) and "\u00a0" in format_gregorian(APRIL_24)
    assert " " not in format_hijri(APRIL_24) and " " not in format_gregorian(APRIL_24)


def test_digit_tables():
    assert to_ascii_digits(ARABIC_INDIC) == "0123456789"
    assert to_ascii_digits(PERSIAN) == "0123456789"
    assert to_arabic_digits("0123456789") == ARABIC_INDIC
    assert to_ascii_digits("abc ١٢٣ x٤") == "abc 123 x4"
    assert to_arabic_digits("ID 42-7") == "ID ٤٢-٧"
    assert to_ascii_digits("²³") == "²³"  # other "digits" are left alone


@given(st.integers())
def test_arabic_digits_round_trip(n: int):
    shown = to_arabic_digits(str(n))
    assert not any(ch in "0123456789" for ch in shown)
    assert to_ascii_digits(shown) == str(n)
    assert int(to_ascii_digits(shown)) == n


@given(st.lists(st.integers(0, 9), min_size=1, max_size=20))
def test_indic_digit_strings_have_ascii_value(ds: list[int]):
    ascii_form = "".join(str(d) for d in ds)
    assert to_ascii_digits("".join(ARABIC_INDIC[d] for d in ds)) == ascii_form
    assert to_ascii_digits("".join(PERSIAN[d] for d in ds)) == ascii_form
    assert parse_int("".join(ARABIC_INDIC[d] for d in ds)) == int(ascii_form)


# --------------------------------------------------------------------------- search normalisation


@given(st.text())
def test_normalize_search_idempotent(s: str):
    once = normalize_search(s)
    assert normalize_search(once) == once


# Marks that are more than decoration: the hamza above/below composes و/ي into ؤ/ئ (folded to
# ء), and the kasratan of a defective noun stands for its ي (محامٍ = محامي); tested below.
MEANINGFUL_MARKS = {"\u0654", "\u0655", "\u064d"}


@given(st.text(alphabet=ARABIC_LETTERS + " 0123456789", max_size=30), st.data())
def test_tashkeel_and_tatweel_are_ignored(bare: str, data: st.DataObject):
    decorated = []
    marks = [m for m in TASHKEEL if m not in MEANINGFUL_MARKS] + [TATWEEL]
    for ch in bare:
        decorated.append(ch)
        decorated.extend(data.draw(st.lists(st.sampled_from(marks), max_size=3)))
    assert normalize_search("".join(decorated)) == normalize_search(bare)


@given(st.text())
def test_normalized_output_shape(s: str):
    out = normalize_search(s)
    assert out == out.strip()
    assert "  " not in out
    assert not any(ch in out for ch in TASHKEEL + [TATWEEL, "أ", "إ", "آ", "ٱ", "ة", "ى", "ؤ", "ئ", "،", "؛", "؟"])
    assert "يء" not in out
    assert not any(ch in out for ch in ARABIC_INDIC + PERSIAN)


def test_alef_forms_and_diacritics_match():
    forms = ["أحمد", "احمد", "إحمد", "آحمد", "ٱحمد", "أَحْمَد", "  أحمـــد "]
    assert {normalize_search(f) for f in forms} == {"احمد"}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("مدرسة", "مدرسه"),
        ("مستشفى", "مستشفي"),
        ("مسؤول", "مسئول"),
        ("مسؤول", "مسءول"),
        ("مسائل", "مساءل"),
        ("شاطئ", "شاطيء"),
        ("شيء", "شئ"),
        ("مُحامٍ", "محامي"),
        ("قاضٍ", "قاضي"),
        ("وادٍ", "وادي"),
        ("عبد الله", "عبدالله"),
        ("عبدُ الرَّحمن", "عبدالرحمن"),
        ("أبو بكر", "ابوبكر"),
        ("ـــسلامـــ", "سلام"),
        ("١٢٣", "123"),
        ("۱۲۳", "123"),
        ("HeLLo World", "hello world"),
        ("Straße", "strasse"),
    ],
)
def test_normalize_pairs(a: str, b: str):
    assert normalize_search(a) == normalize_search(b)


def test_normalize_concrete_outputs():
    assert normalize_search("ـــسلامـــ") == "سلام"
    assert normalize_search("١٢٣") == "123"
    assert normalize_search("مدرسة") == "مدرسه"
    assert normalize_search("مستشفى") == "مستشفي"
    assert normalize_search("  نعم،لا؛ ماذا؟\t\n جيد  ") == "نعم لا ماذا جيد"
    assert normalize_search("ﻻ") == "لا"  # presentation-form ligature via NFKC
    assert normalize_search("\u200fمرحبا\u200e") == "مرحبا"  # bidi marks dropped
    assert normalize_search(None) == ""
    assert normalize_search("") == ""
    assert normalize_search(" \t ") == ""


@given(st.text(alphabet="بتسمنكل", min_size=1, max_size=8), st.sampled_from(["ؤ", "ئ", "ء"]),
       st.sampled_from(["ؤ", "ئ", "ء"]), st.text(alphabet="بتسمنكل", max_size=8))
def test_every_hamza_carrier_is_one_letter(before: str, one: str, other: str, after: str):
    assert normalize_search(before + one + after) == normalize_search(before + other + after)


@given(st.sampled_from(["محام", "قاض", "واد", "ساع", "راع", "مبان", "ليال"]),
       st.lists(st.sampled_from(TASHKEEL[:3] + [TATWEEL]), max_size=2))
def test_defective_noun_with_tanween_is_its_ya_form(word: str, noise: list[str]):
    assert normalize_search(word[:1] + "".join(noise) + word[1:] + "\u064d") == normalize_search(word + "ي")


@given(st.sampled_from(["عبد", "أبو", "ابو"]), st.sampled_from(["الله", "الرحمن", "العزيز", "بكر", "محمد"]),
       st.text(alphabet="بتسمنكل ", max_size=12))
def test_compound_names_are_one_word_either_way(first: str, second: str, rest: str):
    assert normalize_search(f"{rest} {first} {second}") == normalize_search(f"{rest} {first}{second}")
    assert len(normalize_search(f"{first} {second}").split()) == 1


def test_normalize_keeps_distinct_words_distinct():
    assert normalize_search("سلام") != normalize_search("كلام")
    assert normalize_search("12") != normalize_search("21")


# --------------------------------------------------------------------------- parse_int


def test_parse_int():
    assert parse_int("١٢") == 12
    assert parse_int(" 7 ") == 7
    assert parse_int("\u00a0٣٠\t") == 30
    assert parse_int("-٥") == -5
    for bad in ["x", "", " ", "1 2", "1,000", "1_000", "1.5", "١٢a", "٫٥", "²"]:
        with pytest.raises(ValueError):
            parse_int(bad)


# --------------------------------------------------------------------------- national id

first9 = st.tuples(st.sampled_from("12"), st.text(alphabet="0123456789", min_size=8, max_size=8)).map("".join)


def test_known_national_ids():
    # 1 2 3 4 5 6 7 8 9: even positions 1,3,5,7,9 doubled -> 2,6,1,5,9 (=23); odd 2+4+6+8=20; 43 -> check 7.
    assert national_id_check_digit("123456789") == "7"
    assert parse_national_id("1234567897") == "1234567897"
    assert parse_national_id("١٢٣٤٥٦٧٨٩٧") == "1234567897"
    assert parse_national_id(" 123-456-7897 ") == "1234567897"
    # 2 0 0 0 0 0 0 0 0: 2*2 = 4 -> check 6 (iqama, resident).
    assert parse_national_id("2000000006") == "2000000006"
    with pytest.raises(InvalidNationalId) as exc:
        parse_national_id("1234567890")
    assert exc.value.reason == "checksum"
    assert isinstance(exc.value, ValueError)


@given(first9)
def test_generated_ids_are_accepted(f9: str):
    nid = f9 + national_id_check_digit(f9)
    assert len(nid) == 10
    assert parse_national_id(nid) == nid
    assert parse_national_id(to_arabic_digits(nid)) == nid
    assert parse_national_id(f"{nid[:3]} {nid[3:6]}-{nid[6:]}") == nid


@given(first9, st.integers(0, 9), st.integers(1, 9))
def test_single_digit_change_is_rejected(f9: str, pos: int, delta: int):
    nid = f9 + national_id_check_digit(f9)
    changed = nid[:pos] + str((int(nid[pos]) + delta) % 10) + nid[pos + 1:]
    assert changed != nid
    with pytest.raises(InvalidNationalId) as exc:
        parse_national_id(changed)
    expected = "prefix" if changed[0] not in "12" else "checksum"
    assert exc.value.reason == expected


@pytest.mark.parametrize("value", ["", "123456789", "12345678970", "1", "   ", "١٢٣"])
def test_national_id_wrong_length(value: str):
    with pytest.raises(InvalidNationalId) as exc:
        parse_national_id(value)
    assert exc.value.reason == "length"


@pytest.mark.parametrize("value", ["12345678a7", "abcdefghij", "1234567897x", "12345.67897", "+1234567897"])
def test_national_id_bad_chars(value: str):
    with pytest.raises(InvalidNationalId) as exc:
        parse_national_id(value)
    assert exc.value.reason == "chars"


def test_national_id_prefix():
    f9 = "312345678"
    with pytest.raises(InvalidNationalId) as exc:
        parse_national_id(f9 + national_id_check_digit(f9))
    assert exc.value.reason == "prefix"


def test_mask_national_id():
    assert mask_national_id("1234567867") == "1•••••••67"
    assert mask_national_id("١٢٣٤٥٦٧٨٦٧") == "1•••••••67"
    assert mask_national_id(None) == ""
    assert mask_national_id("") == ""


# --------------------------------------------------------------------------- phones

# Currently allocated Saudi mobile ranges in libphonenumber's metadata (05x except 052; 0579 9… unallocated).
mobile_nsn = st.from_regex(r"5(?:[013-689][0-9]|7[0-8])[0-9]{6}|579[0-8][0-9]{5}", fullmatch=True)


@given(mobile_nsn)
def test_mobile_forms_agree(nsn: str):
    expected = "+966" + nsn
    forms = [
        "0" + nsn,
        nsn,
        "966" + nsn,
        "+966" + nsn,
        "00966" + nsn,
        f"+966 {nsn[:2]} {nsn[2:5]} {nsn[5:]}",
        f"0{nsn[:2]}-{nsn[2:5]}-{nsn[5:]}",
        f"(0{nsn[:2]}) {nsn[2:5]} {nsn[5:]}",
        to_arabic_digits("0" + nsn),
        to_arabic_digits(f"+966 {nsn[:2]} {nsn[2:5]} {nsn[5:]}"),
        f"  {to_arabic_digits('00966')}{nsn}  ",
    ]
    assert {parse_phone(f) for f in forms} == {expected}


def test_landline_and_foreign():
    assert parse_phone("0112345678") == "+966112345678"
    assert parse_phone("٠١١ ٢٣٤ ٥٦٧٨") == "+966112345678"
    assert parse_phone("+1 650 253 0000") == "+16502530000"
    assert parse_phone("0044 7911 123456") == "+447911123456"


@pytest.mark.parametrize(("value", "reason"), [("", "empty"), ("   ", "empty"), ("123", "invalid"), ("abc", "invalid"), ("0500", "invalid"), ("05O1234567", "invalid"), ("+999 123", "invalid")])
def test_phone_rejected(value: str, reason: str):
    with pytest.raises(InvalidPhone) as exc:
        parse_phone(value)
    assert exc.value.reason == reason
    assert isinstance(exc.value, ValueError)


def test_mask_phone():
    assert mask_phone("+966501234567") == "+966 ••••• 567"
    assert mask_phone("+16502530000") == "+1 ••••• 000"
    assert mask_phone(None) == ""
    assert mask_phone("") == ""


# --------------------------------------------------------------------------- dates

APRIL_24 = datetime(2025, 4, 24, 11, 5, tzinfo=UTC)  # 14:05 in Riyadh (UTC+3)


def test_known_conversion():
    # 24 April 2025 = 26 Shawwal 1446 (Umm al-Qura).
    assert plain(format_hijri(APRIL_24, "en")) == "26/10/1446 AH"
    assert hijri_year(APRIL_24) == 1446
    assert hijri_month_name(10) == "شوال"
    assert hijri_month_name(10, "en") == "Shawwal"


def test_riyadh_day_boundary():
    late = datetime(2025, 4, 24, 21, 30, tzinfo=UTC)
    local = to_riyadh(late)
    assert local.date() == date(2025, 4, 25)
    assert local.utcoffset() == timedelta(hours=3)
    assert local.tzinfo is RIYADH
    assert plain(format_gregorian(late, "en")) == "25/04/2025"
    assert plain(format_hijri(late, "en")) == "27/10/1446 AH"


def test_naive_is_utc():
    assert to_riyadh(datetime(2025, 4, 24, 21, 30)) == to_riyadh(datetime(2025, 4, 24, 21, 30, tzinfo=UTC))
    assert to_riyadh(datetime(2025, 4, 24, 21, 30)).hour == 0


def test_format_strings_exact():
    assert plain(format_hijri(APRIL_24)) == "٢٦ / ١٠ / ١٤٤٦ هـ"
    assert plain(format_hijri(APRIL_24, "en")) == "26/10/1446 AH"
    assert plain(format_gregorian(APRIL_24)) == "٢٤ / ٠٤ / ٢٠٢٥ م"
    assert plain(format_gregorian(APRIL_24, "en")) == "24/04/2025"
    assert plain(format_both(APRIL_24)) == "٢٦ / ١٠ / ١٤٤٦ هـ الموافق ٢٤ / ٠٤ / ٢٠٢٥ م، ١٤:٠٥"
    assert plain(format_both(APRIL_24, "en")) == "26/10/1446 AH (24/04/2025) 14:05"
    assert plain(format_both(APRIL_24, with_time=False)) == "٢٦ / ١٠ / ١٤٤٦ هـ الموافق ٢٤ / ٠٤ / ٢٠٢٥ م"
    assert plain(format_both(APRIL_24, "en", with_time=False)) == "26/10/1446 AH (24/04/2025)"


def test_month_names():
    ar = [hijri_month_name(m) for m in range(1, 13)]
    en = [hijri_month_name(m, "en") for m in range(1, 13)]
    assert ar[0] == "محرم" and ar[3] == "ربيع الآخر" and ar[8] == "رمضان" and ar[11] == "ذو الحجة"
    assert en[0] == "Muharram" and en[3] == "Rabi al-Thani" and en[11] == "Dhu al-Hijjah"
    assert len(set(ar)) == len(set(en)) == 12
    for bad in (0, 13):
        with pytest.raises(ValueError):
            hijri_month_name(bad)


def test_outside_umm_al_qura_range():
    old = datetime(1900, 1, 1, tzinfo=UTC)
    assert plain(format_hijri(old)) == ""
    assert plain(format_both(old, "en", with_time=False)) == "01/01/1900"
    assert plain(format_both(datetime(2100, 1, 1, 6, 0, tzinfo=UTC))) == "٠١ / ٠١ / ٢١٠٠ م، ٠٩:٠٠"
    assert hijri_year(old) == 1317  # 1 Jan 1900 ≈ 29 Shaban 1317 (tabular fallback)
    assert hijri_year(datetime(2100, 1, 1, tzinfo=UTC)) == 1523


@given(st.dates(min_value=date(1924, 9, 1), max_value=date(2077, 10, 1)))
def test_tabular_fallback_close_to_umm_al_qura(d: date):
    # The arithmetic calendar is within a few days of Umm al-Qura, so away from new year the years agree.
    from desk.text.dates import hijri_date

    exact = hijri_date(d)
    assert exact is not None
    assume(3 <= exact[1] <= 10)
    assert _tabular_hijri(d)[0] == exact[0]
    assert hijri_year(d) == exact[0]
