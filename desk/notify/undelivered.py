"""A message the desk could not deliver is told, not only logged (issue 14, point 7).

- On its ticket: an internal UNDELIVERED event by the desk itself (no actor), recorded through
  desk.tickets.workflow in the same transaction as the message's failure: which channel, to
  whom (the beneficiary, or the staff member), why in plain words (the reason
  ``undelivered:<cause>``, desk.labels.UNDELIVERED, read in each reader's language) and what
  the server answered (the body). No version bump: nobody's open form is refused for it.
- In the desk, for the supervisors and admins (Action.UNDELIVERED_VIEW): a count on their
  navigation and the page /undelivered, listing every failed message nobody has marked
  handled yet, and the messages still waiting after DELAYED (a server down for hours is
  told too: an outage never fails a message, and email may be what is down).
- On the ticket page: each message about the ticket with its delivery state (``state``):
  queued, being retried, sent, delivered, read (WhatsApp's receipts) or not delivered.

Nothing here commits except ``mark_handled`` (a use case of its own); ``tell`` and
``receipt_failed`` join the caller's transaction.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from desk.models import BY_NAME_ONLY, EventKind, OutboxMessage, OutboxStatus, Ticket, TicketEvent, User, utcnow
from desk.notify.service import update_message
from desk.text import mask_email, mask_phone
from desk.tickets import workflow
from desk.tickets.service import REASON_UNDELIVERED

DELAYED = timedelta(hours=1)  # a message still waiting this long after it was queued is told
NOTICE_CAP = 100               # the navigation counts up to this many ("99+"): a bounded query


def masked(text: str | None, address: str | None) -> str:
    """``text`` (a server's answer) with the recipient's address in it masked, as lists show it."""
    text = text or ""
    if not address:
        return text
    mask = mask_email(address) if "@" in address else mask_phone(address)
    for form in {address, address.lstrip("+")}:
        text = text.replace(form, mask)
    return text


def tell(session: Session, *, ticket_id: int | None, to_user_id: int | None, channel: str, cause: str,
         detail: str | None, now: datetime, address: str | None = None) -> TicketEvent | None:
    """Say on the message's ticket that it could not be delivered, in the caller's
    transaction (which also marks the message failed), the server's answer in ``detail``
    with the recipient's ``address`` masked. None for a message about no ticket."""
    if ticket_id is None:
        return None
    detail = masked(detail, address)
    ticket = session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None:  # deleted since: nothing to write on
        return None
    return workflow.record(session, ticket, None, EventKind.UNDELIVERED, old=to_user_id, new=channel,
                           body=(detail or "")[:1000] or None, reason=f"{REASON_UNDELIVERED}:{cause}",
                           at=now, bump=False)


def failed_values(cause: str, detail: str | None, now: datetime) -> dict[str, Any]:
    """What a message that finally failed records: when, why, and nobody has handled it yet."""
    return {"status": OutboxStatus.FAILED, "failed_at": now, "failure": cause, "last_error": detail,
            "handled_at": None, "handled_by_id": None}


def receipt_failed(session: Session, outbox_id: int, error: str | None, now: datetime | None = None,
                   cause: str = "receipt") -> bool:
    """WhatsApp reported a message we had sent as failed (desk.channels.graph.record_status), or
    an email came back as a bounce (``cause`` "bounce", desk.channels.pipe): it is not delivered
    after all. In the caller's transaction; False if it was not a sent message."""
    now = now or utcnow()
    detail = error or "failed"
    done = cast(CursorResult, session.execute(  # what an UPDATE returns; typed as any Result
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.status == OutboxStatus.SENT)
        .values(**failed_values(cause, detail, now))
        .execution_options(synchronize_session=False))).rowcount
    if not done:
        return False
    row = session.execute(select(OutboxMessage.ticket_id, OutboxMessage.to_user_id, OutboxMessage.channel,
                                 OutboxMessage.to_address).where(OutboxMessage.id == outbox_id)).one()
    tell(session, ticket_id=row.ticket_id, to_user_id=row.to_user_id, channel=row.channel, cause=cause,
         detail=detail, now=now, address=row.to_address)
    return True


# Where a message stands --------------------------------------------------------------------

def state(message: OutboxMessage) -> str:
    """queued, retrying (it failed before and waits for its next attempt), sent, delivered,
    read (the provider's receipts: WhatsApp) or failed (desk.labels.DELIVERY_STATES)."""
    if message.status == OutboxStatus.FAILED or message.delivery_status == "failed":
        return "failed"
    if message.status == OutboxStatus.SENT:
        return message.delivery_status if message.delivery_status in ("delivered", "read") else "sent"
    return "retrying" if message.last_error else "queued"


@dataclass(frozen=True)
class TicketMessage:
    message: OutboxMessage
    state: str
    recipient: User | None  # a staff member; None: the beneficiary

    @property
    def at(self) -> datetime | None:
        """The moment its state was reached (the queued ones: when they were queued)."""
        m = self.message
        if self.state == "failed":
            return m.failed_at or m.sent_at or m.created_at
        if self.state in ("sent", "delivered", "read"):
            return m.sent_at
        return m.created_at


def for_ticket(session: Session, ticket: Ticket, limit: int = 50) -> list[TicketMessage]:
    """The messages about ``ticket``, newest first, each with its state."""
    messages = list(session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)
                                    .order_by(OutboxMessage.id.desc()).limit(limit)))
    ids = {m.to_user_id for m in messages if m.to_user_id is not None}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)).options(*BY_NAME_ONLY))} if ids else {}
    return [TicketMessage(m, state(m), users.get(m.to_user_id) if m.to_user_id else None) for m in messages]


# The supervisors' notice ----------------------------------------------------------------------

def _unhandled():
    return (OutboxMessage.status == OutboxStatus.FAILED) & OutboxMessage.handled_at.is_(None)


def _delayed(now: datetime):
    return OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)) & (
        OutboxMessage.created_at <= now - DELAYED)


@dataclass(frozen=True)
class Notice:
    undelivered: int  # failed, nobody has handled them (at most NOTICE_CAP)
    delayed: int      # still waiting after DELAYED (at most NOTICE_CAP)

    def __bool__(self) -> bool:
        return bool(self.undelivered or self.delayed)


def notice(session: Session, now: datetime | None = None) -> Notice:
    """What the navigation shows the supervisors: two counts, each stopped at NOTICE_CAP (an
    outage of thousands of messages costs no more than a hundred)."""
    now = now or utcnow()

    def capped(condition) -> int:
        inner = select(OutboxMessage.id).where(condition).limit(NOTICE_CAP).subquery()
        return int(session.scalar(select(func.count()).select_from(inner)) or 0)

    return Notice(undelivered=capped(_unhandled()), delayed=capped(_delayed(now)))


def undelivered(session: Session, handled: bool = False, limit: int = 200) -> list[tuple[OutboxMessage, str | None]]:
    """The failed messages nobody has handled (``handled``: those handled, most recent first),
    newest failure first, each with its ticket's reference."""
    condition = _unhandled() if not handled else (
        (OutboxMessage.status == OutboxStatus.FAILED) & OutboxMessage.handled_at.is_not(None))
    order = OutboxMessage.handled_at.desc() if handled else OutboxMessage.failed_at.desc()
    rows = session.execute(
        select(OutboxMessage, Ticket.reference)
        .outerjoin(Ticket, Ticket.id == OutboxMessage.ticket_id)
        .where(condition)
        .order_by(order, OutboxMessage.id.desc())
        .limit(limit))
    return [(message, reference) for message, reference in rows]


@dataclass(frozen=True)
class Delayed:
    channel: str
    count: int
    oldest: datetime
    last_error: str | None  # the latest error among them, if any was tried


def delayed(session: Session, now: datetime | None = None) -> list[Delayed]:
    """Per channel: how many messages still wait after DELAYED, since when, and what the last
    attempt met (a server that does not answer, a refusal being retried)."""
    now = now or utcnow()
    groups = session.execute(
        select(OutboxMessage.channel, func.count(), func.min(OutboxMessage.created_at), func.max(OutboxMessage.id))
        .where(_delayed(now)).group_by(OutboxMessage.channel).order_by(OutboxMessage.channel)).all()
    result = []
    for channel, count, oldest, _newest in groups:
        error = session.scalar(
            select(OutboxMessage.last_error)
            .where(_delayed(now), OutboxMessage.channel == channel, OutboxMessage.last_error.is_not(None))
            .order_by(OutboxMessage.next_attempt_at.desc()).limit(1))
        result.append(Delayed(channel or "email", int(count), oldest, error))
    return result


def mark_handled(session: Session, actor: User, message_id: int, now: datetime | None = None) -> OutboxMessage:
    """A supervisor has dealt with an undelivered message (called the beneficiary, corrected
    the address…): it leaves the notice, remembering who and when. Commits."""
    now = now or utcnow()
    return update_message(
        session, message_id,
        update(OutboxMessage).where(OutboxMessage.id == message_id, _unhandled())
        .values(handled_at=now, handled_by_id=actor.id).execution_options(synchronize_session=False),
        _l("Only an undelivered message nobody has handled can be marked handled."))


def names(session: Session, messages: Sequence[OutboxMessage]) -> dict[int, str]:
    """The names of the staff ``messages`` were for and of who handled them: one query."""
    ids = {i for m in messages for i in (m.to_user_id, m.handled_by_id) if i is not None}
    if not ids:
        return {}
    return {user_id: name for user_id, name in session.execute(select(User.id, User.name).where(User.id.in_(ids)))}
