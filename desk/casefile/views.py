"""The case file of a ticket, printed for the applicant to sign (R17); a beneficiary's
registration panel (R21), on their page and beside the ticket; the admin's requirements per
kind of request."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from desk.beneficiaries.views import record_page
from desk.casefile import service
from desk.casefile.forms import RegistrationForm, RequirementForm
from desk.casefile.page import registration_context
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import Beneficiary, utcnow
from desk.permissions import Action
from desk.permissions import require as require_action
from desk.portal import profile
from desk.privacy import service as privacy
from desk.privacy.forms import NoteForm
from desk.tickets import service as tickets
from desk.tickets.receipt import receipt_context
from desk.web import go_to, is_htmx, merge_errors

bp = Blueprint("casefile", __name__)


@bp.get("/tickets/<reference>/casefile")
@login_required
def casefile(reference: str):
    """The A4 case file (ملف الحالة): the requester's data masked, the request, and the
    attestation in the policy's words with a name, signature and date line; in the language
    the requester used (``?lang=`` for the other), as the receipt."""
    ticket = tickets.get_ticket(db.session, current_user, reference)
    if ticket.anonymous:
        abort(404)
    lang = request.args.get("lang") or (ticket.meta or {}).get("locale") or "ar"
    lang = lang if lang in current_app.config["DESK_LANGUAGES"] else "ar"
    row = profile.get(db.session, current_app.config)
    logo = url_for("portal.logo") if getattr(row, "logo_stored_name", None) else None
    with force_locale(lang):
        return render_template("casefile/print.html", **receipt_context(db.session, ticket), lang=lang, logo=logo,
                               contact=(ticket.meta or {}).get("contact") or {}, policy_text=service.POLICY_ATTESTATION, now=utcnow())


# Registration ----------------------------------------------------------------------------------

def _panel(person: Beneficiary, form: RegistrationForm | None = None, status: int = 200, done: str = ""):
    return render_template("casefile/_registration.html", **registration_context(person, form, done)), status


@bp.get("/beneficiaries/<int:beneficiary_id>/registration")
@login_required
def registration(beneficiary_id: int):
    """The registration panel (htmx, beside a ticket); as a page, the beneficiary's record."""
    person = privacy.get(db.session, current_user, beneficiary_id)
    if not is_htmx():
        return redirect(url_for("beneficiaries.show", beneficiary_id=person.id) + "#registration")
    return _panel(person)


@bp.post("/beneficiaries/<int:beneficiary_id>/registration")
@login_required
def register(beneficiary_id: int):
    person = privacy.get(db.session, current_user, beneficiary_id, Action.BENEFICIARY_REGISTER)
    form = RegistrationForm()
    if not form.validate_on_submit():  # only the CSRF token or a control character fails here
        return _refused(person, form)
    try:
        service.change_registration(db.session, current_user, person, form.state.data, form.file_number.data,
                                    form.override.data)
    except ValidationFailed as failed:
        merge_errors(form, failed.errors)
        return _refused(person, form)
    done = _("Registration saved.")
    if is_htmx():
        return _panel(person, done=done)
    return go_to(url_for("beneficiaries.show", beneficiary_id=person.id) + "#registration", done)


def _refused(person: Beneficiary, form: RegistrationForm):
    if is_htmx():
        return _panel(person, form, 422)
    return record_page(person, NoteForm(formdata=None), 422, registration_form=form)


# The admin's requirements per kind of request ----------------------------------------------------

@bp.route("/admin/requirements", methods=["GET", "POST"])
@login_required
def requirements():
    """Per kind of request: whether the applicant's attestation is required (a tick, or the
    signed case file scanned), and the documents that complete registration."""
    require_action(current_user, Action.ADMIN_MANAGE)
    errors: dict = {}
    typed: dict = {}
    if request.method == "POST":
        form = RequirementForm()
        kind = request.form.get("kind", "")
        if form.validate_on_submit():
            try:
                service.set_requirement(db.session, current_user, kind, form.attestation.data, form.documents.data or [])
            except ValidationFailed as failed:
                errors = failed.errors
            else:
                return go_to(url_for("casefile.requirements") + f"#kind-{kind}", _("Requirements saved."))
        else:  # a control character refused (desk.input_guard) or the CSRF token
            errors = {"form": [m for ms in form.errors.values() for m in ms] + list(form.form_errors)}
        typed = {kind: {"attestation": form.attestation.data, "documents": form.documents.data or []}}
    return render_template("casefile/requirements.html", rules=service.requirements(db.session), errors=errors,
                           typed=typed), 422 if errors else 200


@bp.app_context_processor
def _attestation_rule():
    """For the ticket page: the admin's rule for the ticket's kind and its signed scan (the
    Handling panel), the beneficiary's registration panel beside it."""
    return {"attestation_mode_of": lambda ticket: service.requirement(db.session, ticket.kind).attestation,
            "signed_scan_of": lambda ticket: service.signed_scan(db.session, ticket),
            "registration_of": registration_context}
