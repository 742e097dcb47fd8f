"""A beneficiary's requests about their data, from their record page, and the retention
periods (an admin screen). Everyone without the permission gets 404: for them these pages do
not exist."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from desk import labels
from desk.beneficiaries.views import record_page
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.forms import optional_id
from desk.models import Kind
from desk.permissions import Action, require
from desk.privacy import export as exporting
from desk.privacy import reveal as revealing
from desk.privacy import service, trail
from desk.privacy.forms import CorrectionForm, ErasureForm, NoteForm, RetentionForm, RevealForm
from desk.web import go_to, is_htmx, merge_errors, page_or_fragment

bp = Blueprint("privacy", __name__)


def _attachment_dir() -> str:
    return current_app.config["DESK_ATTACHMENT_DIR"]


@bp.post("/beneficiaries/<int:beneficiary_id>/privacy/export")
@login_required
def export(beneficiary_id: int):
    """Everything held about them, as one zip archive (recorded once complete)."""
    person = service.get(db.session, current_user, beneficiary_id, Action.SUBJECT_REQUEST)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            archive, filename = exporting.export(db.session, current_user, beneficiary_id, form.note.data,
                                                 _attachment_dir())
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            response = send_file(archive, mimetype="application/zip", as_attachment=True, download_name=filename,
                                 max_age=0)
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response
    return record_page(person, form, 422)


@bp.route("/beneficiaries/<int:beneficiary_id>/reveal/<field>", methods=["GET", "POST"])
@login_required
def reveal(beneficiary_id: int, field: str):
    """A full national ID or mobile number, shown once a reason is given (recorded with it).
    From a ticket (``ticket``: its reference) or the record; GET asks the reason (``masked``:
    the masked value again, when the question is cancelled)."""
    reference = (request.values.get("ticket") or "")[:40] or None
    found = revealing.target(db.session, current_user, beneficiary_id, field, reference)
    context: dict[str, Any] = {"found": found, "reference": reference, "value": None}
    if request.method == "GET" and request.args.get("masked"):
        return render_template("privacy/_reveal_masked.html", **context)
    prefix = f"reveal-{field}"
    if request.method == "GET":
        form = RevealForm(formdata=None, prefix=prefix, reason=request.args.get("reason", ""))
        return page_or_fragment("privacy/reveal.html", "privacy/_reveal.html", form=form, **context)
    form = RevealForm(prefix=prefix)
    if form.validate():
        try:
            context["value"] = revealing.reveal(db.session, current_user, found, form.reason.data, form.why.data)
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
    status = 200 if context["value"] else 422
    return page_or_fragment("privacy/reveal.html", "privacy/_reveal.html", status, form=form, **context)


@bp.route("/beneficiaries/<int:beneficiary_id>/privacy/correct", methods=["GET", "POST"])
@login_required
def correct(beneficiary_id: int):
    person = service.get(db.session, current_user, beneficiary_id, Action.SUBJECT_REQUEST)
    form = CorrectionForm(formdata=None, field=request.args.get("field", "")) if request.method == "GET" \
        else CorrectionForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            service.correct(db.session, current_user, beneficiary_id, form.field.data or "", form.value.data or "",
                            form.note.data)
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("beneficiaries.show", beneficiary_id=beneficiary_id),
                         _("Corrected. The old and new values are in the audit trail."))
    status = 422 if request.method == "POST" else 200
    return render_template("privacy/correct.html", person=person, form=form), status


@bp.route("/beneficiaries/<int:beneficiary_id>/privacy/erase", methods=["GET", "POST"])
@login_required
def erase(beneficiary_id: int):
    person = service.get(db.session, current_user, beneficiary_id, Action.SUBJECT_REQUEST)
    form = ErasureForm(formdata=None) if request.method == "GET" else ErasureForm()
    refused: list[str] = []
    if request.method == "POST" and form.validate_on_submit():
        if not form.confirm.data:
            form.confirm.errors = [_("Tick this box to confirm the erasure.")]
        else:
            try:
                result = service.erase(db.session, current_user, beneficiary_id, form.note.data, _attachment_dir())
            except ValidationFailed as failed:
                merge_errors(form, failed.errors)
            else:
                if not result.refused:
                    return go_to(url_for("beneficiaries.show", beneficiary_id=beneficiary_id), _(
                        "Erased: %(tickets)s requests anonymised, %(documents)s documents deleted, %(mentions)s other "
                        "requests no longer name them.", tickets=result.tickets, documents=result.documents,
                        mentions=result.mentions))
                refused = result.refused
    holds = refused or (service.holds(db.session, person) if person.anonymised_at is None else [])
    status = 422 if request.method == "POST" else 200
    return render_template("privacy/erase.html", person=person, form=form, holds=holds, refused=bool(refused)), status


@bp.route("/admin/retention", methods=["GET", "POST"])
@login_required
def retention():
    """The retention period of each kind of request, with the proposed ones shown beside."""
    require(current_user, Action.ADMIN_MANAGE)
    form = RetentionForm()
    saved = service.periods(db.session)
    # Nothing saved yet: the proposed periods are filled in, for the admin to adopt or change.
    shown = saved or service.PROPOSED_MONTHS
    typed = {kind.value: str(shown[kind.value]) if kind.value in shown else "" for kind in Kind}
    errors: dict[str, list] = {}
    if request.method == "POST" and form.validate_on_submit():
        typed = {kind.value: request.form.get(kind.value, "")[:10] for kind in Kind}
        try:
            service.save_periods(db.session, current_user, typed)
        except ValidationFailed as failed:
            errors = failed.errors
        else:
            return go_to(url_for("privacy.retention"), _("Retention periods saved."))
    status = 422 if request.method == "POST" else 200
    return render_template("privacy/retention.html", form=form, typed=typed, errors=errors, saved=saved,
                           proposed=service.PROPOSED_MONTHS, kinds=list(labels.KINDS)), status


def _audit_screen(filters: trail.Filters, status: int = 200):
    found = trail.page(db.session, current_user, filters, optional_id(request.args.get("before")))
    return page_or_fragment("privacy/audit.html", "privacy/_audit_screen.html", status, filters=filters, found=found,
                            people=trail.people(db.session), actions=labels.AUDIT_ACTIONS)


@bp.get("/audit")
@login_required
def audit():
    """The audit trail, filtered by person, record, action and dates, newest first."""
    require(current_user, Action.AUDIT_VIEW)
    filters = trail.parse(db.session, request.args)
    return _audit_screen(filters, 422 if filters.errors else 200)


@bp.get("/audit/export.csv")
@login_required
def audit_export():
    """The filtered rows as CSV; the export is itself a row of the trail."""
    require(current_user, Action.AUDIT_VIEW)
    filters = trail.parse(db.session, request.args)
    if filters.errors:
        return _audit_screen(filters, 422)
    body = trail.export_csv(db.session, current_user, filters)
    response = Response(body, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/audit/chain")
@login_required
def audit_chain():
    """Whether the chain holds (the whole trail walked, as `desk audit-verify` does)."""
    checked, broken = trail.chain(db.session, current_user)
    template = "privacy/_audit_chain.html" if is_htmx() else "privacy/audit_chain.html"
    return render_template(template, checked=checked, broken=broken)
