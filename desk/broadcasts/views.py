"""Messages to many: the campaigns page (/broadcasts) and compose → preview → send."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from desk.broadcasts import service
from desk.broadcasts.forms import BroadcastForm
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.forms import optional_id
from desk.models import Category, Department
from desk.permissions import Action
from desk.submissions import AlreadyTaken, Kind, first
from desk.web import current_locale, go_to, merge_errors, page_or_fragment, posted_once, role_gate

bp = Blueprint("broadcasts", __name__, url_prefix="/broadcasts")
role_gate(bp, Action.BROADCAST_SEND)


@bp.get("")
def index():
    sent = service.listing(db.session, current_user)
    groups = {row.broadcast.id: service.describe(db.session, row.broadcast, current_locale()) for row in sent}
    return render_template("broadcasts/index.html", sent=sent, groups=groups)


def _form() -> BroadcastForm:
    form = BroadcastForm() if request.method == "POST" else BroadcastForm(formdata=None)
    departments = db.session.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.code))
    categories = db.session.scalars(select(Category).where(Category.active.is_(True))
                                    .order_by(Category.kind, Category.position, Category.id))
    form.set_choices(list(departments), list(categories), current_locale())
    return form


def _page(form: BroadcastForm, status: int = 200, found: service.Reach | None = None, fingerprint: str = ""):
    return page_or_fragment("broadcasts/new.html", "broadcasts/_form.html", status, form=form, found=found,
                            fingerprint=fingerprint, placeholders=service.PLACEHOLDERS)


def _draft(form: BroadcastForm) -> service.Draft:
    return service.Draft(
        audience=form.audience.data or "", department_id=optional_id(form.department_id.data),
        category_id=optional_id(form.category_id.data), references=form.references.data or "",
        kind=form.kind.data or "", start=form.start.data or "", end=form.end.data or "",
        calendar=form.calendar.data or "gregorian",
        body_ar=form.body_ar.data or "", body_en=form.body_en.data or "", aid_delay=bool(form.aid_delay.data),
        reason=form.reason.data or "")


def _sent_again():
    return go_to(url_for("broadcasts.index"), _("This message was sent already; it is not sent twice."))


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = _form()
    if request.method == "GET":
        return _page(form)
    once = posted_once(Kind.BROADCAST) if request.form.get("step") == "send" else None
    if once is not None and first(db.session, once) is not None:  # a double click, a resubmitted form
        return _sent_again()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        message = service.check(db.session, _draft(form))
        if request.form.get("step") != "send":
            return _page(form, found=service.reach(db.session, message), fingerprint=message.fingerprint())
        if request.form.get("previewed") != message.fingerprint():  # changed after the preview: count again
            form.form_errors.append(service.CHANGED)
            return _page(form, 422, found=service.reach(db.session, message), fingerprint=message.fingerprint())
        expected = request.form.get("expected", "")
        broadcast = service.send(db.session, current_user, message, once=once,
                                 expected=int(expected) if expected.isdigit() else -1)
    except AlreadyTaken:  # the same form, sent at the same moment, was taken by the other request
        return _sent_again()
    except ValidationFailed as failed:
        merge_errors(form, failed.errors)
        return _page(form, 422)
    return go_to(url_for("broadcasts.index"), ngettext(
        "Message queued for %(num)s person.", "Message queued for %(num)s people.", broadcast.queued))
