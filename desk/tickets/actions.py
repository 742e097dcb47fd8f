"""What a focal point does with a ticket of their department, beyond changing a field:
take it, ask the beneficiary for missing information, refer to the social research
officer, return it to the shared queue, transfer it, resolve it; and the follow-up
reminder that intake staff and supervisors send the department.

Plain functions of (session, actor, ticket, text…). Each is one transaction: the change,
its timeline event (who, when, old → new) and its notification rows are committed
together, or nothing is. Required texts are refused empty with a message by the field.

State changes are refused when stale (``expected_version``, as for field changes). A
referral and a reminder change no state: like an internal note they never conflict and
do not bump the version.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk import audit
from desk.casefile import service as casefile
from desk.errors import ValidationFailed, required_text, too_long
from desk.models import AuditAction, Department, EventKind, OutboxMessage, Status, Ticket, TicketEvent, User, utcnow
from desk.notify import service as notify_service  # called as notify_service.notify: tests replace it
from desk.permissions import Action
from desk.portal import tracking
from desk.portal.links import key_link, signed_link
from desk.tickets.service import CLOSE_REASONS, MAX_COMMENT, move_ticket, set_assignee
from desk.tickets.workflow import change_status, check_version, record, require, status_refusal
from desk.transaction import atomic


def _required(field: str, raw: str | None, missing) -> str:
    """The text, or ValidationFailed by ``field``: empty (``missing``) or longer than MAX_COMMENT."""
    errors: dict[str, list] = {}
    text = required_text(errors, field, raw, missing, MAX_COMMENT)
    if errors:
        raise ValidationFailed(errors)
    return text


def _open(ticket: Ticket, field: str) -> None:
    if not ticket.is_open:
        raise ValidationFailed({field: [_l("This ticket is no longer open: reopen it first.")]})


def _not_before_committee(ticket: Ticket, field: str) -> None:
    """A support request awaiting the research committee leaves that status only by its decision."""
    if ticket.status == Status.AWAITING_COMMITTEE:
        raise ValidationFailed({field: [_l("This request awaits the research committee's decision.")]})


# Taking and assigning ----------------------------------------------------------------

def take(session: Session, actor: User, ticket: Ticket, *, expected_version: int | None) -> bool:
    """Assign the ticket to oneself (a new ticket opens). False when it was already so."""
    require(actor, Action.TICKET_TAKE, ticket)
    seen = check_version(session, ticket, expected_version)
    _open(ticket, "take")
    if ticket.assignee_id == actor.id:
        return False
    with atomic(session, ticket, seen):
        set_assignee(session, actor, ticket, actor, utcnow())
    return True

# Assigning to another member of the department is the assignee field change
# (desk.tickets.service.change_field): a focal point may only choose the department's members.


# Talking to the beneficiary and to the social research officer -------------------------

def request_info(session: Session, actor: User, ticket: Ticket, message: str | None, *,
                 expected_version: int | None) -> TicketEvent:
    """Ask the beneficiary for what is missing (a public message); the ticket waits on them."""
    require(actor, Action.TICKET_REQUEST_INFO, ticket)
    text = _required("message", message, _l("Write what the beneficiary should send."))
    seen = check_version(session, ticket, expected_version)
    _open(ticket, "message")
    _not_before_committee(ticket, "message")
    if ticket.status == Status.WAITING:
        raise ValidationFailed({"message": [_l("This ticket is already waiting on the beneficiary: "
                                               "add a public reply instead.")]})
    person = ticket.beneficiary
    reachable_on_portal = ticket.access_key_hash is not None  # they follow it with their private link
    if not reachable_on_portal and (ticket.anonymous or person is None or not (person.phone or person.email)):
        raise ValidationFailed({"message": [_l("There is no way to reach this beneficiary (no phone or email): "
                                               "the ticket would wait for an answer that cannot come.")]})
    with atomic(session, ticket, seen):
        now = utcnow()
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        event = change_status(session, ticket, Status.WAITING, actor=actor, now=now,
                              event=EventKind.INFO_REQUESTED, body=text, public=True)
        notify_service.notify_beneficiary(session, "info_requested", ticket, note=text, link=signed_link(ticket))
    return event


def refer(session: Session, actor: User, ticket: Ticket, note: str | None) -> TicketEvent:
    """Record a referral to the social research officer (مسؤول البحث الاجتماعي): handling
    step 3, done by phone. An internal record: it never conflicts."""
    require(actor, Action.TICKET_REFER, ticket)
    text = _required("note", note, _l("Write why the beneficiary is referred."))
    _open(ticket, "note")
    with atomic(session, ticket, ticket.version):
        event = record(session, ticket, actor, EventKind.REFERRED, body=text, bump=False)
    return event


def new_link(session: Session, actor: User, ticket: Ticket, reason: str | None) -> OutboxMessage | None:
    """Revoke the ticket's portal tracking link and send the beneficiary a new one, by the
    channel they are reached on (desk.notify.service.notify_beneficiary), with ``reason`` (why:
    the link was lost, or someone else saw it) on the timeline and in the audit trail.

    From the commit on, the old link, every signed link sent before and every visitor's
    session opened with them are refused (desk.portal.tracking: all are tied to the key's
    hash). A ticket whose beneficiary can be reached nowhere (anonymous, no contact) loses its
    link all the same; the new key then goes nowhere. The message queued, or None."""
    require(actor, Action.LINK_REISSUE, ticket)
    text = _required("reason", reason, _l("Write why the link is replaced (for example: the beneficiary lost it, "
                                          "or someone else saw it)."))
    if ticket.access_key_hash is None:
        raise ValidationFailed({"reason": [_l("This request has no tracking link.")]})
    with atomic(session, ticket, ticket.version):
        key, ticket.access_key_hash = tracking.new_key()
        sent = notify_service.notify_beneficiary(session, "new_link", ticket, link=key_link(ticket, key))
        channel = sent.channel if sent is not None else None
        record(session, ticket, actor, EventKind.LINK_REISSUED, new=channel, body=text, bump=False)
        audit.record(session, AuditAction.LINK_REVOKED, actor=actor, record_type="ticket", record_id=ticket.id,
                     ticket_id=ticket.id, detail={"reason": text, "sent_by": channel})
    return sent


# Moving the ticket -------------------------------------------------------------------

def return_to_queue(session: Session, actor: User, ticket: Ticket, reason: str | None, *,
                    expected_version: int | None) -> TicketEvent:
    """Send a misrouted ticket back to the shared queue (unrouted, unassigned: move_ticket);
    intake staff are told."""
    require(actor, Action.TICKET_RETURN, ticket)
    text = _required("reason", reason, _l("Write why the ticket does not belong to this department."))
    seen = check_version(session, ticket, expected_version)
    _open(ticket, "reason")
    if ticket.department_id is None:
        raise ValidationFailed({"reason": [_l("This ticket is already in the shared queue.")]})
    with atomic(session, ticket, seen):
        event = move_ticket(session, actor, ticket, None, kind=EventKind.RETURNED, reason_text=text, at=utcnow())
        notify_service.notify(session, "returned", ticket, notify_service.intake_staff(session), actor=actor,
                              note=text)
    return event


def transfer(session: Session, actor: User, ticket: Ticket, department_id: str | int | None,
             reason: str | None, *, expected_version: int | None) -> TicketEvent:
    """Move the ticket to another active department, with a reason; its focal points are told.
    The assignee is cleared unless they serve the new department too (move_ticket)."""
    require(actor, Action.TICKET_TRANSFER, ticket)
    errors: dict[str, list] = {}
    raw = str(department_id or "").strip()
    department = session.get(Department, int(raw)) if raw.isdigit() else None
    if department is None or not department.active:
        errors["department"] = [_l("Choose an active department.")]
    elif department.id == ticket.department_id:
        errors["department"] = [_l("The ticket is already in this department: choose another one.")]
    try:
        text = _required("reason", reason, _l("Write why the ticket goes to this department."))
    except ValidationFailed as failed:
        errors.update(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    seen = check_version(session, ticket, expected_version)
    _open(ticket, "reason")
    with atomic(session, ticket, seen):
        event = move_ticket(session, actor, ticket, department, kind=EventKind.TRANSFERRED, reason_text=text,
                            at=utcnow())
    return event


# Resolving ---------------------------------------------------------------------------

def resolve(session: Session, actor: User, ticket: Ticket, action_taken: str | None, *,
            expected_version: int | None, message: str | None = None) -> TicketEvent:
    """The one way to resolve: with the action taken (الإجراء المتخذ), which the statistics
    report. Whoever recorded the ticket is told, if they still work the shared queue (intake
    staff, a supervisor or an admin); nobody for a ticket from the website or the system.

    ``message``, optional: what the beneficiary reads about the outcome (the action taken is
    the desk's own record): a public reply, shown on the portal and sent with the
    satisfaction survey (or alone when no survey goes out)."""
    require(actor, Action.TICKET_RESOLVE, ticket)
    text = _required("action_taken", action_taken, _l("Write the action taken before resolving."))
    public_text = (message or "").strip()
    if len(public_text) > MAX_COMMENT:
        raise ValidationFailed({"message": [too_long(MAX_COMMENT)]})
    seen = check_version(session, ticket, expected_version)
    _open(ticket, "action_taken")
    _not_before_committee(ticket, "action_taken")
    casefile.check_attestation(session, ticket, "action_taken")  # the admin's rule for this kind (R17)
    with atomic(session, ticket, seen):
        now = utcnow()
        if public_text:
            record(session, ticket, actor, EventKind.REPLY, body=public_text, public=True, at=now, bump=False)
            if ticket.first_response_at is None:
                ticket.first_response_at = now
        event = change_status(session, ticket, Status.RESOLVED, actor=actor, now=now, event=EventKind.RESOLVED,
                              body=text, message=public_text)
    return event


# Closing without resolving -------------------------------------------------------------

def close_as(session: Session, actor: User, ticket: Ticket, why: str, reason: str | None, *,
             expected_version: int | None) -> TicketEvent:
    """Close a ticket that needs no handling: a duplicate of another, or spam (``why``, the
    event's reason code, described on the timeline), with the reason written (required). Who may
    close a ticket that was never resolved is the status rule's (workflow.status_refusal:
    intake staff, supervisors and admins)."""
    require(actor, Action.TICKET_STATUS, ticket)
    if why not in CLOSE_REASONS:
        raise ValidationFailed({"close_as": [_l("Choose why the ticket is closed.")]})
    text = _required("reason", reason, _l("Write why the ticket is closed."))
    seen = check_version(session, ticket, expected_version)
    _open(ticket, "reason")
    refusal = status_refusal(actor, ticket, Status.CLOSED)
    if refusal is not None:
        raise ValidationFailed({"reason": [refusal]})
    with atomic(session, ticket, seen):
        event = change_status(session, ticket, Status.CLOSED, actor=actor, now=utcnow(), body=text, reason=why)
    return event


# Follow-up ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Reminded:
    event: TicketEvent
    notified: int  # how many focal points an email was queued for (0: none could be emailed)


REMIND_AGAIN_AFTER = timedelta(hours=1)


def remind(session: Session, actor: User, ticket: Ticket, note: str | None = None) -> Reminded:
    """A recorded follow-up nudge (تذكير) that notifies the department's focal points.
    Intake staff, supervisors and admins only; an open, routed ticket only. The reminder is
    recorded even when none of them can be emailed (no address, reminders turned off): the
    caller says so."""
    require(actor, Action.TICKET_REMIND, ticket)
    text = (note or "").strip()
    if len(text) > MAX_COMMENT:
        raise ValidationFailed({"note": [too_long(MAX_COMMENT)]})
    _open(ticket, "note")
    recipients = notify_service.department_focal_points(session, ticket.department_id)
    if not recipients:
        raise ValidationFailed({"note": [_l("This ticket's department has no focal point to remind.")]})
    # A double click, or two supervisors at once, must not send the focal points the same nudge twice.
    since = utcnow() - REMIND_AGAIN_AFTER
    if session.scalar(select(TicketEvent.id).where(TicketEvent.ticket_id == ticket.id,
                                                   TicketEvent.kind == EventKind.REMINDER,
                                                   TicketEvent.created_at > since).limit(1)):
        raise ValidationFailed({"note": [_l("A reminder about this ticket was sent less than an hour ago.")]})
    with atomic(session, ticket, ticket.version):
        event = record(session, ticket, actor, EventKind.REMINDER, body=text or None, bump=False)
        messages = notify_service.notify(session, "reminder", ticket, recipients, actor=actor, note=text)
    return Reminded(event, len(messages))
