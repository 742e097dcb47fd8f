"""/followup: the departments' open work for intake staff, supervisors and admins, and the nudge."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from desk.errors import Forbidden, StaleVersion, ValidationFailed
from desk.extensions import db
from desk.followup import service
from desk.followup.forms import NudgeForm
from desk.permissions import Action, can
from desk.tickets.views import reminder_outcome
from desk.web import is_htmx, page_or_fragment

bp = Blueprint("followup", __name__)


def _authorise() -> None:
    if not can(current_user, Action.FOLLOWUP_VIEW):
        raise Forbidden(_("Only intake staff, supervisors and administrators follow up the departments."))


def _render(status: int = 200, messages: dict | None = None):
    return page_or_fragment("followup/index.html", "followup/_board.html", status,
                            rows=service.board(db.session, current_user), messages=messages or {})


@bp.get("/followup")
@login_required
def index():
    _authorise()
    return _render()


@bp.post("/followup/<int:department_id>/nudge")
@login_required
def nudge(department_id: int):
    """Remind the department's focal points about its oldest ticket awaiting it. htmx: the
    board again, with the outcome beside the department (how many were emailed); otherwise
    back to the board. A refusal or a conflict re-renders the board with the message."""
    _authorise()
    form = NudgeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        nudged = service.nudge_department(db.session, current_user, department_id, form.note.data)
    except StaleVersion:  # the ticket changed while the reminder was being recorded
        text = _("The ticket changed while the reminder was being recorded, so it was not sent. "
                 "The board below is up to date: remind again if still needed.")
        return _render(409, {department_id: ("danger", text)})
    except ValidationFailed as failed:
        text = " ".join(str(m) for ms in failed.errors.values() for m in ms)
        return _render(422, {department_id: ("danger", text)})
    done = _("About %(reference)s: %(outcome)s", reference=nudged.ticket.reference,
             outcome=reminder_outcome(nudged.notified))
    if is_htmx():
        return _render(messages={department_id: ("success", done)})
    flash(done, "success")
    return redirect(url_for(".index"))

