"""A beneficiary's rights over their data (نظام حماية البيانات الشخصية): a copy of it, a
correction, its erasure; and how long each kind of request is kept after it closed.

Every request is recorded (SubjectRequest: who, when, what, the outcome) with its audit row,
in the same transaction as what it did; a refused erasure is recorded too, with its reasons.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from desk import audit, labels
from desk.errors import NotFound, ValidationFailed, too_long
from desk.models import (
    AuditAction,
    AuditEntry,
    Beneficiary,
    CompensationClaim,
    EventKind,
    Kind,
    RetentionPeriod,
    SubjectRequest,
    SubjectRequestKind,
    SubjectRequestOutcome,
    Ticket,
    TicketEvent,
    User,
    utcnow,
)
from desk.permissions import Action, can
from desk.privacy import scrub
from desk.privacy.anonymise import anonymise_person, anonymise_ticket, identifiers, redact, redact_mentions
from desk.text import (
    InvalidNationalId,
    InvalidPhone,
    parse_national_id,
    parse_phone,
    to_ascii_digits,
)
from desk.tickets.search import ticket_search_text
from desk.tickets.service import REASON_ERASURE
from desk.transaction import atomic, commit

MAX_NOTE = 500
MAX_MONTHS = 600  # fifty years: beyond that a period is a typing mistake

# Proposed on the retention screen until the admin saves their own: months after a request
# closed. The associations' policies set no period; these follow the purpose of each kind
# (an answered question is spent quickly; aid decisions are read again when the family asks
# again; a compensation claim stays while a claim on it could still be brought).
PROPOSED_MONTHS: dict[str, int] = {
    Kind.INQUIRY: 12, Kind.SUGGESTION: 12, Kind.THANKS: 12,
    Kind.COMPLAINT: 36, Kind.DISPUTE: 36,
    Kind.SUPPORT: 60,
    Kind.COMPENSATION: 120,
}


# Retention periods ---------------------------------------------------------------------------

def periods(session: Session) -> dict[str, int]:
    """The periods the admin saved, by kind (a kind without one is kept)."""
    return {row.kind: row.months for row in session.scalars(select(RetentionPeriod))}


def period_for(session: Session, kind: str) -> int:
    """The period that holds a kind's requests: the admin's, else the proposed one (a legal
    hold is never lifted because nobody chose a period yet)."""
    return periods(session).get(kind, PROPOSED_MONTHS.get(kind, max(PROPOSED_MONTHS.values())))


def months_before(moment: datetime, months: int) -> datetime:
    """The same moment ``months`` calendar months earlier (the last day of a shorter month)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    month += 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - date(year, month, 1)).days
    return moment.replace(year=year, month=month, day=min(moment.day, last))


def ended_at(ticket: Ticket) -> datetime | None:
    """When a request stopped being worked on: closed, else resolved (None while open)."""
    if ticket.is_open:
        return None
    return ticket.closed_at or ticket.resolved_at or ticket.updated_at


def save_periods(session: Session, actor: User, typed: Mapping[str, str]) -> dict[str, int | None]:
    """The admin's periods, one per kind (empty: kept, no retention). Audited as an admin change."""
    if not can(actor, Action.ADMIN_MANAGE):
        raise NotFound()
    errors: dict[str, list[Any]] = {}
    chosen: dict[str, int | None] = {}
    for kind in Kind:
        raw = to_ascii_digits((typed.get(kind.value) or "").strip())
        if not raw:
            chosen[kind.value] = None
        elif not raw.isdigit() or not 1 <= int(raw) <= MAX_MONTHS:
            errors[kind.value] = [_l("Enter a whole number of months from 1 to %(n)s, or leave it empty.", n=MAX_MONTHS)]
        else:
            chosen[kind.value] = int(raw)
    if errors:
        raise ValidationFailed(errors)
    old = periods(session)
    now = utcnow()
    for name, months in chosen.items():
        row = session.get(RetentionPeriod, name)
        if months is None and row is not None:
            session.delete(row)
        elif months is not None and row is None:
            session.add(RetentionPeriod(kind=name, months=months, updated_at=now, updated_by_id=actor.id))
        elif months is not None and row is not None and row.months != months:
            row.months, row.updated_at, row.updated_by_id = months, now, actor.id
    changes = {k: [old.get(k), v] for k, v in chosen.items() if old.get(k) != v}
    if changes:
        audit.record(session, AuditAction.ADMIN_CHANGE, actor=actor, record_type="retention",
                     detail={"months": changes})
    commit(session)
    return chosen


# Legal holds --------------------------------------------------------------------------------

def holds(session: Session, person: Beneficiary, now: datetime | None = None) -> list[str]:
    """Why the person's data may not be erased now (empty: it may): an open request, a
    compensation claim or a research committee's decision still inside its retention period."""
    now = now or utcnow()
    reasons: list[str] = []
    tickets = list(session.scalars(select(Ticket).where(Ticket.beneficiary_id == person.id,
                                                        Ticket.anonymised_at.is_(None)).order_by(Ticket.id)))
    for ticket in tickets:
        if ticket.is_open:
            reasons.append(str(_l("Request %(reference)s is still open: it must be resolved or closed first.",
                                  reference=ticket.reference)))
            continue
        claimed = session.scalar(select(exists().where(CompensationClaim.ticket_id == ticket.id)))
        decided = session.scalar(select(exists().where(TicketEvent.ticket_id == ticket.id,
                                                       TicketEvent.kind == EventKind.COMMITTEE_DECISION)))
        if not (claimed or decided):
            continue
        end = ended_at(ticket)
        months = period_for(session, ticket.kind)
        if end is not None and months_before(now, months) < end:
            until = _add_months(end, months)
            message = (_l("Request %(reference)s holds a compensation claim, kept until %(date)s.",
                          reference=ticket.reference, date=f"{until:%Y-%m-%d}") if claimed else
                       _l("Request %(reference)s holds a research committee decision, kept until %(date)s.",
                          reference=ticket.reference, date=f"{until:%Y-%m-%d}"))
            reasons.append(str(message))
    return reasons


def _add_months(moment: datetime, months: int) -> datetime:
    return months_before(moment, -months)


# The record and its requests ------------------------------------------------------------------

def get(session: Session, actor: User, beneficiary_id: int, action: Action = Action.BENEFICIARY_VIEW) -> Beneficiary:
    if not can(actor, action):
        raise NotFound()
    person = session.get(Beneficiary, beneficiary_id)
    if person is None:
        raise NotFound()
    return person


def requests_of(session: Session, person: Beneficiary) -> list[SubjectRequest]:
    return list(session.scalars(select(SubjectRequest).where(SubjectRequest.beneficiary_id == person.id)
                                .order_by(SubjectRequest.id.desc())))


def tickets_of(session: Session, person: Beneficiary) -> list[Ticket]:
    return list(session.scalars(select(Ticket).where(Ticket.beneficiary_id == person.id).order_by(Ticket.id.desc())))


def access_log(session: Session, person: Beneficiary, *, newest_first: bool = False,
               limit: int | None = None) -> list[AuditEntry]:
    """The audit trail's rows about the person: their record (reveals, edits, requests about
    their data) and any of their requests (documents downloaded, refused access…)."""
    theirs = select(Ticket.id).where(Ticket.beneficiary_id == person.id).scalar_subquery()
    query = select(AuditEntry).where(or_(
        (AuditEntry.record_type == "beneficiary") & (AuditEntry.record_id == str(person.id)),
        AuditEntry.ticket_id.in_(theirs)))
    query = query.order_by(AuditEntry.id.desc() if newest_first else AuditEntry.id)
    return list(session.scalars(query if limit is None else query.limit(limit)))


def clean_note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed({"note": [too_long(MAX_NOTE)]})
    return note or None


def log_request(session: Session, actor: User, person: Beneficiary, kind: SubjectRequestKind,
                outcome: SubjectRequestOutcome, note: str | None, detail: dict[str, Any]) -> SubjectRequest:
    """The request's row and its audit row, in the caller's transaction."""
    row = SubjectRequest(beneficiary_id=person.id, kind=kind, outcome=outcome, note=note, detail=detail,
                         actor_id=actor.id, created_at=utcnow())
    session.add(row)
    audit.record(session, AuditAction.SUBJECT_REQUEST, actor=actor, record_type="beneficiary", record_id=person.id,
                 detail={"request": str(kind), "outcome": str(outcome), **detail})
    return row


# Correction ----------------------------------------------------------------------------------

CORRECTABLE = ("name", "national_id", "phone", "email", "city")
FIELD_LABELS = labels.AUDIT_FIELDS
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _parsed(session: Session, person: Beneficiary, field: str, typed: str) -> str | None:
    value = typed.strip()
    if field not in CORRECTABLE:
        raise ValidationFailed({"field": [_l("Choose the field to correct.")]})
    if field == "name":
        if not value:
            raise ValidationFailed({"value": [_l("Enter the beneficiary's name.")]})
        if len(value) > 160:
            raise ValidationFailed({"value": [too_long(160)]})
        return value
    if not value:
        return None
    if field == "national_id":
        try:
            value = parse_national_id(value)
        except InvalidNationalId:
            raise ValidationFailed({"value": [_l("This is not a valid national ID or iqama number.")]}) from None
        if session.scalar(select(exists().where(Beneficiary.national_id == value, Beneficiary.id != person.id))):
            raise ValidationFailed({"value": [_l("Another beneficiary is registered with this national ID.")]})
        return value
    if field == "phone":
        try:
            return parse_phone(value)
        except InvalidPhone:
            raise ValidationFailed({"value": [_l("This is not a valid mobile number.")]}) from None
    if field == "email":
        value = value.lower()
        if len(value) > 254 or not _EMAIL.match(value):
            raise ValidationFailed({"value": [_l("This is not a valid email address.")]})
        return value
    if len(value) > 80:
        raise ValidationFailed({"value": [too_long(80)]})
    return value


def correct(session: Session, actor: User, beneficiary_id: int, field: str, typed: str, note: str | None) -> str | None:
    """One field of the record corrected at the beneficiary's request: old → new in the audit
    trail (identifiers masked). Returns the new value."""
    person = get(session, actor, beneficiary_id, Action.SUBJECT_REQUEST)
    if person.anonymised_at is not None:
        raise ValidationFailed({"value": [_l("This record was erased: there is nothing left to correct.")]})
    note = clean_note(note)
    value = _parsed(session, person, field, typed)
    old = getattr(person, field)
    if value == old:
        raise ValidationFailed({"value": [_l("This is already the recorded value.")]})
    with atomic(session):
        setattr(person, field, value)
        if field == "name":
            person.refresh_search()
            for ticket in tickets_of(session, person):
                ticket.search_text = ticket_search_text(ticket.reference, ticket.subject, ticket.body, value)
        change = {"field": field, "old": audit.masked(field, old), "new": audit.masked(field, value)}
        log_request(session, actor, person, SubjectRequestKind.CORRECTION, SubjectRequestOutcome.DONE, note, change)
        # Also what it is for the trail's readers: an edit of the record, found with the others.
        audit.record_edit(session, actor, person.id, field, old, value, request=str(SubjectRequestKind.CORRECTION))
    return value


# Erasure -------------------------------------------------------------------------------------

@dataclass
class Erased:
    refused: list[str]          # the legal holds (nothing was changed)
    tickets: int = 0            # their own requests anonymised
    documents: int = 0          # documents deleted
    mentions: int = 0           # other requests whose text named them


def erase(session: Session, actor: User, beneficiary_id: int, note: str | None, attachment_dir: str | Path,
          now: datetime | None = None) -> Erased:
    """Anonymise the person everywhere (their record, their requests and messages, other
    requests' words that name them) and delete their documents, or refuse with the reasons
    while a legal hold applies. Either way the request is recorded.

    On SQLite the file is then scrubbed (desk.privacy.scrub: freed space zeroed, the search
    indexes' segments merged, the WAL emptied). Copies of the database made before — a renamed
    or copied file, every backup — still hold the person's data; VACUUM is advised after a
    large erasure, and FTS5's 'secure-delete' option (SQLite 3.42+) is unavailable on 3.40.1."""
    person = get(session, actor, beneficiary_id, Action.SUBJECT_REQUEST)
    if person.anonymised_at is not None:
        raise ValidationFailed({"note": [_l("This record was already erased.")]})
    note = clean_note(note)
    now = now or utcnow()
    reasons = holds(session, person, now)
    if reasons:
        with atomic(session):
            log_request(session, actor, person, SubjectRequestKind.ERASURE, SubjectRequestOutcome.REFUSED, note,
                        {"holds": reasons})
        return Erased(refused=reasons)
    result = Erased(refused=[])
    try:
        _erase(session, actor, person, note, attachment_dir, now, result)
    except StaleDataError:  # one of their requests changed meanwhile (reopened?): nothing was done
        raise ValidationFailed({"note": [_l("One of their requests changed while this was being done; nothing "
                                            "was erased. Open the page again and retry.")]}) from None
    scrub.after_erasure(session)  # SQLite: the old words out of the index's segments and the WAL
    return result


def _erase(session: Session, actor: User, person: Beneficiary, note: str | None, attachment_dir: str | Path,
           now: datetime, result: Erased) -> None:
    with atomic(session) as files:
        pattern = identifiers(person)
        own = tickets_of(session, person)
        for ticket in own:
            if ticket.anonymised_at is None:
                result.documents += anonymise_ticket(session, actor, ticket, files, attachment_dir,
                                                     reason=REASON_ERASURE, now=now)
                result.tickets += 1
        if pattern is not None:
            result.mentions = redact_mentions(session, actor, person, pattern, [t.id for t in own], now)
        log_request(session, actor, person, SubjectRequestKind.ERASURE, SubjectRequestOutcome.DONE, note,
                    {"tickets": result.tickets, "documents": result.documents, "mentions": result.mentions})
        if pattern is not None:  # staff's notes of how they asked may name them too
            for earlier in requests_of(session, person):
                earlier.note = redact(earlier.note, pattern)
        anonymise_person(session, person, now)
