"""What staff type into a search box, and the one way it is matched (the queue and intake).

The typed text is split into **terms**; a row matches when every term matches, in any order.
A term is a word, or a quoted phrase kept whole ("…", «…», “…”). Each term is a handful of
**needles**, and it matches when any needle is a substring of the stored search text:

- the normalised word itself (``normalize_search``: letters folded, digits ASCII);
- for each of its stems (desk.text.stems) that differs from the word: `` stem`` (a word
  starting with the stem) — or `` stem `` (the whole word) when the stem is shorter than
  ``STEM_MIN``, so سلة (سل) never finds سلطان;
- the same for every word an admin grouped with it (``SearchWords``: broken plurals such as
  شكوى/شكاوى, synonyms, names written two ways).

Because every needle is a plain substring, the match is a ``LIKE '%needle%'`` on either
database, which their trigram indexes serve (see desk.tickets.search), and SQLite's FTS5
trigram tables can run the same needles as phrases (``fts_rowids``) when every needle of a
term has three characters or more (``trigram_terms``). Where a term has several needles, the
indexes look for the text they all hold (``index_needles``) and the needles check what they find.

A ticket's stored text (``indexed_text``) is the normalised subject, then its stems, then the
rest (body, name) and their stems, the subject half ended by ``SUBJECT_END``: "words in the
subject before words in the body" is a comparison of positions (``score``).

A whole query that is a valid national ID or a mobile number (05…, 5…, 9665…, +966…,
00966…, Arabic-Indic digits) is also looked up exactly (``Query.national_id``,
``Query.phone``), never as a fragment: a masked number cannot be read out digit by digit.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from desk.errors import NotFound, ValidationFailed
from desk.models import SearchWords, User
from desk.permissions import Action, require
from desk.text import InvalidNationalId, InvalidPhone, normalize_search, parse_national_id, parse_phone
from desk.text.stems import STEM_MIN, query_forms, stem, stem_words
from desk.transaction import commit

__all__ = [
    "MAX_TERMS",
    "STEMS",
    "SUBJECT_END",
    "Query",
    "TRIGRAM",
    "Term",
    "add_group",
    "condition",
    "fts_ids",
    "fts_rowids",
    "groups",
    "index_needles",
    "indexed_condition",
    "indexed_text",
    "is_exact_in_index",
    "parse",
    "parse_group",
    "remove_group",
    "score",
    "trigram_terms",
    "walk_condition",
    "word_groups",
]

# Ends the subject half of a ticket's search text, and starts the stems of each half. Both are
# whitespace to normalize_search, so no normalised text (nor a typed query) ever holds one.
SUBJECT_END = "\x1f"
STEMS = "\x1e"
# A trigram index (pg_trgm, FTS5's trigram tokenizer) finds only needles of this many characters or more.
TRIGRAM = 3
# More words than this are ignored (each adds a condition; nobody types twelve words).
MAX_TERMS = 8
_QUOTED = re.compile(r'"([^"]*)"|«([^»]*)»|“([^”]*)”')
_NUMBERISH = re.compile(r"[\d\s+\-().٠-٩۰-۹]+")


def indexed_text(subject: str, rest: str = "", label: str = "") -> str:
    """The stored search text: ``label subject STEMS its-stems SUBJECT_END rest STEMS its-stems``,
    each piece normalised and every stem between spaces (the needles look for " stem"). The
    label (a reference) is found as typed, and has no stems."""
    head, tail = normalize_search(subject), normalize_search(rest)
    label = normalize_search(label)
    return (f"{label + ' ' if label else ''}{head} {STEMS} {' '.join(stem_words(head))} {SUBJECT_END} "
            f"{tail} {STEMS} {' '.join(stem_words(tail))} ")


@dataclass(frozen=True)
class Term:
    """One typed word or quoted phrase; ``needles[0]`` is the text as typed (normalised)."""

    needles: tuple[str, ...]

    @property
    def exact(self) -> str:
        return self.needles[0]


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...] = ()
    phone: str | None = None        # E.164, when the whole query is a phone number
    national_id: str | None = None  # 10 digits, when the whole query is a valid ID / iqama
    typed: str = field(default="", compare=False)

    def __bool__(self) -> bool:
        return bool(self.terms or self.phone or self.national_id)


def parse_group(raw: str) -> list[str]:
    """Words an admin typed as one group (comma, Arabic comma or new line between them),
    normalised, duplicates dropped; a compound name stays one word (عبد الله → عبدالله)."""
    out: dict[str, None] = {}
    for part in re.split(r"[\n\r,،;؛]+", raw or ""):
        word = normalize_search(part).replace(" ", "")
        if word:
            out[word] = None
    return list(out)


def groups(session: Session) -> list[SearchWords]:
    """The admin screen's list, newest first."""
    return list(session.scalars(select(SearchWords).order_by(SearchWords.id.desc())))


GROUP_MAX = 400


def add_group(session: Session, actor: User, typed: str) -> SearchWords:
    """A new group of interchangeable words (an admin's); searches use it from the next query."""
    require(actor, Action.ADMIN_MANAGE)
    words = parse_group(typed)
    if len(words) < 2:
        raise ValidationFailed({"words": [_l("Enter at least two different words, separated by commas.")]})
    if len((typed or "").strip()) > GROUP_MAX or len(" ".join(words)) > GROUP_MAX:
        raise ValidationFailed({"words": [_l("This group is too long: split it into two.")]})
    group = SearchWords(typed=typed.strip(), words=" ".join(words), created_by_id=actor.id)
    session.add(group)
    commit(session)
    return group


def remove_group(session: Session, actor: User, group_id: int) -> None:
    require(actor, Action.ADMIN_MANAGE)
    group = session.get(SearchWords, group_id)
    if group is None:
        raise NotFound()
    session.delete(group)
    commit(session)


def word_groups(session: Session) -> list[tuple[str, ...]]:
    """Every group of interchangeable words (a small table, read once per search)."""
    return [tuple(words.split()) for words in session.scalars(select(SearchWords.words))]


def _related(word: str, groups: Sequence[tuple[str, ...]]) -> list[str]:
    """The words grouped with ``word`` (itself, or a word with the same stem of three letters or more)."""
    own = stem(word)
    out: dict[str, None] = {}
    for group in groups:
        if any(m == word or (len(own) >= STEM_MIN and stem(m) == own) for m in group):
            out.update((m, None) for m in group if m != word)
    return list(out)


def _needles(word: str, groups: Sequence[tuple[str, ...]], anchored: bool) -> tuple[str, ...]:
    out: dict[str, None] = {word: None}
    for form in [word, *_related(word, groups)]:
        out[form] = None
        for s in query_forms(form):
            if s == form:
                continue
            if anchored:
                out[f" {s}" if len(s) >= STEM_MIN else f" {s} "] = None
            elif len(s) >= STEM_MIN and form.endswith(s):  # only an article or prefix set aside:
                out[s] = None  # a name's own ending stays (نورة must not find نوري)
    return tuple(out)


def _exact_number(typed: str) -> tuple[str | None, str | None]:
    """(phone, national_id) when the whole typed text is one of them."""
    if not _NUMBERISH.fullmatch(typed.strip()):
        return None, None
    try:
        return None, parse_national_id(typed)
    except InvalidNationalId:
        pass
    try:
        return parse_phone(typed), None
    except InvalidPhone:
        return None, None


def parse(typed: str, groups: Sequence[tuple[str, ...]] = (), *, anchored: bool = True) -> Query:
    """The typed text as terms (and an exact phone or ID). ``anchored``: stems are looked for
    at the start of a word (text stored with ``indexed_text``); otherwise, for plain
    normalised text such as a beneficiary's name, stems of three letters or more anywhere."""
    typed = (typed or "").strip()
    phone, national_id = _exact_number(typed)
    terms: list[Term] = []
    for match in _QUOTED.finditer(typed):
        phrase = normalize_search(next(g for g in match.groups() if g is not None))
        if phrase:
            terms.append(Term((phrase,)))
    for word in normalize_search(_QUOTED.sub(" ", typed)).split():
        needles = _needles(word, groups, anchored)
        if all(t.needles != needles for t in terms):
            terms.append(Term(needles))
    return Query(tuple(terms[:MAX_TERMS]), phone, national_id, typed)


def _like(column, needle: str) -> ColumnElement[bool]:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def _needed(needles: Sequence[str]) -> list[str]:
    """The needles without those that hold another of them: where ``الدوسري`` is found, so is
    ``دوسري``, so the OR is the same without it (and PostgreSQL scans its trigram index once
    for that word, not twice)."""
    return [n for n in needles if not any(m != n and m in n for m in needles)] or list(needles[:1])


def _core(needles: Sequence[str]) -> str | None:
    """The longest text every one of ``needles`` holds, without a space at either end (None:
    none of ``TRIGRAM`` characters or more)."""
    shortest = min(needles, key=len)
    for size in range(len(shortest), TRIGRAM - 1, -1):
        for start in range(len(shortest) - size + 1):
            piece = shortest[start:start + size]
            if piece == piece.strip() and all(piece in n for n in needles):
                return piece
    return None


def index_needles(term: Term) -> list[str]:
    """What a trigram index looks for to find ``term``: its needles, or, when it has several,
    the longest text all of them hold (``_core``: "حازمي" for الحازمي and " حازمي", "expense"
    for expenses and " expense"). A row with any needle holds it, so the index reads one
    shorter phrase, without the commonest trigrams (ال…, a space before a letter), and the
    needles are checked on what it finds (``is_exact_in_index``). At 1,000,000 tickets the name
    منيرة الحازمي was 22 ms of PostgreSQL's trigram index as four needles, 1.4 ms as two cores;
    SQLite's FTS5 10 ms and 2 ms."""
    needed = _needed(term.needles)
    core = _core(needed) if len(needed) > 1 else None
    return [core] if core else needed


def is_exact_in_index(term: Term) -> bool:
    """Whether the trigram index looks for ``term``'s own needles (else for a text they share,
    which finds more: the needles must then be checked)."""
    return index_needles(term) == _needed(term.needles)


def term_condition(column, term: Term) -> ColumnElement[bool]:
    """The term found in ``column``: any of its needles as a substring."""
    return or_(*[_like(column, n) for n in _needed(term.needles)])


def condition(column, terms: Iterable[Term]) -> ColumnElement[bool] | None:
    """Every term found in ``column`` (None for no terms)."""
    parts = [term_condition(column, t) for t in terms]
    return and_(*parts) if parts else None


def _strpos_any(column, needles: Sequence[str]) -> ColumnElement[bool]:
    return or_(*[func.strpos(column, n) > 0 for n in needles])


def indexed_condition(column, terms: Iterable[Term]) -> ColumnElement[bool] | None:
    """The rows ``condition`` finds, written for PostgreSQL's trigram index: per term a
    ``LIKE`` of what the index looks for (``index_needles``) and, where that is a text the
    needles share, the needles themselves with ``strpos``, which the index does not serve and
    so only checks the rows it found."""
    parts = []
    for term in terms:
        needed, looked = _needed(term.needles), index_needles(term)
        looked_for = or_(*[_like(column, n) for n in looked])
        parts.append(looked_for if looked == needed else and_(looked_for, _strpos_any(column, needed)))
    return and_(*parts) if parts else None


def walk_condition(column, terms: Iterable[Term]) -> ColumnElement[bool] | None:
    """The rows ``condition`` finds, written with PostgreSQL's ``strpos``: the same substrings,
    which no index serves, but read faster in a text than ``LIKE`` reads them (about three
    times for Arabic), for a page read in order that stops when it is full."""
    parts = [_strpos_any(column, _needed(t.needles)) for t in terms]
    return and_(*parts) if parts else None


def trigram_terms(terms: Iterable[Term]) -> list[Term]:
    """The terms a trigram index can look for: every needle of ``TRIGRAM`` characters or more."""
    return [t for t in terms if all(len(n) >= TRIGRAM for n in t.needles)]


def _fts_phrase(needle: str) -> str:
    return '"' + needle.replace('"', '""') + '"'


def fts_rowids(fts_table: str, terms: Sequence[Term], *, any_term: bool = False) -> Select:
    """The rowids an SQLite FTS5 trigram table over a search text finds for ``trigram_terms``:
    every term (``any_term``: at least one), each as any of its needles in a quoted phrase,
    which the trigram tokenizer matches as a substring (``index_needles``: perhaps a text
    the needles share). It folds case beyond ASCII, so it finds the rows ``condition`` finds
    and perhaps more: keep the condition with it (``is_exact_in_index`` says where it may be
    left out)."""
    joiner = " OR " if any_term else " AND "
    expression = joiner.join("(" + " OR ".join(_fts_phrase(n) for n in index_needles(t)) + ")" for t in terms)
    rowid = sa.table(fts_table, sa.column("rowid")).c.rowid
    return select(rowid).where(sa.literal_column(fts_table).op("MATCH")(expression))


def fts_ids(session: Session, rowids: Select, most: int) -> list[int] | None:
    """The ids ``rowids`` finds (``fts_rowids``, or any select of one id column), read once,
    when there are at most ``most`` of them (None: more, read no further)."""
    ids = list(session.scalars(rowids.limit(most + 1)))
    return ids if len(ids) <= most else None


def score(column, terms: Sequence[Term], dialect: str) -> ColumnElement[int]:
    """How well a matching row answers: per term, 2 when found in the subject half, plus 1
    when found as typed (not only by a stem). Higher is better."""
    position = func.instr if dialect == "sqlite" else func.strpos
    subject_end = position(column, SUBJECT_END)
    total: ColumnElement[int] | None = None
    for term in terms:
        in_subject = or_(*[and_(position(column, n) > 0, position(column, n) < subject_end) for n in term.needles])
        points = case((in_subject, 2), else_=0) + case((position(column, term.exact) > 0, 1), else_=0)
        total = points if total is None else total + points
    return total if total is not None else case((column.is_(None), 0), else_=0)
