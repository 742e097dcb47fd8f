"""The one permission rule of the desk.

Every list, detail page, HTMX fragment and export asks ``visible_tickets`` what an
actor may see and ``can`` what they may do, so no door shows a focal point another
department's ticket.
"""
from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, false, true

from desk.models import Role, Ticket, User

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
    ADMIN_MANAGE = "admin.manage"  # departments, focal points, categories, routing rules
    # The focal point's workspace (issue 4): each a timeline event.
    TICKET_TAKE = "ticket.take"
    TICKET_RETURN = "ticket.return"
    TICKET_TRANSFER = "ticket.transfer"
    TICKET_RESOLVE = "ticket.resolve"
    TICKET_REQUEST_INFO = "ticket.request_info"
    TICKET_REFER = "ticket.refer"
    TICKET_REMIND = "ticket.remind"      # a follow-up nudge: queue roles only, never a focal point
    FOLLOWUP_VIEW = "followup.view"      # the per-department follow-up board


# What a focal point may do to a ticket of their own department.
_FOCAL_TICKET_ACTIONS = {
    Action.TICKET_VIEW, Action.TICKET_NOTE, Action.TICKET_REPLY,
    Action.TICKET_STATUS, Action.TICKET_PRIORITY, Action.TICKET_ASSIGN,
    Action.TICKET_TAKE, Action.TICKET_RETURN, Action.TICKET_TRANSFER, Action.TICKET_RESOLVE,
    Action.TICKET_REQUEST_INFO, Action.TICKET_REFER,
}


def sees_all(actor: User) -> bool:
    return actor.is_authenticated and actor.has_role(*QUEUE_ROLES)


def visible_tickets(actor: User) -> ColumnElement[bool]:
    """A WHERE clause limiting a ticket query to what the actor may see."""
    if not actor.is_authenticated:
        return false()
    if sees_all(actor):
        return true()
    if actor.has_role(Role.FOCAL) and actor.department_ids:
        return Ticket.department_id.in_(sorted(actor.department_ids))
    return false()


def can(actor: User, action: Action, ticket: Ticket | None = None) -> bool:
    if not actor.is_authenticated:
        return False
    if action in (Action.TICKET_CREATE, Action.BENEFICIARY_SEARCH, Action.FOLLOWUP_VIEW):
        return sees_all(actor)
    if action == Action.ADMIN_MANAGE:
        return actor.has_role(Role.ADMIN)
    if action == Action.OUTBOX_MANAGE:
        return actor.has_role(Role.ADMIN)
    if ticket is None:
        return False
    if sees_all(actor):
        return True
    return (
        action in _FOCAL_TICKET_ACTIONS
        and actor.has_role(Role.FOCAL)
        and ticket.department_id is not None
        and ticket.department_id in actor.department_ids
    )
