"""The light stemmer (desk.text.stems): real words of the desk's tickets, the ones it must
join and the ones it must keep apart."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.text import normalize_search
from desk.text.stems import STEM_MIN, query_forms, stem, stem_words, words


def s(word: str) -> str:
    return stem(normalize_search(word))


@pytest.mark.parametrize(("word", "expected"), [
    ("الطابعات", "طابع"), ("طابعة", "طابع"), ("والطابعة", "طابع"), ("بالطابعة", "طابع"),
    ("للمستفيدين", "مستفيد"), ("المستفيدون", "مستفيد"), ("المستفيدة", "مستفيد"),
    ("الشهرية", "شهر"), ("معلمات", "معلم"), ("الكهرباء", "كهرباء"), ("المساعدة", "مساعد"),
    ("فالمراجعون", "مراجع"), ("كالعادة", "عاد"), ("الدوسري", "دوسري"), ("مسؤولية", "مسءول"),
    ("printers", "printer"), ("status", "status"), ("class", "class"),
])
def test_stems_of_real_words(word: str, expected: str):
    assert s(word) == normalize_search(expected)


@pytest.mark.parametrize("word", ["فواتير", "بيت", "كرسي", "وزارة", "ليلى", "فهد", "بنك", "الله", "الي"])
def test_a_bare_letter_or_a_short_word_is_not_taken_for_a_clitic(word: str):
    """و/ف/ب/ك/ل at the start of a stored word is its own letter (فواتير, بيت, كرسي); ال is
    taken off only when three letters remain."""
    assert s(word)[:1] == normalize_search(word)[:1]


@pytest.mark.parametrize(("a", "b"), [
    ("طابعة", "الطابعات"), ("مستفيد", "للمستفيدين"), ("معلمة", "المعلمون"), ("سلة", "السلة"),
    ("الدوسري", "دوسري"), ("مسؤول", "المسئولين"),
])
def test_forms_of_one_word_share_a_stem(a: str, b: str):
    assert s(a) == s(b)


@pytest.mark.parametrize(("a", "b"), [
    ("عيادة", "عيد"), ("سلة", "سلطان"), ("مكتب", "كتاب"), ("بنات", "بنك"), ("كهرباء", "كهف"),
])
def test_unrelated_words_stay_apart(a: str, b: str):
    """Not a root extractor: عيادة (clinic) and عيد (feast) are different words."""
    assert s(a) != s(b)
    assert not s(b).startswith(s(a)) or len(s(a)) < STEM_MIN


def test_query_forms_give_a_typed_prefix_letter_a_second_chance():
    assert query_forms(normalize_search("وطابعة")) == ["وطابع", "طابع"]
    assert query_forms(normalize_search("فواتير")) == ["فواتير", "واتير"]
    assert query_forms(normalize_search("للمستفيدين")) == ["مستفيد"]
    assert query_forms(normalize_search("بيت")) == ["بيت"]  # too short to lose a letter


def test_words_split_on_punctuation_and_keep_digits():
    assert words(normalize_search("طلب رقم C-1448-000068، عاجل!")) == ["طلب", "رقم", "c", "1448", "000068", "عاجل"]
    assert stem_words("الطابعه طابعه بيت") == ["طابع"]  # بيت is its own stem, between spaces
    assert stem_words("(بيوت) طلب.") == ["بيوت", "طلب"]     # not between spaces: written out


@given(st.text(alphabet="ابتثجحخدذرسشصضطظعغفقكلمنهويء", min_size=1, max_size=12))
def test_a_stem_is_a_piece_of_its_word(word: str):
    """Never a letter the word does not have: a stem is the word with a clitic and a suffix
    cut off, so the substring search already covers whatever a stem could match in it."""
    out = stem(word)
    assert out and out in word
    assert len(out) >= min(len(word), 2)
