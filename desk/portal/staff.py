"""The satisfaction survey on the ticket page: the answer, and for a visit or phone ticket the
form staff fill in on the beneficiary's behalf (desk.portal.satisfaction)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from desk.errors import ValidationFailed
from desk.extensions import db
from desk.notify import service as notify_service
from desk.permissions import Action, can
from desk.portal import links, satisfaction
from desk.portal.forms import SurveyForm
from desk.tickets import service as tickets
from desk.tickets.page import context
from desk.web import is_htmx, merge_errors

bp = Blueprint("satisfaction", __name__)


@bp.app_context_processor
def _survey_panel():
    """``survey_of(ticket)`` for templates/tickets/_satisfaction.html."""
    def survey_of(ticket):
        answer = links.survey_answer(db.session, ticket)
        may_record = (satisfaction.open_for_answers(ticket) and ticket.channel in satisfaction.STAFF_CHANNELS
                      and can(current_user, Action.SATISFACTION_RECORD, ticket)
                      and (answer is None or (answer.source == "staff" and satisfaction.editable(answer))))
        return {"answer": answer, "may_record": may_record, "open": satisfaction.open_for_answers(ticket)}
    def reply_route_of(ticket):
        return notify_service.reply_route(db.session, ticket)
    return {"survey_of": survey_of, "reply_route_of": reply_route_of}


@bp.post("/tickets/<reference>/satisfaction")
@login_required
def record(reference: str):
    ticket = tickets.get_ticket(db.session, current_user, reference)
    form = SurveyForm()
    try:
        if not form.validate():
            raise ValidationFailed({})
        satisfaction.record(db.session, ticket, satisfaction.Answer(
            rating=form.rating.data, solved={"yes": True, "no": False}.get(form.solved.data),
            comment=form.comment.data or ""), actor=current_user)
    except ValidationFailed as failed:
        merge_errors(form, failed.errors)
        page = context(ticket, survey_form=form)
        return render_template("tickets/_satisfaction.html" if is_htmx() else "tickets/show.html", **page), 422
    if is_htmx():
        return render_template("tickets/_satisfaction.html", **context(ticket, survey_saved=True))
    flash(_("The beneficiary's answer is recorded."), "success")
    return redirect(url_for("tickets.show", reference=ticket.reference) + "#ticket-satisfaction", 303)
