"""Saved replies: the keepers' screen (/replies) and the ticket reply box's picker."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from desk.errors import ValidationFailed
from desk.extensions import db
from desk.forms import DeskForm, optional_id
from desk.permissions import Action
from desk.replies import fill, service
from desk.replies.forms import SavedReplyForm
from desk.tickets import service as ticket_service
from desk.tickets.forms import CommentForm
from desk.tickets.page import context
from desk.tickets.workflow import require as require_on_ticket
from desk.web import current_locale, go_to, is_htmx, merge_errors, page_or_fragment, role_gate

bp = Blueprint("replies", __name__)
keepers = Blueprint("replies_admin", __name__, url_prefix="/replies")
role_gate(keepers, Action.REPLIES_MANAGE)


# The keepers' screen -------------------------------------------------------------------

@keepers.get("")
def index():
    return render_template("replies/index.html", replies=service.listing(db.session, current_user),
                           placeholders=service.PLACEHOLDERS)


def _form(reply=None) -> SavedReplyForm:
    if request.method == "GET":
        form = SavedReplyForm(obj=reply)
        form.department_id.data = str(reply.department_id or "") if reply is not None else ""
    else:
        form = SavedReplyForm()
    form.set_choices(service.scopes(db.session, current_user), current_locale())
    if request.method == "GET" and reply is None and form.department_id.choices:
        form.department_id.data = form.department_id.choices[0][0]
    return form


def _page(form, reply, status: int = 200):
    return page_or_fragment("replies/edit.html", "replies/_form.html", status, form=form, reply=reply,
                            placeholders=service.PLACEHOLDERS)


@keepers.route("/new", methods=["GET", "POST"])
def new():
    form = _form()
    return _page(form, None) if request.method == "GET" else _save(form, None)


@keepers.route("/<int:reply_id>", methods=["GET", "POST"])
def edit(reply_id: int):
    reply = service.get(db.session, current_user, reply_id)
    form = _form(reply)
    return _page(form, reply) if request.method == "GET" else _save(form, reply)


def _save(form: SavedReplyForm, reply):
    if form.validate_on_submit():
        data = service.ReplyData(title=form.title.data or "", body_ar=form.body_ar.data or "",
                                 body_en=form.body_en.data or "", department_id=optional_id(form.department_id.data))
        try:
            service.save(db.session, current_user, data, reply)
            return go_to(url_for("replies_admin.index"), _("Saved reply kept."))
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
    return _page(form, reply, 422)


@keepers.post("/<int:reply_id>/delete")
def delete(reply_id: int):
    reply = service.get(db.session, current_user, reply_id)
    if not DeskForm().validate_on_submit():  # the CSRF token
        return go_to(url_for("replies_admin.index"))
    service.delete(db.session, current_user, reply)
    return go_to(url_for("replies_admin.index"), _("Saved reply deleted."))


# The picker in a ticket's reply box ----------------------------------------------------

@bp.get("/tickets/<reference>/saved-replies")
@login_required
def picker(reference: str):
    """The replies the ticket offers whose words hold ``q``, each filled for the ticket: the
    listbox (htmx), or the ticket page with the list under the reply box (without script)."""
    ticket = ticket_service.get_ticket(db.session, current_user, reference)
    require_on_ticket(current_user, Action.TICKET_REPLY, ticket)
    query = (request.args.get("q") or "")[:200]
    options = [(reply, fill.fill(db.session, ticket, reply)) for reply in service.search(db.session, ticket, query)]
    if is_htmx():
        return render_template("tickets/_saved_replies.html", ticket=ticket, options=options, picker_q=query)
    return render_template("tickets/show.html", **context(ticket, picker_options=options, picker_q=query))


@bp.get("/tickets/<reference>/saved-replies/<int:reply_id>")
@login_required
def use(reference: str, reply_id: int):
    """Without script: the ticket page with the reply box holding the saved reply, filled, to
    edit before sending (the picker inserts it in place when script runs)."""
    ticket = ticket_service.get_ticket(db.session, current_user, reference)
    require_on_ticket(current_user, Action.TICKET_REPLY, ticket)
    reply = service.offered(db.session, ticket, reply_id)
    if reply is None:
        abort(404)
    form = CommentForm(formdata=None, version=ticket.version, body=fill.fill(db.session, ticket, reply),
                       visibility="reply")
    return render_template("tickets/show.html", **context(ticket, comment_form=form, used_replies=[reply.id]))
