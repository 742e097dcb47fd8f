"""Disputes (خلاف) settled amicably first (R37, issue 20 point 7): each attempt at amicable
settlement on a dispute ticket — when, between which parties, the outcome (settled, referred
to whom, pending) and the agreement concerned (one of the ticket's documents and/or its
number or title) — one row and one timeline event, in one transaction.

Also the one reader of a typed day for these records (``typed_day``), which the compensation
claim's interim measures use too."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk import labels
from desk.errors import ValidationFailed, add_error, required_text, too_long
from desk.models import Attachment, EventKind, SettlementAttempt, SettlementOutcome, Ticket, User, utcnow
from desk.permissions import Action
from desk.sla.service import GREGORIAN, parse_day
from desk.tickets.service import MAX_COMMENT
from desk.tickets.workflow import check_version, record, require
from desk.transaction import atomic

MAX_PARTIES = 1000
MAX_REFERRED_TO = 200
MAX_AGREEMENT_REF = 300


def typed_day(errors: dict[str, list], field: str, raw: str | None, *, required: bool,
              not_after: date | None = None, not_before: date | None = None) -> date | None:
    """A date typed in a form (2026-12-04, Arabic-Indic digits accepted), with the message by
    ``field`` when it is missing, not a date, in the future (``not_after``) or before
    ``not_before``. None when empty and not required, or refused."""
    if not (raw or "").strip():
        if required:
            add_error(errors, field, _l("Enter the date."))
        return None
    try:
        day = parse_day(raw, GREGORIAN)
    except ValueError:
        add_error(errors, field, _l("Enter a valid date, e.g. 2026-12-04."))
        return None
    if not_after is not None and day > not_after:
        add_error(errors, field, _l("This date is in the future."))
        return None
    if not_before is not None and day < not_before:
        add_error(errors, field, _l("This date is before the start date."))
        return None
    return day


def attempts_of(session: Session, ticket: Ticket) -> list[SettlementAttempt]:
    return list(session.scalars(select(SettlementAttempt).where(SettlementAttempt.ticket_id == ticket.id)
                                .order_by(SettlementAttempt.id)))


def agreement_choices(session: Session, ticket: Ticket) -> list[Attachment]:
    """The documents that may be the agreement concerned: this ticket's attachments only."""
    from desk.attachments.service import for_ticket
    return for_ticket(session, ticket)  # (read once per page: desk.memo)


def record_attempt(session: Session, actor: User, ticket: Ticket, *, attempted_on: str | None, parties: str | None,
                   outcome: str | None, referred_to: str | None = None, agreement_id: str | None = None,
                   agreement_ref: str | None = None, note: str | None = None,
                   expected_version: int | None) -> SettlementAttempt:
    """Record one attempt at amicable settlement, with its timeline event; refused when stale."""
    require(actor, Action.DISPUTE_SETTLE, ticket)
    errors: dict[str, list] = {}
    day = typed_day(errors, "attempted_on", attempted_on, required=True, not_after=utcnow().date())
    who = required_text(errors, "parties", parties, _l("Name the parties to the settlement."), MAX_PARTIES)
    if outcome not in set(SettlementOutcome):
        add_error(errors, "outcome", _l("Choose the outcome."))
    to_whom = (referred_to or "").strip()
    if outcome == SettlementOutcome.REFERRED and not to_whom:
        add_error(errors, "referred_to", _l("Write to whom the dispute was referred."))
    elif len(to_whom) > MAX_REFERRED_TO:
        add_error(errors, "referred_to", too_long(MAX_REFERRED_TO))
    document = None
    raw_id = str(agreement_id or "").strip()
    if raw_id:
        document = session.get(Attachment, int(raw_id)) if raw_id.isdigit() else None
        if document is None or document.ticket_id != ticket.id:
            add_error(errors, "agreement_id", _l("Choose one of this ticket's documents."))
    reference = (agreement_ref or "").strip()
    if len(reference) > MAX_AGREEMENT_REF:
        add_error(errors, "agreement_ref", too_long(MAX_AGREEMENT_REF))
    text = (note or "").strip()
    if len(text) > MAX_COMMENT:
        add_error(errors, "note", too_long(MAX_COMMENT))
    seen = check_version(session, ticket, expected_version)
    if errors or day is None or outcome is None:  # neither is missing without a message by its field
        raise ValidationFailed(errors)
    with atomic(session, ticket, seen):
        attempt = SettlementAttempt(
            ticket_id=ticket.id, attempted_on=day, parties=who, outcome=outcome,
            referred_to=to_whom if outcome == SettlementOutcome.REFERRED else None,
            agreement_id=document.id if document else None, agreement_ref=reference or None,
            note=text or None, created_by_id=actor.id)
        session.add(attempt)
        record(session, ticket, actor, EventKind.SETTLEMENT_ATTEMPT, old=day.isoformat(), new=outcome,
               body=_summary(attempt, document))
    return attempt


def _summary(attempt: SettlementAttempt, document: Attachment | None) -> str:
    """The event's body: what the timeline shows, in the desk's first language's words."""
    lines = [f"{labels.SETTLEMENT_OUTCOMES[attempt.outcome]}"
             + (f": {attempt.referred_to}" if attempt.referred_to else ""),
             f"{_l('Parties')}: {attempt.parties}"]
    if document is not None or attempt.agreement_ref:
        lines.append(f"{_l('Agreement')}: " + " · ".join(x for x in (attempt.agreement_ref,
                                                                   document.filename if document else None) if x))
    if attempt.note:
        lines.append(attempt.note)
    return "\n".join(lines)
