"""Removing what names a person, while the figures stay true.

Both the retention run and a beneficiary's erasure come here. A ticket keeps every column the
statistics count (kind, channel, department, category, its dates and durations, whether an
action was recorded, the satisfaction rating), so the roll-ups and the live figures give the
same numbers before and after; what a person wrote or what names them is replaced by
``REMOVED`` (never emptied where a count asks "was something written": the action taken, a
satisfaction comment), and the ticket's documents are deleted, their files once the
transaction has committed (transaction.Files.delete).

Nothing here ends the transaction: the caller's ``atomic`` block holds one ticket (the
retention run) or one person (an erasure), so a failure leaves it as it was.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.orm import Session

from desk.attachments.service import path_of
from desk.models import (
    Appointment,
    Attachment,
    Beneficiary,
    BeneficiaryEvent,
    CompensationClaim,
    CompensationCondition,
    EventKind,
    InboundMessage,
    MediaJob,
    OutboxMessage,
    OutboxStatus,
    SatisfactionResponse,
    Ticket,
    TicketEvent,
    User,
)
from desk.text import normalize_search
from desk.tickets.search import ticket_search_text
from desk.tickets.service import REASON_ERASURE
from desk.tickets.workflow import record
from desk.transaction import Files

REMOVED = "[محذوف]"
# What a ticket's ``meta`` may keep once anonymised: links between tickets, nothing personal.
KEPT_META = ("follows",)

_ARABIC_VARIANTS = {"ا": "اأإآ", "أ": "اأإآ", "إ": "اأإآ", "آ": "اأإآ", "ة": "ةه", "ه": "ةه", "ى": "ىي", "ي": "ىي"}
_MARKS = "[\u064b-\u0652\u0640]*"  # harakat and tatweel, which may stand between the letters of a name
_DIGITS = {str(d): f"[{d}{chr(0x660 + d)}{chr(0x6F0 + d)}]" for d in range(10)}
_SEPARATOR = r"[\s\-.]*"


def _name_pattern(name: str) -> str | None:
    words = [w for w in name.split() if w and w != REMOVED]
    if not words or sum(len(w) for w in words) < 3:
        return None
    parts = []
    for word in words:
        letters = [f"[{re.escape(_ARABIC_VARIANTS[ch])}]" if ch in _ARABIC_VARIANTS else re.escape(ch) for ch in word]
        parts.append(_MARKS.join(letters))
    return r"\s+".join(parts)


def _digits_pattern(digits: str) -> str:
    return _SEPARATOR.join(_DIGITS[d] for d in digits)


def identifiers(person: Beneficiary) -> re.Pattern[str] | None:
    """What names this person in free text: their name (Arabic spelling variants, harakat
    between letters), national ID, mobile number (written from +966, 00966, 966 or 0, with
    any digits and separators) and email address. None when nothing is left to look for."""
    options = []
    name = _name_pattern(person.name or "")
    if name:
        options.append(name)
    if person.national_id:
        options.append(r"(?<!\d)" + _digits_pattern(person.national_id) + r"(?!\d)")
    if person.phone:
        local = person.phone.removeprefix("+966") if person.phone.startswith("+966") else person.phone.lstrip("+")
        international = rf"(?:\+|{_digits_pattern('00')})?"
        prefix = (rf"(?:{international}{_digits_pattern('966')}|{_DIGITS['0']})?" if person.phone.startswith("+966")
                  else international)
        options.append(r"(?<!\d)" + prefix + _SEPARATOR + _digits_pattern(local) + r"(?!\d)")
    if person.email:
        options.append(re.escape(person.email))
    return re.compile("|".join(f"(?:{o})" for o in options), re.IGNORECASE) if options else None


def redact(text: str | None, pattern: re.Pattern[str]) -> str | None:
    return pattern.sub(REMOVED, text) if text else text


def search_keys(person: Beneficiary) -> list[str]:
    """Fragments of Ticket.search_text that find the tickets which may mention the person."""
    keys = [normalize_search(person.name or "")]
    keys += [person.national_id or ""]
    if person.phone:
        keys.append(person.phone.removeprefix("+966").removeprefix("+"))
    if person.email:
        keys.append(normalize_search(person.email))
    return [k for k in keys if len(k) >= 3 and k != normalize_search(REMOVED)]


def anonymise_ticket(session: Session, actor: User | None, ticket: Ticket, files: Files, directory: str | Path, *,
                     reason: str, now: datetime) -> int:
    """Everything of one ticket that can name a person, replaced; its documents deleted (their
    files once committed). Returns how many documents were deleted."""
    ticket.subject = REMOVED
    ticket.body = REMOVED
    if ticket.action_taken:
        ticket.action_taken = REMOVED  # still "an action was recorded" for the statistics
    ticket.meta = {key: value for key, value in (ticket.meta or {}).items() if key in KEPT_META}
    ticket.access_key_hash = None  # the tracking link stops working
    ticket.beneficiary = None
    ticket.search_text = ticket_search_text(ticket.reference, REMOVED, None, None)
    ticket.anonymised_at = now
    for event in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)):
        if event.body:
            event.body = REMOVED
        if event.kind == EventKind.ATTACHMENT and event.new_value:
            event.new_value = REMOVED  # a file's name may name someone
    session.execute(update(SatisfactionResponse).where(SatisfactionResponse.ticket_id == ticket.id,
                                                       SatisfactionResponse.comment.is_not(None),
                                                       SatisfactionResponse.comment != "")
                    .values(comment=REMOVED))
    claim = session.scalar(select(CompensationClaim).where(CompensationClaim.ticket_id == ticket.id))
    if claim is not None:
        claim.remedy = REMOVED if claim.remedy else claim.remedy
        claim.decision_note = REMOVED if claim.decision_note else claim.decision_note
        for condition in claim.conditions:
            condition.note = REMOVED if condition.note else condition.note
    # Its appointments with officials (desk.appointments): who booked, how to reach them, why; the
    # private link stops working. The time, the official and the outcome stay for the statistics.
    session.execute(update(Appointment).where(Appointment.ticket_id == ticket.id)
                    .values(name=REMOVED, phone=None, email=None, reason=REMOVED, key_hash=None,
                            notes=case((Appointment.notes.is_(None), None), else_=REMOVED)))
    _forget_messages(session, OutboxMessage.ticket_id == ticket.id)
    session.execute(update(InboundMessage).where(InboundMessage.ticket_id == ticket.id)
                    .values(sender=None, references=None))
    # Files still to be fetched from WhatsApp (desk.channels.media) are not fetched any more.
    session.execute(delete(MediaJob).where(MediaJob.ticket_id == ticket.id))
    documents = list(session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)))
    if documents:
        ids = [d.id for d in documents]
        session.execute(update(CompensationCondition).where(CompensationCondition.evidence_id.in_(ids))
                        .values(evidence_id=None))
        for document in documents:
            files.delete(path_of(document, directory))
        session.execute(delete(Attachment).where(Attachment.id.in_(ids)))
    record(session, ticket, actor, EventKind.ANONYMISED, new=len(documents), reason=reason, at=now)
    return len(documents)


def _forget_messages(session: Session, where) -> None:
    """Messages about a person: those not yet sent to them are dropped; the rest keep their
    delivery record and lose their words and the address."""
    to_them = OutboxMessage.to_user_id.is_(None)
    session.execute(delete(OutboxMessage).where(where, to_them, OutboxMessage.status == OutboxStatus.PENDING))
    session.execute(update(OutboxMessage).where(where, to_them).values(to_address=REMOVED, meta=None))
    session.execute(update(OutboxMessage).where(where).values(subject=REMOVED, body_text=REMOVED))


def anonymise_person(session: Session, person: Beneficiary, now: datetime) -> None:
    """The record itself, and the messages that went to or came from their addresses."""
    addresses = [a for a in (person.phone, person.email) if a]
    if addresses:
        _forget_messages(session, OutboxMessage.to_address.in_(addresses))
        session.execute(update(InboundMessage).where(InboundMessage.sender.in_(addresses)).values(sender=None))
    person.name = REMOVED
    person.national_id = person.phone = person.email = person.city = None
    person.landline = person.id_document = None  # a landline, a passport's or a border number
    person.contact_name = None  # an organisation's contact person (its registration numbers are not personal)
    # Registration (desk.casefile): the file number points at the paper file, and an admin's
    # override may name the person; the steps themselves (who, when, which state) stay.
    person.file_number = None
    session.execute(update(BeneficiaryEvent).where(BeneficiaryEvent.beneficiary_id == person.id)
                    .values(file_number=None, body=None))
    person.refresh_search()
    person.anonymised_at = now


def redact_mentions(session: Session, actor: User | None, person: Beneficiary, pattern: re.Pattern[str],
                    skip: Iterable[int], now: datetime) -> int:
    """Other tickets' free text that names the person (a complaint about them, a note that quotes
    their number): the words that name them replaced. Returns how many tickets changed."""
    keys = search_keys(person)
    if not keys:
        return 0
    skip = set(skip)
    changed = 0
    candidates = session.scalars(select(Ticket).where(
        or_(*[Ticket.search_text.contains(k, autoescape=True) for k in keys]), Ticket.anonymised_at.is_(None)))
    for ticket in candidates:
        if ticket.id in skip:
            continue
        touched = False
        for attribute in ("subject", "body", "action_taken"):
            before = getattr(ticket, attribute)
            after = redact(before, pattern)
            if after != before:
                setattr(ticket, attribute, after)
                touched = True
        for event in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                               TicketEvent.body.is_not(None))):
            after = redact(event.body, pattern)
            if after != event.body:
                event.body, touched = after, True
        if touched:
            ticket.search_text = ticket_search_text(ticket.reference, ticket.subject, ticket.body,
                                                    ticket.beneficiary.name if ticket.beneficiary else None)
            record(session, ticket, actor, EventKind.ANONYMISED, reason=REASON_ERASURE, at=now)
            changed += 1
    return changed
