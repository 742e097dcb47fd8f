"""Revealing a full national ID or mobile number (issue 16, point 2).

Everywhere else the desk shows them masked. Staff whose role the admin gave the permission
(``desk.permissions.GRANTABLE``) may show one in full, to match it against a document at
verification or to call the person back, giving a reason chosen from the list or typed. Each
reveal is one row of the audit trail (who, when, whose record, which field, why, from which
ticket); so is each refusal: an actor who may not see the record or the ticket is answered 404,
one who sees it without the permission 403, and both are recorded as refused access.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from desk import audit, labels
from desk.errors import Forbidden, NotFound, ValidationFailed, too_long
from desk.models import AuditAction, Beneficiary, Ticket, User
from desk.permissions import Action, can
from desk.tickets.service import get_ticket
from desk.transaction import atomic, commit

# The fields that may be revealed, and the permission each needs.
FIELDS = {"national_id": Action.REVEAL_NATIONAL_ID, "phone": Action.REVEAL_PHONE}
OTHER = "other"
# Why a number is shown: the usual reasons, chosen from a list; "other" asks for words.
REASONS = labels.REVEAL_REASONS
MAX_WHY = 200


@dataclass(frozen=True)
class Target:
    """Whose number, and the ticket it is shown from (None: their record or the intake form)."""

    person: Beneficiary
    field: str
    ticket: Ticket | None


def _refuse(session: Session, actor: User, field: str, beneficiary_id: int, ticket: Ticket | None,
            reference: str | None, why: str) -> None:
    audit.record(session, AuditAction.ACCESS_REFUSED, actor=actor, record_type="beneficiary",
                 record_id=beneficiary_id, ticket_id=ticket.id if ticket else None,
                 detail={"attempt": "reveal", "field": field, "refused": why,
                         **({"ticket": reference} if reference else {})})
    commit(session)


def target(session: Session, actor: User, beneficiary_id: int, field: str, reference: str | None = None) -> Target:
    """The number the actor asks to see, if they may. From a ticket: one they may see, of this
    beneficiary; else the record, which they must be allowed to open. Refusals are recorded:
    NotFound (what they may not see), Forbidden (no permission to reveal)."""
    if field not in FIELDS:
        raise NotFound()
    ticket = None
    if reference:
        ticket = get_ticket(session, actor, reference)  # NotFound, recorded as refused access there
    person = session.get(Beneficiary, beneficiary_id)
    reachable = person is not None and (
        ticket.beneficiary_id == person.id and not ticket.anonymous if ticket is not None
        else can(actor, Action.BENEFICIARY_VIEW))
    if person is None or not reachable:
        _refuse(session, actor, field, beneficiary_id, ticket, reference, "record")
        raise NotFound()
    if not can(actor, FIELDS[field], ticket):
        _refuse(session, actor, field, beneficiary_id, ticket, reference, "permission")
        raise Forbidden()
    if not getattr(person, field):
        raise NotFound()  # nothing to reveal
    return Target(person, field, ticket)


def checked_reason(code: str | None, typed: str | None) -> dict[str, str]:
    """The reason as the trail keeps it: the chosen one's code, and for "other" the words typed
    (shown in the reader's language from the code: desk.privacy.reveal.REASONS)."""
    code, typed = (code or "").strip(), (typed or "").strip()
    if code not in REASONS:
        raise ValidationFailed({"reason": [_l("Choose why you need the full number.")]})
    if code != OTHER:
        return {"reason": code}
    if not typed:
        raise ValidationFailed({"why": [_l("Write why you need the full number.")]})
    if len(typed) > MAX_WHY:
        raise ValidationFailed({"why": [too_long(MAX_WHY)]})
    return {"reason": code, "why": typed}


def reveal(session: Session, actor: User, found: Target, code: str | None, typed: str | None) -> str:
    """The full value, once its reveal is on the audit trail (committed)."""
    reason = checked_reason(code, typed)
    with atomic(session):
        audit.record(session, AuditAction.REVEAL, actor=actor, record_type="beneficiary", record_id=found.person.id,
                     ticket_id=found.ticket.id if found.ticket else None,
                     detail={"field": found.field, **reason,
                             **({"ticket": found.ticket.reference} if found.ticket else {})})
    return str(getattr(found.person, found.field))
