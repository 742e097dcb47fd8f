"""The beneficiary's satisfaction survey (قياس رضا المستفيد): one answer per ticket, once it
is resolved; editable for EDIT_DAYS. The beneficiary answers through the survey link; staff may
record the answer for a visit or phone ticket on the beneficiary's behalf (marked as such).
"Evaluation is a tool for improvement, not for punishment": answers are grouped by department
and channel in the statistics, never by staff member."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _nl
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from desk.errors import Forbidden, ValidationFailed
from desk.models import Channel, EventKind, SatisfactionResponse, Status, SurveySource, Ticket, User, utcnow
from desk.permissions import Action, can
from desk.portal.links import survey_answer
from desk.tickets import workflow
from desk.tickets.service import REASON_PORTAL
from desk.transaction import atomic

EDIT_DAYS = 7
MAX_COMMENT = 2000
# Staff record the survey on the beneficiary's behalf where they spoke with them.
STAFF_CHANNELS = (Channel.VISIT, Channel.PHONE)


@dataclass
class Answer:
    rating: int | None
    solved: bool | None
    comment: str = ""


def open_for_answers(ticket: Ticket) -> bool:
    return ticket.status in (Status.RESOLVED, Status.CLOSED) and ticket.resolved_at is not None


def editable(response: SatisfactionResponse | None, now: datetime | None = None) -> bool:
    return response is None or (now or utcnow()) - response.created_at <= timedelta(days=EDIT_DAYS)


def _check(answer: Answer) -> int:
    """The answer's rating (1 to 5) once the answer is valid; ValidationFailed with every problem otherwise."""
    errors: dict[str, list[str]] = {}
    rating = answer.rating if answer.rating in (1, 2, 3, 4, 5) else None
    if rating is None:
        errors["rating"] = [_l("Choose how satisfied you are.")]
    if answer.solved is None:
        errors["solved"] = [_l("Answer yes or no.")]
    if len(answer.comment or "") > MAX_COMMENT:
        errors["comment"] = [_l("The text is too long (at most %(n)s characters).", n=MAX_COMMENT)]
    if errors or rating is None:  # rating is None only with its error: this narrows it
        raise ValidationFailed(errors)
    return int(rating)


def record(session: Session, ticket: Ticket, answer: Answer, *, actor: User | None = None,
           now: datetime | None = None) -> SatisfactionResponse:
    """The beneficiary's answer (``actor`` None) or one staff record on their behalf. Refused:
    a ticket not resolved, an answer older than EDIT_DAYS, staff on a ticket of another channel
    or replacing the beneficiary's own answer. One transaction, one SATISFACTION event."""
    now = now or utcnow()
    if actor is not None:
        if not can(actor, Action.SATISFACTION_RECORD, ticket):
            raise Forbidden(_l("You may not record the survey for this ticket."))
        if ticket.channel not in STAFF_CHANNELS:
            raise ValidationFailed({"rating": [_l("Staff record the survey only for visit and phone tickets: "
                                                  "other beneficiaries answer it themselves.")]})
    if not open_for_answers(ticket):
        raise ValidationFailed({"rating": [_l("The survey opens once the request is resolved.")]})
    rating = _check(answer)
    existing = survey_answer(session, ticket)
    if existing is not None:
        if not editable(existing, now):
            raise ValidationFailed({"rating": [_nl("The answer can be changed for %(num)s day only.",
                                                     "The answer can be changed for %(num)s days only.", EDIT_DAYS)]})
        if actor is not None and existing.source == SurveySource.BENEFICIARY:
            raise ValidationFailed({"rating": [_l("The beneficiary answered this survey themselves.")]})
    try:
        with atomic(session):
            response = existing or SatisfactionResponse(ticket_id=ticket.id, created_at=now)
            old = existing.rating if existing is not None else None
            response.rating, response.solved = rating, bool(answer.solved)
            response.comment = (answer.comment or "").strip() or None
            response.source = SurveySource.STAFF if actor is not None else SurveySource.BENEFICIARY
            response.recorded_by_id = actor.id if actor is not None else None
            response.department_id, response.channel, response.kind = ticket.department_id, ticket.channel, ticket.kind
            response.updated_at = now
            session.add(response)
            workflow.record(session, ticket, actor, EventKind.SATISFACTION, old=old, new=response.rating,
                            body=response.comment, reason=None if actor else REASON_PORTAL, at=now, bump=False)
    except IntegrityError:  # two answers at once: the other one is kept
        raise ValidationFailed({"rating": [_l("This survey was just answered: reload the page.")]}) from None
    except StaleDataError:  # the ticket changed at that very moment (its event moved updated_at)
        raise ValidationFailed({"rating": [_l("The request changed at that moment: send your answer again.")]}) from None
    return response
