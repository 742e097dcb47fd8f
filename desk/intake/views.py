from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from desk.beneficiaries import service as beneficiaries
from desk.beneficiaries.service import NewBeneficiary
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.intake import service
from desk.intake.forms import IntakeForm
from desk.intake.rules import RULES, Need, may_be_anonymous
from desk.models import Beneficiary, Channel
from desk.permissions import Action, can
from desk.tickets.service import active_departments
from desk.web import is_htmx

bp = Blueprint("intake", __name__)


def _render(form: IntakeForm, status: int = 200, results=None):
    chosen_id = form.selected_beneficiary_id()
    context = {
        "form": form,
        "rules": RULES,
        "rule": RULES.get(form.kind.data or ""),
        "chosen": db.session.get(Beneficiary, chosen_id) if chosen_id else None,
        "results": results,
        "anonymous_allowed": may_be_anonymous(form.kind.data or "", form.channel.data or ""),
        "no_national_id_kinds": " ".join(k for k, r in RULES.items() if r.national_id == Need.NEVER),
    }
    template = "intake/_form.html" if is_htmx() else "intake/new.html"
    return render_template(template, **context), status


def _data(form: IntakeForm) -> service.IntakeData:
    new = None
    if form.new_beneficiary_given and not form.selected_beneficiary_id():
        new = NewBeneficiary(
            name=form.b_name.data or "", national_id=getattr(form.b_national_id, "parsed", None),
            phone=getattr(form.b_phone, "parsed", None), email=form.b_email.data, city=form.b_city.data)
    meta = {"channel_ref": form.channel_ref.data.strip()} if (form.channel_ref.data or "").strip() else {}
    chosen = form.selected_beneficiary_id()
    return service.IntakeData(
        kind=form.kind.data, channel=form.channel.data, subject=form.subject.data or "",
        body=form.body.data or "",
        channel_detail=form.platform.data if form.channel.data == Channel.SOCIAL else None,
        priority=form.priority.data, beneficiary_id=form.selected_beneficiary_id(), new_beneficiary=new,
        anonymous=bool(form.anonymous.data), verified=bool(form.verified.data), attested=bool(form.attested.data),
        department_id=form.selected_department_id(), meta=meta,
        complete_national_id=getattr(form.chosen_national_id, "parsed", None) if chosen else None,
        confirm_new=bool(form.confirm_new.data),
    )


@bp.route("/tickets/new", methods=["GET", "POST"])
@login_required
def new():
    if not can(current_user, Action.TICKET_CREATE):
        abort(403)
    form = IntakeForm(departments=active_departments(db.session))
    if request.method == "GET":
        return _render(form)
    if request.form.get("action") == "search":  # the no-JavaScript beneficiary search
        return _render(form, results=beneficiaries.search(db.session, form.beneficiary_q.data or ""))
    if not form.validate_on_submit():
        # Still check the kind's rules, so every message shows at once.
        _, rule_errors = service.check(db.session, _data(form)) if form.kind.data and form.channel.data else (None, {})
        _merge(form, rule_errors)
        return _render(form, 422)
    try:
        ticket = service.create_ticket(db.session, current_user, _data(form))
    except ValidationFailed as failed:
        _merge(form, failed.errors)
        same_phone = getattr(form.b_phone, "parsed", None)
        # Offer the people already registered with that number, to choose instead of a duplicate.
        results = beneficiaries.find_by_phone(db.session, same_phone) if same_phone and "b_phone" in failed.errors else None
        return _render(form, 422, results=results)
    target = url_for("tickets.show", reference=ticket.reference)
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _merge(form: IntakeForm, errors: dict[str, list[str]]) -> None:
    for name, messages in errors.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.extend(messages)
        elif not field.errors:  # one problem at a time: a bad value is not also "missing"
            field.errors = list(messages)


@bp.get("/tickets/new/requirements")
@login_required
def requirements():
    """What the chosen kind needs, shown beside the form as the kind changes."""
    if not can(current_user, Action.TICKET_CREATE):
        abort(403)
    kind = request.args.get("kind", "")
    channel = request.args.get("channel", "")
    return render_template("intake/_requirements.html", rule=RULES.get(kind),
                           anonymous_allowed=may_be_anonymous(kind, channel))
