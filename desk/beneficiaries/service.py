"""Finding and creating beneficiaries."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, literal, or_, select
from sqlalchemy.orm import Session

from desk import search
from desk.errors import ValidationFailed
from desk.models import Beneficiary, RequesterKind, User, is_organisation
from desk.text import normalize_search, ten_digits
from desk.tickets.search import SQLITE_NAMES_FTS_TABLE, sqlite_has

MIN_QUERY = 2
NAME_IDS = 2000  # the most people a name lookup fetches by a list of ids


@dataclass
class NewBeneficiary:
    """Already-parsed values: national ID as 10 digits, phone in E.164."""

    name: str
    national_id: str | None = None
    phone: str | None = None
    email: str | None = None
    city: str | None = None
    landline: str | None = None   # E.164; a phone for calls (the mobile is for SMS and WhatsApp)
    id_type: str | None = None    # desk.text.ID_TYPES
    id_document: str | None = None  # the number of a document that is not a Saudi ID
    # Who the requester is (desk.models.RequesterKind). An organisation's numbers, 10 digits each,
    # and its contact person (whose mobile and email are ``phone`` and ``email``).
    requester_kind: str = RequesterKind.PERSON
    commercial_registration: str | None = None
    unified_number: str | None = None
    contact_name: str | None = None


def _lookup(session: Session, query: str) -> tuple[search.Query, list[ColumnElement[bool]]]:
    """The parsed query and, per typed word, its condition on the name (none: nothing to look for)."""
    if len(normalize_search(query)) < MIN_QUERY:
        return search.Query(), []
    parsed = search.parse(query, search.word_groups(session), anchored=False)
    return parsed, [search.term_condition(Beneficiary.search_name, t) for t in parsed.terms]


def _name_index(session: Session, terms: Sequence[search.Term], *, any_term: bool = False) -> ColumnElement[bool] | None:
    """On SQLite, the beneficiaries its trigram index over the names (migration 0026) finds for
    the typed words: every word (``any_term``: one of them) whose needles it can look for. It
    only narrows, the LIKE conditions still decide; None when it cannot narrow (PostgreSQL's
    planner uses its own trigram index with the LIKE conditions alone)."""
    indexed = search.trigram_terms(terms)
    if not indexed or (any_term and len(indexed) < len(terms)) or not sqlite_has(session, SQLITE_NAMES_FTS_TABLE):
        return None
    matches = search.fts_rowids(SQLITE_NAMES_FTS_TABLE, indexed, any_term=any_term)
    # Read first, the people found are fetched by id whatever the planner's statistics say (a
    # database analysed while it held a few names would otherwise scan them all); a name too
    # common for a list stays a subquery.
    ids = search.fts_ids(session, matches, NAME_IDS)
    return Beneficiary.id.in_(matches if ids is None else ids)


def typed_national_id(session: Session, query: str) -> str | None:
    """The national ID or iqama number a lookup was typed as (Arabic or Western digits), to
    carry into "record a new beneficiary" when the lookup found nobody (review m7)."""
    parsed, _words = _lookup(session, query)
    return parsed.national_id or None


def search_people(session: Session, query: str, limit: int = 8) -> list[Beneficiary]:
    """By national ID / iqama, commercial registration, unified number (700…) or mobile number
    (the whole number, exactly: a masked number cannot be read out digit by digit), or by name
    the way people say it: every typed word found in the name, in any order, with or without ال,
    a compound name joined or not (desk.search). "نورة الدوسري" finds "نورة سالم الدوسري"; an
    organisation is found by its name the same way."""
    parsed, words = _lookup(session, query)
    number = ten_digits(query)
    if number and not parsed.phone:  # each is 10 digits: a Riyadh registration (1010…) may pass as an ID
        found = or_(Beneficiary.national_id == number, Beneficiary.commercial_registration == number,
                    Beneficiary.unified_number == number)
    elif parsed.national_id:
        found = Beneficiary.national_id == parsed.national_id
    elif parsed.phone:
        found = Beneficiary.phone == parsed.phone
    elif words:
        found = and_(*words)
        indexed = _name_index(session, parsed.terms)
        if indexed is not None:
            found = and_(indexed, found)
    else:
        return []
    return list(session.scalars(select(Beneficiary).where(found).order_by(Beneficiary.name).limit(limit)))


def near_matches(session: Session, query: str, limit: int = 8) -> list[Beneficiary]:
    """When no one has every typed word: those with the most of them (at least one word of
    three letters or more), offered at intake before "record a new one"."""
    parsed, _ = _lookup(session, query)
    terms = [t for t in parsed.terms if len(t.exact) >= 3]
    if parsed.national_id or parsed.phone or not terms:
        return []
    hits = sum((case((search.term_condition(Beneficiary.search_name, t), 1), else_=0) for t in terms),
               start=literal(0))
    found = or_(*[search.term_condition(Beneficiary.search_name, t) for t in terms])
    indexed = _name_index(session, terms, any_term=True)
    stmt = (select(Beneficiary).where(found if indexed is None else and_(indexed, found))
            .order_by(hits.desc(), Beneficiary.name).limit(limit))
    return list(session.scalars(stmt))


def find_by_phone(session: Session, phone: str) -> list[Beneficiary]:
    return list(session.scalars(select(Beneficiary).where(Beneficiary.phone == phone).order_by(Beneficiary.id).limit(5)))


def find_by_national_id(session: Session, national_id: str) -> Beneficiary | None:
    return session.scalar(select(Beneficiary).where(Beneficiary.national_id == national_id))


def find_by_commercial_registration(session: Session, number: str) -> Beneficiary | None:
    return session.scalar(select(Beneficiary).where(Beneficiary.commercial_registration == number))


def find_by_unified_number(session: Session, number: str) -> Beneficiary | None:
    return session.scalar(select(Beneficiary).where(Beneficiary.unified_number == number))


REGISTERED = _l("An organisation with this number is already registered: choose it from the search results.")


def registered_numbers(session: Session, data: NewBeneficiary) -> dict[str, list]:
    """The errors of an organisation's numbers already on another record, by field."""
    errors: dict[str, list] = {}
    if data.commercial_registration and find_by_commercial_registration(session, data.commercial_registration):
        errors["b_commercial_registration"] = [REGISTERED]
    if data.unified_number and find_by_unified_number(session, data.unified_number):
        errors["b_unified_number"] = [REGISTERED]
    return errors


def build(session: Session, actor: User | None, data: NewBeneficiary) -> Beneficiary:
    """A new beneficiary added to the session (not committed: it joins the caller's transaction).
    ``actor`` None: the beneficiary registered themselves through the portal."""
    if not data.name.strip():
        raise ValidationFailed({"b_name": [_l("Enter the beneficiary's name.")]})
    if data.national_id and find_by_national_id(session, data.national_id):
        raise ValidationFailed({"b_national_id": [
            _l("A beneficiary with this national ID is already registered: choose them from the search results.")]})
    organisation = is_organisation(data.requester_kind)
    if organisation and (taken := registered_numbers(session, data)):
        raise ValidationFailed(taken)
    beneficiary = Beneficiary(
        name=data.name.strip(), national_id=data.national_id or None, phone=data.phone or None,
        email=(data.email or "").strip().lower() or None, city=(data.city or "").strip() or None,
        landline=data.landline or None, id_type=data.id_type or None, id_document=data.id_document or None,
        created_by_id=actor.id if actor else None,
        requester_kind=data.requester_kind if data.requester_kind in set(RequesterKind) else RequesterKind.PERSON,
        commercial_registration=(data.commercial_registration or None) if organisation else None,
        unified_number=(data.unified_number or None) if organisation else None,
        contact_name=((data.contact_name or "").strip() or None) if organisation else None,
    )
    beneficiary.refresh_search()
    session.add(beneficiary)
    return beneficiary
