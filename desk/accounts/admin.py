"""The administrator's user management: list, create, edit, deactivate, reset a password.

Plain functions of (session, actor, data). Creation goes through ``service.create_user`` (its
email, password and role rules, its hashing, and its "first focal point is primary" rule).
Deactivating a user or changing their password ends every session they had
(``sessions.end_all``), so their cookies are refused from the next request.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from desk import audit
from desk.accounts import sessions, twofactor
from desk.accounts.service import MIN_PASSWORD, create_user, password_errors, set_new_password  # noqa: F401  (MIN_PASSWORD: the screens show it)
from desk.errors import NotFound, ValidationFailed, add_error
from desk.models import (
    AuditAction,
    Department,
    DepartmentMember,
    Position,
    Role,
    RoleGrant,
    Ticket,
    User,
    UserRole,
    utcnow,
)
from desk.permissions import GRANTABLE, Action, grants, require
from desk.tickets.service import set_assignee
from desk.transaction import atomic, commit

LOCALES = ("ar", "en")
NAME_MAX = 120  # users.name
# create_user's keys → the form's field names
_FIELDS = {"role": "roles", "department": "department_codes"}

Errors = dict[str, list[str]]


@dataclass
class UserData:
    name: str = ""
    locale: str = "ar"
    roles: list[str] = field(default_factory=list)
    department_codes: list[str] = field(default_factory=list)
    email: str = ""      # creation only
    password: str = ""   # creation only
    active: bool = True  # edit only


def _renamed(errors: Errors) -> Errors:
    return {_FIELDS.get(k, k): v for k, v in errors.items()}


def users(session: Session, actor: User) -> list[User]:
    require(actor, Action.ADMIN_MANAGE)
    return list(session.scalars(select(User).order_by(User.active.desc(), User.name, User.id)))


def departments_by_id(session: Session) -> dict[int, Department]:
    return {d.id: d for d in session.scalars(select(Department).order_by(Department.code))}


def get_user(session: Session, actor: User, user_id: int) -> User:
    require(actor, Action.ADMIN_MANAGE)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def _check_common(data: UserData) -> Errors:
    errors: Errors = {}
    if not data.name.strip():
        add_error(errors, "name", _l("Enter the name."))
    elif len(data.name.strip()) > NAME_MAX:
        add_error(errors, "name", _l("At most %(n)s characters.", n=NAME_MAX))
    if data.locale not in LOCALES:
        add_error(errors, "locale", _l("Choose Arabic or English."))
    return errors


def create(session: Session, actor: User, data: UserData) -> User:
    """A new user as the admin typed it; ValidationFailed (by field) writes nothing."""
    require(actor, Action.ADMIN_MANAGE)
    errors = _check_common(data)
    if errors:  # create_user commits, so it runs only once our own checks pass
        errors.update(_preview_errors(session, data))
        raise ValidationFailed(errors)
    try:
        return create_user(session, data.email, data.password, data.name.strip(), list(data.roles),
                           list(data.department_codes), locale=data.locale)
    except ValidationFailed as failed:
        raise ValidationFailed(_renamed(failed.errors)) from None


def _preview_errors(session: Session, data: UserData) -> Errors:
    """The password, role and department messages too, so the admin sees them all at once."""
    errors = password_errors(data.password)
    errors.update(_check_roles(session, data)[0])
    return errors


def _check_roles(session: Session, data: UserData) -> tuple[Errors, list[Department]]:
    errors: Errors = {}
    roles = set(data.roles)
    if not roles or roles - set(Role):
        add_error(errors, "roles", _l("Choose at least one role."))
    departments = []
    for code in data.department_codes:
        department = session.scalar(select(Department).where(Department.code == code.upper()))
        if department is None:
            add_error(errors, "department_codes", _l("No department with code %(code)s.", code=code))
        else:
            departments.append(department)
    if Role.FOCAL in roles and not data.department_codes:
        add_error(errors, "department_codes", _l("A focal point belongs to a department."))
    return errors, departments


def update(session: Session, actor: User, user: User, data: UserData) -> int:
    """Name, language, roles, departments, active. Returns how many open tickets were unassigned
    (a user leaving a department, or deactivated, no longer holds its tickets)."""
    require(actor, Action.ADMIN_MANAGE)
    errors = _check_common(data)
    role_errors, departments = _check_roles(session, data)
    errors.update(role_errors)
    if user.id == actor.id and not data.active:
        add_error(errors, "active", _l("You cannot deactivate yourself."))
    if user.id == actor.id and Role.ADMIN not in data.roles and Role.ADMIN in user.roles:
        add_error(errors, "roles", _l("You cannot remove your own administrator role."))
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    unassigned = 0
    with atomic(session):
        user.name, user.locale = data.name.strip(), data.locale
        wanted = list(dict.fromkeys(data.roles))
        keep = [r for r in user.role_rows if r.role in wanted]
        user.role_rows = keep + [UserRole(role=r) for r in wanted if r not in {k.role for k in keep}]
        chosen = {d.id for d in departments}
        for member in user.memberships:
            if member.department_id not in chosen:
                unassigned += _unassign(session, actor, user, now, member.department_id)
        if user.active and not data.active:  # they hold no ticket any more
            unassigned += _unassign(session, actor, user, now)
        kept = [m for m in user.memberships if m.department_id in chosen]
        have = {m.department_id for m in kept}
        with_primary = set(session.scalars(select(DepartmentMember.department_id).where(
            DepartmentMember.position == Position.PRIMARY, DepartmentMember.user_id != user.id)))
        user.memberships = kept + [
            DepartmentMember(department_id=d.id, position=Position.MEMBER if d.id in with_primary else Position.PRIMARY)
            for d in departments if d.id not in have]
        if user.active and not data.active:
            user.active = False
            sessions.end_all(session, user, "deactivated")  # signed out everywhere
        elif data.active:
            user.active = True
    return unassigned


def _unassign(session: Session, actor: User, user: User, now, department_id: int | None = None) -> int:
    """The user's open tickets (of the department) are unassigned, each an ASSIGNEE event."""
    query = select(Ticket).where(Ticket.assignee_id == user.id, Ticket.is_open)
    if department_id is not None:
        query = query.where(Ticket.department_id == department_id)
    tickets = list(session.scalars(query.order_by(Ticket.id)))
    for ticket in tickets:
        set_assignee(session, actor, ticket, None, now)
    return len(tickets)


def reset_password(session: Session, actor: User, user: User, password: str) -> None:
    """The admin types the new password; every session of the user is signed out."""
    require(actor, Action.ADMIN_MANAGE)
    errors = password_errors(password)
    if errors:
        raise ValidationFailed(errors)
    set_new_password(session, actor, user, password, "admin")
    commit(session)


def set_two_factor_roles(session: Session, actor: User, roles: list[str]) -> None:
    require(actor, Action.ADMIN_MANAGE)
    twofactor.set_required_roles(session, actor, roles)
    commit(session)


def remove_two_factor(session: Session, actor: User, user: User) -> None:
    """The user lost their authenticator: their second factor and recovery codes go; a role
    that requires one has them enrol again at their next sign-in."""
    require(actor, Action.ADMIN_MANAGE)
    twofactor.remove(session, actor, user, "admin")
    commit(session)


def set_grants(session: Session, actor: User, chosen: list[str]) -> None:
    """The permissions each role holds beyond its own (``GRANTABLE``: revealing a full national
    ID or mobile number), as the admin ticked them: "role:permission" pairs; anything else is
    refused. Recorded as an admin change, old → new."""
    require(actor, Action.ADMIN_MANAGE)
    allowed = {f"{r}:{p}" for r in Role for p in GRANTABLE}
    if set(chosen) - allowed:  # not a box of the table: refused whole, nothing half-saved
        raise ValidationFailed({"grant": [_l("Tick the boxes of the table: nothing else can be given.")]})
    wanted = {(role, permission) for role, _, permission in (c.partition(":") for c in chosen)}
    before = grants(session)
    if wanted == before:
        return
    with atomic(session):
        for role, permission in sorted(before - wanted):
            session.execute(delete(RoleGrant).where(RoleGrant.role == role, RoleGrant.permission == permission))
        for role, permission in sorted(wanted - before):
            session.add(RoleGrant(role=role, permission=permission))
        audit.record(session, AuditAction.ADMIN_CHANGE, actor=actor, record_type="setting", record_id="role_grants",
                     detail={"old": sorted(f"{r}:{p}" for r, p in before),
                             "new": sorted(f"{r}:{p}" for r, p in wanted)})
