"""Notification preferences (every user) and the outbox admin page (administrators)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import OutboxStatus
from desk.notify import service
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
