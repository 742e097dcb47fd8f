from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from desk import error_pages
from desk.admin import service as admin_service
from desk.beneficiaries import service as beneficiaries
from desk.beneficiaries.service import NewBeneficiary
from desk.casefile import service as casefile
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.intake import service
from desk.intake.forms import AS_PROPOSED, IntakeForm
from desk.intake.rules import RULES, Need, may_be_anonymous
from desk.models import ORGANISATIONS, Beneficiary, Channel
from desk.permissions import Action, can
from desk.routing import service as routing
from desk.submissions import AlreadyTaken, Kind, first
from desk.tickets.service import active_departments
from desk.web import current_locale, go_to, is_htmx, posted_once

bp = Blueprint("intake", __name__)


def _categories(kind: str | None):
    """The active categories of the kind; before a kind is chosen, all of them (labelled with
    their kind), so the form works without JavaScript too. The service checks the pair."""
    return admin_service.categories(db.session, kind or None, active_only=True)


def _form(formdata=None) -> IntakeForm:
    """The intake form; its category choices follow the kind typed so far."""
    source = formdata if formdata is not None else request.form
    kwargs = {"formdata": formdata, "meta": {"csrf": False}} if formdata is not None else {}
    return IntakeForm(departments=active_departments(db.session), categories=_categories(source.get("kind")), **kwargs)


def _proposal(form: IntakeForm):
    """What the routing rules propose for the form as typed (None until kind and channel are chosen)."""
    if not form.kind.data or not form.channel.data:
        return None
    return routing.propose(db.session, form.kind.data, form.channel.data, form.selected_category_id(),
                           form.subject.data or "", form.body.data or "")


def _label_proposal(form: IntakeForm, proposal) -> None:
    """The "as proposed" option names what it means, so the choice is clear without JavaScript."""
    if proposal is None:
        return
    label = (_("As proposed: %(name)s", name=proposal.department.name(current_locale())) if proposal.department
             else _("As proposed: stays in the shared queue (unrouted)"))
    form.department_id.choices[0] = SelectChoice(AS_PROPOSED, label)


def _render(form: IntakeForm, status: int = 200, results=None, near=None):
    chosen_id = form.selected_beneficiary_id()
    proposal = _proposal(form)
    _label_proposal(form, proposal)
    context = {
        "proposal": proposal,
        "form": form,
        "rules": casefile.intake_rules(db.session),
        "rule": casefile.intake_rule(db.session, form.kind.data or ""),
        "chosen": db.session.get(Beneficiary, chosen_id) if chosen_id else None,
        "results": results,
        "near": near or [],
        "anonymous_allowed": may_be_anonymous(form.kind.data or "", form.channel.data or ""),
        "no_national_id_kinds": " ".join(k for k, r in RULES.items() if r.national_id == Need.NEVER),
        "organisations": sorted(ORGANISATIONS),
    }
    template = "intake/_form.html" if is_htmx() else "intake/new.html"
    return render_template(template, **context), status


def _data(form: IntakeForm) -> service.IntakeData:
    new = None
    if form.new_beneficiary_given and not form.selected_beneficiary_id():
        new = NewBeneficiary(
            name=form.b_name.data or "", national_id=getattr(form.b_national_id, "parsed", None),
            phone=getattr(form.b_phone, "parsed", None), email=form.b_email.data, city=form.b_city.data,
            landline=getattr(form.b_landline, "parsed", None), id_type=form.b_id_type.data or None,
            id_document=getattr(form.b_national_id, "document", None),
            requester_kind=form.b_requester_kind.data or "person",
            commercial_registration=getattr(form.b_commercial_registration, "parsed", None),
            unified_number=getattr(form.b_unified_number, "parsed", None),
            contact_name=form.b_contact_name.data)
    meta = {"channel_ref": form.channel_ref.data.strip()} if (form.channel_ref.data or "").strip() else {}
    meta["locale"] = form.locale.data if form.locale.data in ("ar", "en") else "ar"
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
        category_id=form.selected_category_id(), department_as_proposed=form.department_as_proposed,
        # A form that did not offer the box (an older page still open) sends the receipt.
        send_receipt=bool(form.send_receipt.data) or not request.form.get("receipt_offered"),
        no_receipt_reason=form.no_receipt_reason.data or "",
    )


def _again():
    """The form as typed, when the ticket could not be saved (desk.error_pages: 503)."""
    if not can(current_user, Action.TICKET_CREATE):
        abort(403)
    return _render(_form(), 503)


@bp.route("/tickets/new", methods=["GET", "POST"])
@error_pages.form_page(_again, IntakeForm)
@login_required
def new():
    if not can(current_user, Action.TICKET_CREATE):
        abort(403)
    form = _form() if request.method == "POST" else IntakeForm(departments=active_departments(db.session),
                                                                 categories=_categories(None))
    if request.method == "GET":
        return _render(form)
    if request.form.get("action") == "search":  # the no-JavaScript beneficiary search
        typed = form.beneficiary_q.data or ""
        found = beneficiaries.search_people(db.session, typed)
        return _render(form, results=found, near=[] if found else beneficiaries.near_matches(db.session, typed))
    once = posted_once(Kind.INTAKE)
    answered = first(db.session, once)
    if answered is not None and answered.ticket is not None:  # saved already (a double click, a retry)
        return go_to(url_for("tickets.show", reference=answered.ticket.reference))
    if not form.validate_on_submit():
        # Still check the kind's rules, so every message shows at once.
        _, rule_errors = service.check(db.session, _data(form)) if form.kind.data and form.channel.data else (None, {})
        _merge(form, rule_errors)
        return _render(form, 422)
    try:
        ticket = service.create_ticket(db.session, current_user, _data(form), once=once)
    except AlreadyTaken:  # the same form, sent at the same moment, was saved by the other request
        answered = first(db.session, once)
        if answered is None or answered.ticket is None:
            raise
        return go_to(url_for("tickets.show", reference=answered.ticket.reference))
    except ValidationFailed as failed:
        _merge(form, failed.errors)
        same_phone = getattr(form.b_phone, "parsed", None)
        # Offer the people already registered with that number, to choose instead of a duplicate.
        results = beneficiaries.find_by_phone(db.session, same_phone) if same_phone and "b_phone" in failed.errors else None
        return _render(form, 422, results=results)
    return go_to(url_for("tickets.show", reference=ticket.reference))


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
    return render_template("intake/_requirements.html", rule=casefile.intake_rule(db.session, kind),
                           anonymous_allowed=may_be_anonymous(kind, channel))


@bp.get("/tickets/new/routing")
@login_required
def routing_proposal():
    """The category choices of the kind, the department the rules propose and the department
    select (kept as chosen), refreshed as staff type: nothing is saved."""
    if not can(current_user, Action.TICKET_CREATE):
        abort(403)
    form = _form(request.args)
    proposal = _proposal(form)
    _label_proposal(form, proposal)
    return render_template("intake/_routing.html", form=form, proposal=proposal)
