from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user, login_required

from desk.errors import StaleVersion, ValidationFailed
from desk.extensions import db
from desk.models import Department, User
from desk.permissions import Action, can
from desk.tickets import service
from desk.tickets.forms import ChangeForm, CommentForm
from desk.web import hx_target, is_htmx

bp = Blueprint("tickets", __name__)


def _version(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _names(events) -> dict[str, dict[int, str]]:
    """Display names for the ids that department and assignee events carry."""
    locale_en = str(get_locale()) == "en"
    departments = {d.id: (d.name_en if locale_en else d.name_ar) for d in db.session.query(Department)}
    ids = {int(v) for e in events if e.kind == "assignee" for v in (e.old_value, e.new_value) if v and v.isdigit()}
    users = {u.id: u.name for u in db.session.query(User).filter(User.id.in_(ids))} if ids else {}
    return {"department": departments, "assignee": users}


def _context(ticket, comment_form=None, conflict=None, attempted=None, errors=None) -> dict:
    events = service.timeline(db.session, ticket)
    return {
        "ticket": ticket,
        "events": events,
        "names": _names(events),
        "comment_form": comment_form or CommentForm(formdata=None, version=ticket.version),
        "statuses": service.allowed_statuses(ticket),
        "departments": service.active_departments(db.session),
        "assignees": service.assignable_users(db.session, current_user, ticket)
                     if can(current_user, Action.TICKET_ASSIGN, ticket) else [],
        "may": {a.name.lower(): can(current_user, a, ticket) for a in Action},
        "history": service.beneficiary_history(db.session, current_user, ticket),
        "conflict": conflict,
        "attempted": attempted or {},
        "errors": errors or {},
    }


# The parts of the ticket page an htmx request may ask for by its target's id.
FRAGMENTS = {
    "ticket-header": "tickets/_header.html",
    "ticket-props": "tickets/_props.html",
    "ticket-timeline": "tickets/_timeline.html",
    "ticket-compose": "tickets/_compose.html",
    "ticket-beneficiary": "tickets/_beneficiary.html",
}


@bp.get("/tickets/<reference>")
@login_required
def show(reference: str):
    ticket = service.get_ticket(db.session, current_user, reference)
    fragment = FRAGMENTS.get(hx_target())
    return render_template(fragment or "tickets/show.html", **_context(ticket))


@bp.post("/tickets/<reference>/change/<field>")
@login_required
def change(reference: str, field: str):
    ticket = service.get_ticket(db.session, current_user, reference)
    if field not in service.CHANGEABLE:
        abort(404)
    form = ChangeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        changed = service.change_field(db.session, current_user, ticket, field, form.value.data,
                                       expected_version=_version(form.version.data))
    except StaleVersion as stale:
        context = _context(ticket, conflict=stale, attempted={field: form.value.data})
        if is_htmx():
            return render_template("tickets/_after_change.html", **context), 409
        return render_template("tickets/show.html", **context), 409
    except ValidationFailed as failed:
        db.session.rollback()
        context = _context(ticket, attempted={field: form.value.data}, errors=failed.errors)
        if is_htmx():
            return render_template("tickets/_props.html", **context), 422
        return render_template("tickets/show.html", **context), 422
    if is_htmx():
        return render_template("tickets/_after_change.html", **_context(ticket))
    if changed:
        flash(_("Saved."), "success")
    return redirect(url_for(".show", reference=ticket.reference))


@bp.post("/tickets/<reference>/comments")
@login_required
def comment(reference: str):
    ticket = service.get_ticket(db.session, current_user, reference)
    form = CommentForm()
    if not form.validate_on_submit():
        return _comment_failed(ticket, form, {}, 422)
    try:
        service.add_comment(db.session, current_user, ticket, form.body.data,
                            public=form.visibility.data == "reply",
                            expected_version=_version(form.version.data))
    except StaleVersion as stale:
        form.version.data = str(stale.current_version)  # submitting again, after reading, is allowed
        return _comment_failed(ticket, form, {}, 409, conflict=stale)
    except ValidationFailed as failed:
        db.session.rollback()
        return _comment_failed(ticket, form, failed.errors, 422)
    if is_htmx():
        return render_template("tickets/_after_comment.html", **_context(ticket))
    flash(_("Saved."), "success")
    return redirect(url_for(".show", reference=ticket.reference))


def _comment_failed(ticket, form, errors, status, conflict=None):
    for name, messages in errors.items():
        getattr(form, name).errors = list(getattr(form, name).errors) + list(messages)
    context = _context(ticket, comment_form=form, conflict=conflict)
    if is_htmx():
        return render_template("tickets/_after_comment.html", **context), status
    return render_template("tickets/show.html", **context), status
