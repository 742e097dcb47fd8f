from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from desk.beneficiaries import service
from desk.extensions import db
from desk.permissions import Action, can

bp = Blueprint("beneficiaries", __name__)


@bp.get("/beneficiaries/search")
@login_required
def search():
    """Matches as staff type: national ID, phone or Arabic-normalised name (masked in the list)."""
    if not can(current_user, Action.BENEFICIARY_SEARCH):
        abort(404)
    query = request.args.get("beneficiary_q", "")[:100]
    return render_template("intake/_beneficiary_results.html", results=service.search(db.session, query),
                           query=query, chosen=None)
