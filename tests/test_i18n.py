"""Both catalogs are complete: every string the code and templates can show has an Arabic
and an English translation, with the same placeholders. Add a string without translating
it and this fails."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _method_map():
    """What `make extract-messages` reads, from the same babel.cfg: "[method: pattern]" lines."""
    lines = (ROOT / "babel.cfg").read_text().splitlines()
    pairs = [line.strip("[] ").split(":", 1) for line in lines if line.startswith("[")]
    return [(pattern.strip(), method.strip()) for method, pattern in pairs]


@pytest.fixture(scope="module")
def source_messages() -> set[str]:
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=_method_map(), keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("locale", ["ar", "en"])
def test_catalog_is_complete(source_messages, locale):
    path = ROOT / "desk" / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    assert len(source_messages) > 150  # the extraction itself works
    def translated(message) -> bool:  # a plural message needs every form of the locale
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        return bool(forms) and all(forms)

    missing = sorted(m for m in source_messages if not catalog.get(m) or not translated(catalog.get(m)))
    assert not missing, f"{locale}: untranslated: {missing[:10]}"
    fuzzy = sorted(str(m.id) for m in catalog if m.id and m.fuzzy)
    assert not fuzzy, f"{locale}: fuzzy: {fuzzy[:10]}"
    for message in catalog:
        if not (message.id and message.string):
            continue
        if isinstance(message.id, tuple):  # plural forms may leave the number out ("يوم عمل واحد")
            allowed = set().union(*(PLACEHOLDER.findall(i) for i in message.id))
            for form in message.string:
                assert set(PLACEHOLDER.findall(form)) <= allowed, (message.id, form)
        else:
            assert set(PLACEHOLDER.findall(message.id)) == set(PLACEHOLDER.findall(message.string)), message.id


def test_arabic_catalog_is_arabic():
    with (ROOT / "desk/translations/ar/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="ar")
    arabic = re.compile(r"[\u0600-\u06FF]")
    # Brand names and symbols may stay as they are; real sentences must be Arabic.
    latin_only = [m.id for m in catalog if m.id and m.string and " " in m.id and not arabic.search(m.string)]
    assert not latin_only, latin_only[:10]


@pytest.mark.parametrize(("locale", "expected"), [
    ("ar", {"overdue": "متأخر", "at_risk": "مهدد بالتأخر", "paused": "متوقف مؤقتًا", "due": "في الموعد"}),
    ("en", {"overdue": "Overdue", "at_risk": "At risk", "paused": "Paused", "due": "On time"}),
])
def test_due_badge_says_each_state_in_the_pages_language(app, locale, expected):
    """The badge takes its words from the page's ``L.SLA_STATES`` (one catalog per language and
    process): each state in the language it is rendered in, never the other's cached words."""
    from flask import render_template_string
    from flask_babel import force_locale

    template = ('{% from "queue/_due.html" import due_badge %}'
                '{% for s in ["overdue", "at_risk", "paused", "due"] %}{{ due_badge(s, L.SLA_STATES) }}|{% endfor %}')
    for first in ("en", "ar"):  # the other language first: its cached catalog must not leak
        with app.test_request_context("/"):
            with force_locale(first):
                render_template_string(template)
            with force_locale(locale):
                text = render_template_string(template)
        for state, words in expected.items():
            assert f'desk-sla-{state.replace("_", "-")}">{words}</span>' in text
