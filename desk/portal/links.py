"""The portal's links in messages to beneficiaries, and the satisfaction survey sent on
resolution: what the desk's ticket workflow needs from the portal, below both of them.

Nothing here imports the ticket services or the portal's views: the workflow (desk.tickets),
the committee and the channels call it; it calls only notify, tracking and the models."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.models import Kind, OutboxMessage, SatisfactionResponse, Ticket
from desk.notify import service as notify_service
from desk.notify.messages import absolute_url
from desk.portal import tracking


def key_link(ticket: Ticket, key: str) -> str:
    """The private tracking link, absolute from DESK_BASE_URL (as in the confirmation email)."""
    return absolute_url("portal.open_key", reference=ticket.reference, key=key)


def signed_link(ticket: Ticket, endpoint: str = "portal.open_signed") -> str:
    """A portal link for a later message (the desk does not keep the tracking key): a token
    signed with the app's secret. ``endpoint``: the tracking page, or "portal.open_survey"."""
    return absolute_url(endpoint, token=tracking.signed_link_token(current_app.config["SECRET_KEY"], ticket))


def survey_answer(session: Session, ticket: Ticket) -> SatisfactionResponse | None:
    """The beneficiary's satisfaction answer on this ticket, if any (one per ticket)."""
    return session.scalar(select(SatisfactionResponse).where(SatisfactionResponse.ticket_id == ticket.id))


def send_survey(session: Session, ticket: Ticket, note: str = "") -> OutboxMessage | None:
    """Queue the survey link to the beneficiary (in the caller's transaction), with ``note``
    (the outcome in words), unless answered or the ticket is a note of thanks (there is no
    service to rate). The outbox row, or None when nothing was queued."""
    if ticket.kind == Kind.THANKS or survey_answer(session, ticket) is not None:
        return None
    return notify_service.notify_beneficiary(session, "survey", ticket, note=note,
                                             link=signed_link(ticket, "portal.open_survey"))
