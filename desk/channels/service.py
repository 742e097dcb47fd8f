"""Email intake decisions: one parsed email → nothing (a duplicate or noise), a reply on the
ticket it answers, or a new ticket with channel "email".

Threading, most trusted first: In-Reply-To/References naming a Message-ID we sent (signed,
desk.notify.mail.message_id) or one of the beneficiary's earlier messages; then a reference
in the subject, but only from the address the ticket's beneficiary writes from (anyone can
type a reference: a stranger's text must not land on someone else's ticket).
"""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk.channels import inbound, original
from desk.channels.email import ParsedEmail, strip_quoted
from desk.channels.inbound import Incoming, Storage
from desk.intake.service import IntakeData
from desk.models import (
    Beneficiary,
    Channel,
    InboundMessage,
    Kind,
    OutboxMessage,
    Ticket,
    utcnow,
)
from desk.notify import service as notify_service
from desk.notify.mail import MailSettings
from desk.notify.mail import message_id as our_message_id
from desk.portal import tracking
from desk.portal.links import key_link
from desk.tickets.service import REASON_EMAIL
from desk.transaction import discard

_OURS = re.compile(r"^<desk\.outbox\.(\d{1,18})\.[0-9a-f]{16}@[^<>@\s]+>$")


@dataclass(frozen=True)
class Mailbox:
    """One mailbox's intake settings (see desk.channels.imap for the connection)."""

    name: str
    kind: str = Kind.INQUIRY
    department: str | None = None   # a department code: new tickets go there; None: the routing rules
    acknowledge: bool = False       # write the sender a "we received it" with the reference
    address: str = ""               # the mailbox's own address (never a ticket from it)


@dataclass(frozen=True)
class Taken:
    outcome: str                    # "ticket", "reply", "ignored", "duplicate"
    ticket: Ticket | None = None


def ticket_of_our_message(session: Session, mid: str, mail: MailSettings, sender: str | None = None) -> int | None:
    """The ticket of a message we sent to a beneficiary, if ``mid`` is one of our (signed)
    Message-IDs and (``sender`` given) the answer comes from the address it was sent to. A staff
    member answering a notification, or someone copied in, never writes as the beneficiary."""
    match = _OURS.match(mid)
    if match is None:
        return None
    outbox_id = int(match.group(1))
    if not hmac.compare_digest(our_message_id(outbox_id, mail), mid):
        return None
    row = session.execute(select(OutboxMessage.ticket_id, OutboxMessage.to_user_id, OutboxMessage.to_address)
                          .where(OutboxMessage.id == outbox_id)).first()
    if row is None or row.to_user_id is not None:
        return None
    if sender is not None and (row.to_address or "").strip().lower() != sender.strip().lower():
        return None
    return row.ticket_id


def threaded_ticket(session: Session, parsed: ParsedEmail, mail: MailSettings) -> Ticket | None:
    """The ticket this email answers, if any (see the module's docstring)."""
    sender = (parsed.from_address or "").strip().lower()
    for mid in [*parsed.in_reply_to, *reversed(parsed.references)]:
        ticket_id = ticket_of_our_message(session, mid, mail, sender=sender)
        if ticket_id is None:  # the beneficiary's own earlier message, from the same address
            ticket_id = session.scalar(
                select(InboundMessage.ticket_id)
                .where(InboundMessage.channel == "email", InboundMessage.message_id == mid,
                       InboundMessage.ticket_id.is_not(None), func.lower(InboundMessage.sender) == sender)
                .order_by(InboundMessage.id.desc()).limit(1))
        if ticket_id is not None:
            ticket = session.get(Ticket, ticket_id)
            if ticket is not None:
                return ticket
    reference = parsed.reference
    if reference:
        ticket = session.scalar(select(Ticket).where(Ticket.reference == reference))
        if ticket is not None and parsed.from_address and parsed.from_address in _addresses_of(ticket):
            return ticket
    return None


def _addresses_of(ticket: Ticket) -> set[str]:
    addresses = {(notify_service.beneficiary_email(ticket) or "").lower()}
    if ticket.beneficiary is not None and ticket.beneficiary.email:
        addresses.add(ticket.beneficiary.email.lower())
    return addresses - {""}


def beneficiary_by_email(session: Session, address: str) -> Beneficiary | None:
    if not address:
        return None
    return session.scalar(select(Beneficiary).where(func.lower(Beneficiary.email) == address)
                          .order_by(Beneficiary.id).limit(1))


def acknowledgements_sent(session: Session, address: str, since) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.to_address == address, OutboxMessage.reason == "received",
        OutboxMessage.created_at >= since)) or 0


def incoming_of(parsed: ParsedEmail, mailbox: Mailbox, raw: bytes | None = None) -> Incoming:
    """What the channels share of one email; with ``raw``, its original goes with it."""
    return Incoming(
        channel="email", key=parsed.key, source=mailbox.name, sender=parsed.from_address or None,
        text=parsed.text, documents=[(d.filename, d.data) for d in parsed.documents],
        left_out=[f"{name} (unreadable)" for name in parsed.unreadable], message_id=parsed.message_id,
        references=" ".join([*parsed.references, *[i for i in parsed.in_reply_to if i not in parsed.references]])[:4000] or None,
        received_at=parsed.date, original=(original.filename(parsed.date), raw) if raw is not None else None,
    )


def take(session: Session, parsed: ParsedEmail, mailbox: Mailbox, storage: Storage, mail: MailSettings,
         *, ack_limit: int = 3, department_id: int | None = None, raw: bytes | None = None,
         verified: bool | None = None) -> Taken:
    """Turn one email into what it is, exactly once (its key is committed with the ticket or
    reply). Acknowledgements: at most ``ack_limit`` per sender per hour. With ``raw``, the
    original is kept as a document of the ticket and the text shown is cut only with a notice
    naming it. ``verified``: what our receiving server said of the sender (recorded)."""
    if inbound.already(session, "email", parsed.key) is not None:
        discard(session)
        return Taken("duplicate")
    incoming = incoming_of(parsed, mailbox, raw)
    if parsed.noise:
        return Taken("ignored" if inbound.ignore(session, incoming, parsed.noise) else "duplicate")
    ticket = threaded_ticket(session, parsed, mail)
    if ticket is not None:
        incoming.text = strip_quoted(parsed.text)
        replied = inbound.join(session, ticket, incoming, storage, via=REASON_EMAIL, channel=Channel.EMAIL,
                               verified=verified)
        return Taken("reply", replied.ticket) if replied is not None else Taken("duplicate")
    return open_email_ticket(session, parsed, incoming, mailbox, storage, ack_limit=ack_limit,
                             department_id=department_id, verified=verified)


def open_email_ticket(session: Session, parsed: ParsedEmail, incoming: Incoming, mailbox: Mailbox, storage: Storage,
                      *, ack_limit: int = 3, department_id: int | None = None, verified: bool | None = None) -> Taken:
    """A new email ticket from ``incoming`` (what is already in the session is committed with
    it: desk.channels.quarantine's decision); the acknowledgement if the mailbox sends one."""
    beneficiary = beneficiary_by_email(session, parsed.from_address)
    contact = {"name": parsed.from_name or (beneficiary.name if beneficiary else ""), "phone": None,
               "email": parsed.from_address}
    body = parsed.text or parsed.subject
    intake = IntakeData(
        kind=mailbox.kind, channel=Channel.EMAIL, subject=(parsed.subject or parsed.text[:80] or "—").strip()[:200],
        body=original.shown(body, incoming.original[0]) if incoming.original else body,
        beneficiary_id=beneficiary.id if beneficiary else None,
        department_id=department_id, department_as_proposed=department_id is None,
        meta={"contact": contact, "locale": "ar", "email": {"mailbox": mailbox.name}},
    )

    def acknowledge(ticket: Ticket) -> None:
        if not mailbox.acknowledge or not parsed.from_address:
            return
        if acknowledgements_sent(session, parsed.from_address, utcnow() - timedelta(hours=1)) >= ack_limit:
            return
        key, ticket.access_key_hash = tracking.new_key()
        notify_service.notify_beneficiary(session, "received", ticket, link=key_link(ticket, key))

    ticket = inbound.open_ticket(session, incoming, intake, beneficiary, storage, via=REASON_EMAIL,
                                 before_commit=acknowledge, verified=verified)
    return Taken("ticket", ticket) if ticket is not None else Taken("duplicate")


# The generic webhook (/hooks/inbound): a website form or a chatbot ------------------------------

WEBHOOK_KINDS = (Kind.COMPLAINT, Kind.INQUIRY, Kind.SUGGESTION, Kind.SUPPORT, Kind.THANKS)


def check_form(payload: object) -> dict[str, str]:
    """What is wrong with a generic webhook's JSON (field → message, in English: the caller is
    a program), or an empty dict."""
    errors: dict[str, str] = {}
    if not isinstance(payload, dict):
        return {"payload": "a JSON object is expected"}
    delivery = payload.get("id")
    if not isinstance(delivery, (str, int)) or not str(delivery).strip() or len(str(delivery)) > 200:
        errors["id"] = "a delivery id (string, at most 200 characters) is required: it makes a retry harmless"
    if payload.get("kind", Kind.INQUIRY) not in WEBHOOK_KINDS:
        errors["kind"] = "one of " + ", ".join(WEBHOOK_KINDS)
    for name, limit in (("subject", 200), ("body", 5000), ("name", 160), ("email", 254), ("phone", 40)):
        value = payload.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            errors[name] = f"a string of at most {limit} characters"
    if not errors and not (str(payload.get("subject") or "").strip() or str(payload.get("body") or "").strip()):
        errors["body"] = "a subject or a body is required"
    if not errors and payload.get("phone"):
        from desk.text import InvalidPhone, parse_phone
        try:
            parse_phone(payload["phone"])
        except InvalidPhone:
            errors["phone"] = "not a valid phone number"
    return errors


def take_form(session: Session, payload: dict, storage: Storage, source: str = "") -> tuple[Ticket, bool]:
    """A ticket (channel website) from a checked generic webhook call: (ticket, created). The
    same delivery id again returns the ticket it made."""
    from desk.beneficiaries import service as beneficiaries
    from desk.text import parse_phone
    from desk.tickets.service import REASON_PORTAL

    key = str(payload["id"]).strip()
    seen = inbound.already(session, "webhook", key)
    if seen is not None and seen.ticket_id is not None:
        return session.get_one(Ticket, seen.ticket_id), False
    phone = parse_phone(payload["phone"]) if payload.get("phone") else None
    address = (payload.get("email") or "").strip().lower() or None
    name = (payload.get("name") or "").strip()
    found = beneficiaries.find_by_phone(session, phone) if phone else []
    beneficiary = found[0] if found else beneficiary_by_email(session, address or "")
    body = (payload.get("body") or "").strip()
    subject = (payload.get("subject") or "").strip() or body.splitlines()[0][:80]
    incoming = Incoming(channel="webhook", key=key, source=source, sender=phone or address, text=body)
    intake = IntakeData(
        kind=payload.get("kind") or Kind.INQUIRY, channel=Channel.WEBSITE, subject=subject[:200], body=body or subject,
        beneficiary_id=beneficiary.id if beneficiary else None, department_as_proposed=True,
        meta={"contact": {"name": name, "phone": phone, "email": address}, "locale": "ar", "source": "webhook"},
    )
    ticket = inbound.open_ticket(session, incoming, intake, beneficiary, storage, via=REASON_PORTAL)
    if ticket is None:  # a concurrent delivery of the same id won (open_ticket found its row)
        seen = inbound.already(session, "webhook", key)
        if seen is None or seen.ticket_id is None:  # never: that delivery made a ticket, and tickets are kept
            raise RuntimeError(f"webhook delivery {key!r} is recorded without its ticket")
        return session.get_one(Ticket, seen.ticket_id), False
    return ticket, True
