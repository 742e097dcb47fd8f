from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required

from desk.errors import StaleVersion, ValidationFailed
from desk.extensions import db
from desk.models import Department, User
from desk.permissions import Action, can
from desk.tickets import actions, service
from desk.tickets.forms import ActionForm, ChangeForm, CommentForm
from desk.web import hx_target, is_htmx

bp = Blueprint("tickets", __name__)


def _version(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _names(events) -> dict[str, dict]:
    """Display names for the ids that department and assignee events carry, and each reason
    code in words (service.describe_reasons), in the reader's language: one query per kind."""
    locale = str(get_locale())
    departments = {d.id: d.name(locale) for d in db.session.query(Department)}
    ids = {int(v) for e in events if e.kind == "assignee" for v in (e.old_value, e.new_value) if v and v.isdigit()}
    users = {u.id: u.name for u in db.session.query(User).filter(User.id.in_(ids))} if ids else {}
    reasons = service.describe_reasons(db.session, (e.reason for e in events), locale)
    return {"department": departments, "assignee": users, "reason": reasons}


def _context(ticket, comment_form=None, conflict=None, attempted=None, errors=None,
             open_action="", typed=None, action_errors=None) -> dict:
    events = service.timeline(db.session, ticket)
    return {
        "ticket": ticket,
        "events": events,
        "names": _names(events),
        "comment_form": comment_form or CommentForm(formdata=None, version=ticket.version),
        "statuses": service.allowed_statuses(current_user, ticket),
        "departments": service.active_departments(db.session),
        "assignees": service.assignable_users(db.session, current_user, ticket)
                     if can(current_user, Action.TICKET_ASSIGN, ticket) else [],
        "may": {a.name.lower(): can(current_user, a, ticket) for a in Action},
        "history": service.beneficiary_history(db.session, current_user, ticket),
        "conflict": conflict,
        "attempted": attempted or {},
        "errors": errors or {},
        # The action forms (templates/tickets/_actions.html): which one is open, with what typed.
        "open_action": open_action,
        "typed": typed or {},
        "action_errors": action_errors or {},
    }


# The parts of the ticket page an htmx request may ask for by its target's id.
FRAGMENTS = {
    "ticket-header": "tickets/_header.html",
    "ticket-props": "tickets/_props.html",
    "ticket-timeline": "tickets/_timeline.html",
    "ticket-compose": "tickets/_compose.html",
    "ticket-beneficiary": "tickets/_beneficiary.html",
    "ticket-actions": "tickets/_actions.html",
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
        # Choosing "resolved" opens the resolve form (the action taken is required); moving a
        # routed ticket opens the transfer or return form (the reason is required).
        leads_to = failed if isinstance(failed, service.UseActionForm) else None
        context = _context(ticket, attempted={field: form.value.data}, errors=failed.errors,
                           open_action=leads_to.action if leads_to else "", typed=leads_to.typed if leads_to else None)
        if is_htmx():
            return render_template("tickets/_change_refused.html", **context), 422
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
                            expected_version=_version(form.version.data),
                            send_files=request.form.getlist("send_files", type=int))
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
        if hasattr(form, name):
            getattr(form, name).errors = list(getattr(form, name).errors) + list(messages)
    context = _context(ticket, comment_form=form, conflict=conflict, errors=errors)
    context["sent_files"] = request.form.getlist("send_files", type=int)
    if is_htmx():
        return render_template("tickets/_after_comment.html", **context), status
    return render_template("tickets/show.html", **context), status


# Actions (desk.tickets.actions) ---------------------------------------------------------

# name in the URL -> the service call, given the ticket, the form and the version the user saw.
ACTIONS = {
    "take": lambda t, f, v: actions.take(db.session, current_user, t, expected_version=v),
    "request-info": lambda t, f, v: actions.request_info(db.session, current_user, t, f.message.data,
                                                         expected_version=v),
    "refer": lambda t, f, v: actions.refer(db.session, current_user, t, f.note.data),
    "return": lambda t, f, v: actions.return_to_queue(db.session, current_user, t, f.reason.data,
                                                      expected_version=v),
    "transfer": lambda t, f, v: actions.transfer(db.session, current_user, t, f.department.data, f.reason.data,
                                                 expected_version=v),
    "resolve": lambda t, f, v: actions.resolve(db.session, current_user, t, f.action_taken.data,
                                               expected_version=v, message=f.message.data),
    "remind": lambda t, f, v: actions.remind(db.session, current_user, t, f.note.data),
}

DONE = {
    "take": _l("The ticket is assigned to you."),
    "request-info": _l("The request for information is recorded; the ticket waits on the beneficiary."),
    "refer": _l("The referral to the social research officer is recorded."),
    "return": _l("The ticket is back in the shared queue."),
    "transfer": _l("The ticket is transferred."),
    "resolve": _l("The ticket is resolved."),
    # "remind": reminder_outcome, which says how many were emailed
}


def reminder_outcome(notified: int) -> str:
    """What a reminder did: how many focal points were emailed, or that nobody could be."""
    if notified:
        return _("The reminder is recorded; focal points to be emailed: %(n)s.",
                 n=current_app.jinja_env.filters["num"](notified))  # in the reader's digits
    return _("The reminder is recorded, but nobody could be emailed: the focal points have no email "
             "address or have turned reminders off.")


@bp.post("/tickets/<reference>/actions/<name>")
@login_required
def act(reference: str, name: str):
    """One action on the ticket. htmx: the actions panel (with header, properties and
    timeline out of band); otherwise back to the ticket page. A ticket the actor can no
    longer see (returned or transferred away) sends them to their queue."""
    ticket = service.get_ticket(db.session, current_user, reference)
    if name not in ACTIONS:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = ACTIONS[name](ticket, form, _version(form.version.data))
    except StaleVersion as stale:
        return _action_refused(ticket, name, form, {}, 409, conflict=stale)
    except ValidationFailed as failed:
        db.session.rollback()
        return _action_refused(ticket, name, form, failed.errors, 422)
    done = reminder_outcome(result.notified) if name == "remind" else DONE[name]
    if is_htmx() and can(current_user, Action.TICKET_VIEW, ticket):
        return render_template("tickets/_after_action.html", **_context(ticket), done=done)
    flash(done, "success")
    if not can(current_user, Action.TICKET_VIEW, ticket):
        target = url_for("queue.index")
        return ("", 200, {"HX-Redirect": target}) if is_htmx() else redirect(target)
    return redirect(url_for(".show", reference=ticket.reference))


def _action_refused(ticket, name, form, errors, status, conflict=None):
    """The form again, open, with what was typed and the messages (or what changed meanwhile)."""
    context = _context(ticket, conflict=conflict, open_action=name, typed=form.typed(), action_errors=errors)
    if is_htmx():
        return render_template("tickets/_after_action.html", **context), status
    return render_template("tickets/show.html", **context), status
