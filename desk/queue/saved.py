"""Personal and shared queue views (issue 18, point 5): save the queue's filters and sort under
a name, for oneself, for a department or for the whole desk; rename and delete them; count them.

A view stores its filters only. Who sees which tickets is decided when the view is counted or
opened, by ``visible_tickets`` of the person looking (desk.queue.service._conditions), so a view
naming a department the person no longer serves shows nothing of that department.

Who shares with whom:
- the whole desk: supervisors and admins;
- a department: its focal point, or a supervisor or admin;
- personal views belong to their owner alone. A shared view is renamed or deleted by whoever
  may share with its audience (not only the person who made it)."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from desk.errors import NotFound, ValidationFailed, add_error, required_text
from desk.models import Department, Role, SavedView, Ticket, User, ViewScope, utcnow
from desk.queue.service import Filters, filter_conditions, parse_filters
from desk.transaction import atomic

NAME_LIMIT = 60
MAX_OWN_VIEWS = 20  # per person: a row of chips, not a second queue
SHARERS = (Role.SUPERVISOR, Role.ADMIN)


def may_share(actor: User, scope: str, department_id: int | None = None) -> bool:
    """May ``actor`` keep a view for this audience (save, rename or delete it)?"""
    if scope == ViewScope.PERSONAL:
        return True
    if actor.has_role(*SHARERS):
        return scope in (ViewScope.DESK, ViewScope.DEPARTMENT)
    return (scope == ViewScope.DEPARTMENT and department_id is not None and actor.has_role(Role.FOCAL)
            and department_id in actor.department_ids)


def may_manage(actor: User, view: SavedView) -> bool:
    if view.scope == ViewScope.PERSONAL:
        return view.owner_id == actor.id
    return may_share(actor, view.scope, view.department_id)


def _seen_by(actor: User) -> ColumnElement[bool]:
    """The views in the actor's queue: their own, the desk's and their departments'."""
    return or_(
        and_(SavedView.scope == ViewScope.PERSONAL, SavedView.owner_id == actor.id),
        SavedView.scope == ViewScope.DESK,
        and_(SavedView.scope == ViewScope.DEPARTMENT, SavedView.department_id.in_(sorted(actor.department_ids))),
    )


def _ordered(stmt):
    # Personal first, then the department's, then the desk's ("personal" < "department" < "desk" by this map).
    rank = {ViewScope.PERSONAL.value: 0, ViewScope.DEPARTMENT.value: 1, ViewScope.DESK.value: 2}
    return stmt.order_by(case(rank, value=SavedView.scope), SavedView.name, SavedView.id)


def queue_views(session: Session, actor: User) -> list[SavedView]:
    """The saved views shown beside the built-in ones in the actor's queue."""
    return list(session.scalars(_ordered(select(SavedView).where(_seen_by(actor)))))


def manageable_views(session: Session, actor: User) -> list[SavedView]:
    """The views on the actor's "Saved views" page: those in their queue, and every department's
    views for a supervisor or admin (who may rename or delete them)."""
    seen = _seen_by(actor)
    if actor.has_role(*SHARERS):
        seen = or_(seen, SavedView.scope == ViewScope.DEPARTMENT)
    return list(session.scalars(_ordered(select(SavedView).where(seen))))


def get_view(session: Session, actor: User, view_id: int) -> SavedView:
    """A view the actor may rename or delete; any other answers as if it did not exist."""
    view = session.get(SavedView, view_id)
    if view is None or not may_manage(actor, view):
        raise NotFound()
    return view


def stored_args(filters: Filters) -> list[list[str]]:
    """What a view keeps: its built-in view (always, so it opens the same for everyone), the
    filters and the sort. Not the search text: a view is counted every 30 seconds, and each
    count must stay one index range scan (a text search is not)."""
    pairs = [["view", filters.view]]
    pairs += [[name, value] for name, value in filters.query_args() if name not in ("view", "q")]
    return pairs


def filters_of(view: SavedView, default: str) -> Filters:
    """The view's filters, read back through the queue's allowlists (as a typed URL would be)."""
    return parse_filters(MultiDict([(str(k), str(v)) for k, v in view.args]), default)


def _validated(session: Session, actor: User, name: str | None, scope: str, department_id: int | None,
               view: SavedView | None = None) -> str:
    errors: dict[str, list] = {}
    name = required_text(errors, "name", name, _l("Give the view a name."), NAME_LIMIT)
    if scope not in tuple(ViewScope):
        add_error(errors, "scope", _l("Choose who the view is for."))
    elif scope == ViewScope.DEPARTMENT and (department_id is None or session.get(Department, department_id) is None):
        add_error(errors, "department", _l("Choose the department to share the view with."))
    elif scope == ViewScope.DESK and not may_share(actor, scope):
        add_error(errors, "scope", _l("Only supervisors and admins share a view with the whole desk."))
    elif scope == ViewScope.DEPARTMENT and not may_share(actor, scope, department_id):
        add_error(errors, "department", _l("Only the department's focal point or a supervisor shares a view with it."))
    if name and "scope" not in errors and "department" not in errors:
        same = select(SavedView.id).where(func.lower(SavedView.name) == name.lower(), SavedView.scope == scope)
        if scope == ViewScope.PERSONAL:
            same = same.where(SavedView.owner_id == (view.owner_id if view else actor.id))
        elif scope == ViewScope.DEPARTMENT:
            same = same.where(SavedView.department_id == department_id)
        if view is not None:
            same = same.where(SavedView.id != view.id)
        if session.scalar(same.limit(1)) is not None:
            add_error(errors, "name", _l("There is already a view with this name for the same people."))
    if view is None and not errors:
        own = session.scalar(select(func.count()).select_from(SavedView).where(SavedView.owner_id == actor.id))
        if (own or 0) >= MAX_OWN_VIEWS:
            add_error(errors, "name", _l("You keep %(n)s views already: delete one first.", n=MAX_OWN_VIEWS))
    if errors:
        raise ValidationFailed(errors)
    return name


def save_view(session: Session, actor: User, name: str | None, scope: str, department_id: int | None,
              filters: Filters) -> SavedView:
    """Save the queue's current filters and sort as a view for ``scope``'s people."""
    department_id = department_id if scope == ViewScope.DEPARTMENT else None
    clean = _validated(session, actor, name, scope, department_id)
    with atomic(session):
        view = SavedView(name=clean, owner_id=actor.id, scope=scope, department_id=department_id,
                         args=stored_args(filters))
        session.add(view)
    return view


def rename_view(session: Session, actor: User, view: SavedView, name: str | None) -> SavedView:
    if not may_manage(actor, view):
        raise NotFound()
    clean = _validated(session, actor, name, view.scope, view.department_id, view=view)
    with atomic(session):
        view.name = clean
        view.updated_at = utcnow()
    return view


def delete_view(session: Session, actor: User, view: SavedView) -> None:
    if not may_manage(actor, view):
        raise NotFound()
    with atomic(session):
        session.delete(view)


def counts(session: Session, actor: User, views: list[SavedView], default: str,
           now: datetime | None = None) -> dict[int, int]:
    """How many tickets each view holds for the actor now: one round trip, one indexed count
    per view, exact (COUNT over the same conditions as the view's page, never a stored tally)."""
    if not views:
        return {}
    now = now or utcnow()
    subqueries = [select(func.count()).select_from(Ticket)
                  .where(*filter_conditions(session, actor, filters_of(v, default), now)).scalar_subquery()
                  for v in views]
    row = session.execute(select(*subqueries)).one()
    return {v.id: row[i] or 0 for i, v in enumerate(views)}
