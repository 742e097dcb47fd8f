"""One Arabic term per concept: the Arabic catalogue against desk/translations/glossary.toml
(issue 19, point 2)."""
from __future__ import annotations

import tomllib

import pytest
from babel.messages.pofile import read_po

from desk.settings import PROJECT_ROOT

TRANSLATIONS = PROJECT_ROOT / "desk" / "translations"
GLOSSARY = tomllib.loads((TRANSLATIONS / "glossary.toml").read_text(encoding="utf-8"))
ENTRIES = GLOSSARY["term"] + GLOSSARY.get("style", [])


def arabic_catalogue() -> dict[str, list[str]]:
    """msgid → its Arabic forms (one, or six for a plural)."""
    with open(TRANSLATIONS / "ar" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalogue = read_po(handle)
    strings: dict[str, list[str]] = {}
    for message in catalogue:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        strings[(message.context + "|" if message.context else "") + key] = forms
    return strings


CATALOGUE = arabic_catalogue()


def banned_in(text: str, entries=ENTRIES) -> list[tuple[str, str]]:
    return [(entry["concept"], variant) for entry in entries for variant in entry["banned"] if variant in text]


def test_every_concept_has_one_term_and_its_banned_variants_are_not_the_term():
    concepts = [entry["concept"] for entry in ENTRIES]
    assert len(concepts) == len(set(concepts))
    for entry in GLOSSARY["term"]:
        assert entry["ar"] and not banned_in(entry["ar"], [entry]), entry["concept"]


@pytest.mark.parametrize("entry", GLOSSARY["term"], ids=lambda e: e["concept"])
def test_the_catalogue_uses_the_glossary_term(entry):
    for msgid in entry["msgids"]:
        assert msgid in CATALOGUE, f"{msgid!r} is not in the catalogue any more: update the glossary"
        assert all(entry["ar"] in form for form in CATALOGUE[msgid]), (msgid, CATALOGUE[msgid])


def test_no_arabic_string_uses_a_banned_variant():
    found = {msgid: banned_in(" ".join(forms)) for msgid, forms in CATALOGUE.items()}
    assert {msgid: hits for msgid, hits in found.items() if hits} == {}


def test_the_check_finds_a_banned_variant():
    assert banned_in("لا توجد تذاكر مفتوحة.") == [("ticket", "تذاكر")]
    assert banned_in("الأقدم أولاً") == [("tanween on alef", "اً")]
    assert banned_in("لا توجد طلبات مفتوحة.") == []
