"""The research committee's screens: the list of support requests awaiting it, its panel on
the ticket page (refer, decide, service delivered) and the printable notice for the beneficiary."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import force_locale, lazy_gettext as _l
from flask_login import current_user, login_required

from desk.committee import service
from desk.committee.forms import CommitteeForm
from desk.errors import StaleVersion, ValidationFailed
from desk.extensions import db
from desk.models import Kind
from desk.permissions import Action, can
from desk.tickets import service as tickets
from desk.tickets.views import _context, _version
from desk.web import is_htmx

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


@bp.post("/tickets/<reference>/committee/<name>")
@login_required
def step(reference: str, name: str):
    """htmx: the committee panel (header, properties, actions and timeline out of band);
    otherwise back to the ticket page. Refused: the form again, open, with what was typed."""
    ticket = tickets.get_ticket(db.session, current_user, reference)
    if name not in STEPS:
        abort(404)
    form = CommitteeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        STEPS[name](ticket, form, _version(form.version.data))
    except StaleVersion as stale:
        return _refused(ticket, name, form, {}, 409, conflict=stale)
    except ValidationFailed as failed:
        db.session.rollback()
        return _refused(ticket, name, form, failed.errors, 422)
    if is_htmx():
        return render_template("tickets/_after_committee.html", **_context(ticket), committee_done=DONE[name])
    flash(DONE[name], "success")
    return redirect(url_for("tickets.show", reference=ticket.reference))


def _refused(ticket, name, form, errors, status, conflict=None):
    context = _context(ticket) | {"committee_open": name, "committee_typed": form.typed(),
                                  "committee_errors": errors, "committee_conflict": conflict}
    if is_htmx():
        return render_template("tickets/_after_committee.html", **context), status
    return render_template("tickets/show.html", **context), status


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
