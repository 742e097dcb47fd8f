"""Tags on the ticket page (added and removed inline: htmx, or a plain form post) and the
admin's tag list (rename, recolour, delete)."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from desk.errors import ValidationFailed
from desk.extensions import db
from desk.permissions import Action
from desk.permissions import require as require_action
from desk.tags import service
from desk.tickets import service as tickets
from desk.tickets.page import context
from desk.web import go_to, is_htmx, page_or_fragment, reader_number

bp = Blueprint("tags", __name__)


def _answer(ticket, status: int = 200, **extra):
    """The tags panel with the timeline out of band (htmx), or back to the ticket page."""
    if is_htmx():
        return render_template("tickets/_after_tags.html", **context(ticket, **extra)), status
    if status != 200:
        return render_template("tickets/show.html", **context(ticket, **extra)), status
    return redirect(url_for("tickets.show", reference=ticket.reference))


@bp.post("/tickets/<reference>/tags")
@login_required
def add(reference: str):
    ticket = tickets.get_ticket(db.session, current_user, reference)
    typed = request.form.get("tag", "")
    try:
        service.add(db.session, current_user, ticket, typed)
    except ValidationFailed as failed:
        return _answer(ticket, 422, tag_typed=typed, tag_errors=failed.errors.get("tag", []))
    return _answer(ticket)


@bp.post("/tickets/<reference>/tags/<int:tag_id>/remove")
@login_required
def remove(reference: str, tag_id: int):
    ticket = tickets.get_ticket(db.session, current_user, reference)
    service.remove(db.session, current_user, ticket, tag_id)
    return _answer(ticket)


# The admin's -------------------------------------------------------------------------------

def _admin_page(status: int = 200, **extra):
    return page_or_fragment("tags/admin.html", "tags/_admin_list.html", status,
                            tags=service.all_tags(db.session), palette=service.PALETTE, **extra)


@bp.get("/admin/tags")
@login_required
def admin():
    require_action(current_user, Action.ADMIN_MANAGE)
    return _admin_page()


@bp.post("/admin/tags/<int:tag_id>")
@login_required
def edit(tag_id: int):
    require_action(current_user, Action.ADMIN_MANAGE)
    try:
        service.edit(db.session, current_user, tag_id, request.form.get("name"), request.form.get("colour"))
    except ValidationFailed as failed:
        return _admin_page(422, editing=tag_id, typed=request.form, errors=failed.errors)
    return go_to(url_for("tags.admin"), _("Tag saved."))


@bp.post("/admin/tags/<int:tag_id>/delete")
@login_required
def delete(tag_id: int):
    require_action(current_user, Action.ADMIN_MANAGE)
    used = service.remove_tag(db.session, current_user, tag_id)
    return go_to(url_for("tags.admin"), _("Tag deleted; tickets that carried it: %(n)s.", n=reader_number(used)))
