"""The compensation claim panel on a compensation ticket's page: assess a condition, add to
the negotiation log, propose an amount or remedy, and the general manager's decision."""
from __future__ import annotations

from flask import Blueprint, abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from desk import error_pages
from desk.compensation import service
from desk.compensation.forms import CompensationForm
from desk.extensions import db
from desk.models import Kind
from desk.tickets import service as tickets
from desk.tickets.page import Panel, run_step, step_again

bp = Blueprint("compensation", __name__)


@bp.app_context_processor
def _compensation_state():
    """``compensation_claim(ticket)`` and ``compensation_evidence(ticket)`` for the panel."""
    return {"compensation_claim": lambda ticket: service.claim_of(db.session, ticket),
            "compensation_evidence": lambda ticket: service.evidence_choices(db.session, ticket),
            "compensation_measures": lambda ticket: service.measures_of(db.session, ticket)}


# name in the URL -> the service call, given the ticket, the form and the version the user saw.
STEPS = {
    "assess": lambda t, f, v: service.assess(db.session, current_user, t, f.number.data, f.state.data, f.note.data,
                                             f.evidence.data, f.evidence_kind.data, expected_version=v),
    "note": lambda t, f, v: service.add_note(db.session, current_user, t, f.text.data),
    "propose": lambda t, f, v: service.propose(db.session, current_user, t, f.amount.data, f.remedy.data,
                                               expected_version=v),
    "measure": lambda t, f, v: service.add_measure(db.session, current_user, t, f.measure.data, f.taken_on.data,
                                                   f.until.data),
    "decide": lambda t, f, v: service.decide(db.session, current_user, t, f.decision.data, f.decision_note.data,
                                             expected_version=v),
}

DONE = {
    "assess": _l("The condition is recorded."),
    "note": _l("The negotiation note is recorded."),
    "propose": _l("The proposal is recorded: it awaits the general manager."),
    "decide": _l("The general manager's decision is recorded."),
    "measure": _l("The interim measure is recorded."),
}


PANEL = Panel(answer="compensation/_after.html", open="compensation_open", typed="compensation_typed",
              errors="compensation_errors", conflict="compensation_conflict", done="compensation_done")


@bp.post("/tickets/<reference>/compensation/<name>")
@error_pages.form_page(step_again(PANEL, CompensationForm), CompensationForm)
@login_required
def step(reference: str, name: str):
    """One step on the claim (desk.tickets.page.run_step): htmx answers with the claim panel,
    the header, properties, actions and timeline out of band."""
    ticket = tickets.get_ticket(db.session, current_user, reference)
    if name not in STEPS or ticket.kind != Kind.COMPENSATION:
        abort(404)
    form = CompensationForm()
    if not form.validate_on_submit():
        abort(400)
    return run_step(PANEL, ticket, name, STEPS[name], form, DONE[name])
