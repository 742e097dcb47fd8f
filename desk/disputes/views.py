"""The amicable settlement panel on a dispute ticket's page (desk.disputes.service)."""
from __future__ import annotations

from flask import Blueprint, abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from desk import error_pages
from desk.disputes import service
from desk.disputes.forms import SettlementForm
from desk.extensions import db
from desk.models import Kind
from desk.tickets import service as tickets
from desk.tickets.page import Panel, run_step, step_again

bp = Blueprint("disputes", __name__)


@bp.app_context_processor
def _dispute_state():
    """``settlement_attempts(ticket)`` and ``settlement_agreements(ticket)`` for the panel."""
    return {"settlement_attempts": lambda ticket: service.attempts_of(db.session, ticket),
            "settlement_agreements": lambda ticket: service.agreement_choices(db.session, ticket)}


STEPS = {
    "attempt": lambda t, f, v: service.record_attempt(
        db.session, current_user, t, attempted_on=f.attempted_on.data, parties=f.parties.data,
        outcome=f.outcome.data, referred_to=f.referred_to.data, agreement_id=f.agreement_id.data,
        agreement_ref=f.agreement_ref.data, note=f.note.data, expected_version=v),
}
DONE = {"attempt": _l("The attempt at amicable settlement is recorded.")}

PANEL = Panel(answer="disputes/_after.html", open="settlement_open", typed="settlement_typed",
              errors="settlement_errors", conflict="settlement_conflict", done="settlement_done")


@bp.post("/tickets/<reference>/settlement/<name>")
@error_pages.form_page(step_again(PANEL, SettlementForm), SettlementForm)
@login_required
def step(reference: str, name: str):
    """One step on the dispute (desk.tickets.page.run_step): htmx answers with the settlement
    panel, the header, properties, actions and timeline out of band. A ticket one may not see
    is a 404 (get_ticket); one that is not a dispute too."""
    ticket = tickets.get_ticket(db.session, current_user, reference)
    if name not in STEPS or ticket.kind != Kind.DISPUTE:
        abort(404)
    form = SettlementForm()
    if not form.validate_on_submit():
        abort(400)
    return run_step(PANEL, ticket, name, STEPS[name], form, DONE[name])
