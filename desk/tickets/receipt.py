"""The printed receipt of a request (إيصال استلام, R19): what a walk-in visitor takes home.

Its tracking link is a signed link (desk.portal.links.signed_link): the desk does not keep the
tracking key sent with the receipt message, and the signed link is tied to that key's hash, so
replacing the link (desk.tickets.actions.new_link) ends the printed one too."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from desk.committee.service import expected_date
from desk.models import Ticket
from desk.portal.links import signed_link


def receipt_context(session: Session, ticket: Ticket) -> dict[str, Any]:
    """What the receipt shows: the ticket, the expected date, the tracking link (None when the
    ticket has no tracking key) and the requester's name as given."""
    contact = (ticket.meta or {}).get("contact") or {}
    name = contact.get("name") or (ticket.beneficiary.name if ticket.beneficiary is not None else "")
    return {
        "ticket": ticket,
        "expected": expected_date(session, ticket),
        "link": signed_link(ticket) if ticket.access_key_hash else None,
        "name": name,
    }
