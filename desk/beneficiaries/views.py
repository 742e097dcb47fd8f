from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from desk.beneficiaries import service
from desk.casefile.page import registration_context
from desk.extensions import db
from desk.models import Beneficiary
from desk.permissions import Action, can, require
from desk.privacy import service as privacy
from desk.privacy.forms import NoteForm

bp = Blueprint("beneficiaries", __name__)
ACCESS_SHOWN = 30  # the newest rows of the access log on the record; the audit screen has them all


@bp.get("/beneficiaries/search")
@login_required
def search():
    """Matches as staff type: national ID, phone or Arabic-normalised name (masked in the list)."""
    if not can(current_user, Action.BENEFICIARY_SEARCH):
        abort(404)
    query = request.args.get("beneficiary_q", "")[:100]
    results = service.search_people(db.session, query)
    return render_template("intake/_beneficiary_results.html", results=results, query=query, chosen=None,
                           near=[] if results else service.near_matches(db.session, query),
                           carry_id=None if results else service.typed_national_id(db.session, query))


@bp.get("/beneficiaries")
@login_required
def index():
    """Find a beneficiary's record: by national ID, mobile number or name."""
    require(current_user, Action.BENEFICIARY_VIEW)
    query = request.args.get("q", "")[:100]
    results = service.search_people(db.session, query, limit=30) if query else []
    return render_template("beneficiaries/index.html", query=query, results=results)


@bp.get("/beneficiaries/<int:beneficiary_id>")
@login_required
def show(beneficiary_id: int):
    """A beneficiary's record: their details (masked), their requests, and what they asked about their data."""
    return record_page(privacy.get(db.session, current_user, beneficiary_id), NoteForm())


def record_page(person: Beneficiary, export_form: NoteForm, status: int = 200, registration_form=None):
    return render_template("beneficiaries/show.html", tickets=privacy.tickets_of(db.session, person),
                           subject_requests=privacy.requests_of(db.session, person), export_form=export_form,
                           field_labels=privacy.FIELD_LABELS,
                           access=privacy.access_log(db.session, person, newest_first=True, limit=ACCESS_SHOWN),
                           **registration_context(person, registration_form)), status
