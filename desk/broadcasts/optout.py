"""Who receives no message to many (R27's messages are welcome, never imposed): an address opts
out from the portal, by the link at the foot of a message, or by replying STOP on WhatsApp.
Service messages about the person's own requests still go (desk.notify is not asked).

An address is kept as the outbox writes it: an email in lower case, a phone in E.164."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.models import BroadcastOptOut, OutboxMessage, Ticket
from desk.text import normalize_search
from desk.transaction import atomic

SALT = "broadcast-optout"
# A reply that asks to stop, compared after normalisation (any alef, case).
STOP_WORDS = frozenset(normalize_search(word) for word in (
    "stop", "unsubscribe", "ايقاف", "إيقاف", "توقف", "الغاء الاشتراك", "إلغاء الاشتراك"))
VIAS = ("portal", "link", "stop")


def key(address: str | None) -> str:
    """An address as opt-outs are kept and compared."""
    address = (address or "").strip()
    return address.lower() if "@" in address else address


def is_stop(text: str | None) -> bool:
    return normalize_search((text or "").strip().strip(".!")) in STOP_WORDS


def addresses_of(ticket: Ticket) -> list[str]:
    """Every address the desk could write the ticket's beneficiary at (given with the request,
    on their record, the WhatsApp number that wrote)."""
    meta = ticket.meta or {}
    contact = meta.get("contact") or {}
    found = [contact.get("email"), contact.get("phone"), (meta.get("whatsapp") or {}).get("phone")]
    if ticket.beneficiary is not None:
        found += [ticket.beneficiary.email, ticket.beneficiary.phone]
    return list(dict.fromkeys(key(a) for a in found if a and str(a).strip()))


def opted_out(session: Session, addresses: Iterable[str], beneficiary_ids: Iterable[int] = ()) -> tuple[set[str], set[int]]:
    """Of ``addresses`` and ``beneficiary_ids``, those that opted out (asked in chunks: a send
    may hold thousands)."""
    found_addresses: set[str] = set()
    found_people: set[int] = set()
    wanted, people = sorted({key(a) for a in addresses if a}), sorted(set(beneficiary_ids))
    for start in range(0, len(wanted), 500):
        found_addresses |= set(session.scalars(
            select(BroadcastOptOut.address).where(BroadcastOptOut.address.in_(wanted[start:start + 500]))))
    for start in range(0, len(people), 500):
        found_people |= {i for i in session.scalars(select(BroadcastOptOut.beneficiary_id).where(
            BroadcastOptOut.beneficiary_id.in_(people[start:start + 500]))) if i is not None}
    return found_addresses, found_people


def ticket_opted_out(session: Session, ticket: Ticket) -> bool:
    addresses, people = opted_out(session, addresses_of(ticket),
                                  [ticket.beneficiary_id] if ticket.beneficiary_id else [])
    return bool(addresses or people)


def add(session: Session, addresses: Iterable[str], beneficiary_id: int | None, via: str) -> int:
    """Opt ``addresses`` out, in the caller's transaction; how many were new."""
    wanted = [key(a) for a in addresses if a]
    known, _ = opted_out(session, wanted)
    new = [a for a in dict.fromkeys(wanted) if a not in known]
    session.add_all([BroadcastOptOut(address=a, beneficiary_id=beneficiary_id, via=via) for a in new])
    return len(new)


def stop(session: Session, addresses: Iterable[str], beneficiary_id: int | None, via: str) -> int:
    """Opt ``addresses`` out and commit. A second request at the same moment (a double click)
    finds its rows written by the first: nothing more to do."""
    addresses = list(addresses)
    try:
        with atomic(session):
            return add(session, addresses, beneficiary_id, via)
    except IntegrityError:
        return 0


def stop_ticket(session: Session, ticket: Ticket, via: str = "portal") -> int:
    """The beneficiary of ``ticket`` opts out, from the portal: every address of theirs."""
    return stop(session, addresses_of(ticket), ticket.beneficiary_id, via)


# The link at the foot of a message -------------------------------------------------------------
# Its token names the ticket the message was written for and a keyed digest of the address,
# signed with the desk's secret: never the address itself, which would end in access logs and
# browser histories with the URL. Following it finds the address among those the outbox recorded
# a message to for that ticket (``sent_to``): the address the message really went to, so a link
# keeps working after the beneficiary changes their email or mobile. An erasure replaces those
# addresses (desk.privacy.anonymise), and the page then says the link no longer works (the
# portal's own "stop" still does). Links sent before carried the address, signed: they keep
# working while the outbox still records a message to that address, and stop after an erasure.

def _digest(secret: str, address: str) -> str:
    return hmac.new(secret.encode(), f"{SALT}:{key(address)}".encode(), hashlib.sha256).hexdigest()[:12]


def token(secret: str, ticket: Ticket, address: str) -> str:
    """The opt-out link's token for the message to ``address`` about ``ticket``."""
    return str(URLSafeSerializer(secret, salt=SALT).dumps([ticket.id, _digest(secret, address)]))


def sent_to(session: Session, ticket_id: int) -> list[str]:
    """The addresses the outbox recorded a message to about the ticket (as opt-outs keep them)."""
    found = session.scalars(select(OutboxMessage.to_address).where(OutboxMessage.ticket_id == ticket_id).distinct())
    return list(dict.fromkeys(key(a) for a in found if a))  # an erased one ("[محذوف]") matches no digest


def _ever_sent_to(session: Session, address: str) -> bool:
    """The outbox recorded a message to ``address`` (an old link's, which names no ticket; read
    by the lower-cased address, as the outbox may keep an email as it was typed: a rare click)."""
    return session.scalar(select(OutboxMessage.id).where(
        func.lower(OutboxMessage.to_address) == key(address).lower()).limit(1)) is not None


def link_address(session: Session, secret: str, signed: str) -> str | None:
    """The address a link was made for, or None for a link the desk did not make or whose
    address the outbox no longer holds (erased)."""
    try:
        value = URLSafeSerializer(secret, salt=SALT).loads(signed)
    except BadSignature:
        return None
    if isinstance(value, str):  # a link sent before tokens were opaque: the address, signed
        return key(value) if value and _ever_sent_to(session, value) else None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int)
            and not isinstance(value[0], bool) and isinstance(value[1], str)):
        return None
    found = [a for a in sent_to(session, value[0]) if hmac.compare_digest(_digest(secret, a), value[1])]
    return found[0] if found else None
