"""The one permission rule of the desk.

Every list, detail page, HTMX fragment and export asks ``visible_tickets`` what an
actor may see and ``can`` what they may do, so no door shows a focal point another
department's ticket.
"""
from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.orm import aliased, object_session

from desk.errors import NotFound
from desk.memo import read_once
from desk.models import Appointment, EventKind, Kind, Role, RoleGrant, Status, Ticket, TicketEvent, User

# Roles that work the shared queue and so see every ticket.
QUEUE_ROLES = (Role.STAFF, Role.SUPERVISOR, Role.ADMIN)


class Action(StrEnum):
    TICKET_CREATE = "ticket.create"
    TICKET_VIEW = "ticket.view"
    TICKET_NOTE = "ticket.note"
    TICKET_REPLY = "ticket.reply"
    TICKET_STATUS = "ticket.status"
    TICKET_PRIORITY = "ticket.priority"
    TICKET_ASSIGN = "ticket.assign"
    TICKET_DEPARTMENT = "ticket.department"
    BENEFICIARY_SEARCH = "beneficiary.search"
    OUTBOX_MANAGE = "outbox.manage"      # the outbox admin page: list, retry (desk.notify)
    UNDELIVERED_VIEW = "outbox.undelivered"  # the messages the desk could not deliver, and marking them
                                             # handled: supervisors and admins (desk.notify.undelivered)
    ADMIN_MANAGE = "admin.manage"  # departments, focal points, categories, routing rules
    KB_MANAGE = "kb.manage"    # write, publish and unpublish knowledge-base articles (desk.kb): admins, and the
                               # supervisors (the service measurement centre prepares the user guides)
    KB_READ = "kb.read"        # the staff's library, internal articles included: every signed-in role
    BROADCAST_SEND = "broadcast.send"  # messages to many (desk.broadcasts): write, preview, send, and the
                                       # campaigns page: supervisors and admins
    REPLIES_MANAGE = "replies.manage"  # saved replies (desk.replies): admins desk-wide, a focal point
                                       # their own departments' (desk.replies.service.may_edit)
    # The focal point's workspace (issue 4): each a timeline event.
    TICKET_TAKE = "ticket.take"
    TICKET_RETURN = "ticket.return"
    TICKET_TRANSFER = "ticket.transfer"
    TICKET_RESOLVE = "ticket.resolve"
    TICKET_REQUEST_INFO = "ticket.request_info"
    TICKET_REFER = "ticket.refer"
    TICKET_TAG = "ticket.tag"            # put a tag on or take it off (desk.tags): whoever may act on it
    TICKET_REMIND = "ticket.remind"      # a follow-up nudge: queue roles only, never a focal point
    TICKET_MERGE = "ticket.merge"        # merge a duplicate into another ticket, both seen (desk.tickets.merge)
    FOLLOWUP_VIEW = "followup.view"      # the per-department follow-up board
    # The research committee (لجنة البحث, desk.committee).
    COMMITTEE_VIEW = "committee.view"          # the /committee list: members; supervisors and admins read-only
    COMMITTEE_DECIDE = "committee.decide"      # accept or reject a support request: committee members only
    COMMITTEE_REFER = "committee.refer"        # send a support request to the committee: queue roles, focal point
    SERVICE_DELIVER = "committee.deliver"      # record the accepted service delivered: queue roles, focal point
    ATTACHMENT_ADD = "attachment.add"          # attach a document: whoever may add a note (desk.attachments)
    # Compensation claims (طلب تعويض, desk.compensation), on compensation tickets only.
    COMPENSATION_EDIT = "compensation.edit"      # checklist, negotiation log, proposal: queue roles
    COMPENSATION_DECIDE = "compensation.decide"  # approve or reject: the general manager alone
    # Disputes (خلاف, desk.disputes), on dispute tickets only: whoever may add a note to the ticket.
    DISPUTE_SETTLE = "dispute.settle"            # record an attempt at amicable settlement
    # The beneficiary portal (desk.portal).
    SATISFACTION_RECORD = "satisfaction.record"  # the survey on the beneficiary's behalf: queue roles (never
                                                 # the focal point of the department being rated)
    PORTAL_MANAGE = "portal.manage"              # the association's profile and the public directory: admins
    # The supervisors' field work (desk.survey). Focal points and the committee see none of it.
    SURVEY_RUN = "survey.run"                  # open, fill and submit the daily field survey: supervisors
    SURVEY_VIEW = "survey.view"                # surveys, their calendar and findings: supervisors, manager, admin
    SURVEY_SETUP = "survey.setup"              # sites and survey items: admins
    EMERGENCY_RECORD = "emergency.record"      # record an emergency and its corrective action: supervisors
    EMERGENCY_VIEW = "emergency.view"          # the list and the printable report: supervisors, manager, admin
    EMERGENCY_ACKNOWLEDGE = "emergency.acknowledge"  # close it by acknowledging: the general manager alone
    VISITOR_COUNT = "visitors.count"           # tap the walk-in visitor counter and its auxiliary services:
                                               # intake staff, supervisors
    # The training log of service staff (desk.training).
    TRAINING_RECORD = "training.record"        # record or remove anyone's entries, read everyone's, export:
                                               # supervisors and admins
    TRAINING_OWN = "training.own"              # read one's own entries: every staff account
    # Statistics and the general manager's report (desk.stats).
    STATS_VIEW = "stats.view"        # the dashboard: supervisors, the general manager, admins; a focal
                                     # point their own departments' figures only (desk.stats.service.scope)
    STATS_REPORT = "stats.report"    # the periodic report and its exports, all departments
    CHANNELS_VIEW = "channels.view"              # each channel's health (desk.channels): admins
    # The privacy law (desk.privacy).
    BENEFICIARY_VIEW = "beneficiary.view"        # a beneficiary's record page: queue roles and the DPO
    SUBJECT_REQUEST = "privacy.subject_request"  # export, correct, erase a beneficiary's data: admins and the DPO
    LINK_REISSUE = "portal.link_reissue"         # revoke a ticket's tracking link and send a new one: queue roles
    BENEFICIARY_REGISTER = "beneficiary.register"  # a beneficiary's registration state and file number:
                                                   # queue roles (an admin alone registers without every document)
    AUDIT_VIEW = "audit.view"                    # the audit trail screen and its export: admins and the DPO
    # Given per role by the admin (GRANTABLE, the role_grants table), never by a role alone;
    # each use is written on the audit trail with its reason (desk.privacy.reveal).
    REVEAL_NATIONAL_ID = "reveal.national_id"    # the full national ID / iqama number
    REVEAL_PHONE = "reveal.phone"                # the full mobile number
    # Appointments with officials (المواعيد, desk.appointments): can_appointment and visible_appointments.
    APPOINTMENT_SLOTS = "appointment.slots"      # publish availability: an official their own (any staff
                                                 # user), supervisors and admins everyone's
    APPOINTMENT_BOOK = "appointment.book"        # book for a walk-in or a caller: intake staff, supervisors, admins
    APPOINTMENT_VIEW = "appointment.view"        # see one: queue roles and the manager all, the official their
                                                 # own, a focal point those linked to their departments' tickets
    APPOINTMENT_RECORD = "appointment.record"    # check in, record attended / no-show with notes, cancel:
                                                 # queue roles, and the official their own


# The permissions the admin gives per role (admin → users): granted(actor, action) asks the table.
GRANTABLE = (Action.REVEAL_NATIONAL_ID, Action.REVEAL_PHONE)


# What a focal point may do to a ticket of their own department.
_FOCAL_TICKET_ACTIONS = {
    Action.TICKET_VIEW, Action.TICKET_NOTE, Action.TICKET_REPLY,
    Action.TICKET_STATUS, Action.TICKET_PRIORITY, Action.TICKET_ASSIGN,
    Action.TICKET_TAKE, Action.TICKET_RETURN, Action.TICKET_TRANSFER, Action.TICKET_RESOLVE,
    Action.TICKET_REQUEST_INFO, Action.TICKET_REFER, Action.TICKET_TAG,
    Action.COMMITTEE_REFER, Action.SERVICE_DELIVER, Action.TICKET_MERGE,
}

# The supervisors' field work: who may do what (no object: sites are not secret among these roles).
_FIELD_WORK = {
    Action.SURVEY_RUN: (Role.SUPERVISOR,),
    Action.SURVEY_VIEW: (Role.SUPERVISOR, Role.GENERAL_MANAGER, Role.ADMIN),
    Action.SURVEY_SETUP: (Role.ADMIN,),
    Action.EMERGENCY_RECORD: (Role.SUPERVISOR,),
    Action.EMERGENCY_VIEW: (Role.SUPERVISOR, Role.GENERAL_MANAGER, Role.ADMIN),
    Action.EMERGENCY_ACKNOWLEDGE: (Role.GENERAL_MANAGER,),
    Action.VISITOR_COUNT: (Role.STAFF, Role.SUPERVISOR),
    Action.TRAINING_RECORD: (Role.SUPERVISOR, Role.ADMIN),
    Action.TRAINING_OWN: tuple(Role),
}

# What a research committee member may do to a ticket before the committee (committee_tickets).
_COMMITTEE_TICKET_ACTIONS = {Action.TICKET_VIEW, Action.COMMITTEE_DECIDE}


def sees_all(actor: User) -> bool:
    return actor.is_authenticated and actor.has_role(*QUEUE_ROLES)


def committee_tickets() -> ColumnElement[bool]:
    """What the research committee sees: support requests awaiting it, and those it decided."""
    event = aliased(TicketEvent)  # never correlated with a query that selects events itself
    decided = exists().where(event.ticket_id == Ticket.id, event.kind == EventKind.COMMITTEE_DECISION)
    return (Ticket.kind == Kind.SUPPORT) & or_(Ticket.status == Status.AWAITING_COMMITTEE, decided)


def visible_tickets(actor: User) -> ColumnElement[bool]:
    """A WHERE clause limiting a ticket query to what the actor may see."""
    if not actor.is_authenticated:
        return false()
    if sees_all(actor) or actor.has_role(Role.GENERAL_MANAGER):  # the manager reads every ticket
        return true()
    clauses: list[ColumnElement[bool]] = []
    if actor.has_role(Role.FOCAL) and actor.department_ids:
        clauses.append(Ticket.department_id.in_(sorted(actor.department_ids)))
    if actor.has_role(Role.COMMITTEE):
        clauses.append(committee_tickets())
    if not clauses:
        return false()
    return clauses[0] if len(clauses) == 1 else or_(*clauses)


def _before_committee(ticket: Ticket) -> bool:
    """The ticket is one the committee sees (committee_tickets, the same rule, asked of the database)."""
    if ticket.kind != Kind.SUPPORT:
        return False
    if ticket.status == Status.AWAITING_COMMITTEE:
        return True
    session = object_session(ticket)
    return session is not None and ticket.id is not None and bool(session.scalar(
        select(exists().where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.COMMITTEE_DECISION))))


def granted(actor: User, action: Action) -> bool:
    """The admin gave ``action`` to one of the actor's roles (GRANTABLE; asked of the database
    the actor was loaded from: a detached or anonymous actor holds nothing)."""
    if action not in GRANTABLE or not actor.is_authenticated or not actor.roles:
        return False
    actor = getattr(actor, "_get_current_object", lambda: actor)()  # Flask-Login's proxy
    session = object_session(actor)
    if session is None:
        return False
    roles = tuple(sorted(actor.roles))
    # Every permission the actor's roles were given, read once per request until it writes
    # (desk.memo): a page asks for several (reveal a phone, reveal an ID...).
    given = read_once("granted", roles, lambda: frozenset(session.scalars(
        select(RoleGrant.permission).where(RoleGrant.role.in_(roles)))))
    return str(action) in given


def grants(session) -> set[tuple[str, str]]:
    """Every (role, permission) the admin gave."""
    return {(g.role, g.permission) for g in session.scalars(select(RoleGrant))}


def can(actor: User, action: Action, ticket: Ticket | None = None) -> bool:
    if not actor.is_authenticated:
        return False
    if action in GRANTABLE:  # on a ticket: only one the actor may see
        return granted(actor, action) and (ticket is None or can(actor, Action.TICKET_VIEW, ticket))
    if action == Action.AUDIT_VIEW:
        return actor.has_role(Role.ADMIN, Role.DPO)
    if action in (Action.TICKET_CREATE, Action.BENEFICIARY_SEARCH, Action.FOLLOWUP_VIEW):
        return sees_all(actor)
    if action == Action.ADMIN_MANAGE:
        return actor.has_role(Role.ADMIN)
    if action == Action.KB_MANAGE:
        return actor.has_role(Role.ADMIN, Role.SUPERVISOR)
    if action == Action.KB_READ:
        return bool(actor.roles)
    if action == Action.REPLIES_MANAGE:
        return actor.has_role(Role.ADMIN) or (actor.has_role(Role.FOCAL) and bool(actor.department_ids))
    if action in (Action.OUTBOX_MANAGE, Action.PORTAL_MANAGE, Action.CHANNELS_VIEW):
        return actor.has_role(Role.ADMIN)
    if action == Action.BENEFICIARY_VIEW:
        return sees_all(actor) or actor.has_role(Role.DPO)
    if action == Action.BENEFICIARY_REGISTER:
        return sees_all(actor)
    if action == Action.SUBJECT_REQUEST:
        return actor.has_role(Role.ADMIN, Role.DPO)
    if action in (Action.UNDELIVERED_VIEW, Action.BROADCAST_SEND):
        return actor.has_role(Role.SUPERVISOR, Role.ADMIN)
    if action == Action.STATS_REPORT:
        return actor.has_role(Role.SUPERVISOR, Role.GENERAL_MANAGER, Role.ADMIN)
    if action == Action.STATS_VIEW:
        return actor.has_role(Role.SUPERVISOR, Role.GENERAL_MANAGER, Role.ADMIN) or (
            actor.has_role(Role.FOCAL) and bool(actor.department_ids))
    if action == Action.COMMITTEE_VIEW:
        return actor.has_role(Role.COMMITTEE, Role.SUPERVISOR, Role.ADMIN)
    if action in _FIELD_WORK:
        return actor.has_role(*_FIELD_WORK[action])
    if ticket is None:
        return False
    if action == Action.ATTACHMENT_ADD:
        return can(actor, Action.TICKET_NOTE, ticket)
    if action == Action.DISPUTE_SETTLE:
        return ticket.kind == Kind.DISPUTE and can(actor, Action.TICKET_NOTE, ticket)
    if action == Action.COMMITTEE_DECIDE:  # the committee's alone, whatever other roles may do
        return actor.has_role(Role.COMMITTEE) and _before_committee(ticket)
    if action in (Action.COMPENSATION_EDIT, Action.COMPENSATION_DECIDE):
        if ticket.kind != Kind.COMPENSATION:
            return False
        if action == Action.COMPENSATION_DECIDE:
            return actor.has_role(Role.GENERAL_MANAGER)
        return sees_all(actor)
    if sees_all(actor):
        return True
    if action == Action.TICKET_VIEW and actor.has_role(Role.GENERAL_MANAGER):  # read-only, every ticket
        return True
    if (
        action in _FOCAL_TICKET_ACTIONS
        and actor.has_role(Role.FOCAL)
        and ticket.department_id is not None
        and ticket.department_id in actor.department_ids
    ):
        return True
    return action in _COMMITTEE_TICKET_ACTIONS and actor.has_role(Role.COMMITTEE) and _before_committee(ticket)


def may_read_training(actor: User, user_id: int) -> bool:
    """A staff member's training log: theirs, or anyone's for supervisors and admins."""
    return can(actor, Action.TRAINING_RECORD) or (can(actor, Action.TRAINING_OWN) and actor.id == user_id)


def require(actor: User, action: Action) -> None:
    """Screens and services that are not the actor's do not exist for them (404, not 403, as
    everywhere in the desk). Ticket actions: desk.tickets.workflow.require."""
    if not can(actor, action):
        raise NotFound()


# Appointments with officials (desk.appointments) -------------------------------------------

def visible_appointments(actor: User) -> ColumnElement[bool]:
    """A WHERE clause limiting an appointment query to what the actor may see: every one for the
    queue roles and the general manager; otherwise their own as the official, and a focal point's
    those linked to a ticket of their departments (never another department's)."""
    if not actor.is_authenticated:
        return false()
    if sees_all(actor) or actor.has_role(Role.GENERAL_MANAGER):
        return true()
    clauses: list[ColumnElement[bool]] = [Appointment.official_id == actor.id]
    if actor.has_role(Role.FOCAL) and actor.department_ids:
        linked = select(Ticket.id).where(Ticket.department_id.in_(sorted(actor.department_ids)))
        clauses.append(Appointment.ticket_id.in_(linked))
    return or_(*clauses)


def can_appointment(actor: User, action: Action, appointment: Appointment | None = None,
                    official: User | None = None) -> bool:
    """What ``actor`` may do with appointments: ``appointment`` for one booking, ``official`` for
    whose availability (APPOINTMENT_SLOTS)."""
    if not actor.is_authenticated:
        return False
    if action == Action.APPOINTMENT_SLOTS:
        if actor.has_role(Role.SUPERVISOR, Role.ADMIN):
            return True
        return bool(actor.roles) and (official is None or official.id == actor.id)
    if action == Action.APPOINTMENT_BOOK:
        return sees_all(actor)
    if appointment is None:
        return False
    own = appointment.official_id == actor.id
    if action == Action.APPOINTMENT_RECORD:
        return sees_all(actor) or own
    if action == Action.APPOINTMENT_VIEW:
        if sees_all(actor) or actor.has_role(Role.GENERAL_MANAGER) or own:
            return True
        ticket = appointment.ticket
        return (actor.has_role(Role.FOCAL) and ticket is not None and ticket.department_id is not None
                and ticket.department_id in actor.department_ids)
    return False


def require_appointment(actor: User, action: Action, appointment: Appointment | None = None,
                        official: User | None = None) -> None:
    """404 for what is not the actor's, as everywhere in the desk."""
    if not can_appointment(actor, action, appointment, official):
        raise NotFound()
