"""Messages to many (تعاميم, R27) and the aid delay outside the association's control (R38).

Staff who may (Action.BROADCAST_SEND: supervisors and admins) write one message in Arabic and
English with placeholders (``{name}``, ``{reference}``, ``{phone}``, ``{link}``), choose a group
(BroadcastGroup), see how many it reaches (``reach``), and send it (``send``).

``reach`` is the one place the recipients are computed: the preview shows its counts, and
``send`` calls it again inside its transaction, so what is counted is what is sent. Each person
appears once, whatever the number of their tickets in the group (their latest ticket gives the
reference and the channel, as desk.notify chooses it for a reply); a person the desk cannot
write to, or who opted out (desk.broadcasts.optout), is counted as skipped, never sent to.

``send`` writes everything in one transaction: the form's claim (a double click sends once),
the Broadcast row, one outbox row per person (due in batches of DESK_BROADCAST_PER_MINUTE a
minute, so the gateway is never flooded: the worker claims a row only when it is due), the
aid-delay event on each ticket of the group, and the audit trail's row. A database failure
anywhere leaves none of it.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk import audit, submissions
from desk.errors import ValidationFailed, add_error, required_text, too_long
from desk.labels import KINDS
from desk.models import (
    OPEN_STATUSES,
    AuditAction,
    Broadcast,
    BroadcastGroup,
    Category,
    Department,
    EventKind,
    Kind,
    OutboxMessage,
    OutboxStatus,
    Purpose,
    Ticket,
    User,
    utcnow,
)
from desk.notify import service as notify
from desk.permissions import Action, require
from desk.portal import profile
from desk.replies.service import PLACEHOLDER
from desk.sla.service import GREGORIAN, HIJRI, parse_day
from desk.submissions import Once
from desk.text import normalize_reference, riyadh_midnight
from desk.tickets.workflow import record
from desk.transaction import atomic

from . import messages, optout

# The placeholders a message to many may hold, in the words the form shows.
PLACEHOLDERS = {
    "name": _l("the beneficiary's name"),
    "reference": _l("the request's reference"),
    "phone": _l("the association's phone"),
    "link": _l("the portal's address"),
}
MAX_BODY = 1_000        # an SMS of a few parts; a longer text belongs in a letter
MAX_REASON = 500
MAX_REFERENCES = 5_000
MAX_DAYS = 366
_REFERENCE_SPLIT = re.compile(r"[\s,;،؛]+")
_REFERENCE = re.compile(r"[A-Z]-[0-9]{4}-[0-9]{6}")


@dataclass
class Draft:
    """The form as typed (strings); ``check`` turns it into a Message or refuses it."""

    audience: str = ""
    department_id: int | None = None
    category_id: int | None = None
    references: str = ""
    kind: str = ""
    start: str = ""
    end: str = ""
    calendar: str = GREGORIAN  # the dates as typed: Gregorian or Hijri (Umm al-Qura)
    body_ar: str = ""
    body_en: str = ""
    aid_delay: bool = False
    reason: str = ""


@dataclass
class Message:
    """A checked message and its group."""

    audience: str
    body_ar: str
    body_en: str
    purpose: str = Purpose.MESSAGE
    reason: str = ""
    department_id: int | None = None
    category_id: int | None = None
    references: list[str] = field(default_factory=list)
    kind: str | None = None
    start: date | None = None
    end: date | None = None

    def fingerprint(self) -> str:
        """What the preview showed the count of: the send refuses a message changed since."""
        body = json.dumps([self.audience, self.purpose, self.reason, self.body_ar, self.body_en, self.criteria()],
                          ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:32]

    def criteria(self) -> dict[str, Any]:
        """The group as the Broadcast row keeps it."""
        found: dict[str, Any] = {"department_id": self.department_id, "category_id": self.category_id,
                                 "references": self.references, "kind": self.kind,
                                 "start": self.start.isoformat() if self.start else None,
                                 "end": self.end.isoformat() if self.end else None}
        return {name: value for name, value in found.items() if value}


@dataclass(frozen=True)
class Recipient:
    ticket: Ticket   # their latest ticket in the group: the reference and the language
    channel: str
    address: str


@dataclass
class Reach:
    """Who a message reaches: each person once, and those left out."""

    recipients: list[Recipient] = field(default_factory=list)
    ticket_ids: list[int] = field(default_factory=list)  # every ticket of the group (an aid delay marks each)
    no_address: int = 0
    opted_out: int = 0

    @property
    def by_channel(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for recipient in self.recipients:
            counts[recipient.channel] = counts.get(recipient.channel, 0) + 1
        return counts

    @property
    def skipped(self) -> int:
        return self.no_address + self.opted_out


# Checking the form ---------------------------------------------------------------------------

def unknown_placeholders(text: str) -> list[str]:
    return [name for name in dict.fromkeys(PLACEHOLDER.findall(text)) if name.strip() not in PLACEHOLDERS]


def _body(errors: dict[str, list], name: str, raw: str, required: bool) -> str:
    text = (raw or "").strip()
    if required:
        text = required_text(errors, name, text, _l("Write the message's Arabic text."), MAX_BODY)
    elif len(text) > MAX_BODY:
        add_error(errors, name, too_long(MAX_BODY))
    unknown = unknown_placeholders(text)
    if unknown:
        add_error(errors, name, _l("Unknown placeholder: %(names)s. Use only those listed under the form.",
                                   names="، ".join("{" + n + "}" for n in unknown)))
    return text


def parse_references(session: Session, raw: str) -> tuple[list[str], list[str]]:
    """(the references found, what was pasted that is not one of the desk's references), as
    typed or pasted: one a line or separated by commas, Arabic-Indic digits accepted."""
    typed = [t for t in _REFERENCE_SPLIT.split(raw or "") if t.strip()]
    wanted = list(dict.fromkeys(normalize_reference(t) for t in typed))
    well_formed = [r for r in wanted if _REFERENCE.fullmatch(r)]
    known: set[str] = set()
    for start in range(0, len(well_formed), 500):
        known |= set(session.scalars(select(Ticket.reference).where(
            Ticket.reference.in_(well_formed[start:start + 500]))))
    found = [r for r in wanted if r in known]
    invalid = [t for t in dict.fromkeys(typed) if normalize_reference(t) not in known]
    return found, invalid


def _day(errors: dict[str, list], name: str, raw: str, calendar: str) -> date | None:
    if not (raw or "").strip():
        add_error(errors, name, _l("Enter a date."))
        return None
    try:
        return parse_day(raw, HIJRI if calendar == HIJRI else GREGORIAN)
    except ValueError:
        add_error(errors, name, _l("Enter a real date, as year-month-day."))
        return None


def check(session: Session, draft: Draft) -> Message:
    """The message and its group, or ValidationFailed with a message by each field."""
    errors: dict[str, list] = {}
    body_ar = _body(errors, "body_ar", draft.body_ar, True)
    body_en = _body(errors, "body_en", draft.body_en, False)
    reason = ""
    if draft.aid_delay:
        reason = required_text(errors, "reason", draft.reason,
                               _l("Write the reason of the delay: the beneficiaries read it."), MAX_REASON)
    if "phone" in {n.strip() for n in PLACEHOLDER.findall(body_ar + body_en)} and not profile.get(
            session, current_app.config).phone:
        add_error(errors, "body_ar", _l("The association's phone is not set in its profile: write the number itself."))
    message = Message(audience=draft.audience, body_ar=body_ar, body_en=body_en, reason=reason,
                      purpose=Purpose.AID_DELAY if draft.aid_delay else Purpose.MESSAGE)
    if draft.audience == BroadcastGroup.OPEN:
        department = session.get(Department, draft.department_id) if draft.department_id else None
        category = session.get(Category, draft.category_id) if draft.category_id else None
        if department is None and category is None:
            add_error(errors, "department_id", _l("Choose a department or a category."))
        message.department_id = department.id if department else None
        message.category_id = category.id if category else None
    elif draft.audience == BroadcastGroup.REFERENCES:
        found, invalid = parse_references(session, draft.references)
        if invalid:
            add_error(errors, "references", _l("Not references of this desk: %(list)s",
                                               list="، ".join(invalid[:50]) + (" …" if len(invalid) > 50 else "")))
        elif not found:
            add_error(errors, "references", _l("Paste the references, one a line."))
        elif len(found) > MAX_REFERENCES:
            add_error(errors, "references", _l("At most %(n)s references at a time.", n=MAX_REFERENCES))
        message.references = found
    elif draft.audience == BroadcastGroup.KIND_RANGE:
        if draft.kind not in set(Kind):
            add_error(errors, "kind", _l("Choose the type of request."))
        category = session.get(Category, draft.category_id) if draft.category_id else None
        start = _day(errors, "start", draft.start, draft.calendar)
        end = _day(errors, "end", draft.end, draft.calendar)
        if start and end and end < start:
            add_error(errors, "end", _l("The end comes before the start."))
        elif start and end and (end - start).days > MAX_DAYS:
            add_error(errors, "end", _l("At most a year at a time."))
        message.kind, message.start, message.end = draft.kind or None, start, end
        message.category_id = category.id if category else None
    else:
        add_error(errors, "audience", _l("Choose who receives the message."))
    if errors:
        raise ValidationFailed(errors)
    return message


# Who it reaches (the one place) ------------------------------------------------------------------

def _group(message: Message):
    """The tickets of the group, latest first. An anonymised one is no one's any more; an
    anonymous one is marked by an aid delay (its filer follows it on the portal) but has no address."""
    query = select(Ticket).where(Ticket.anonymised_at.is_(None))
    if message.audience == BroadcastGroup.OPEN:
        query = query.where(Ticket.status.in_([str(s) for s in OPEN_STATUSES]))
        if message.department_id:
            query = query.where(Ticket.department_id == message.department_id)
        if message.category_id:
            query = query.where(Ticket.category_id == message.category_id)
    elif message.audience == BroadcastGroup.REFERENCES:
        query = query.where(Ticket.reference.in_(message.references))
    elif message.start is not None and message.end is not None:  # KIND_RANGE, its dates checked
        query = query.where(Ticket.kind == message.kind, Ticket.created_at >= riyadh_midnight(message.start),
                            Ticket.created_at < riyadh_midnight(message.end + timedelta(days=1)))
        if message.category_id:
            query = query.where(Ticket.category_id == message.category_id)
    return query.order_by(Ticket.created_at.desc(), Ticket.id.desc())


def reach(session: Session, message: Message) -> Reach:
    """Who ``message`` reaches: each person once (their record, else their address), on the
    channel a reply to their latest ticket would take; those with no address and those who
    opted out are counted, not reached."""
    result = Reach()
    people: dict[object, Recipient | None] = {}  # person → where to write them (None: nowhere yet)
    beneficiary_of: dict[object, int | None] = {}
    for ticket in session.scalars(_group(message)).unique():
        result.ticket_ids.append(ticket.id)
        if ticket.beneficiary_id and people.get(ticket.beneficiary_id) is not None:
            continue  # reached already by a later request of theirs
        route = notify.reply_route(session, ticket)
        person: object = ticket.beneficiary_id or (optout.key(route[1]) if route else f"ticket:{ticket.id}")
        if people.get(person) is not None:
            continue
        people[person] = Recipient(ticket, route[0], route[1]) if route else None
        beneficiary_of[person] = ticket.beneficiary_id
    found = [r for r in people.values() if r is not None]
    addresses, beneficiaries = optout.opted_out(
        session, [r.address for r in found], [b for b in beneficiary_of.values() if b])
    for person, recipient in people.items():
        if recipient is None:
            result.no_address += 1
        elif optout.key(recipient.address) in addresses or beneficiary_of[person] in beneficiaries:
            result.opted_out += 1
        else:
            result.recipients.append(recipient)
    return result


# Queueing (the words of each message: desk.broadcasts.messages) ------------------------------------

def release_from(session: Session, now: datetime) -> datetime:
    """When a new send's first batch becomes due: now, or the minute after the last batch of the
    sends still waiting, so two sends one after the other never go out faster together than
    DESK_BROADCAST_PER_MINUTE. (Two sends committed at the very same moment may share minutes.)"""
    last = session.scalar(select(func.max(OutboxMessage.next_attempt_at)).where(
        OutboxMessage.broadcast_id.is_not(None), OutboxMessage.status == OutboxStatus.PENDING))
    return max(now, last + timedelta(minutes=1)) if last is not None else now


CHANGED = _l("The group changed since the preview: preview the count again before sending.")


def send(session: Session, actor: User, message: Message, *, once: Once | None = None,
         now: datetime | None = None, expected: int | None = None) -> Broadcast:
    """Queue ``message`` to its group and record it, in one transaction (see the module).
    ``expected``: the number of people the preview showed; a group that no longer has as many
    (a request opened or closed meanwhile) is refused (CHANGED), nothing sent."""
    require(actor, Action.BROADCAST_SEND)
    config = current_app.config
    now = now or utcnow()
    per_minute = max(1, int(config["DESK_BROADCAST_PER_MINUTE"]))
    with atomic(session):
        taken = submissions.take(session, once)
        found = reach(session, message)
        if expected is not None and len(found.recipients) != expected:
            raise ValidationFailed({"audience": [CHANGED]})
        if not found.recipients and message.purpose != Purpose.AID_DELAY:
            raise ValidationFailed({"audience": [_l("Nobody in this group can receive the message.")]})
        broadcast = Broadcast(author_id=actor.id, created_at=now, purpose=message.purpose,
                              reason=message.reason or None, audience=message.audience,
                              criteria=message.criteria(), body_ar=message.body_ar, body_en=message.body_en,
                              people=len(found.recipients) + found.skipped, queued=len(found.recipients),
                              skipped_no_address=found.no_address, skipped_opted_out=found.opted_out)
        session.add(broadcast)
        session.flush()
        reason = "aid_delay" if message.purpose == Purpose.AID_DELAY else "broadcast"
        start = release_from(session, now)
        for index, recipient in enumerate(found.recipients):
            subject, body = messages.write(session, config, recipient.ticket, recipient.channel, recipient.address,
                                           message.body_ar, message.body_en, message.reason,
                                           aid_delay=message.purpose == Purpose.AID_DELAY)
            session.add(OutboxMessage(
                channel=recipient.channel, to_address=recipient.address, to_user_id=None, subject=subject,
                body_text=body, ticket_id=recipient.ticket.id, meta=messages.meta(recipient.ticket, recipient.channel), reason=reason,
                status=OutboxStatus.PENDING, attempts=0, created_at=now,
                next_attempt_at=start + timedelta(minutes=index // per_minute), broadcast_id=broadcast.id))
        if message.purpose == Purpose.AID_DELAY:
            for ticket_id in found.ticket_ids:
                ticket = session.get(Ticket, ticket_id)
                if ticket is not None:
                    record(session, ticket, actor, EventKind.AID_DELAYED, body=message.reason, public=True,
                           bump=False, at=now)
            broadcast.tickets_marked = len(found.ticket_ids)
        audit.record(session, AuditAction.BROADCAST, actor=actor, record_type="broadcast", record_id=broadcast.id,
                     detail={"purpose": message.purpose, "audience": message.audience,
                             **{k: len(v) if k == "references" else v for k, v in message.criteria().items()},
                             "queued": broadcast.queued, "skipped_no_address": found.no_address,
                             "skipped_opted_out": found.opted_out, "tickets_marked": broadcast.tickets_marked})
        taken.done(None, broadcast_id=broadcast.id)
    return broadcast


# The campaigns page --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sent:
    broadcast: Broadcast
    counts: dict[str, int]  # by outbox status: pending, sending, sent, failed


def listing(session: Session, actor: User, limit: int = 100) -> list[Sent]:
    """The latest sends, each with what became of its messages (read from the outbox)."""
    require(actor, Action.BROADCAST_SEND)
    rows = list(session.scalars(select(Broadcast).order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
                                .limit(limit)))
    counts: dict[int, dict[str, int]] = {row.id: {} for row in rows}
    if rows:
        for broadcast_id, status, n in session.execute(
                select(OutboxMessage.broadcast_id, OutboxMessage.status, func.count())
                .where(OutboxMessage.broadcast_id.in_(list(counts)))
                .group_by(OutboxMessage.broadcast_id, OutboxMessage.status)):
            if broadcast_id is not None:
                counts[broadcast_id][status] = n
    return [Sent(row, counts[row.id]) for row in rows]


def describe(session: Session, broadcast: Broadcast, locale: str) -> str:
    """The group in words, for the campaigns page."""
    criteria = broadcast.criteria or {}
    parts: list[str] = []
    if criteria.get("department_id"):
        department = session.get(Department, criteria["department_id"])
        parts.append(department.name(locale) if department else "—")
    if criteria.get("kind"):
        parts.append(str(KINDS.get(criteria["kind"], criteria["kind"])))
    if criteria.get("category_id"):
        category = session.get(Category, criteria["category_id"])
        parts.append(category.name(locale) if category else "—")
    if criteria.get("references"):
        parts.append(str(_l("%(n)s references", n=len(criteria["references"]))))
    if criteria.get("start"):
        parts.append(f"{criteria['start']} – {criteria.get('end', '')}")
    return " · ".join(parts)
