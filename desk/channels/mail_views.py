"""The mail quarantine (desk.channels.quarantine) in the desk: the admin's screen, where a held
message is taken as a ticket, attached to one or discarded, and the ticket page's unverified
messages, which staff accept or reject. Every action is a POST with its CSRF token; every
object is checked for the person acting (404 for what they may not see)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from desk.channels import quarantine
from desk.channels.inbound import Storage
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import Ticket
from desk.permissions import Action, can
from desk.tickets.service import get_ticket

bp = Blueprint("mail", __name__)


@bp.app_template_global()
def mail_quarantine_counts() -> dict[str, int]:
    """For the channel health page: the messages held, unverified and failing."""
    return quarantine.counts(db.session)


@bp.app_template_global()
def unverified_mail(ticket: Ticket) -> list:
    """For the ticket page: the messages waiting on it from an unverified sender, if the viewer
    may answer on it (they decide)."""
    if not can(current_user, Action.TICKET_REPLY, ticket):
        return []
    return quarantine.unverified_on(db.session, ticket)


@bp.app_template_global()
def opened_by_unverified_mail(ticket: Ticket) -> bool:
    return quarantine.opened_unverified(db.session, ticket)


@bp.app_template_global()
def quarantine_text(row) -> str:
    """A quarantined message's readable text, plain (the template escapes it)."""
    return quarantine.text_of(row)


def _storage() -> Storage:
    return Storage.from_config(db.session, current_app.config)


def _page(errors: dict[int, dict[str, list[str]]] | None = None, typed: dict[int, str] | None = None, status: int = 200):
    rows = quarantine.held(db.session)
    return render_template("channels/quarantine.html", rows=rows, counts=quarantine.counts(db.session), errors=errors or {}, typed=typed or {},
                           active="channels"), status


@bp.get("/admin/mail-quarantine")
@login_required
def held():
    if not can(current_user, Action.CHANNELS_VIEW):
        abort(404)
    return _page()


@bp.post("/admin/mail-quarantine/<int:row_id>/take")
@login_required
def take(row_id: int):
    ticket = quarantine.take(db.session, current_user, row_id, _storage())
    flash(_("The message is now the ticket %(reference)s.", reference=ticket.reference), "success")
    return redirect(url_for("mail.held"))


@bp.post("/admin/mail-quarantine/<int:row_id>/attach")
@login_required
def attach(row_id: int):
    reference = request.form.get("reference", "").strip()[:40]
    try:
        ticket = quarantine.attach(db.session, current_user, row_id, reference, _storage())
    except ValidationFailed as failed:
        return _page({row_id: failed.errors}, {row_id: reference}, 422)
    flash(_("The message was added to the ticket %(reference)s.", reference=ticket.reference), "success")
    return redirect(url_for("mail.held"))


@bp.post("/admin/mail-quarantine/<int:row_id>/discard")
@login_required
def discard(row_id: int):
    quarantine.throw_away(db.session, current_user, row_id)
    flash(_("The message was discarded."), "success")
    return redirect(url_for("mail.held"))


@bp.post("/tickets/<reference>/unverified-mail/<int:row_id>/<decision>")
@login_required
def decide(reference: str, row_id: int, decision: str):
    ticket = get_ticket(db.session, current_user, reference)
    if decision == "accept":
        quarantine.accept(db.session, current_user, ticket, row_id, _storage())
        flash(_("The message was added to the ticket."), "success")
    elif decision == "reject":
        quarantine.reject(db.session, current_user, ticket, row_id)
        flash(_("The message was rejected."), "success")
    else:
        abort(404)
    return redirect(url_for("tickets.show", reference=ticket.reference))
