"""Where a new ticket goes: the first active rule whose every condition holds, else the
category's default department, else nowhere (it stays in the shared queue, unrouted).

The matching itself is pure Python over plain data (``RuleSpec``, ``Sample``), so it is
unit-tested without a database and the admin's rule tester runs it on a rule being typed.
``propose`` loads the active rules with one query per call and hands them to it.
``keyword_shares`` tells the admin screens how many recent tickets a keyword would catch, and
``reason_code`` is what a ROUTED event stores as its reason (a code, translated on display).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property, lru_cache

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from desk.models import Category, Department, RoutingRule, Ticket
from desk.text import normalize_search
from desk.text.stems import found as keyword_found
from desk.text.stems import stem_phrase

# Keywords shorter than this (after normalisation) would match almost any text: two letters
# are an Arabic suffix or plural ending (ات، ية، ين، ون) found in nearly every word.
MIN_KEYWORD = 3

# A keyword found in more than this share of the latest tickets would route most of them:
# judged over the LATEST_TICKETS most recent tickets, once there are at least CATCH_ALL_MIN_TICKETS.
CATCH_ALL_SHARE = 0.30
LATEST_TICKETS = 500
CATCH_ALL_MIN_TICKETS = 50

# Function words that occur in nearly every ticket: a rule keyed on them would route everything.
STOP_WORDS = frozenset(normalize_search(w) for w in (
    "في", "من", "على", "إلى", "الى", "عن", "مع", "أن", "إن", "ان", "أو", "او", "ثم", "لا", "لم", "لن",
    "ما", "هل", "قد", "كان", "هذا", "هذه", "ذلك", "تلك", "التي", "الذي", "الذين", "هو", "هي", "هم",
    "انا", "أنا", "نحن", "كل", "بعد", "قبل", "عند", "غير", "بين", "حتى", "يا", "و", "ال",
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "at", "by", "for", "from", "with",
    "is", "are", "was", "be", "it", "this", "that", "i", "you", "we", "my", "not", "no",
))

# What separates keywords when an admin types them: new lines, Latin and Arabic commas and semicolons.
_KEYWORD_SPLIT = re.compile(r"[\n\r,،;؛]+")


class Reason(StrEnum):
    RULE = "rule"          # a routing rule matched
    CATEGORY = "category"  # no rule matched; the category's default department
    NONE = "none"          # nothing matched: stays in the shared queue, unrouted


# Pure matching ------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleSpec:
    """A rule's conditions as plain data. Keywords must already be normalised."""

    kinds: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    category_ids: frozenset[int] = frozenset()
    keywords: tuple[str, ...] = ()
    id: int | None = None
    name: str = ""
    department_id: int | None = None

    @classmethod
    def of(cls, *, kinds: Iterable[str] = (), channels: Iterable[str] = (), category_ids: Iterable[int] = (),
           keywords: Iterable[str] = (), id: int | None = None, name: str = "",
           department_id: int | None = None) -> RuleSpec:
        return cls(frozenset(kinds or ()), frozenset(channels or ()), frozenset(int(c) for c in category_ids or ()),
                   tuple(keywords or ()), id, name, department_id)

    @property
    def is_empty(self) -> bool:
        return not (self.kinds or self.channels or self.category_ids or self.keywords)


@dataclass(frozen=True)
class Sample:
    """What a rule is matched against; ``text`` is normalize_search(subject + " " + body)."""

    kind: str
    channel: str
    category_id: int | None
    text: str

    @classmethod
    def of(cls, kind: str, channel: str, category_id: int | None, subject: str, body: str) -> Sample:
        return cls(kind or "", channel or "", category_id, normalize_search(f"{subject or ''} {body or ''}"))

    @cached_property
    def stems(self) -> str:
        return stem_phrase(self.text)

    def has(self, keyword: str) -> bool:
        """The keyword in the text as written, or by its stem (desk.text.stems.found)."""
        return keyword_found(keyword, self.text, self.stems)


@dataclass(frozen=True)
class Check:
    """One condition of a rule against a sample, for the tester's explanation."""

    condition: str            # "kinds" | "channels" | "category_ids" | "keywords"
    holds: bool
    found: tuple[str, ...] = ()  # the keywords found in the text


def matches(rule: RuleSpec, sample: Sample) -> bool:
    """Every non-empty condition holds (lists: any value; keywords: any found in the text).
    A rule with no condition at all matches nothing (the admin screens refuse to save one)."""
    if rule.is_empty:
        return False
    if rule.kinds and sample.kind not in rule.kinds:
        return False
    if rule.channels and sample.channel not in rule.channels:
        return False
    if rule.category_ids and sample.category_id not in rule.category_ids:
        return False
    if rule.keywords and not any(sample.has(k) for k in rule.keywords):
        return False
    return True


def explain(rule: RuleSpec, sample: Sample) -> list[Check]:
    """Each non-empty condition of the rule and whether it holds for the sample."""
    checks = []
    if rule.kinds:
        checks.append(Check("kinds", sample.kind in rule.kinds))
    if rule.channels:
        checks.append(Check("channels", sample.channel in rule.channels))
    if rule.category_ids:
        checks.append(Check("category_ids", sample.category_id in rule.category_ids))
    if rule.keywords:
        found = tuple(k for k in rule.keywords if sample.has(k))
        checks.append(Check("keywords", bool(found), found))
    return checks


def first_match(rules: Sequence[RuleSpec], sample: Sample) -> RuleSpec | None:
    """The first rule (in the given order) that matches."""
    for rule in rules:
        if matches(rule, sample):
            return rule
    return None


# Keywords as typed --------------------------------------------------------------------

def parse_keywords(raw: str | None) -> list[str]:
    """Keywords typed one per line or comma separated → normalised, duplicates dropped."""
    out: dict[str, None] = {}
    for part in _KEYWORD_SPLIT.split(raw or ""):
        keyword = normalize_search(part)
        if keyword:
            out[keyword] = None
    return list(out)


def keyword_problem(keyword: str) -> str | None:
    """Why a (normalised) keyword would match nearly everything: "short", "common" or None."""
    if len(keyword) < MIN_KEYWORD:
        return "short"
    if keyword in STOP_WORDS:
        return "common"
    return None


def keyword_shares(session: Session, keywords: Iterable[str], latest: int = LATEST_TICKETS) -> dict[str, tuple[int, int]]:
    """Each (normalised) keyword → (in how many of the latest tickets it is found, how many were read).

    One query over the newest rows (the created-at index); the counting is Python over at most
    ``latest`` texts. The text is the ticket's search text without its reference (rules never see
    the reference, and every reference holds the year); the beneficiary's name stays in."""
    keywords = list(keywords)
    if not keywords:
        return {}
    rows = session.execute(select(Ticket.reference, Ticket.search_text)
                           .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(latest)).all()
    texts = [(text or "").removeprefix(normalize_search(reference)) for reference, text in rows]
    # The stored text holds its stems after the words (desk.search.indexed_text), each between spaces.
    return {k: (sum(1 for text in texts if keyword_found(k, text, text)), len(texts)) for k in keywords}


def catch_alls(session: Session, keywords: Iterable[str]) -> dict[str, tuple[int, int]]:
    """The keywords found in more than CATCH_ALL_SHARE of the latest tickets, with (found, read);
    none while there are fewer than CATCH_ALL_MIN_TICKETS tickets to judge by."""
    return {k: (found, read) for k, (found, read) in keyword_shares(session, keywords).items()
            if read >= CATCH_ALL_MIN_TICKETS and found > CATCH_ALL_SHARE * read}


# Loading and proposing ----------------------------------------------------------------

@dataclass
class Proposal:
    department: Department | None
    rule: RoutingRule | None = None
    reason: Reason = Reason.NONE
    category: Category | None = None
    checks: list[Check] = field(default_factory=list)  # why the rule matched

    @property
    def department_id(self) -> int | None:
        return self.department.id if self.department else None


# The JSON lists come back as their text (no JSON decoding per row by the driver or the ORM);
# _spec turns a row into a RuleSpec once per distinct row content (a pure memo: an edited rule
# is a different row text, so nothing here can go stale or differ between instances).
_RULE_COLUMNS = (RoutingRule.id, RoutingRule.name, cast(RoutingRule.kinds, Text), cast(RoutingRule.channels, Text),
                 cast(RoutingRule.category_ids, Text), cast(RoutingRule.keywords, Text), RoutingRule.department_id)


@lru_cache(maxsize=4096)
def _spec(rule_id: int, name: str, kinds: str | None, channels: str | None, category_ids: str | None,
          keywords: str | None, department_id: int) -> RuleSpec:
    return RuleSpec.of(id=rule_id, name=name, kinds=json.loads(kinds or "[]") or (),
                       channels=json.loads(channels or "[]") or (), category_ids=json.loads(category_ids or "[]") or (),
                       keywords=json.loads(keywords or "[]") or (), department_id=department_id)


# Built once: the statement is immutable, and SQLAlchemy reuses its compiled form.
_ACTIVE_RULES = (
    select(*_RULE_COLUMNS)
    .join(Department, Department.id == RoutingRule.department_id)
    .where(RoutingRule.active.is_(True), Department.active.is_(True))
    .order_by(RoutingRule.position, RoutingRule.id)
)


def load_rules(session: Session) -> list[RuleSpec]:
    """The active rules whose department is active, in order: one query, plain rows, no ORM objects."""
    rows = session.connection().execute(_ACTIVE_RULES).all()  # Core, not the ORM: plain tuples
    return [_spec(*row) for row in rows]


def propose(session: Session, kind: str, channel: str, category_id: int | None, subject: str,
            body: str) -> Proposal:
    """The department a new ticket should go to, with the rule (or category) that says so."""
    sample = Sample.of(kind, channel, category_id, subject, body)
    winner = first_match(load_rules(session), sample)
    if winner is not None:
        rule = session.get(RoutingRule, winner.id)
        if rule is not None:  # (None only when deleted since load_rules read it: then as if unmatched)
            return Proposal(rule.department, rule, Reason.RULE, checks=explain(winner, sample))
    category = session.get(Category, category_id) if category_id else None
    if category is not None and category.kind == kind:
        department = category.default_department
        if department is not None and department.active:
            return Proposal(department, None, Reason.CATEGORY, category)
    return Proposal(None, None, Reason.NONE, category)


def reason_code(proposal: Proposal | None, taken: bool = True) -> str:
    """Why a ticket went where it did, as stored on its ROUTED event (``TicketEvent.reason``):
    "rule:<id>", "category:<id>", or "staff" when a person chose (whatever their role). A code,
    not words: the timeline says it in each reader's language, with the current names."""
    if proposal is None or not taken or proposal.department is None:
        return "staff"
    if proposal.reason == Reason.RULE and proposal.rule is not None:
        return f"rule:{proposal.rule.id}"
    if proposal.reason == Reason.CATEGORY and proposal.category is not None:
        return f"category:{proposal.category.id}"
    return "staff"
