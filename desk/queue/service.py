"""Queue queries: filters from an allowlist, keyset pagination, saved-view counts and the
change token that lets an unchanged 30-second refresh cost one index probe."""
from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, literal_column, or_, select, tuple_, union_all
from sqlalchemy.orm import Session, defer, joinedload, lazyload

from desk.models import (
    BY_NAME_ONLY,
    OPEN_STATUSES,
    Channel,
    DepartmentMember,
    Kind,
    Priority,
    Role,
    Status,
    Ticket,
    TicketEvent,
    User,
    UserRole,
    utcnow,
)
from desk.permissions import sees_all, visible_tickets
from desk.sqlhints import indexed_by
from desk.tags.service import tagged, tags_of
from desk.text import to_ascii_digits
from desk.tickets.search import SQLITE_MANY, parse_query, relevance, search_condition

VIEWS = ("open", "unassigned", "mine", "department", "overdue", "all")
SORTS = {
    "created": Ticket.created_at,
    "updated": Ticket.updated_at,
    "priority": Ticket.priority,
    "reference": Ticket.id,  # references are issued in id order
    "due": Ticket.due_at,     # resolution due time, tickets without one last (either direction)
}
NULLABLE_SORTS = {"due"}
# "Best match" (desk.search.score: words in the subject first, as typed before by a stem), then
# newest first; only while a search is typed (otherwise it is the view's default order).
RELEVANCE = "relevance"


def default_order(view: str) -> tuple[str, bool]:
    """(sort, descending) a view opens with: newest first, except Overdue, most overdue first
    (which is also the order its partial index ix_tickets_open_due serves)."""
    return ("due", False) if view == "overdue" else ("created", True)
MAX_PAGE = 200
MAX_REFRESH_ROWS = 500
# The open views' first pages, newest first (migration 0022_speed): read in index order and
# stopped after a page. On SQLite the index is named in the query (INDEXED BY): its planner,
# from ANALYZE's sampled statistics, otherwise often preferred the status index and sorted
# every open ticket (55-80 ms at 100,000 tickets, 750 ms at 1,000,000), a plan that changed
# with the luck of the sample. PostgreSQL's planner finds these indexes by itself.
OPEN_CREATED_INDEX = "ix_tickets_open_created"
OPEN_DEPARTMENT_CREATED_INDEX = "ix_tickets_open_department_created"
NEWEST_FIRST_VIEWS = ("open", "unassigned", "department")
# A filtered open view on SQLite reads at most this many of its newest tickets in order
# before it leaves the page to the planner (_walk_newest).
WALK_WINDOW = 2000
NEWEST = (Ticket.created_at.desc(), Ticket.id.desc())  # the walks' order (newest first, then by id)




@dataclass(frozen=True)
class Filters:
    view: str = "open"
    status: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    priority: tuple[int, ...] = ()
    department: str = ""   # "" any, "none" unrouted, or an id
    assignee: str = ""     # "" any, "none", "me", or an id
    tag: str = ""          # "" any, or a tag's id (desk.tags)
    q: str = ""
    sort: str = "created"
    desc: bool = True
    default_view: str = "open"  # the actor's landing view (see default_view), left out of URLs

    def query_args(self) -> list[tuple[str, str]]:
        """The filters as URL query pairs (defaults left out), for links and hx-push-url."""
        pairs: list[tuple[str, str]] = []
        if self.view != self.default_view:
            pairs.append(("view", self.view))
        for name in ("status", "channel", "kind", "priority"):
            pairs.extend((name, str(v)) for v in getattr(self, name))
        for name in ("department", "assignee", "tag", "q"):
            if getattr(self, name):
                pairs.append((name, getattr(self, name)))
        sort, desc = default_order(self.view)
        if self.sort != sort:
            pairs.append(("sort", self.sort))
        if self.desc != desc:
            pairs.append(("dir", "desc" if self.desc else "asc"))
        return pairs

    def with_(self, **changes: Any) -> Filters:
        return replace(self, **changes)


def _multi(args: Mapping[str, Any], name: str, allowed: set[str]) -> tuple[str, ...]:
    getlist = getattr(args, "getlist", None)
    values = getlist(name) if getlist else ([args[name]] if name in args else [])
    return tuple(dict.fromkeys(v for v in values if v in allowed))


def default_view(actor: User) -> str:
    """Where a person lands: a focal point in "my department's assignments", everyone else
    in all open tickets."""
    return "department" if not sees_all(actor) and actor.department_ids else "open"


def parse_filters(args: Mapping[str, Any], default: str = "open") -> Filters:
    """Filters from request arguments; anything outside the allowlists is dropped."""
    def one(name: str) -> str:
        return to_ascii_digits(str(args.get(name, "") or "")).strip()

    view = one("view")
    department = one("department")
    assignee = one("assignee")
    tag = one("tag")
    view = view if view in VIEWS else default
    sort, direction = one("sort"), one("dir")
    if one("sort_for") not in ("", view):  # the form's sort belonged to the view just left
        sort = direction = ""
    default_sort, default_desc = default_order(view)
    return Filters(
        default_view=default,
        view=view,
        status=_multi(args, "status", {s.value for s in Status}),
        channel=_multi(args, "channel", {c.value for c in Channel}),
        kind=_multi(args, "kind", {k.value for k in Kind}),
        priority=tuple(int(p) for p in _multi(args, "priority", {str(p.value) for p in Priority})),
        department=department if department == "none" or department.isdigit() else "",
        assignee=assignee if assignee in ("none", "me") or assignee.isdigit() else "",
        tag=tag if tag.isdigit() else "",
        q=str(args.get("q", "") or "").strip()[:100],
        sort=sort if sort in SORTS or sort == RELEVANCE else default_sort,
        desc=direction == "desc" if direction in ("asc", "desc") else default_desc,
    )


def _view_condition(view: str, actor: User, now: datetime) -> ColumnElement[bool] | None:
    """The saved view's condition: none for "all", else a view of open tickets."""
    return None if view == "all" else _open_view_condition(view, actor, now)


def _open_view_condition(view: str, actor: User, now: datetime) -> ColumnElement[bool]:
    """A view of open tickets: "unassigned", "mine", "department", "overdue", else "open"."""
    is_open = Ticket.is_open.expression  # (the condition itself, as a query would use it)
    if view == "unassigned":
        return and_(is_open, Ticket.assignee_id.is_(None))
    if view == "mine":
        return and_(is_open, Ticket.assignee_id == actor.id)
    if view == "department":
        return and_(is_open, Ticket.department_id.in_(sorted(actor.department_ids)))
    if view == "overdue":
        # Waiting on the beneficiary stops the clock: such a ticket is paused, not overdue.
        return and_(is_open, Ticket.status != Status.WAITING, Ticket.due_at.is_not(None), Ticket.due_at < now)
    return is_open


# The filters beyond the view and a department, each as it reads unset: each keeps some of the
# view's tickets (with "no department", which has no index read newest first either).
_NARROWING_UNSET: dict[str, Any] = dict(status=(), channel=(), kind=(), priority=(), assignee="", tag="")


def _narrowed(f: Filters) -> bool:
    """Filters beyond the view and a department: each keeps some of the view's tickets."""
    return any(getattr(f, name) for name in _NARROWING_UNSET) or f.department == "none"


def _forced_index(actor: User, f: Filters) -> str | None:
    """The open-tickets index a newest-first page of this view reads in order, when the
    filters leave nothing else for an index to narrow (else None: the planner decides)."""
    return None if _narrowed(f) else _newest_first_index(actor, f)


def _newest_first_index(actor: User, f: Filters) -> str | None:
    """The open-tickets index that holds this view's tickets newest first (None: none does)."""
    departments = _newest_first_departments(actor, f)
    if departments is None:
        return None
    if not departments:
        return OPEN_CREATED_INDEX
    return OPEN_DEPARTMENT_CREATED_INDEX if len(departments) == 1 else None


def _newest_first_departments(actor: User, f: Filters) -> tuple[int, ...] | None:
    """The departments whose open tickets this view lists newest first, each in order in
    ix_tickets_open_department_created; () for every department (ix_tickets_open_created);
    None when no index holds the view in its order."""
    if f.sort != "created" or f.view not in NEWEST_FIRST_VIEWS or f.q.strip():
        return None
    if f.department == "none":
        return None
    departments: set[int] | None = None  # None: every department, seen whole
    if f.department:
        departments = {int(f.department)}
    elif f.view == "department":
        departments = set(actor.department_ids)
    if not (sees_all(actor) or actor.has_role(Role.GENERAL_MANAGER)):
        if actor.has_role(Role.COMMITTEE) or not actor.has_role(Role.FOCAL):
            return None  # the committee's tickets: another condition, its own plan
        departments = set(actor.department_ids) if departments is None else departments & set(actor.department_ids)
    if departments is None:
        return ()
    return tuple(sorted(departments)) or None


def _conditions(session: Session, actor: User, f: Filters, now: datetime,
                newest_first: bool = False) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [visible_tickets(actor)]
    view = _view_condition(f.view, actor, now)
    if view is not None:
        conditions.append(view)
    if f.status:
        conditions.append(Ticket.status.in_(f.status))
    if f.channel:
        conditions.append(Ticket.channel.in_(f.channel))
    if f.kind:
        conditions.append(Ticket.kind.in_(f.kind))
    if f.priority:
        conditions.append(Ticket.priority.in_(f.priority))
    if f.department == "none":
        conditions.append(Ticket.department_id.is_(None))
    elif f.department:
        conditions.append(Ticket.department_id == int(f.department))
    if f.assignee == "none":
        conditions.append(Ticket.assignee_id.is_(None))
    elif f.assignee == "me":
        conditions.append(Ticket.assignee_id == actor.id)
    elif f.assignee:
        conditions.append(Ticket.assignee_id == int(f.assignee))
    if f.tag:
        conditions.append(tagged(int(f.tag)))
    matches = search_condition(session, parse_query(session, f.q), newest_first=newest_first)
    if matches is not None:
        conditions.append(matches)
    return conditions


# Cursors --------------------------------------------------------------------------

def _encode_cursor(sort: str, value: Any, ticket_id: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    elif isinstance(value, tuple):  # (score, created_at): the best-match order
        value = [value[0], value[1].isoformat()]
    raw = json.dumps([sort, value, ticket_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, ticket_id = json.loads(raw)
        if cursor_sort != sort or not isinstance(ticket_id, int):
            return None
        if sort in NULLABLE_SORTS and value is None:
            return None, ticket_id
        if sort == RELEVANCE:
            score, created = value
            if not isinstance(score, int):
                return None
            return (score, datetime.fromisoformat(created)), ticket_id
        if sort in ("created", "updated", "due"):
            value = datetime.fromisoformat(value)
        elif not isinstance(value, int):
            return None
        return value, ticket_id
    except (ValueError, TypeError):
        return None


def _nullable_rows(session: Session, stmt, column, position: tuple[Any, int] | None, desc: bool,
                   limit: int) -> list[Ticket]:
    """Rows sorted by a nullable column (either direction), then those without a value by id:
    two index-friendly queries (no "NULLS LAST" sort, which neither database can read from a
    plain index in both directions); the second only when the first does not fill the page."""
    rows: list[Ticket] = []
    value, ticket_id = position if position is not None else (None, None)
    direction = (lambda c: c.desc()) if desc else (lambda c: c.asc())
    if position is None or value is not None:
        valued = stmt.where(column.is_not(None))
        if position is not None:
            key, bound = tuple_(column, Ticket.id), tuple_(literal(value, column.type), literal(ticket_id))
            valued = valued.where(key < bound if desc else key > bound)
        rows = list(session.scalars(valued.order_by(direction(column), direction(Ticket.id)).limit(limit)))
        ticket_id = None
    if len(rows) < limit:
        empty = stmt.where(column.is_(None))
        if ticket_id is not None:
            empty = empty.where(Ticket.id < ticket_id if desc else Ticket.id > ticket_id)
        rows += list(session.scalars(empty.order_by(direction(Ticket.id)).limit(limit - len(rows))))
    return rows


def _after(column, position: tuple[Any, int] | None, desc: bool) -> ColumnElement[bool] | None:
    """The keyset condition: the rows after ``position`` in the page's order."""
    if position is None:
        return None
    value, ticket_id = position
    key = column if column is Ticket.id else tuple_(column, Ticket.id)
    bound = ticket_id if column is Ticket.id else tuple_(literal(value, column.type), literal(ticket_id))
    return key < bound if desc else key > bound


def _walk_newest(session: Session, actor: User, f: Filters, now: datetime, stmt, after: ColumnElement[bool] | None,
                 limit: int) -> list[Ticket] | None:
    """A filtered open view's page on SQLite, read newest first from the view's own index
    among its newest WALK_WINDOW tickets. None, for the planner's plan, when one filter alone
    keeps no more than SQLITE_MANY open tickets (sorting them is cheap), or when the window
    holds less than a page. SQLite cannot tell how many tickets the filters keep: left to
    itself it read every open complaint and sorted them (34,000 at 1,000,000 tickets, 120 ms);
    in order, filters that keep one ticket in twenty fill a page within a thousand, and the
    window bounds what filters that keep almost none can cost."""
    if session.get_bind().dialect.name != "sqlite" or not _narrowed(f) or not f.desc:
        return None
    index = _newest_first_index(actor, f)
    if index is None:
        return None
    unfiltered = f.with_(**_NARROWING_UNSET)
    for name in ("kind", "channel", "priority"):  # each counted from its open-tickets index alone
        if getattr(f, name):
            one = select(literal(1)).where(*_conditions(session, actor, unfiltered.with_(**{name: getattr(f, name)}), now))
            if (session.scalar(select(func.count()).select_from(one.limit(SQLITE_MANY + 1).subquery())) or 0) <= SQLITE_MANY:
                return None  # a few: sorting them is cheaper than looking for them in the window
    window = select(Ticket.created_at).where(*_conditions(session, actor, unfiltered, now))
    if after is not None:
        window = window.where(after)
    oldest = session.scalar(indexed_by(window, Ticket.__table__, index)
                            .order_by(*NEWEST).offset(WALK_WINDOW - 1).limit(1))
    walk = indexed_by(stmt, Ticket.__table__, index)
    if oldest is not None:
        walk = walk.where(Ticket.created_at >= oldest)
    rows = list(session.scalars(walk.order_by(*NEWEST).limit(limit)))
    # Every ticket older than the window is older than these: they are the page when it is full,
    # or when the window held the whole view.
    return rows if len(rows) == limit or oldest is None else None


def _walk_departments(session: Session, actor: User, f: Filters, conditions: list[ColumnElement[bool]],
                      after: ColumnElement[bool] | None, limit: int) -> list[Ticket] | None:
    """An open view of several departments on SQLite (a focal point of two): each
    department's newest tickets read in order from ix_tickets_open_department_created, a
    page from each, merged by the database, then the page's rows by id. None when the view
    is not that. Left to itself SQLite read every open ticket of the departments and sorted
    them (231 ms for two departments at 1,000,000 tickets)."""
    if session.get_bind().dialect.name != "sqlite" or _narrowed(f) or not f.desc:
        return None
    departments = _newest_first_departments(actor, f)
    if departments is None or len(departments) < 2:
        return None
    newest = []
    for department in departments:
        part = select(Ticket.id, Ticket.created_at).where(*conditions, Ticket.department_id == department)
        if after is not None:
            part = part.where(after)
        part = (indexed_by(part, Ticket.__table__, OPEN_DEPARTMENT_CREATED_INDEX)
                .order_by(*NEWEST).limit(limit))
        newest.append(select(part.subquery()))
    merged = union_all(*newest).subquery()
    ids = list(session.scalars(select(merged.c.id).order_by(merged.c.created_at.desc(), merged.c.id.desc())
                               .limit(limit)))
    return _rows_by_id(session, ids, NEWEST)


def _sorted_page(session: Session, stmt, order, limit: int) -> list[Ticket]:
    """A page the database may have to sort: the ids sorted first, then the page's rows by id.
    Sorting whole rows (with their body and search text, and the joined beneficiary,
    department and assignee) copied every match into the sorter: 1,800 of them for a
    three-word search at 1,000,000 tickets."""
    ids = list(session.scalars(stmt.with_only_columns(Ticket.id).order_by(*order).limit(limit)))
    return _rows_by_id(session, ids, order)


# What the rows (templates/queue/_rows.html) never show is not read for them: the long texts
# (body, search text, action taken, channel metadata), the category, and the assignee's roles
# and departments (two more statements a page). Read on first use should anything need them.
ROW_OPTIONS = (
    defer(Ticket.body), defer(Ticket.search_text), defer(Ticket.action_taken), defer(Ticket.meta),
    lazyload(Ticket.category),
    joinedload(Ticket.assignee).options(*BY_NAME_ONLY),
)


def _rows_by_id(session: Session, ids: list[int], order) -> list[Ticket]:
    """The tickets of a page whose ids were chosen, in the page's order."""
    if not ids:
        return []
    return list(session.scalars(select(Ticket).options(*ROW_OPTIONS).where(Ticket.id.in_(ids)).order_by(*order)))


@dataclass
class Page:
    tickets: list[Ticket]
    next_cursor: str | None
    filters: Filters = field(default_factory=Filters)
    tags: dict[int, list] = field(default_factory=dict)  # each row's tags (desk.tags), one query a page


def page(session: Session, actor: User, f: Filters, *, cursor: str = "", limit: int = 50,
         now: datetime | None = None) -> Page:
    """One page of the queue, newest first by default; ``cursor`` continues after the last row."""
    limit = max(1, min(limit, MAX_REFRESH_ROWS))
    now = now or utcnow()
    if f.sort == RELEVANCE:
        if f.q.strip():
            return _best_match_page(session, actor, f, cursor, limit, now)
        f = f.with_(sort="created", desc=True)
    column = SORTS[f.sort]
    # A page newest first lets the search choose a condition read cheaply in that order.
    conditions = _conditions(session, actor, f, now, newest_first=f.sort == "created" and f.desc)
    stmt = select(Ticket).options(*ROW_OPTIONS).where(*conditions)
    position = _decode_cursor(cursor, f.sort) if cursor else None
    if f.sort in NULLABLE_SORTS:
        if f.view != "all":  # the same open condition, with literal values: SQLite then uses ix_tickets_open_due
            stmt = stmt.where(Ticket.status.in_([literal_column(f"'{s.value}'") for s in OPEN_STATUSES]))
        rows = _nullable_rows(session, stmt, column, position, f.desc, limit + 1)
    else:
        order = (column.desc(), Ticket.id.desc()) if f.desc else (column.asc(), Ticket.id.asc())
        index = _forced_index(actor, f)
        if index is not None:
            stmt = indexed_by(stmt, Ticket.__table__, index)
        after = _after(column, position, f.desc)
        if after is not None:
            stmt = stmt.where(after)
        walked = _walk_newest(session, actor, f, now, stmt, after, limit + 1)
        if walked is None:
            walked = _walk_departments(session, actor, f, conditions, after, limit + 1)
        if walked is not None:
            rows = walked
        elif index is not None:  # read in index order: the rows as they come
            rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
        else:
            rows = _sorted_page(session, stmt, order, limit + 1)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode_cursor(f.sort, getattr(last, column.key), last.id)
    return Page(rows, next_cursor, f, tags_of(session, (t.id for t in rows)))


def _best_match_page(session: Session, actor: User, f: Filters, cursor: str, limit: int, now: datetime) -> Page:
    """The page in "best match" order: score, then newest first; keyset on all three."""
    rank = relevance(session, parse_query(session, f.q))
    stmt = select(Ticket, rank).options(*ROW_OPTIONS).where(*_conditions(session, actor, f, now))
    position = _decode_cursor(cursor, RELEVANCE) if cursor else None
    if position is not None:
        (score, created), ticket_id = position
        stmt = stmt.where(tuple_(rank, Ticket.created_at, Ticket.id)
                          < tuple_(literal(score), literal(created, Ticket.created_at.type), literal(ticket_id)))
    rows = session.execute(stmt.order_by(rank.desc(), Ticket.created_at.desc(), Ticket.id.desc()).limit(limit + 1)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last, score = rows[-1]
        next_cursor = _encode_cursor(RELEVANCE, (score, last.created_at), last.id)
    tickets = [ticket for ticket, _ in rows]
    return Page(tickets, next_cursor, f, tags_of(session, (t.id for t in tickets)))


def view_counts(session: Session, actor: User, now: datetime | None = None) -> dict[str, int]:
    """How many tickets each saved view holds: one round trip, each count an indexed subquery."""
    now = now or utcnow()
    views = [v for v in ("open", "unassigned", "mine", "department", "overdue")
             if v != "department" or actor.department_ids]
    counts = [select(func.count()).select_from(Ticket)
              .where(visible_tickets(actor), _open_view_condition(v, actor, now)).scalar_subquery().label(v)
              for v in views]
    row = session.execute(select(*counts)).one()
    return {v: row[i] or 0 for i, v in enumerate(views)}


def unread_condition() -> ColumnElement[bool]:
    """A beneficiary message no staff member has read (Ticket.unread_message, in SQL)."""
    return and_(Ticket.beneficiary_message_at.is_not(None),
                or_(Ticket.staff_read_at.is_(None), Ticket.staff_read_at < Ticket.beneficiary_message_at))


def department_counts(session: Session, actor: User, now: datetime | None = None) -> dict[str, int] | None:
    """The focal point's workspace counts for their department(s): new, in progress (open),
    waiting on the beneficiary, overdue. One round trip of indexed counts
    (ix_tickets_department_status_created). Only for those who land in their department's
    view (default_view): a focal point and nothing more. None for everyone else, including
    intake staff, supervisors and admins who also serve a department: they land in all open
    tickets, whose view counts (view_counts) their page shows, and the workspace's links
    (the Overdue view lists every overdue ticket they see) would not match its counts."""
    if default_view(actor) != "department":
        return None
    now = now or utcnow()
    mine = and_(visible_tickets(actor), Ticket.department_id.in_(sorted(actor.department_ids)))
    conditions = {
        "new": Ticket.status == Status.NEW,
        "open": Ticket.status == Status.OPEN,
        "waiting": Ticket.status == Status.WAITING,
        "overdue": _open_view_condition("overdue", actor, now),
        "unread": unread_condition(),
    }
    counts = [select(func.count()).select_from(Ticket).where(mine, condition).scalar_subquery().label(name)
              for name, condition in conditions.items()]
    row = session.execute(select(*counts)).one()
    return {name: row[i] or 0 for i, name in enumerate(conditions)}


def assignee_choices(session: Session, actor: User) -> list[User]:
    """People the actor can filter the queue by: everyone who handles tickets, or for a
    focal point the members of their own departments."""
    stmt = select(User).where(User.active.is_(True))
    if sees_all(actor):
        handlers = select(UserRole.user_id).where(UserRole.role.in_([Role.STAFF, Role.FOCAL, Role.SUPERVISOR]))
        stmt = stmt.where(User.id.in_(handlers))
    else:
        members = select(DepartmentMember.user_id).where(DepartmentMember.department_id.in_(sorted(actor.department_ids)))
        stmt = stmt.where(User.id.in_(members))
    # Their names and ids only (the filter and bulk lists).
    return list(session.scalars(stmt.options(*BY_NAME_ONLY).order_by(User.name)))


# The 30-second refresh asks it every time: built once (no parameters), so only executed.
_LATEST_CHANGE = select(select(func.max(TicketEvent.id)).scalar_subquery(),
                        select(func.max(Ticket.staff_read_at)).scalar_subquery())


def change_token(session: Session, actor: User, f: Filters) -> str:
    """Changes whenever any ticket changes (every change appends an event), or the actor's
    scope or the filters change. One round trip, two index probes: max(event id) and, since
    opening a ticket clears its new-message flag without an event, the last read."""
    last_event, last_read = session.execute(_LATEST_CHANGE).one()
    last_event = last_event or 0
    scope = (actor.id, sorted(actor.roles), sorted(actor.department_ids), f.query_args())
    digest = hashlib.blake2b(json.dumps(scope, default=str).encode(), digest_size=6).hexdigest()
    read = int(last_read.timestamp() * 1000) if last_read else 0
    return f"{last_event}-{read}-{digest}"


def filter_conditions(session: Session, actor: User, f: Filters, now: datetime) -> list[ColumnElement[bool]]:
    """The WHERE conditions of the queue with ``f`` as ``actor`` sees it, visibility included:
    what a saved view's count (desk.queue.saved) counts, the same rows its page lists."""
    return _conditions(session, actor, f, now)
