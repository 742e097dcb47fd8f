"""Notification preferences (every user), the outbox admin page (administrators), and the
messages the desk could not deliver (supervisors and administrators: a count on their
navigation, the page /undelivered, and each message's state on the ticket page)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import OutboxStatus
from desk.notify import service, undelivered
from desk.permissions import Action, can
from desk.web import is_htmx, page_or_fragment

bp = Blueprint("notify", __name__)

# What the outbox page can list: the messages that need attention, or the recent sent ones.
OUTBOX_VIEWS = {"attention": service.ATTENTION, "sent": (OutboxStatus.SENT,)}


# Preferences --------------------------------------------------------------------------

@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    user = current_user._get_current_object()
    enabled, errors, status, saved = service.enabled_kinds(user), {}, 200, False
    if request.method == "POST":
        chosen = request.form.getlist("kinds")
        try:
            enabled, saved = service.set_preferences(db.session, user, chosen), True
        except ValidationFailed as failed:
            enabled, errors, status = [k for k in chosen if k in service.KINDS], failed.errors, 422
        if saved and not is_htmx():
            flash(_("Saved."), "success")
            return redirect(url_for(".preferences"))
    return page_or_fragment("notify/preferences.html", "notify/_preferences_form.html", status,
                            kinds=service.KINDS, enabled=enabled, errors=errors, saved=saved)


# The outbox ---------------------------------------------------------------------------

def _require_outbox_admin() -> None:
    if not can(current_user, Action.OUTBOX_MANAGE):
        abort(404)  # the page does not exist for anyone else


@bp.get("/admin/outbox")
@login_required
def outbox():
    _require_outbox_admin()
    show = request.args.get("show", "attention")
    if show not in OUTBOX_VIEWS:
        show = "attention"
    return page_or_fragment(
        "notify/outbox.html", "notify/_outbox_list.html",
        rows=service.outbox_rows(db.session, OUTBOX_VIEWS[show]), counts=service.outbox_counts(db.session),
        show=show, kinds=service.REASONS, statuses=service.STATUS_LABELS,
    )


@bp.post("/admin/outbox/<int:message_id>/retry")
@login_required
def retry(message_id: int):
    _require_outbox_admin()
    status, notice = 200, _("It will go out with the worker's next batch.")
    try:
        service.retry_now(db.session, message_id)
    except ValidationFailed as failed:
        status, notice = 409, "; ".join(str(m) for ms in failed.errors.values() for m in ms)
    if is_htmx():
        message, reference = service.outbox_row(db.session, message_id)
        return render_template("notify/_outbox_row.html", message=message, reference=reference, notice=notice,
                               kinds=service.REASONS, statuses=service.STATUS_LABELS), status
    flash(notice, "success" if status == 200 else "danger")
    return redirect(url_for(".outbox"))


# What the desk could not deliver ------------------------------------------------------

@bp.app_context_processor
def _undelivered_context() -> dict:
    """``desk_notice()`` for the navigation (counted once per request, only for whoever may
    see /undelivered) and ``ticket_messages(ticket)`` for the ticket page's messages panel."""
    def desk_notice() -> undelivered.Notice | None:
        if not current_user.is_authenticated or not can(current_user, Action.UNDELIVERED_VIEW):
            return None
        if "desk_notice" not in g:
            g.desk_notice = undelivered.notice(db.session)
        return g.desk_notice

    return {"desk_notice": desk_notice, "notice_cap": undelivered.NOTICE_CAP, "masked": undelivered.masked,
            "ticket_messages": lambda ticket: undelivered.for_ticket(db.session, ticket)}


def _require_undelivered() -> None:
    if not can(current_user, Action.UNDELIVERED_VIEW):
        abort(404)


UNDELIVERED_VIEWS = ("open", "handled")


@bp.get("/undelivered")
@login_required
def undelivered_list():
    _require_undelivered()
    show = request.args.get("show", "open")
    if show not in UNDELIVERED_VIEWS:
        show = "open"
    rows = undelivered.undelivered(db.session, handled=show == "handled")
    return page_or_fragment(
        "notify/undelivered.html", "notify/_undelivered_list.html",
        rows=rows, show=show, delayed=undelivered.delayed(db.session), kinds=service.REASONS,
        names=undelivered.names(db.session, [message for message, _ in rows]),
        delayed_hours=int(undelivered.DELAYED.total_seconds() // 3600),
    )


@bp.post("/undelivered/<int:message_id>/handled")
@login_required
def undelivered_handled(message_id: int):
    _require_undelivered()
    status, notice = 200, _("Marked handled.")
    try:
        undelivered.mark_handled(db.session, current_user, message_id)
    except ValidationFailed as failed:
        status, notice = 409, "; ".join(str(m) for ms in failed.errors.values() for m in ms)
    if is_htmx():
        message, reference = service.outbox_row(db.session, message_id)
        return render_template("notify/_undelivered_handled.html", message=message, reference=reference,
                               notice=notice, kinds=service.REASONS, show="open",
                               names=undelivered.names(db.session, [message])), status
    flash(notice, "success" if status == 200 else "danger")
    return redirect(url_for(".undelivered_list"))
