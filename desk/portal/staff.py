"""The satisfaction survey on the ticket page: the answer, and for a visit or phone ticket the
form staff fill in on the beneficiary's behalf (desk.portal.satisfaction)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from desk.errors import ValidationFailed
from desk.extensions import db
from desk.permissions import Action, can
from desk.portal import satisfaction
from desk.portal.forms import SurveyForm
from desk.tickets import service as tickets
from desk.web import is_htmx, merge_errors

bp = Blueprint("satisfaction", __name__)


@bp.app_context_processor
def _survey_panel():
    """``survey_of(ticket)`` for templates/tickets/_satisfaction.html."""
    def survey_of(ticket):
        answer = satisfaction.for_ticket(db.session, ticket)
        may_record = (satisfaction.open_for_answers(ticket) and ticket.channel in satisfaction.STAFF_CHANNELS
                      and can(current_user, Action.SATISFACTION_RECORD, ticket)
                      and (answer is None or (answer.source == "staff" and satisfaction.editable(answer))))
        return {"answer": answer, "may_record": may_record, "open": satisfaction.open_for_answers(ticket)}
    def reply_route_of(ticket):
        """(channel, address) a public reply goes to (the channel they wrote from), or None."""
        from desk.channels.service import route
        from desk.notify.service import beneficiary_email
        routed = route(db.session, ticket)
        if routed is not None and routed[1]:
            return routed[0], routed[1]
        address = beneficiary_email(ticket)
        if address:
            return "email", address
        from desk.channels import sms
        from desk.notify.service import beneficiary_phone
        phone = beneficiary_phone(ticket)
        return ("sms", phone) if phone and sms.enabled() else None
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
        from desk.tickets.views import _context  # the ticket page's context, one definition
        context = {**_context(ticket), "survey_form": form}
        template = "tickets/_satisfaction.html" if is_htmx() else "tickets/show.html"
        return render_template(template, **context), 422
    if is_htmx():
        from desk.tickets.views import _context
        return render_template("tickets/_satisfaction.html", **_context(ticket), survey_saved=True)
    flash(_("The beneficiary's answer is recorded."), "success")
    return redirect(url_for("tickets.show", reference=ticket.reference) + "#ticket-satisfaction", 303)
