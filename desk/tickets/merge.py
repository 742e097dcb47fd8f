"""Duplicates and related requests (issue 18, point 3).

- ``merge``: a duplicate is merged into the ticket that survives. In one transaction its
  documents move to the survivor (marked "merged from" with the duplicate's reference), the
  duplicate closes through the lifecycle (desk.tickets.workflow.change_status, reason
  "merged_into:<id>") and the survivor records a MERGED event (reason "merged_from:<id>"), so
  both timelines say so; the survivor's page shows the duplicate's timeline, marked. Tickets
  merged into the duplicate earlier now point at the survivor too (one hop, always).
  The beneficiary's tracking link of the duplicate opens the survivor (desk.portal.views).
  Refused: a ticket into itself, into a closed ticket, a ticket already closed or merged, one
  awaiting the committee, and two beneficiaries unless the person confirms.
  Across beneficiaries (confirmed), the duplicate's signed attestation and its checklist
  documents (an ID copy, a lease: any ``document_type``) stay on the closed duplicate: they are
  the other person's signature and papers, so they must not count as the survivor's attestation
  (desk.casefile.service.signed_scan) nor tick its beneficiary's checklist, and they still count
  for the person they belong to (the duplicate keeps its beneficiary). Staff read them on the
  duplicate, which the survivor's page links to. Other documents move as before.
- ``relate`` / ``unrelate``: "related to" links without merging, shown on both tickets, each
  change an event on both.

Only tickets the person may see (desk.tickets.workflow.require on both).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from desk.errors import ValidationFailed
from desk.models import Attachment, EventKind, Status, Ticket, TicketEvent, TicketMerge, TicketRelation, User, utcnow
from desk.permissions import Action, visible_tickets
from desk.tickets.search import search_condition
from desk.tickets.service import (
    REASON_MERGED_FROM,
    REASON_MERGED_INTO,
    REASON_RELATED,
    TRANSITIONS,
    beneficiary_history,
    ltr,
)
from desk.tickets.workflow import change_status, check_version, record, require
from desk.transaction import atomic

CANDIDATES = 10


class NeedsConfirmation(ValidationFailed):
    """The two tickets name different beneficiaries (or one has none): merge only when the
    person confirms they are the same request."""


@dataclass(frozen=True)
class Links:
    merged_into: Ticket | None                             # this ticket was merged into that one
    merged_from: list[Ticket] = field(default_factory=list)  # duplicates merged into this one
    related: list[Ticket] = field(default_factory=list)      # related, those the reader may see


# Reading ---------------------------------------------------------------------------------

def merged_into(session: Session, ticket: Ticket) -> Ticket | None:
    into_id = session.scalar(select(TicketMerge.into_id).where(TicketMerge.merged_id == ticket.id))
    return session.get(Ticket, into_id) if into_id is not None else None


def surviving(session: Session, ticket: Ticket) -> Ticket:
    """The ticket itself, or the one it was merged into (merges are kept one hop deep)."""
    return merged_into(session, ticket) or ticket


def links(session: Session, actor: User, ticket: Ticket) -> Links:
    """What the ticket page shows: where it was merged, what was merged into it (whoever may see
    this ticket sees what became part of it) and the related tickets the reader may see."""
    merged = list(session.scalars(
        select(Ticket).join(TicketMerge, TicketMerge.merged_id == Ticket.id)
        .where(TicketMerge.into_id == ticket.id).order_by(Ticket.id)))
    related_ids = select(TicketRelation.high_id).where(TicketRelation.low_id == ticket.id).union(
        select(TicketRelation.low_id).where(TicketRelation.high_id == ticket.id))
    related = list(session.scalars(
        select(Ticket).where(Ticket.id.in_(related_ids), visible_tickets(actor)).order_by(Ticket.id)))
    return Links(merged_into(session, ticket), merged, related)


def candidates(session: Session, actor: User, ticket: Ticket, typed: str, limit: int = CANDIDATES) -> list[Ticket]:
    """Tickets the actor may see that may be the same request: by reference or the queue's
    search (words, a national ID or mobile number); with nothing typed, the beneficiary's other
    requests. Newest first, never the ticket itself."""
    typed = (typed or "").strip()[:200]
    if not typed:
        return beneficiary_history(session, actor, ticket, limit)
    condition = search_condition(session, typed)
    by_reference = Ticket.reference == typed.upper()
    return list(session.scalars(
        select(Ticket).where(by_reference if condition is None else or_(by_reference, condition),
                             Ticket.id != ticket.id, visible_tickets(actor))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)))


def find(session: Session, actor: User, reference: str | None) -> Ticket:
    """The other ticket of a merge or a link, by reference, if the actor may see it."""
    ticket = session.scalar(select(Ticket).where(Ticket.reference == (reference or "").strip().upper(),
                                                 visible_tickets(actor)))
    if ticket is None:
        raise ValidationFailed({"other": [_l("No request with this reference that you may see.")]})
    return ticket


# Merging ---------------------------------------------------------------------------------

def _refusal(session: Session, duplicate: Ticket, into: Ticket) -> str | None:
    if duplicate.id == into.id:
        return _l("A request cannot be merged into itself.")
    if into.status == Status.CLOSED:
        return _l("Request %(reference)s is closed: a request cannot be merged into a closed one.",
                  reference=ltr(into.reference))
    if session.scalar(select(TicketMerge.merged_id).where(TicketMerge.merged_id == duplicate.id)) is not None:
        return _l("Request %(reference)s was already merged.", reference=ltr(duplicate.reference))
    if duplicate.status == Status.CLOSED:
        return _l("Request %(reference)s is already closed.", reference=ltr(duplicate.reference))
    if Status.CLOSED not in TRANSITIONS[duplicate.status]:
        return _l("Request %(reference)s awaits the research committee's decision.", reference=ltr(duplicate.reference))
    return None


def same_beneficiary(duplicate: Ticket, into: Ticket) -> bool:
    return duplicate.beneficiary_id is not None and duplicate.beneficiary_id == into.beneficiary_id


def merge(session: Session, actor: User, duplicate: Ticket, into: Ticket, *, duplicate_version: int | None,
          into_version: int | None, confirmed: bool = False) -> TicketEvent:
    """Merge ``duplicate`` into ``into`` (see the module). The duplicate's closing event."""
    require(actor, Action.TICKET_MERGE, duplicate)
    require(actor, Action.TICKET_MERGE, into)
    refusal = _refusal(session, duplicate, into)
    if refusal:
        raise ValidationFailed({"other": [refusal]})
    if not same_beneficiary(duplicate, into) and not confirmed:
        raise NeedsConfirmation({"confirm": [_l(
            "These requests are not from the same beneficiary. Merge only if they are one request: the "
            "beneficiary of %(duplicate)s will follow %(into)s with their tracking link and see its replies.",
            duplicate=ltr(duplicate.reference), into=ltr(into.reference))]})
    seen = check_version(session, duplicate, duplicate_version)
    check_version(session, into, into_version)
    with atomic(session, duplicate, seen):
        now = utcnow()
        moving = Attachment.ticket_id == duplicate.id
        if not same_beneficiary(duplicate, into):  # another person's signature and papers stay theirs
            moving = moving & Attachment.document_type.is_(None)
        session.execute(
            update(Attachment).where(moving)
            .values(ticket_id=into.id, merged_from=func.coalesce(Attachment.merged_from, duplicate.reference))
            .execution_options(synchronize_session=False))
        session.execute(update(TicketMerge).where(TicketMerge.into_id == duplicate.id).values(into_id=into.id)
                        .execution_options(synchronize_session=False))
        session.add(TicketMerge(merged_id=duplicate.id, into_id=into.id, actor_id=actor.id, created_at=now))
        record(session, into, actor, EventKind.MERGED, old=duplicate.reference,
               reason=f"{REASON_MERGED_FROM}:{duplicate.id}", at=now)
        waiting = duplicate.beneficiary_message_at if duplicate.unread_message else None
        if waiting is not None:  # the beneficiary's unread message now waits on the survivor
            into.beneficiary_message_at = max(into.beneficiary_message_at or waiting, waiting)
        event = change_status(session, duplicate, Status.CLOSED, actor=actor, now=now,
                              reason=f"{REASON_MERGED_INTO}:{into.id}")
    return event


# Related ---------------------------------------------------------------------------------

def _pair(ticket: Ticket, other: Ticket):
    low, high = sorted((ticket.id, other.id))
    return TicketRelation.low_id == low, TicketRelation.high_id == high


def relate(session: Session, actor: User, ticket: Ticket, other: Ticket) -> None:
    """Link two tickets as related, with an event on both (no state changes: never stale)."""
    require(actor, Action.TICKET_NOTE, ticket)
    require(actor, Action.TICKET_VIEW, other)
    if ticket.id == other.id:
        raise ValidationFailed({"other": [_l("A request cannot be related to itself.")]})
    if session.scalar(select(TicketRelation.id).where(*_pair(ticket, other))) is not None:
        raise ValidationFailed({"other": [_l("These requests are already related.")]})
    with atomic(session, ticket, ticket.version):
        now = utcnow()
        low, high = sorted((ticket.id, other.id))
        session.add(TicketRelation(low_id=low, high_id=high, created_by_id=actor.id, created_at=now))
        record(session, ticket, actor, EventKind.RELATED, reason=f"{REASON_RELATED}:{other.id}", at=now, bump=False)
        record(session, other, actor, EventKind.RELATED, reason=f"{REASON_RELATED}:{ticket.id}", at=now, bump=False)


def unrelate(session: Session, actor: User, ticket: Ticket, other: Ticket) -> None:
    """Remove a "related to" link, with an event on both."""
    require(actor, Action.TICKET_NOTE, ticket)
    require(actor, Action.TICKET_VIEW, other)
    with atomic(session, ticket, ticket.version):
        removed = session.execute(delete(TicketRelation).where(*_pair(ticket, other))
                                  .execution_options(synchronize_session=False))
        if not getattr(removed, "rowcount", 0):
            raise ValidationFailed({"other": [_l("These requests are not related.")]})
        now = utcnow()
        record(session, ticket, actor, EventKind.UNRELATED, reason=f"{REASON_RELATED}:{other.id}", at=now, bump=False)
        record(session, other, actor, EventKind.UNRELATED, reason=f"{REASON_RELATED}:{ticket.id}", at=now, bump=False)
