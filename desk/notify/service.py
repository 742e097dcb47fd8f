"""Who is told what: one outbox row per recipient, in the recipient's language (the words
are written by desk.notify.messages).

``notify`` never commits: its rows join the caller's transaction, so a message exists
exactly when the change that caused it does (see desk.notify.outbox for delivery).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, CursorResult, case, func, select, update
from sqlalchemy.orm import Session

from desk.channels import sms
from desk.errors import NotFound, ValidationFailed
from desk.models import (
    DepartmentMember,
    InboundMessage,
    OutboxMessage,
    OutboxStatus,
    Position,
    Role,
    Ticket,
    User,
    UserRole,
    utcnow,
)
from desk.notify import messages
from desk.notify.messages import scrub  # noqa: F401  (where callers have always found it)
from desk.text import is_mobile
from desk.transaction import commit

# Notification kinds, in the order the preferences page lists them.
KINDS = {
    "routed": _l("A ticket is routed to my department"),
    "assigned": _l("A ticket is assigned to me"),
    "returned": _l("A focal point returns a ticket to the shared queue"),
    "resolved": _l("A focal point resolves a ticket"),
    "reminder": _l("A follow-up reminder about a ticket"),
    "committee_decision": _l("The research committee decides a support request"),
    "sla_first_response": _l("A ticket is still unanswered at its first-response time"),
    "sla_breach": _l("A ticket exceeds its resolution time (and its escalation)"),
    "beneficiary_wrote": _l("The beneficiary writes on a ticket of my department"),
}

# What else an outbox row may be for (notify_users): not a preference a user can turn off; and
# what the beneficiary is written (notify_beneficiary, BENEFICIARY_KINDS).
OTHER_REASONS = {
    "emergency": _l("An emergency is reported to the general manager"),
    "received": _l("The beneficiary's confirmation, with the tracking link"),
    "reply": _l("A reply to the beneficiary"),
    "survey": _l("The satisfaction survey"),
    "info_requested": _l("Missing information asked of the beneficiary"),
    "password_reset": _l("A password-reset link a staff member asked for"),
    "appointment_confirmed": _l("An appointment confirmed to the beneficiary"),
    "appointment_reminder": _l("An appointment reminder the day before"),
    "appointment_cancelled": _l("An appointment cancelled, told to the other side"),
    "broadcast": _l("A message to many beneficiaries"),
    "aid_delay": _l("An aid delay outside the association's control"),
}
# Every reason's label, for the outbox admin page.
REASONS = {**KINDS, **OTHER_REASONS}


def department_focal_points(session: Session, department_id: int | None,
                            positions: Iterable[Position] | None = None) -> list[User]:
    """Active users who serve the department: primary first, then deputies, then members.
    ``positions`` keeps only those positions, e.g. ``(Position.PRIMARY, Position.DEPUTY)``."""
    if department_id is None:
        return []
    order = case({Position.PRIMARY: 0, Position.DEPUTY: 1}, value=DepartmentMember.position, else_=2)
    query = (
        select(User)
        .join(DepartmentMember, DepartmentMember.user_id == User.id)
        .where(DepartmentMember.department_id == department_id, User.active.is_(True))
        .order_by(order, User.id)
    )
    if positions is not None:
        query = query.where(DepartmentMember.position.in_(list(positions)))
    return list(session.scalars(query))


def intake_staff(session: Session) -> list[User]:
    """Active intake staff (موظفو علاقات المستفيدين): told when a ticket comes back to the shared
    queue, when a beneficiary writes on an unrouted ticket, or when nobody else can be."""
    staff = select(UserRole.user_id).where(UserRole.role == Role.STAFF)
    return list(session.scalars(select(User).where(User.active.is_(True), User.id.in_(staff)).order_by(User.id)))


def wants(user: User, kind: str) -> bool:
    return bool(user.active and user.email and kind not in (user.notifications_off or []))


def _default_note(kind: str, ticket: Ticket) -> str:
    return (ticket.action_taken or "") if kind == "resolved" else ""


def notify(session: Session, kind: str, ticket: Ticket, recipients: Iterable[User],
           actor: User | None = None, note: str = "") -> list[OutboxMessage]:
    """Queue one email per recipient who has ``kind`` turned on (never the actor), in the
    recipient's language, in the caller's transaction. Kinds: see KINDS."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    queued: list[OutboxMessage] = []
    seen: set[int] = set()
    for user in recipients:
        if user is None or user.id in seen or (actor is not None and user.id == actor.id):
            continue
        seen.add(user.id)
        if not wants(user, kind):
            continue
        subject, body = messages.render(kind, ticket, user, actor, note or _default_note(kind, ticket))
        message = OutboxMessage(
            channel="email", to_address=user.email, to_user_id=user.id, subject=subject,
            body_text=body, ticket_id=ticket.id, reason=kind, status=OutboxStatus.PENDING,
            attempts=0, next_attempt_at=utcnow(),
        )
        session.add(message)
        queued.append(message)
    return queued


def notify_users(session: Session, reason: str, recipients: Iterable[User], template: str,
                 actor: User | None = None, **context) -> list[OutboxMessage]:
    """Queue one email per active recipient with an address (never the actor), written from
    ``template`` in the recipient's language, in the caller's transaction. For what is not about
    a ticket and must reach its recipients whatever their preferences (an emergency report to
    the general manager): ``reason`` is recorded on the row, not offered as a preference."""
    queued: list[OutboxMessage] = []
    seen: set[int] = set()
    for user in recipients:
        if user is None or user.id in seen or (actor is not None and user.id == actor.id):
            continue
        seen.add(user.id)
        if not (user.active and user.email):
            continue
        subject, body = messages.render_for_user(template, user, actor=actor, **context)
        message = OutboxMessage(
            channel="email", to_address=user.email, to_user_id=user.id, subject=subject, body_text=body,
            ticket_id=None, reason=reason, status=OutboxStatus.PENDING, attempts=0, next_attempt_at=utcnow(),
        )
        session.add(message)
        queued.append(message)
    return queued


# What a beneficiary (not a user) is written, in the language they used (Arabic by default):
# templates/notify/beneficiary_<kind>.txt. "received": the confirmation with the tracking link;
# "survey": the satisfaction survey after resolution; "reply": a public reply from the desk;
# "info_requested": the desk asks for what is missing (the ticket waits on them).
# "new_link": the tracking link was replaced (desk.tickets.actions.new_link), the new one sent.
BENEFICIARY_KINDS = ("committee_decision", "received", "survey", "reply", "info_requested", "new_link")


def beneficiary_email(ticket: Ticket) -> str | None:
    """Where the beneficiary is written: the email given with this request (the portal), else
    the one on their record; None for an anonymous ticket or without an address."""
    if ticket.anonymous:
        return None
    given = ((ticket.meta or {}).get("contact") or {}).get("email")
    on_record = ticket.beneficiary.email if ticket.beneficiary is not None else None
    return (given or on_record or "").strip() or None


def beneficiary_phone(ticket: Ticket) -> str | None:
    """The mobile given with this request (the portal), else the one on their record (E.164)."""
    if ticket.anonymous:
        return None
    given = ((ticket.meta or {}).get("contact") or {}).get("phone")
    on_record = ticket.beneficiary.phone if ticket.beneficiary is not None else None
    return given or on_record or None


# Sent by SMS too (when a gateway is set): the confirmation with its link always, the others
# when there is no email address to send them to.
AUTO_REPLIES = ("received",)  # sent by the desk itself in answer to a message, no person involved
SMS_KINDS = ("received", "survey", "reply", "info_requested", "committee_decision", "new_link")
SMS_ALWAYS = ("received", "new_link")  # a link the person needs: by SMS as well as by email


def notify_beneficiary(session: Session, kind: str, ticket: Ticket, note: str = "",
                       link: str | None = None, expected: datetime | None = None,
                       attachments: Iterable = ()) -> OutboxMessage | None:
    """Queue the message ``kind`` to the ticket's beneficiary in the caller's transaction: by
    email if they gave an address (on the channel they wrote from, issue 7), and by SMS through
    the gateway (desk.channels.sms) for the confirmation, or when no email can carry it. No staff
    link, no national ID or phone (scrub); ``link`` is a portal link (tracking or survey). The
    email's row, else the SMS's, else None."""
    if kind not in BENEFICIARY_KINDS:
        raise ValueError(f"unknown beneficiary notification kind {kind!r}")
    address = beneficiary_email(ticket)
    channel, meta = "email", None
    routed = route(session, ticket)  # back on the channel they wrote from
    if routed is not None:
        channel, address, meta = routed
    if channel == "email" and attachments:  # documents of the ticket, sent with it (desk.channels.outgoing)
        meta = {**(meta or {}), "attachments": [_document(a) for a in attachments]}
    if channel == "whatsapp":  # outside the 24-hour window a template goes: the reference and this private link
        meta = {**(meta or {}), "link": link or messages.absolute_url("portal.home")}
    if channel == "email" and kind in AUTO_REPLIES:  # RFC 3834: an automatic answer to their message
        meta = {**(meta or {}), "auto_submitted": "auto-replied"}
    # By phone (SMS, WhatsApp): the reference, the status in words and the link, never the text.
    if channel == "whatsapp":
        subject, body = messages.render_short(kind, ticket, link=link)
    else:
        subject, body = messages.render_for_beneficiary(kind, ticket, note, link=link, expected=expected)
    message = None
    if address is not None:
        message = _queue(session, ticket, kind, channel, address, subject, body, meta)
        if channel == "whatsapp":  # each document a media message of its own, after the text (desk.channels.graph)
            for a in attachments:
                _queue(session, ticket, kind, channel, address, subject, a.filename,
                       {**(meta or {}), "document": _document(a)})
    phone = beneficiary_phone(ticket)
    if (channel != "whatsapp" and phone and is_mobile(phone) and kind in SMS_KINDS and sms.enabled()
            and (kind in SMS_ALWAYS or message is None)):
        _, short = messages.render_short(kind, ticket, link=link)
        text = _queue(session, ticket, kind, "sms", phone, subject, short, {"reference": ticket.reference})
        message = message or text
    return message


def _document(a) -> dict[str, str]:
    """A ticket document as the outbox's senders read it from a message's meta."""
    return {"stored_name": a.stored_name, "filename": a.filename, "content_type": a.content_type}


def reply_headers(session: Session, ticket: Ticket) -> dict[str, str] | None:
    """In-Reply-To and References for an email to the beneficiary of an email ticket: their
    last message on it (or on the ticket it follows). None when they never wrote by email."""
    last = session.scalar(
        select(InboundMessage)
        .where(InboundMessage.channel == "email", InboundMessage.ticket_id == ticket.id,
               InboundMessage.message_id.is_not(None), InboundMessage.outcome != "ignored")
        .order_by(InboundMessage.id.desc()).limit(1))
    if last is None or last.message_id is None:  # the query asks for a message id: narrows the type
        return None
    references = [*(last.references or "").split(), last.message_id]
    references = references[-20:]  # RFC 5322 lets us trim the middle; keep the newest
    return {"in_reply_to": last.message_id, "references": " ".join(references)}


def route(session: Session, ticket: Ticket) -> tuple[str, str | None, dict | None] | None:
    """Where a message to the ticket's beneficiary goes when they wrote through a channel that
    flows in by itself (desk.channels): (channel, address, meta).

    A WhatsApp ticket is answered on WhatsApp, to the number that wrote; an email ticket by
    email, threaded on the beneficiary's last message. None: the usual email, if any."""
    if ticket.anonymous:
        return None
    whatsapp = (ticket.meta or {}).get("whatsapp") or {}
    if whatsapp.get("phone"):
        return "whatsapp", whatsapp["phone"], {"reference": ticket.reference}
    headers = reply_headers(session, ticket)
    if headers is not None:
        name = " ".join((((ticket.meta or {}).get("contact") or {}).get("name") or "").split())  # one line
        return "email", beneficiary_email(ticket), {**headers, "to_name": name} if name else headers
    return None


def reply_route(session: Session, ticket: Ticket) -> tuple[str, str] | None:
    """(channel, address) a public reply to the beneficiary goes to, as notify_beneficiary
    chooses it (shown beside the reply box), or None when it reaches them nowhere."""
    routed = route(session, ticket)
    if routed is not None and routed[1]:
        return routed[0], routed[1]
    address = beneficiary_email(ticket)
    if address:
        return "email", address
    phone = beneficiary_phone(ticket)
    return ("sms", phone) if phone and sms.enabled() else None


def _queue(session: Session, ticket: Ticket, kind: str, channel: str, address: str, subject: str, body: str,
           meta: dict | None) -> OutboxMessage:
    message = OutboxMessage(
        channel=channel, to_address=address, to_user_id=None,
        subject=subject, body_text=body, ticket_id=ticket.id, meta=meta,
        reason=kind, status=OutboxStatus.PENDING, attempts=0, next_attempt_at=utcnow(),
    )
    session.add(message)
    return message


# Preferences -------------------------------------------------------------------------

def enabled_kinds(user: User) -> list[str]:
    off = set(user.notifications_off or [])
    return [kind for kind in KINDS if kind not in off]


def set_preferences(session: Session, user: User, enabled: Iterable[str]) -> list[str]:
    """Turn on exactly ``enabled`` (the rest off) and commit. Unknown kinds are refused."""
    enabled = list(enabled)
    unknown = [kind for kind in enabled if kind not in KINDS]
    if unknown:
        raise ValidationFailed({"kinds": [_l("Choose only from the notifications listed.")]})
    user.notifications_off = [kind for kind in KINDS if kind not in enabled]
    commit(session)
    return enabled_kinds(user)


# The admin's view of the outbox --------------------------------------------------------

ATTENTION = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED)
STATUS_LABELS = {
    OutboxStatus.PENDING: _l("Pending"),
    OutboxStatus.SENDING: _l("Sending"),
    OutboxStatus.SENT: _l("Sent"),
    OutboxStatus.FAILED: _l("Failed"),
}


def outbox_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    counts = {status.value: 0 for status in OutboxStatus}
    counts.update({status: n for status, n in rows})
    return counts


def outbox_rows(session: Session, statuses: Iterable[str], limit: int = 200) -> list:
    """Messages in ``statuses`` with their ticket's reference: failed first, then by due time."""
    statuses = list(statuses)
    order: tuple[ColumnElement[Any], ...]
    if statuses == [OutboxStatus.SENT]:
        order = (OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
    else:
        first = case({OutboxStatus.FAILED: 0, OutboxStatus.SENDING: 1}, value=OutboxMessage.status, else_=2)
        order = (first, OutboxMessage.next_attempt_at.asc(), OutboxMessage.id.asc())
    return list(session.execute(
        select(OutboxMessage, Ticket.reference)
        .outerjoin(Ticket, Ticket.id == OutboxMessage.ticket_id)
        .where(OutboxMessage.status.in_(statuses))
        .order_by(*order)
        .limit(limit)
    ).all())


def outbox_row(session: Session, message_id: int):
    row = session.execute(
        select(OutboxMessage, Ticket.reference)
        .outerjoin(Ticket, Ticket.id == OutboxMessage.ticket_id)
        .where(OutboxMessage.id == message_id)
    ).first()
    if row is None:
        raise NotFound()
    return row


def retry_now(session: Session, message_id: int, now: datetime | None = None) -> OutboxMessage:
    """Make a failed or pending message due now, and commit. A failed one starts afresh: its
    attempts back, a new retry window (DESK_OUTBOX_RETRY_HOURS), its failure forgotten.

    A message being sent or already sent is left alone (the update matches nothing)."""
    now = now or utcnow()
    failed = OutboxMessage.status == OutboxStatus.FAILED
    return update_message(session, message_id, update(OutboxMessage)
        .where(OutboxMessage.id == message_id,
               OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.FAILED)))
        .values(status=OutboxStatus.PENDING, next_attempt_at=now, locked_until=None,
                attempts=case((failed, 0), else_=OutboxMessage.attempts),
                stalls=case((failed, 0), else_=OutboxMessage.stalls),
                failing_since=case((failed, None), else_=OutboxMessage.failing_since),
                failed_at=case((failed, None), else_=OutboxMessage.failed_at),
                failure=case((failed, None), else_=OutboxMessage.failure))
        .execution_options(synchronize_session=False),
        _l("Only a pending or failed message can be retried."))


def update_message(session: Session, message_id: int, statement, refusal) -> OutboxMessage:
    """Run ``statement`` (an UPDATE of that one outbox row, conditioned on the state it may
    change from) and commit; the row as it is now, NotFound when there is none, or the
    ``refusal`` by the status when the condition matched nothing (a worker or a colleague
    was first)."""
    done = cast(CursorResult, session.execute(statement)).rowcount  # an UPDATE's result, typed as any Result
    commit(session)
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound()
    session.refresh(message)
    if not done:
        raise ValidationFailed({"status": [refusal]})
    return message
