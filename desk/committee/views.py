"""The research committee's screens: the list of support requests awaiting it, its panel on
the ticket page (refer, decide, service delivered) and the printable notice for the beneficiary."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from desk import error_pages
from desk.committee import service
from desk.committee.forms import CommitteeForm
from desk.extensions import db
from desk.models import Kind
from desk.permissions import Action, can
from desk.tickets import service as tickets
from desk.tickets.page import Panel, run_step, step_again

bp = Blueprint("committee", __name__)


@bp.app_context_processor
def _committee_state():
    """``committee_state(ticket)`` for the panel included from the ticket page."""
    return {"committee_state": lambda ticket: service.state(db.session, ticket)}


@bp.get("/committee")
@login_required
def index():
    if not can(current_user, Action.COMMITTEE_VIEW):
        abort(404)
    return render_template("committee/index.html", awaiting=service.awaiting(db.session, current_user),
                           decided=service.decided(db.session, current_user))


# name in the URL -> the service call, given the ticket, the form and the version the user saw.
STEPS = {
    "refer": lambda t, f, v: service.refer(db.session, current_user, t, f.note.data, expected_version=v),
    "decide": lambda t, f, v: service.decide(db.session, current_user, t, f.decision.data, f.reasons.data,
                                             f.service.data, expected_version=v),
    "deliver": lambda t, f, v: service.deliver(db.session, current_user, t, f.note.data, expected_version=v),
}

DONE = {
    "refer": _l("The request is referred to the research committee."),
    "decide": _l("The committee's decision is recorded."),
    "deliver": _l("The service is recorded as delivered."),
}


PANEL = Panel(answer="tickets/_after_committee.html", open="committee_open", typed="committee_typed",
              errors="committee_errors", conflict="committee_conflict", done="committee_done")


@bp.post("/tickets/<reference>/committee/<name>")
@error_pages.form_page(step_again(PANEL, CommitteeForm), CommitteeForm)
@login_required
def step(reference: str, name: str):
    """One committee step (desk.tickets.page.run_step): htmx answers with the committee panel,
    the header, properties, actions and timeline out of band."""
    ticket = tickets.get_ticket(db.session, current_user, reference)
    if name not in STEPS:
        abort(404)
    form = CommitteeForm()
    if not form.validate_on_submit():
        abort(400)
    return run_step(PANEL, ticket, name, STEPS[name], form, DONE[name])


@bp.get("/tickets/<reference>/committee-notice")
@login_required
def notice(reference: str):
    """The printable notice for the beneficiary (handling step 5): Arabic, whatever the reader's language."""
    ticket = tickets.get_ticket(db.session, current_user, reference)
    if ticket.kind != Kind.SUPPORT:
        abort(404)
    expected = service.expected_decision(ticket, session=db.session)
    with force_locale("ar"):
        return render_template("committee/notice.html", ticket=ticket, expected=expected)
