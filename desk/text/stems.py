"""A light, conservative stemmer for text already passed through ``normalize_search``.

It strips what Arabic glues onto a word — the article and the prepositions and conjunctions
before it (وال، بال، فال، كال، وبال، لل، ال …) — and one suffix (ات، ون، ين، ية، ة), so that
"الطابعات", "طابعة" and "والطابعة" share the stem "طابع". It is deliberately not a root
extractor (ISRI and its kind merge unrelated words: عيادة and عيد): a stem is only ever a
shorter piece of the word itself.

- A clitic goes only when at least three letters remain, and a bare و/ف/ب/ك/ل is never taken
  off a stored word (فواتير, بيت and كرسي must survive); a typed word gets that second chance
  in ``query_forms``.
- A stem shorter than three letters is matched only as a whole word (سلة → سل must not find
  سلطان); see ``STEM_MIN``.
- English words lose a plural "s" ("printers" → "printer"), nothing more.

The same stems serve the ticket search (desk.search) and the routing keywords
(desk.routing.service), so a rule on "طابعة" also catches "الطابعات".
"""
from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["STEM_MIN", "found", "stem", "stem_phrase", "stem_words", "query_forms", "words"]

# Stems shorter than this match whole words only.
STEM_MIN = 3
# Normalised (ة → ه): the longest first, so وال is tried before ال.
_CLITICS = ("وبال", "وكال", "وال", "فال", "بال", "كال", "ولل", "فلل", "لل", "ال")
_SINGLE_CLITICS = ("و", "ف", "ب", "ك", "ل")
_SUFFIXES = ("يه", "ات", "ون", "ين", "ه")
_MIN_AFTER_CLITIC = 3
_MIN_AFTER_SUFFIX = 2
_ARABIC = range(0x0600, 0x0700)


_WORD = re.compile(r"[^\W_]+")


def words(normalised: str) -> list[str]:
    """The words of normalised text: runs of letters and digits (punctuation splits them)."""
    return _WORD.findall(normalised)


def _is_arabic(word: str) -> bool:
    return any(ord(ch) in _ARABIC for ch in word)


@lru_cache(maxsize=1 << 16)  # a desk's vocabulary is small and repeats: most words are stemmed once
def stem(word: str) -> str:
    """The stem of one normalised word (the word itself when nothing can be stripped)."""
    if not _is_arabic(word):
        if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            return word[:-1]
        return word
    for clitic in _CLITICS:
        if word.startswith(clitic) and len(word) - len(clitic) >= _MIN_AFTER_CLITIC:
            word = word[len(clitic):]
            break
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_AFTER_SUFFIX:
            return word[: -len(suffix)]
    return word


def stem_words(normalised: str) -> list[str]:
    """The stems of normalised text, each once, in order, leaving out a word that is its own
    stem and stands between spaces in the text: " stem" (or " stem ") finds it there already."""
    out: dict[str, None] = {}
    end = len(normalised)
    for match in _WORD.finditer(normalised):
        word, start, stop = match.group(), match.start(), match.end()
        stemmed = stem(word)
        if (stemmed != word or (start > 0 and normalised[start - 1] != " ")
                or (stop < end and normalised[stop] != " ")):
            out[stemmed] = None
    return list(out)


def query_forms(word: str) -> list[str]:
    """The stems a typed (normalised) word may stand for: its own stem, and when it starts with
    a bare و/ف/ب/ك/ل with at least four letters after it, the stem without that letter too
    ("وطابعة" → طابع; "فواتير" keeps فواتير and adds واتير, which finds nothing else)."""
    forms = [stem(word)]
    if (_is_arabic(word) and word.startswith(_SINGLE_CLITICS) and not word.startswith(_CLITICS)
            and len(word) - 1 >= STEM_MIN + 1):
        forms.append(stem(word[1:]))
    return list(dict.fromkeys(forms))


def stem_phrase(normalised: str) -> str:
    """Each word's stem, in order, between spaces (" طابع حبر "): what ``found`` looks in."""
    return " " + " ".join(stem(w) for w in words(normalised)) + " "


def found(phrase: str, normalised: str, stems: str) -> bool:
    """A normalised word or phrase in a text: as written, or by its stems at the start of
    words of ``stems`` (``stem_phrase`` of the text; a stem shorter than STEM_MIN as a whole
    word). The routing keywords' match: a rule on "طابعة" catches "الطابعات"."""
    if phrase in normalised:
        return True
    wanted = " ".join(stem(w) for w in words(phrase))
    if not wanted:
        return False
    return (f" {wanted}" if len(wanted) >= STEM_MIN else f" {wanted} ") in stems
