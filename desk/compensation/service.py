"""Compensation claims (طلب تعويض) on compensation tickets, by the policy of seed 001:
four conditions, each assessed met / not met / unknown with a note and evidence (one of the
ticket's attachments: the association's admission or a final ruling; condition 3 cannot be
met without it); a negotiation log (timeline notes); a proposed amount in SAR and/or a
remedy; the general manager's approval or rejection, never by the person who proposed it
(separation of duties), and approval only when all four conditions are met.

Plain functions of (session, actor, ticket, …); each is one transaction with its timeline
event. State changes are refused when stale (the ticket's version, as in desk.tickets.actions);
a negotiation note changes no state and never conflicts.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.casefile import service as casefile
from desk.disputes.service import typed_day
from desk.errors import ValidationFailed, required_text, too_long
from desk.models import (
    Attachment,
    ClaimOutcome,
    CompensationClaim,
    CompensationCondition,
    ConditionState,
    EventKind,
    EvidenceKind,
    InterimMeasure,
    Ticket,
    TicketEvent,
    User,
    utcnow,
)
from desk.models.compensation import CONDITIONS, EVIDENCE_CONDITION
from desk.permissions import Action
from desk.text import to_ascii_digits
from desk.tickets.service import MAX_COMMENT
from desk.tickets.workflow import check_version, record, require
from desk.transaction import atomic

MAX_AMOUNT = Decimal("9999999999.99")


def claim_of(session: Session, ticket: Ticket) -> CompensationClaim | None:
    return session.scalar(select(CompensationClaim).where(CompensationClaim.ticket_id == ticket.id))


def _claim(session: Session, ticket: Ticket) -> CompensationClaim:
    """The ticket's claim, created with its four conditions unknown on first use."""
    claim = claim_of(session, ticket)
    if claim is None:
        claim = CompensationClaim(ticket_id=ticket.id, outcome=ClaimOutcome.PENDING,
                                  conditions=[CompensationCondition(number=n, state=ConditionState.UNKNOWN)
                                              for n in CONDITIONS])
        session.add(claim)
    return claim


def _undecided(claim: CompensationClaim, field: str) -> None:
    if claim.outcome != ClaimOutcome.PENDING:
        raise ValidationFailed({field: [_l("The general manager has decided this claim: it can no longer change.")]})


def _optional(raw: str | None, field: str) -> str | None:
    text = (raw or "").strip()
    if len(text) > MAX_COMMENT:
        raise ValidationFailed({field: [too_long(MAX_COMMENT)]})
    return text or None


def evidence_choices(session: Session, ticket: Ticket) -> list[Attachment]:
    """The documents that may serve as evidence: this ticket's attachments, and only those."""
    return list(session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id)))


def parse_amount(raw: str | None) -> Decimal | None:
    """An amount in SAR: Arabic-Indic digits, the Arabic decimal separator and thousands
    separators accepted. None when empty; ValueError when not a positive amount."""
    text = to_ascii_digits((raw or "").strip()).replace("٫", ".").replace("٬", "").replace(",", "").replace("،", "")
    text = text.removesuffix("ر.س").removesuffix("SAR").strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(text)
    return amount.quantize(Decimal("0.01"))


def assess(session: Session, actor: User, ticket: Ticket, number: str | int | None, state: str | None,
           note: str | None, evidence_id: str | int | None, evidence_kind: str | None, *,
           expected_version: int | None) -> TicketEvent:
    """Record one condition's state, note and evidence."""
    require(actor, Action.COMPENSATION_EDIT, ticket)
    raw_number = str(number or "").strip()
    if not raw_number.isdigit() or int(raw_number) not in CONDITIONS:
        raise ValidationFailed({"state": [_l("Choose one of the four conditions.")]})
    number = int(raw_number)
    errors: dict[str, list] = {}
    if state not in set(ConditionState):
        errors["state"] = [_l("Choose met, not met or unknown.")]
    try:
        note = _optional(note, "note")
    except ValidationFailed as failed:
        errors.update(failed.errors)
    evidence = None
    raw_evidence = str(evidence_id or "").strip()
    if raw_evidence:
        evidence = session.get(Attachment, int(raw_evidence)) if raw_evidence.isdigit() else None
        if evidence is None or evidence.ticket_id != ticket.id:
            errors["evidence"] = [_l("Choose a document attached to this ticket.")]
            evidence = None
    kind = (evidence_kind or "").strip() or None
    if kind is not None and kind not in set(EvidenceKind):
        errors["evidence_kind"] = [_l("Choose the association's admission or a final ruling.")]
    elif raw_evidence and kind is None:
        errors["evidence_kind"] = [_l("Say whether the document is the association's admission or a final ruling.")]
    elif kind is not None and not raw_evidence:
        errors["evidence"] = [_l("Choose the document that proves it.")]
    if (number == EVIDENCE_CONDITION and state == ConditionState.MET and not errors
            and (evidence is None or kind is None)):
        errors["evidence"] = [_l("This condition is met only with evidence: the association's admission or a final ruling, attached to the ticket.")]
    if errors or state is None:  # state is None only with its error: this narrows it
        raise ValidationFailed(errors)
    seen = check_version(session, ticket, expected_version)
    with atomic(session, ticket, seen):
        claim = _claim(session, ticket)
        _undecided(claim, "state")
        session.flush()
        condition = next(c for c in claim.conditions if c.number == number)
        old = condition.state
        condition.state, condition.note = state, note
        condition.evidence_id, condition.evidence_kind = (evidence.id if evidence else None), kind
        body = "\n".join(filter(None, [f"{number}", note, evidence.filename if evidence else None]))
        event = record(session, ticket, actor, EventKind.COMPENSATION_CONDITION, old=f"{number}:{old}",
                       new=f"{number}:{state}", body=body)
    return event


def add_note(session: Session, actor: User, ticket: Ticket, text: str | None) -> TicketEvent:
    """One entry of the negotiation log (who and when are the event's): never conflicts."""
    require(actor, Action.COMPENSATION_EDIT, ticket)
    errors: dict[str, list] = {}
    text = required_text(errors, "text", text, _l("Write what was said or agreed in the negotiation."), MAX_COMMENT)
    if errors:
        raise ValidationFailed(errors)
    with atomic(session, ticket, ticket.version):
        _claim(session, ticket)
        event = record(session, ticket, actor, EventKind.COMPENSATION_NOTE, body=text, bump=False)
    return event


MAX_MEASURE = 2000


def measures_of(session: Session, ticket: Ticket) -> list[InterimMeasure]:
    return list(session.scalars(select(InterimMeasure).where(InterimMeasure.ticket_id == ticket.id)
                                .order_by(InterimMeasure.taken_on, InterimMeasure.id)))


def add_measure(session: Session, actor: User, ticket: Ticket, measure: str | None, taken_on: str | None,
                until: str | None) -> InterimMeasure:
    """An interim measure taken to limit the harm while the claim is handled (R33): what, from
    when (not in the future), until when (optional, not before). Like a negotiation note it
    changes no state of the claim and never conflicts; decided claims still take one (the harm
    may still need limiting)."""
    require(actor, Action.COMPENSATION_EDIT, ticket)
    errors: dict[str, list] = {}
    text = required_text(errors, "measure", measure, _l("Describe the measure taken to limit the harm."), MAX_MEASURE)
    start = typed_day(errors, "taken_on", taken_on, required=True, not_after=utcnow().date())
    end = typed_day(errors, "until", until, required=False, not_before=start)
    if errors or start is None:  # no start without a message by its field
        raise ValidationFailed(errors)
    with atomic(session, ticket, ticket.version):
        row = InterimMeasure(ticket_id=ticket.id, measure=text, taken_on=start, until=end, created_by_id=actor.id)
        session.add(row)
        body = text if end is None else f"{text}\n{_l('Until')}: {end.isoformat()}"
        record(session, ticket, actor, EventKind.INTERIM_MEASURE, new=start.isoformat(), body=body, bump=False)
    return row


def propose(session: Session, actor: User, ticket: Ticket, amount: str | None, remedy: str | None, *,
            expected_version: int | None) -> TicketEvent:
    """Propose an amount (SAR) and/or a remedy; the proposer is recorded (and may not approve)."""
    require(actor, Action.COMPENSATION_EDIT, ticket)
    errors: dict[str, list] = {}
    try:
        value = parse_amount(amount)
    except ValueError:
        value = None
        errors["amount"] = [_l("Write a positive amount in riyals, e.g. 1500 or 1500.50.")]
    try:
        remedy = _optional(remedy, "remedy")
    except ValidationFailed as failed:
        errors.update(failed.errors)
    if not errors and value is None and remedy is None:
        errors["amount"] = [_l("Propose an amount, a remedy, or both.")]
    if errors:
        raise ValidationFailed(errors)
    seen = check_version(session, ticket, expected_version)
    with atomic(session, ticket, seen):
        claim = _claim(session, ticket)
        _undecided(claim, "amount")
        old = claim.amount
        claim.amount_halalas, claim.remedy = (None if value is None else int(value * 100)), remedy
        claim.proposed_by_id, claim.proposed_at = actor.id, utcnow()
        event = record(session, ticket, actor, EventKind.COMPENSATION_PROPOSED, old=old, new=value, body=remedy)
    return event


def decide(session: Session, actor: User, ticket: Ticket, decision: str | None, note: str | None, *,
           expected_version: int | None) -> TicketEvent:
    """The general manager approves or rejects the proposal: never the person who proposed it;
    approval only with all four conditions met."""
    require(actor, Action.COMPENSATION_DECIDE, ticket)
    errors: dict[str, list] = {}
    if decision not in (ClaimOutcome.APPROVED, ClaimOutcome.REJECTED):
        errors["decision"] = [_l("Choose approve or reject.")]
    try:
        note = _optional(note, "decision_note")
    except ValidationFailed as failed:
        errors.update(failed.errors)
    if errors or decision is None:  # decision is None only with its error: this narrows it
        raise ValidationFailed(errors)
    claim = claim_of(session, ticket)
    if claim is None or claim.proposed_by_id is None:
        raise ValidationFailed({"decision": [_l("Nothing is proposed yet: an amount or a remedy must be proposed first.")]})
    _undecided(claim, "decision")
    if claim.proposed_by_id == actor.id:
        raise ValidationFailed({"decision": [_l("You proposed this compensation: another general manager must decide it (separation of duties).")]})
    if decision == ClaimOutcome.APPROVED and any(c.state != ConditionState.MET for c in claim.conditions):
        raise ValidationFailed({"decision": [_l("Approval needs all four conditions met.")]})
    if decision == ClaimOutcome.APPROVED:
        casefile.check_attestation(session, ticket, "decision")  # the admin's rule for this kind (R17)
    seen = check_version(session, ticket, expected_version)
    with atomic(session, ticket, seen):
        claim.outcome, claim.decided_by_id, claim.decided_at, claim.decision_note = decision, actor.id, utcnow(), note
        event = record(session, ticket, actor, EventKind.COMPENSATION_DECISION, old=ClaimOutcome.PENDING,
                       new=decision, body="\n".join(filter(None, [str(claim.amount) if claim.amount else None,
                                                                 claim.remedy, note])))
    return event
