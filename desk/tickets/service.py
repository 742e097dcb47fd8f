"""Everything a person does to a ticket after intake.

Plain functions of (session, actor, …). Each public function is one transaction: the
change and its timeline event are committed together, or neither is.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from desk import audit, labels
from desk.channels.outgoing import documents_to_send
from desk.errors import NotFound, ValidationFailed, too_long
from desk.models import (
    BY_NAME_ONLY,
    AuditAction,
    Category,
    Department,
    DepartmentMember,
    EventKind,
    Priority,
    ReferenceCounter,
    Role,
    RoutingRule,
    Status,
    Ticket,
    TicketEvent,
    User,
    UserRole,
    format_reference,
    utcnow,
)
from desk.notify import service as notify_service  # called as notify_service.notify: tests replace it
from desk.permissions import Action, can, visible_tickets
from desk.portal.links import signed_link
from desk.replies import service as saved_reply_service
from desk.sla import tickets as sla_tickets
from desk.submissions import Once, take
from desk.text import hijri_year
from desk.tickets.workflow import (
    TRANSITIONS,
    change_status,
    check_version,
    record,
    require,
    status_refusal,
)
from desk.transaction import atomic, commit

CHANGEABLE = {
    "status": Action.TICKET_STATUS,
    "priority": Action.TICKET_PRIORITY,
    "department": Action.TICKET_DEPARTMENT,
    "assignee": Action.TICKET_ASSIGN,
    # Handling steps 2 and 4 done after intake: the data checked, the attestation signed.
    "verified": Action.TICKET_STATUS,
    "attested": Action.TICKET_STATUS,
}

MAX_COMMENT = 20_000


class UseActionForm(ValidationFailed):
    """A property change that needs more than the value: the action form ``action`` (on the
    ticket page, desk.tickets.actions) takes it, with its required text. Choosing "resolved"
    opens the resolve form (the action taken); moving a routed ticket opens the transfer or
    the return form (the reason)."""

    def __init__(self, errors: dict[str, list], action: str, typed: dict[str, str] | None = None):
        super().__init__(errors)
        self.action = action
        self.typed = typed or {}


# Loading ---------------------------------------------------------------------------

def get_ticket(session: Session, actor: User, reference: str) -> Ticket:
    """The ticket, if the actor may see it; NotFound otherwise (the same for both)."""
    ticket = session.scalar(
        select(Ticket).where(Ticket.reference == reference.strip().upper(), visible_tickets(actor))
    )
    if ticket is None:
        refused(session, actor, reference.strip().upper())
        raise NotFound()
    return ticket


def mark_read(session: Session, ticket: Ticket, now: datetime | None = None) -> bool:
    """A staff member who may see ``ticket`` opened its page: the beneficiary's message is
    read (issue 18, point 6). Only the message they were shown: a reply that arrived after the
    ticket was loaded keeps the flag. A plain UPDATE, not the ORM's: reading is no change of
    the ticket, so its version (optimistic locking) and timeline stay as they are. True when
    a flag was cleared."""
    if not ticket.unread_message:
        return False
    now = now or utcnow()
    cleared = session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.beneficiary_message_at == ticket.beneficiary_message_at)
        .values(staff_read_at=now).execution_options(synchronize_session=False))
    commit(session)
    return bool(getattr(cleared, "rowcount", 0))


def refused(session: Session, actor: User, reference: str) -> None:
    """A ticket that exists but that the actor may not see: the refusal is written on the audit
    trail (committed on its own; nothing else is pending when a ticket is loaded). A reference
    that names no ticket is not recorded: there is no one's data behind it."""
    ticket_id = session.scalar(select(Ticket.id).where(Ticket.reference == reference))
    if ticket_id is None:
        return
    audit.record(session, AuditAction.ACCESS_REFUSED, actor=actor, record_type="ticket", record_id=reference,
                 ticket_id=ticket_id)
    commit(session)


def timeline(session: Session, ticket: Ticket, newest_first: bool = False,
             merged: Sequence[int] = ()) -> list[TicketEvent]:
    """The ticket's events in the order they happened, or the newest first; with those of the
    duplicates ``merged`` into it (ids: desk.tickets.merge), which the page marks "merged from"."""
    order = TicketEvent.id.desc() if newest_first else TicketEvent.id
    # Each event's author by name.
    return list(session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id.in_([ticket.id, *merged])).order_by(order)
        .options(joinedload(TicketEvent.actor).options(*BY_NAME_ONLY))
    ))


def beneficiary_history(session: Session, actor: User, ticket: Ticket, limit: int = 10) -> list[Ticket]:
    """The beneficiary's other tickets that the actor may see, newest first."""
    if ticket.beneficiary_id is None:
        return []
    return list(session.scalars(
        select(Ticket)
        .where(Ticket.beneficiary_id == ticket.beneficiary_id, Ticket.id != ticket.id, visible_tickets(actor))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    ))


# References ------------------------------------------------------------------------

def next_reference(session: Session, kind: str, when: datetime) -> str:
    """``C-1447-000123``: kind letter, Hijri year, one sequence per Hijri year.

    The counter row is updated in place (a row lock on PostgreSQL, the write lock on
    SQLite), so two intakes at once never draw the same number.
    """
    year = hijri_year(when)
    bump = (
        update(ReferenceCounter)
        .where(ReferenceCounter.hijri_year == year)
        .values(last=ReferenceCounter.last + 1)
        .returning(ReferenceCounter.last)
        .execution_options(synchronize_session=False)
    )
    seq = session.execute(bump).scalar()
    if seq is None:
        try:
            with session.begin_nested():
                session.execute(insert(ReferenceCounter).values(hijri_year=year, last=1))
            seq = 1
        except IntegrityError:  # another intake created the year's row first
            seq = session.execute(bump).scalar_one()
    return format_reference(kind, year, seq)


# Comments --------------------------------------------------------------------------

def add_comment(session: Session, actor: User, ticket: Ticket, body: str, *, public: bool,
                expected_version: int | None, send_files: Sequence[int] = (), once: Once | None = None,
                saved_replies: Sequence[int] = ()) -> TicketEvent:
    """An internal note (never conflicts) or a public reply (refused when stale). A public reply
    may carry documents of the ticket (``send_files``: attachment ids) to the beneficiary's email.
    With the form's token (``once``: desk.submissions) the same form sent again adds nothing.
    ``saved_replies``: the saved replies inserted in the text (desk.replies), counted as used
    when a public reply is sent; one still holding a placeholder the desk could not fill is
    refused until the writer fills it."""
    require(actor, Action.TICKET_REPLY if public else Action.TICKET_NOTE, ticket)
    body = (body or "").strip()
    if not body:
        raise ValidationFailed({"body": [_l("Write the text first.")]})
    if len(body) > MAX_COMMENT:
        raise ValidationFailed({"body": [too_long(MAX_COMMENT)]})
    unfilled = saved_reply_service.remaining_placeholders(body) if public and saved_replies else []
    if unfilled:
        raise ValidationFailed({"body": [_l("Replace %(names)s with the right words before sending: this ticket "
                                            "has no value for it.", names=" ".join("{" + n + "}" for n in unfilled))]})
    documents = documents_to_send(session, ticket, send_files) if public else []
    seen = check_version(session, ticket, expected_version) if public else ticket.version
    with atomic(session, ticket, seen):
        taken = take(session, once)
        now = utcnow()
        event = record(session, ticket, actor, EventKind.REPLY if public else EventKind.NOTE,
                       body=body, public=public, bump=public, at=now)
        if public:
            if ticket.first_response_at is None:
                ticket.first_response_at = now
            if ticket.status == Status.NEW:
                change_status(session, ticket, Status.OPEN, actor=actor, now=now)
            saved_reply_service.count_use(session, ticket, saved_replies, now)
            notify_service.notify_beneficiary(session, "reply", ticket, note=body, link=signed_link(ticket),
                                              attachments=documents)
        session.flush()
        taken.done(ticket, event=event.id)
    return event


# Field changes ---------------------------------------------------------------------

@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def assignable_users(session: Session, actor: User, ticket: Ticket) -> list[User]:
    """Who the actor may assign this ticket to: the department's focal points, and for
    queue roles also intake staff and supervisors."""
    members = select(DepartmentMember.user_id).where(DepartmentMember.department_id == ticket.department_id)
    condition: ColumnElement[bool] = User.id.in_(members)
    if can(actor, Action.TICKET_DEPARTMENT, ticket):  # a queue role
        queue_users = select(UserRole.user_id).where(UserRole.role.in_([Role.STAFF, Role.SUPERVISOR]))
        condition = condition | User.id.in_(queue_users)
    # Their names and ids (the page's choices, the assignment's check).
    return list(session.scalars(select(User).where(User.active.is_(True), condition).order_by(User.name)
                                .options(*BY_NAME_ONLY)))


def active_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.code)))


def change_field(session: Session, actor: User, ticket: Ticket, field: str, raw: str | None, *,
                 expected_version: int | None) -> bool:
    """Change status, priority, department or assignee, or record the data verified or the
    applicant's attestation. False when the value was already so."""
    if field not in CHANGEABLE:
        raise ValidationFailed({"field": [_l("This field cannot be changed here.")]})
    require(actor, CHANGEABLE[field], ticket)
    seen = check_version(session, ticket, expected_version)
    with atomic(session, ticket, seen):
        return _CHANGES[field](session, actor, ticket, field, (raw or "").strip(), utcnow())


def _change_status(session: Session, actor: User, ticket: Ticket, field: str, raw: str, now: datetime) -> bool:
    if raw == ticket.status:
        return False
    refusal = status_refusal(actor, ticket, raw)
    if refusal is not None:
        # One way to resolve: desk.tickets.actions.resolve, with the action taken.
        needs_resolve = raw in TRANSITIONS.get(ticket.status, ()) and raw in (Status.RESOLVED, Status.CLOSED)
        if needs_resolve and can(actor, Action.TICKET_RESOLVE, ticket):
            raise UseActionForm({"status": [refusal]}, "resolve")
        raise ValidationFailed({"status": [refusal]})
    change_status(session, ticket, raw, actor=actor, now=now)
    return True


def _change_priority(session: Session, actor: User, ticket: Ticket, field: str, raw: str, now: datetime) -> bool:
    try:
        value = Priority(int(raw))
    except ValueError:
        raise ValidationFailed({"priority": [_l("Choose a priority from the list.")]}) from None
    if value == ticket.priority:
        return False
    old, ticket.priority = ticket.priority, int(value)
    record(session, ticket, actor, EventKind.PRIORITY, old=old, new=int(value), at=now)
    sla_tickets.apply_due_times(session, ticket, now=now)
    return True


def _change_department(session: Session, actor: User, ticket: Ticket, field: str, raw: str, now: datetime) -> bool:
    department = None
    if raw:
        department = session.get(Department, int(raw)) if raw.isdigit() else None
        if department is None or not department.active:
            raise ValidationFailed({"department": [_l("Choose an active department.")]})
    new_id = department.id if department else None
    if new_id == ticket.department_id:
        return False
    if ticket.department_id is not None:
        # Re-routing needs a reason, as every move does: the transfer or the return form.
        if department is None:
            raise UseActionForm({"department": [_l("To send the ticket back to the shared queue, write why in the return form.")]},
                                "return")
        raise UseActionForm({"department": [_l("To move the ticket to another department, write the reason in the transfer form.")]},
                            "transfer", {"department": str(new_id)})
    move_ticket(session, actor, ticket, department, kind=EventKind.ROUTED, reason_code=REASON_STAFF, at=now)
    return True


def _record_check(session: Session, actor: User, ticket: Ticket, field: str, raw: str, now: datetime) -> bool:
    """Handling steps 2 and 4 done after intake: the data verified, the attestation signed."""
    if raw != "1":
        raise ValidationFailed({field: [_l("This can only be recorded, not undone.")]})
    if field == "verified":
        if ticket.verified_at is not None:
            return False
        ticket.verified_by_id, ticket.verified_at = actor.id, now
        record(session, ticket, actor, EventKind.VERIFIED, at=now)
    else:
        if ticket.attested:
            return False
        ticket.attested, ticket.attested_at = True, now
        record(session, ticket, actor, EventKind.ATTESTED, at=now)
    return True


def _change_assignee(session: Session, actor: User, ticket: Ticket, field: str, raw: str, now: datetime) -> bool:
    new_id = None
    if raw:
        allowed = {u.id for u in assignable_users(session, actor, ticket)}
        if not raw.isdigit() or int(raw) not in allowed:
            raise ValidationFailed({"assignee": [_l("Choose someone who works on this department's tickets.")]})
        new_id = int(raw)
    if new_id == ticket.assignee_id:
        return False
    set_assignee(session, actor, ticket, session.get(User, new_id) if new_id else None, now)
    return True


_CHANGES = {
    "status": _change_status,
    "priority": _change_priority,
    "department": _change_department,
    "verified": _record_check,
    "attested": _record_check,
    "assignee": _change_assignee,
}


# Moving between departments ------------------------------------------------------------

# Reason codes (TicketEvent.reason) for a move the desk decided without a typed reason; the
# timeline translates them for each reader (describe_reasons).
REASON_STAFF = "staff"              # a person chose the department at intake or on an unrouted ticket
REASON_RULE = "rule"                # "rule:<routing rule id>": proposed by that rule
REASON_CATEGORY = "category"        # "category:<category id>": the category's default department
REASON_DEACTIVATED = "deactivated"  # "deactivated:<department id>": that department was deactivated
REASON_PORTAL = "portal"            # the beneficiary did it on the portal (the event has no actor)
REASON_EMAIL = "email"              # … by email (desk.channels, issue 7)
REASON_WHATSAPP = "whatsapp"        # … by WhatsApp (desk.channels, issue 7)
# The ways a beneficiary acts on a ticket themselves: events with no actor and one of these.
BENEFICIARY_VIAS = (REASON_PORTAL, REASON_EMAIL, REASON_WHATSAPP)
REASON_COMMITTEE = "committee"      # the research committee's decision moved the status (desk.committee)
REASON_FOLLOWS = "follows"          # "follows:<ticket id>": a follow-up of that (earlier) ticket
REASON_FOLLOWED = "followed_by"     # "followed_by:<ticket id>": continued in that (newer) ticket
REASON_UNDELIVERED = "undelivered"  # "undelivered:<cause>": why a message could not be delivered (labels.UNDELIVERED)
REASON_RETENTION = "retention"      # its retention period had passed (desk.privacy.retention)
REASON_ERASURE = "erasure"          # the beneficiary asked for their data to be erased (desk.privacy)
REASON_NO_RECEIPT = "no_receipt"    # staff did not send the receipt at intake (the event's body: why)
REASON_NO_CONTACT = "no_contact"    # the receipt could go nowhere: no email nor mobile (nor SMS gateway)
REASON_DUPLICATE = "duplicate"      # closed as a duplicate of another request (actions.close_as; body: why)
REASON_SPAM = "spam"                # closed as spam (actions.close_as; body: why)
CLOSE_REASONS = (REASON_DUPLICATE, REASON_SPAM)
REASON_MERGED_INTO = "merged_into"  # "merged_into:<ticket id>": closed as a duplicate merged into that one
REASON_MERGED_FROM = "merged_from"  # "merged_from:<ticket id>": that duplicate was merged into this one
REASON_RELATED = "related"          # "related:<ticket id>": linked as related to that one (or the link removed)
# The reasons that name another ticket by id: the timeline shows its reference.
TICKET_REASONS = (REASON_FOLLOWS, REASON_FOLLOWED, REASON_MERGED_INTO, REASON_MERGED_FROM, REASON_RELATED)


def move_ticket(session: Session, actor: User | None, ticket: Ticket, target: Department | None, *,
                kind: EventKind, reason_text: str | None = None, reason_code: str | None = None,
                at: datetime, tell: bool = True) -> TicketEvent:
    """The one way a ticket changes department, within the caller's transaction: routing an
    unrouted ticket (ROUTED), transfer (TRANSFERRED), return to the shared queue (RETURNED,
    ``target`` None), and the moves of a deactivated department.

    The event carries the reason: ``reason_text`` when a person wrote it, ``reason_code``
    when the desk decided (see REASON_*). The assignee is cleared unless they are a member
    of the target department (a focal point there): whoever held the ticket in the old
    department, focal point or intake staff, no longer works it there. With ``tell`` the
    target department's focal points are notified (the deactivation tells them once for all
    its tickets instead)."""
    old = ticket.department_id
    ticket.department = target  # the relationship too: the notification names the new department
    event = record(session, ticket, actor, kind, old=old, new=target.id if target else None,
                   body=reason_text, reason=reason_code, at=at)
    assignee = ticket.assignee
    if assignee is not None and (target is None or target.id not in assignee.department_ids):
        set_assignee(session, actor, ticket, None, at)
    if tell and target is not None:
        notify_service.notify(session, "routed", ticket, notify_service.department_focal_points(session, target.id),
                              actor=actor, note=reason_text or "")
    return event


def ltr(reference: str) -> str:
    """A reference inside a sentence of either language: isolated left to right (LRI … PDI)."""
    return f"\u2066{reference}\u2069"


def parse_reason(code: str | None) -> tuple[str, int | None]:
    """``"rule:12"`` → ``("rule", 12)``; ``"staff"`` → ``("staff", None)``."""
    kind, _, raw = (code or "").partition(":")
    return kind, int(raw) if raw.isdigit() else None


def describe_reasons(session: Session, codes, locale: str) -> dict[str, str]:
    """Each reason code in ``codes`` in words for a reader in ``locale``, with the current
    name of the rule, category or department it names: one query per kind of name, whatever
    the number of events. A rule or category deleted since is still described."""
    parsed = {code: parse_reason(code) for code in set(codes) if code}
    ids: dict[str, set[int]] = {}
    for kind, object_id in parsed.values():
        if object_id is not None:
            ids.setdefault(kind, set()).add(object_id)
    english = locale == "en"
    names: dict[str, dict[int, str]] = {REASON_RULE: {}, REASON_CATEGORY: {}, REASON_DEACTIVATED: {}}
    linked = sorted(set().union(*(ids.get(kind, set()) for kind in TICKET_REASONS)))
    if linked:
        references = dict(session.execute(select(Ticket.id, Ticket.reference).where(Ticket.id.in_(linked))).all())
        names.update({kind: references for kind in TICKET_REASONS})
    if ids.get(REASON_RULE):
        names[REASON_RULE] = dict(session.execute(
            select(RoutingRule.id, RoutingRule.name).where(RoutingRule.id.in_(sorted(ids[REASON_RULE])))).all())
    if ids.get(REASON_CATEGORY):
        names[REASON_CATEGORY] = {row.id: row.name_en if english else row.name_ar for row in session.execute(
            select(Category.id, Category.name_ar, Category.name_en).where(Category.id.in_(sorted(ids[REASON_CATEGORY]))))}
    if ids.get(REASON_DEACTIVATED):
        names[REASON_DEACTIVATED] = {row.id: row.name_en if english else row.name_ar for row in session.execute(
            select(Department.id, Department.name_ar, Department.name_en)
            .where(Department.id.in_(sorted(ids[REASON_DEACTIVATED]))))}
    texts: dict[str, str] = {}
    with force_locale(locale):
        for code, (kind, object_id) in parsed.items():
            texts[code] = str(_describe(kind, names.get(kind, {}).get(object_id) if object_id is not None else None, code))
    return texts


def _describe(kind: str, name: str | None, code: str):
    if kind == REASON_STAFF:
        return _l("Chosen by staff")
    if kind == REASON_RULE:
        return (_l("Proposed by rule «%(name)s»", name=name) if name is not None
                else _l("Proposed by a routing rule since deleted"))
    if kind == REASON_CATEGORY:
        return (_l("Default department of category «%(name)s»", name=name) if name is not None
                else _l("Default department of a category since deleted"))
    if kind == REASON_PORTAL:
        return _l("through the portal")
    if kind == REASON_EMAIL:
        return _l("by email")
    if kind == REASON_WHATSAPP:
        return _l("by WhatsApp")
    if kind == REASON_COMMITTEE:
        return _l("By the research committee's decision")
    if kind == REASON_FOLLOWS:
        return _l("Follow-up of request %(reference)s", reference=name or "—")
    if kind == REASON_FOLLOWED:
        return _l("Continued in request %(reference)s", reference=name or "—")
    if kind == REASON_MERGED_INTO:
        return _l("Duplicate merged into request %(reference)s", reference=ltr(name) if name else "—")
    if kind == REASON_MERGED_FROM:
        return _l("Request %(reference)s merged into this one", reference=ltr(name) if name else "—")
    if kind == REASON_RELATED:
        return _l("Request %(reference)s", reference=ltr(name) if name else "—")
    if kind == REASON_DEACTIVATED:
        return (_l("Department «%(name)s» was deactivated", name=name) if name is not None
                else _l("Its department was deactivated"))
    if kind == REASON_UNDELIVERED:
        return labels.UNDELIVERED.get(code.partition(":")[2], code)
    if kind == REASON_RETENTION:
        return _l("Its retention period had passed")
    if kind == REASON_ERASURE:
        return _l("At the beneficiary's request to erase their data")
    if kind == REASON_NO_RECEIPT:
        return _l("Not sent, by staff's choice")
    if kind == REASON_NO_CONTACT:
        return _l("Not sent: no email or mobile to send it to")
    if kind == REASON_DUPLICATE:
        return _l("Closed as a duplicate")
    if kind == REASON_SPAM:
        return _l("Closed as spam")
    return code  # a code this version does not know: shown as stored


def set_assignee(session: Session, actor: User | None, ticket: Ticket, user: User | None, now: datetime) -> None:
    """Assign (or unassign) within the caller's transaction: the event, a new ticket opened,
    and the new assignee told when someone else assigned them. ``actor`` None: the desk did it
    (a ticket moved by a department's deactivation)."""
    old = ticket.assignee_id
    ticket.assignee = user
    record(session, ticket, actor, EventKind.ASSIGNEE, old=old, new=user.id if user else None, at=now)
    if user is None:
        return
    if ticket.status == Status.NEW:
        change_status(session, ticket, Status.OPEN, actor=actor, now=now)
    if actor is None or user.id != actor.id:
        notify_service.notify(session, "assigned", ticket, [user], actor=actor)
