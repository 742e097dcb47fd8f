"""The administrator's set-up: departments and their focal points, categories, routing rules.

Plain functions of (session, actor, data). Each public function that writes is one
transaction; a refused change raises ValidationFailed (field → messages) and writes nothing.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask_babel import force_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _nl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk.errors import NotFound, ValidationFailed, add_error
from desk.models import (
    Category,
    Channel,
    Department,
    DepartmentMember,
    EventKind,
    Kind,
    Position,
    Role,
    RoutingRule,
    Ticket,
    User,
    UserRole,
    utcnow,
)
from desk.notify import service as notify_service
from desk.permissions import Action, require
from desk.routing.service import MIN_KEYWORD, RuleSpec, catch_alls, keyword_problem, parse_keywords
from desk.text import to_ascii_digits
from desk.tickets.service import REASON_DEACTIVATED, move_ticket, set_assignee
from desk.transaction import atomic, commit

CODE_RE = re.compile(r"^[A-Z][A-Z0-9_-]{0,31}$")
EXT_RE = re.compile(r"^[0-9]{1,16}$")
NAME_MAX = 120  # the names' column length
# The deactivation choice that sends open tickets back to the shared queue.
UNROUTED = "unrouted"

Errors = dict[str, list[str]]


def _get(session: Session, model, object_id: int):
    obj = session.get(model, object_id)
    if obj is None:
        raise NotFound()
    return obj


def _check_names(errors: Errors, data) -> None:
    """The Arabic and English names every department and category has (already stripped)."""
    for name, missing in (("name_ar", _l("Enter the Arabic name.")), ("name_en", _l("Enter the English name."))):
        value = getattr(data, name)
        if not value:
            add_error(errors, name, missing)
        elif len(value) > NAME_MAX:
            add_error(errors, name, _l("At most %(n)s characters.", n=NAME_MAX))


# Departments --------------------------------------------------------------------------

@dataclass
class DepartmentData:
    code: str
    name_ar: str
    name_en: str
    email: str | None = None
    phone_ext: str | None = None
    active: bool = True
    published: bool = False
    contact_title_ar: str | None = None
    contact_title_en: str | None = None
    # Where open tickets go if the department is deactivated: a department id, UNROUTED, or "".
    move_to: str = ""


def departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.active.desc(), Department.code)))


def department_stats(session: Session) -> dict[int, dict[str, int]]:
    """Per department: open tickets and focal points (two grouped queries)."""
    open_counts = dict(session.execute(
        select(Ticket.department_id, func.count()).where(Ticket.is_open)
        .group_by(Ticket.department_id)).all())
    members = dict(session.execute(
        select(DepartmentMember.department_id, func.count()).group_by(DepartmentMember.department_id)).all())
    return {d: {"open": open_counts.get(d, 0), "members": members.get(d, 0)}
            for d in set(open_counts) | set(members) if d is not None}


def open_ticket_count(session: Session, department: Department | None) -> int:
    if department is None or department.id is None:
        return 0
    return session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.department_id == department.id, Ticket.is_open)) or 0


def get_department(session: Session, actor: User, department_id: int) -> Department:
    require(actor, Action.ADMIN_MANAGE)
    return _get(session, Department, department_id)


def _clean_department(data: DepartmentData) -> DepartmentData:
    data.code = to_ascii_digits((data.code or "").strip()).upper()
    data.name_ar = (data.name_ar or "").strip()
    data.name_en = (data.name_en or "").strip()
    data.email = (data.email or "").strip() or None
    data.phone_ext = to_ascii_digits((data.phone_ext or "").strip()) or None
    data.move_to = (data.move_to or "").strip()
    data.contact_title_ar = (data.contact_title_ar or "").strip() or None
    data.contact_title_en = (data.contact_title_en or "").strip() or None
    return data


def check_department(session: Session, data: DepartmentData, department: Department | None = None) -> Errors:
    data = _clean_department(data)
    errors: Errors = {}
    if not data.code:
        add_error(errors, "code", _l("Enter a short code, e.g. AID."))
    elif not CODE_RE.match(data.code):
        add_error(errors, "code", _l("Use Latin letters, digits, - or _ (starting with a letter, at most 32)."))
    else:
        taken = session.scalar(select(Department.id).where(Department.code == data.code))
        if taken is not None and (department is None or taken != department.id):
            add_error(errors, "code", _l("Another department already has this code."))
    _check_names(errors, data)
    if data.email:
        try:
            data.email = validate_email(data.email, check_deliverability=False).normalized
        except EmailNotValidError:
            add_error(errors, "email", _l("Enter a valid email address."))
    if data.phone_ext and not EXT_RE.match(data.phone_ext):
        add_error(errors, "phone_ext", _l("Digits only, e.g. 205."))
    if department is not None and department.active and not data.active and open_ticket_count(session, department):
        if not data.move_to:
            add_error(errors, "move_to", _l("This department has open tickets: choose where they go before deactivating it."))
        elif data.move_to != UNROUTED:
            target = session.get(Department, int(data.move_to)) if data.move_to.isdigit() else None
            if target is None or not target.active or target.id == department.id:
                add_error(errors, "move_to", _l("Choose another active department, or the shared queue."))
    return errors


def save_department(session: Session, actor: User, data: DepartmentData,
                    department: Department | None = None) -> Department:
    """Create or edit a department; deactivating one moves its open tickets where the admin chose."""
    require(actor, Action.ADMIN_MANAGE)
    return _save_department(session, actor, data, department)


def create_department(session: Session, data: DepartmentData) -> Department:
    """Scripted set-up (``flask desk create-department``): the same checks, no signed-in actor."""
    return _save_department(session, None, data, None)


def _save_department(session: Session, actor: User | None, data: DepartmentData,
                     department: Department | None) -> Department:
    errors = check_department(session, data, department)
    if errors:
        raise ValidationFailed(errors)
    with atomic(session):
        deactivating = department is not None and department.active and not data.active
        if department is None:
            department = Department()
            session.add(department)
        department.code, department.name_ar, department.name_en = data.code, data.name_ar, data.name_en
        department.email, department.phone_ext, department.active = data.email, data.phone_ext, data.active
        department.published = data.published
        department.contact_title_ar, department.contact_title_en = data.contact_title_ar, data.contact_title_en
        session.flush()
        if deactivating:
            target = None if data.move_to in ("", UNROUTED) else session.get(Department, int(data.move_to))
            _move_open_tickets(session, actor, department, target)
    return department


def _move_open_tickets(session: Session, actor: User | None, source: Department, target: Department | None) -> int:
    """Each open ticket of ``source`` → ``target`` (None: the shared queue, unrouted), each by
    move_ticket: a timeline event with the reason code "deactivated:<source id>" (translated
    for each reader), and unassigned unless the assignee serves the target too. The target's
    focal points are told once for the whole deactivation, with the first ticket moved and
    how many there were; a move to the shared queue tells nobody (intake staff see it there).
    ``actor`` None: the desk itself (``flask desk create-department``). The caller commits."""
    tickets = list(session.scalars(
        select(Ticket).where(Ticket.department_id == source.id, Ticket.is_open).order_by(Ticket.id)))
    kind = EventKind.TRANSFERRED if target else EventKind.RETURNED
    code = f"{REASON_DEACTIVATED}:{source.id}"
    now = utcnow()
    for ticket in tickets:
        move_ticket(session, actor, ticket, target, kind=kind, reason_code=code, at=now, tell=False)
    if target is not None and tickets:
        focal_points = notify_service.department_focal_points(session, target.id)
        for locale in sorted({u.locale or "ar" for u in focal_points}):  # the note in each reader's language
            with force_locale(locale):
                name = source.name(locale)
                if len(tickets) == 1:
                    note = gettext("The department %(name)s was deactivated: this open ticket was moved to your "
                                   "department.", name=name)
                else:
                    note = ngettext("The department %(name)s was deactivated: %(num)s open ticket was moved to your "
                                    "department, this one first. Your department's queue lists them all.",
                                    "The department %(name)s was deactivated: %(num)s open tickets were moved to your "
                                    "department, this one first. Your department's queue lists them all.",
                                    len(tickets), name=name)
            notify_service.notify(session, "routed", tickets[0], [u for u in focal_points if (u.locale or "ar") == locale],
                                  actor=actor, note=note)
    return len(tickets)


# Focal points -------------------------------------------------------------------------

def members(session: Session, department: Department) -> list[tuple[DepartmentMember, User]]:
    order: dict[str, int] = {Position.PRIMARY: 0, Position.DEPUTY: 1, Position.MEMBER: 2}
    rows = session.execute(
        select(DepartmentMember, User).join(User, User.id == DepartmentMember.user_id)
        .where(DepartmentMember.department_id == department.id)).all()
    return sorted(((m, u) for m, u in rows), key=lambda r: (order.get(r[0].position, 3), r[1].name))


def candidate_users(session: Session, department: Department) -> list[User]:
    """Active users not yet focal points of this department."""
    already = select(DepartmentMember.user_id).where(DepartmentMember.department_id == department.id)
    return list(session.scalars(select(User).where(User.active.is_(True), User.id.not_in(already)).order_by(User.name)))


def _check_position(session: Session, department: Department, position: str, member_id: int | None) -> Errors:
    errors: Errors = {}
    if position not in set(Position):
        add_error(errors, "position", _l("Choose primary, deputy or member."))
    elif position == Position.PRIMARY:
        current = session.execute(
            select(DepartmentMember, User).join(User, User.id == DepartmentMember.user_id)
            .where(DepartmentMember.department_id == department.id, DepartmentMember.position == Position.PRIMARY)
        ).first()
        if current is not None and current[0].id != member_id:
            add_error(errors, "position", _l("%(name)s is already the primary focal point: make them deputy or member first.",
                                        name=current[1].name))
    return errors


def add_member(session: Session, actor: User, department: Department, user_id: int | None, position: str) -> DepartmentMember:
    """Make a user a focal point of the department (they get the focal role if they lack it)."""
    require(actor, Action.ADMIN_MANAGE)
    errors: Errors = {}
    user = session.get(User, user_id) if user_id else None
    if user is None or not user.active:
        add_error(errors, "user_id", _l("Choose a user."))
    elif session.scalar(select(DepartmentMember.id).where(
            DepartmentMember.department_id == department.id, DepartmentMember.user_id == user.id)):
        add_error(errors, "user_id", _l("This user is already a focal point of this department."))
    errors.update(_check_position(session, department, position, None))
    if errors or user is None:  # user is None only with its error: this narrows it
        raise ValidationFailed(errors)
    with atomic(session):
        member = DepartmentMember(department_id=department.id, user_id=user.id, position=position)
        session.add(member)
        if not user.has_role(Role.FOCAL):
            session.add(UserRole(user_id=user.id, role=Role.FOCAL))
    session.expire(user)
    return member


def get_member(session: Session, actor: User, department: Department, member_id: int) -> DepartmentMember:
    require(actor, Action.ADMIN_MANAGE)
    member = session.get(DepartmentMember, member_id)
    if member is None or member.department_id != department.id:
        raise NotFound()
    return member


def set_position(session: Session, actor: User, department: Department, member: DepartmentMember, position: str) -> None:
    require(actor, Action.ADMIN_MANAGE)
    errors = _check_position(session, department, position, member.id)
    if errors:
        raise ValidationFailed(errors)
    member.position = position
    commit(session)


def remove_member(session: Session, actor: User, department: Department, member: DepartmentMember) -> int:
    """The user stops being a focal point here (their focal role stays: they may serve elsewhere).
    Their open tickets of this department are unassigned in the same transaction (each an
    ASSIGNEE event), so the department's other focal points see them to take. Returns how many."""
    require(actor, Action.ADMIN_MANAGE)
    user_id = member.user_id
    tickets = list(session.scalars(select(Ticket).where(
        Ticket.department_id == department.id, Ticket.assignee_id == user_id, Ticket.is_open)
        .order_by(Ticket.id)))
    now = utcnow()
    with atomic(session):
        for ticket in tickets:
            set_assignee(session, actor, ticket, None, now)
        session.delete(member)
    user = session.get(User, user_id)
    if user is not None:
        session.expire(user)
    return len(tickets)


# Categories ---------------------------------------------------------------------------

@dataclass
class CategoryData:
    kind: str
    name_ar: str
    name_en: str
    default_department_id: int | None = None
    active: bool = True
    position: int = 0


def categories(session: Session, kind: str | None = None, active_only: bool = False) -> list[Category]:
    query = select(Category)
    if kind:
        query = query.where(Category.kind == kind)
    if active_only:
        query = query.where(Category.active.is_(True))
    return list(session.scalars(query.order_by(Category.kind, Category.position, Category.id)))


def get_category(session: Session, actor: User, category_id: int) -> Category:
    require(actor, Action.ADMIN_MANAGE)
    return _get(session, Category, category_id)


def check_category(session: Session, data: CategoryData, category: Category | None = None) -> Errors:
    errors: Errors = {}
    data.name_ar, data.name_en = (data.name_ar or "").strip(), (data.name_en or "").strip()
    if data.kind not in set(Kind):
        add_error(errors, "kind", _l("Choose the kind of request."))
    _check_names(errors, data)
    if data.default_department_id is not None:
        department = session.get(Department, data.default_department_id)
        unchanged = category is not None and category.default_department_id == data.default_department_id
        if department is None or (not department.active and not unchanged):
            add_error(errors, "default_department_id", _l("Choose an active department."))
    if not errors and data.kind in set(Kind):
        same = select(Category.id).where(Category.kind == data.kind, Category.name_ar == data.name_ar)
        if category is not None:
            same = same.where(Category.id != category.id)
        if session.scalar(same) is not None:
            add_error(errors, "name_ar", _l("This kind already has a category with this name."))
    return errors


def save_category(session: Session, actor: User, data: CategoryData, category: Category | None = None) -> Category:
    require(actor, Action.ADMIN_MANAGE)
    errors = check_category(session, data, category)
    if errors:
        raise ValidationFailed(errors)
    if category is None:
        category = Category()
        session.add(category)
    category.kind, category.name_ar, category.name_en = data.kind, data.name_ar, data.name_en
    category.default_department_id, category.active = data.default_department_id, data.active
    category.position = data.position or 0
    commit(session)
    return category


# Routing rules ------------------------------------------------------------------------

@dataclass
class RuleData:
    name: str
    department_id: int | None
    kinds: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    category_ids: list[int] = field(default_factory=list)
    keywords_text: str = ""
    active: bool = True
    position: int | None = None  # the order number (1 = tried first); None keeps it / puts a new rule last

    @property
    def keywords(self) -> list[str]:
        return parse_keywords(self.keywords_text)

    def spec(self, left_out: Iterable[str] = ()) -> RuleSpec:
        """The rule as typed, for the tester, without the keywords ``left_out`` (see refused_keywords)."""
        left_out = set(left_out)
        return RuleSpec.of(kinds=self.kinds, channels=self.channels, category_ids=self.category_ids,
                           keywords=[k for k in self.keywords if k not in left_out], name=self.name,
                           department_id=self.department_id)


def rules(session: Session) -> list[RoutingRule]:
    return list(session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)))


def get_rule(session: Session, actor: User, rule_id: int) -> RoutingRule:
    require(actor, Action.ADMIN_MANAGE)
    return _get(session, RoutingRule, rule_id)


def refused_keywords(session: Session, keywords: list[str]) -> dict[str, str]:
    """Each keyword that would route (nearly) every ticket → why, naming it: too short, a common
    word, or found in too many of the latest tickets (one query for all the keywords)."""
    refused: dict[str, str] = {}
    for keyword in keywords:
        problem = keyword_problem(keyword)
        if problem == "short":
            refused[keyword] = _nl("The keyword \"%(k)s\" is too short: it would match almost every ticket. Use at least %(num)s letter.",
                                   "The keyword \"%(k)s\" is too short: it would match almost every ticket. Use at least %(num)s letters.",
                                   MIN_KEYWORD, k=keyword)
        elif problem == "common":
            refused[keyword] = _l("The keyword \"%(k)s\" is a common word found in almost every ticket: it would match everything. Remove it.",
                                  k=keyword)
    for keyword, (found, read) in catch_alls(session, [k for k in keywords if k not in refused]).items():
        refused[keyword] = _nl("The keyword \"%(k)s\" is found in %(share)s%% of the latest %(num)s ticket: it would send most of them to one department. Use a more specific word.",
                               "The keyword \"%(k)s\" is found in %(share)s%% of the latest %(num)s tickets: it would send most of them to one department. Use a more specific word.",
                               read, k=keyword, share=-(-found * 100 // read))  # rounded up: never shows 30% for more
    return refused


def check_rule(session: Session, data: RuleData, rule: RoutingRule | None = None) -> Errors:
    errors: Errors = {}
    data.name = (data.name or "").strip()
    if not data.name:
        add_error(errors, "name", _l("Give the rule a name, e.g. \"Aid delays\"."))
    elif len(data.name) > 120:
        add_error(errors, "name", _l("At most %(n)s characters.", n=120))
    if any(k not in set(Kind) for k in data.kinds):
        add_error(errors, "kinds", _l("Choose kinds from the list."))
    if any(c not in set(Channel) for c in data.channels):
        add_error(errors, "channels", _l("Choose channels from the list."))
    if data.category_ids:
        kind_of = dict(session.execute(select(Category.id, Category.kind).where(Category.id.in_(data.category_ids))).all())
        if set(kind_of) != set(data.category_ids):
            add_error(errors, "category_ids", _l("Choose categories from the list."))
        elif data.kinds and not set(kind_of.values()) & set(data.kinds):
            add_error(errors, "category_ids", _l("None of the chosen categories belongs to the chosen kinds of request, so the rule could never match. Choose categories of those kinds, or other kinds."))
    if data.active:  # an inactive rule routes nothing: switching a bad rule off is never refused
        for message in refused_keywords(session, data.keywords).values():
            add_error(errors, "keywords_text", message)
    if not (data.kinds or data.channels or data.category_ids or data.keywords):
        add_error(errors, "conditions", _l("A rule with no condition would send every ticket to one department. Choose at least one kind, channel, category or keyword."))
    department = session.get(Department, data.department_id) if data.department_id else None
    if department is None or not department.active:
        add_error(errors, "department_id", _l("Choose an active department."))
    if data.position is not None and data.position < 1:
        add_error(errors, "position", _l("The order number starts at 1."))
    return errors


def save_rule(session: Session, actor: User, data: RuleData, rule: RoutingRule | None = None) -> RoutingRule:
    require(actor, Action.ADMIN_MANAGE)
    errors = check_rule(session, data, rule)
    if errors or data.department_id is None:  # no department is one of check_rule's errors: this narrows it
        raise ValidationFailed(errors)
    with atomic(session):
        if rule is None:
            rule = RoutingRule(position=0)
            session.add(rule)
        rule.name, rule.department_id, rule.active = data.name, data.department_id, data.active
        rule.kinds = sorted(set(data.kinds))
        rule.channels = sorted(set(data.channels))
        rule.category_ids = sorted(set(int(c) for c in data.category_ids))
        rule.keywords = data.keywords
        rule.updated_at, rule.updated_by_id = utcnow(), actor.id
        session.flush()
        ordered = [r for r in rules(session) if r.id != rule.id]
        if data.position is not None:
            index = min(data.position - 1, len(ordered))
        else:
            index = next((i for i, r in enumerate(ordered) if (r.position, r.id) > (rule.position, rule.id)), len(ordered)) \
                if rule.position else len(ordered)
        ordered.insert(index, rule)
        _renumber(ordered)
    return rule


def _renumber(ordered: list[RoutingRule]) -> None:
    for number, r in enumerate(ordered, start=1):
        if r.position != number:
            r.position = number


def move_rule(session: Session, actor: User, rule: RoutingRule, direction: str) -> None:
    """One step earlier ("up") or later ("down") in the order the rules are tried."""
    require(actor, Action.ADMIN_MANAGE)
    ordered = rules(session)
    i = ordered.index(rule)
    j = i - 1 if direction == "up" else i + 1 if direction == "down" else i
    if 0 <= j < len(ordered) and j != i:
        ordered[i], ordered[j] = ordered[j], ordered[i]
    _renumber(ordered)
    commit(session)
