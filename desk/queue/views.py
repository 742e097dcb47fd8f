from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import ViewScope, utcnow
from desk.permissions import sees_all
from desk.queue import bulk, saved, service
from desk.sla import tickets as sla_tickets
from desk.tags.service import all_tags
from desk.tickets.service import active_departments
from desk.web import go_to, is_htmx

bp = Blueprint("queue", __name__)


@bp.app_template_global()
def sla_status(ticket) -> str | None:
    """Due / at risk / overdue / paused (desk.sla.tickets.ticket_state) for the queue's due
    column and the ticket page's SLA panel; None when closed or without a target."""
    return sla_tickets.ticket_state(ticket, utcnow())


@bp.app_template_global()
def sla_first_response_status(ticket) -> str | None:
    return sla_tickets.first_response_state(ticket, utcnow())


def _shown() -> int:
    raw = request.args.get("shown", "")
    return min(int(raw), service.MAX_REFRESH_ROWS) if raw.isdigit() else 0


def _filters() -> service.Filters:
    return service.parse_filters(request.args, service.default_view(current_user))


def _context(filters: service.Filters, cursor: str = "", limit: int | None = None) -> dict:
    """What the results need (an htmx answer); the full page adds the filter choices."""
    size = limit or current_app.config["DESK_QUEUE_PAGE_SIZE"]
    result = service.page(db.session, current_user, filters, cursor=cursor, limit=size)
    return {
        "page": result,
        "filters": filters,
        "counts": service.view_counts(db.session, current_user),
        "workspace": service.department_counts(db.session, current_user),
        "token": service.change_token(db.session, current_user, filters),
        "shown": len(result.tickets),
        "refresh_seconds": current_app.config["DESK_QUEUE_REFRESH_SECONDS"],
        **_saved_context(),
    }


def _saved_context() -> dict:
    """The personal and shared views beside the built-in ones, with their counts (desk.queue.saved)."""
    views = saved.queue_views(db.session, current_user)
    default = service.default_view(current_user)
    return {
        "saved_views": views,
        "saved_counts": saved.counts(db.session, current_user, views, default),
        "saved_args": {v.id: saved.filters_of(v, default).query_args() for v in views},
    }


def _filter_choices() -> dict:
    """The filters' lists and the bulk form's: the people, departments and tags read once."""
    departments = active_departments(db.session)
    assignees = service.assignee_choices(db.session, current_user)
    tags = all_tags(db.session)
    return {
        "departments": [d for d in departments if sees_all(current_user) or d.id in current_user.department_ids],
        "assignees": assignees,
        "tags": tags,
        # Who the actor may share a view with (the "Save this view" form).
        "share_departments": [d for d in departments if saved.may_share(current_user, ViewScope.DEPARTMENT, d.id)],
        "share_desk": saved.may_share(current_user, ViewScope.DESK),
        **_bulk_choices(assignees, departments, tags),
    }


def _bulk_choices(assignees: list | None = None, departments: list | None = None, tags: list | None = None) -> dict:
    """The bulk form's lists: whom to assign (each ticket then checks its own), every active
    department to route to, the tags to choose from (those the caller read already, else read)."""
    if not bulk.may_use(current_user):
        return {}
    return {"bulk_assignees": service.assignee_choices(db.session, current_user) if assignees is None else assignees,
            "bulk_departments": active_departments(db.session) if departments is None else departments,
            "tags": all_tags(db.session) if tags is None else tags}


@bp.app_template_global()
def may_bulk() -> bool:
    return bulk.may_use(current_user)


@bp.get("/tickets")
@login_required
def index():
    """The shared queue (for a focal point, "my department's assignments" by default). Full
    page, or for htmx the results (with the view and workspace counts out of band)."""
    filters = _filters()
    context = _context(filters, cursor=request.args.get("cursor", "")[:200])
    if is_htmx():
        response = make_response(render_template("queue/_results_oob.html", **context))
        # The address bar gets the clean URL of this view (no empty parameters), to bookmark.
        args = filters.query_args()
        response.headers["HX-Push-Url"] = url_for("queue.index") + ("?" + urlencode(args) if args else "")
        return response
    return render_template("queue/index.html", **context, **_filter_choices())


@bp.post("/tickets/bulk")
@login_required
def bulk_action():
    """Bulk actions on the checked rows (desk.queue.bulk): htmx answers with the bulk panel and
    its summary and tells the queue to refresh; without JavaScript, the queue page with it."""
    if not bulk.may_use(current_user):
        abort(404)
    chosen = bulk.Request(**{name: request.form.get(name, "").strip()[:2000] for name in bulk.FIELDS})
    selection = bulk.parse_selection(request.form.getlist("t")[:bulk.MAX_SELECTED * 2])
    answer: dict = {"bulk_typed": chosen.__dict__}
    status = 200
    try:
        answer["bulk_summary"] = bulk.run(db.session, current_user, chosen, selection)
    except ValidationFailed as failed:
        answer["bulk_errors"], status = failed.errors, 422
    if "bulk_summary" in answer:
        answer["bulk_typed"] = {}  # done: the form is empty again, the summary says what happened
    if is_htmx():
        response = make_response(render_template("queue/_bulk.html", **answer, **_bulk_choices()), status)
        if status == 200:
            response.headers["HX-Trigger"] = "desk-queue-changed"  # the rows refresh (queue/_poll.html)
        return response
    filters = _filters()
    return render_template("queue/index.html", **_context(filters), **_filter_choices(), **answer), status


@bp.get("/tickets/more")
@login_required
def more():
    """The next page's rows in place of the "load more" row; the refresh learns how many are shown."""
    filters = _filters()
    result = service.page(db.session, current_user, filters, cursor=request.args.get("cursor", "")[:200],
                          limit=current_app.config["DESK_QUEUE_PAGE_SIZE"])
    token = request.args.get("token", "")[:64]
    shown = min(_shown() + len(result.tickets), service.MAX_REFRESH_ROWS)
    return render_template("queue/_more.html", page=result, filters=filters, token=token, shown=shown,
                           refresh_seconds=current_app.config["DESK_QUEUE_REFRESH_SECONDS"])


@bp.app_context_processor
def _queue_home() -> dict:
    """The queue link's name, by where it lands (default_view): one rule for nav and back links."""
    def queue_home_label() -> str:
        if current_user.is_authenticated and service.default_view(current_user) == "department":
            return _("My department's assignments")
        return _("Shared queue")
    return {"queue_home_label": queue_home_label}


@bp.before_app_request
def _autocommit_poll() -> None:
    """The refresh only reads: outside a transaction it spares PostgreSQL a BEGIN and a ROLLBACK,
    two of its five round trips (README, Performance). Runs before the signed-in user is loaded."""
    if request.endpoint == "queue.poll":
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


@bp.get("/tickets/poll")
@login_required
def poll():
    """The 30-second refresh: 204 (htmx swaps nothing) while the change token is the same."""
    filters = _filters()
    if request.args.get("token") == service.change_token(db.session, current_user, filters):
        return "", 204
    return render_template("queue/_results_oob.html", **_context(filters, limit=_shown() or None))


# Personal and shared views (desk.queue.saved) ----------------------------------------------

def _department_id() -> int | None:
    raw = request.form.get("share_department", "")
    return int(raw) if raw.isdigit() else None


@bp.post("/tickets/views")
@login_required
def save_view():
    """Save the queue's current filters and sort (the form's hidden fields) under a name; then
    open the view. Refused: the form again with the messages by the fields and what was typed."""
    filters = service.parse_filters(request.form, service.default_view(current_user))
    typed = {"name": request.form.get("name", ""), "scope": request.form.get("scope", ViewScope.PERSONAL),
             "share_department": request.form.get("share_department", "")}
    try:
        view = saved.save_view(db.session, current_user, typed["name"], typed["scope"], _department_id(), filters)
    except ValidationFailed as failed:
        page = {"filters": filters, "save_errors": failed.errors, "save_typed": typed, **_filter_choices()}
        if is_htmx():
            return render_template("queue/_save_view.html", **page), 422
        return render_template("queue/index.html", **{**_context(filters), **page}), 422
    args = saved.filters_of(view, service.default_view(current_user)).query_args()
    return go_to(url_for("queue.index") + ("?" + urlencode(args) if args else ""), _("The view is saved."))


def _manage_page(status: int = 200, **extra):
    return render_template("queue/views.html", views=saved.manageable_views(db.session, current_user),
                           departments={d.id: d for d in active_departments(db.session)},
                           may_manage=lambda view: saved.may_manage(current_user, view), **extra), status


@bp.get("/tickets/views")
@login_required
def views():
    """The views the person keeps or may keep: rename and delete."""
    return _manage_page()


@bp.post("/tickets/views/<int:view_id>/rename")
@login_required
def rename_view(view_id: int):
    view = saved.get_view(db.session, current_user, view_id)
    name = request.form.get("name", "")
    try:
        saved.rename_view(db.session, current_user, view, name)
    except ValidationFailed as failed:
        return _manage_page(422, errors={view_id: failed.errors}, typed={view_id: name})
    return go_to(url_for("queue.views"), _("The view is renamed."))


@bp.post("/tickets/views/<int:view_id>/delete")
@login_required
def delete_view(view_id: int):
    view = saved.get_view(db.session, current_user, view_id)
    saved.delete_view(db.session, current_user, view)
    return go_to(url_for("queue.views"), _("The view is deleted."))
