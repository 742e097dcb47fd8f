"""The admin's screen for the association's profile (branding, contact details) and the
portal's policy (staff names on replies, the reopen window). /admin/association."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, FileField, StringField
from wtforms.validators import Email, Length, Optional

from desk.admin.forms import optional_int
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.forms import DeskForm
from desk.permissions import Action
from desk.portal import profile
from desk.web import merge_errors, role_gate

bp = Blueprint("portal_admin", __name__, url_prefix="/admin")


class AssociationForm(DeskForm):
    name_ar = StringField(_l("Arabic name"), validators=[Length(max=160)])
    name_en = StringField(_l("English name"), validators=[Length(max=160)])
    logo = FileField(_l("Logo (PNG, JPEG or WebP, at most 1 MB)"))
    remove_logo = BooleanField(_l("Remove the logo"))
    phone = StringField(_l("Phone"), validators=[Length(max=40)])
    whatsapp = StringField(_l("WhatsApp"), validators=[Length(max=40)])
    email = StringField(_l("Email"), validators=[Optional(), Email(_l("Enter a valid email address.")), Length(max=254)])
    website = StringField(_l("Website"), validators=[Length(max=254)])
    address_ar = StringField(_l("Address (Arabic)"), validators=[Length(max=300)])
    address_en = StringField(_l("Address (English)"), validators=[Length(max=300)])
    working_hours_ar = StringField(_l("Working hours (Arabic)"), validators=[Length(max=200)])
    working_hours_en = StringField(_l("Working hours (English)"), validators=[Length(max=200)])
    show_staff_names = BooleanField(_l("Show the name of the staff member who wrote a reply on the portal"))
    reopen_days = StringField(_l("Days after resolution in which a beneficiary's reply reopens the request"))


role_gate(bp, Action.PORTAL_MANAGE)


@bp.route("/association", methods=["GET", "POST"])
def association():
    row = profile.get(db.session, current_app.config)
    if request.method == "GET":
        form = AssociationForm(obj=row)
        form.reopen_days.data = str(row.reopen_days)
        return render_template("portal/admin_association.html", form=form, row=row)
    form = AssociationForm()
    valid = form.validate()
    days = optional_int(form.reopen_days.data)
    if days is None:
        form.reopen_days.errors = list(form.reopen_days.errors) + [_("Enter a whole number of days, e.g. 14.")]
    if not valid or days is None:
        return render_template("portal/admin_association.html", form=form, row=row), 422
    sent = request.files.get("logo")
    data = profile.ProfileData(**{name: getattr(form, name).data or "" for name in (
        "name_ar", "name_en", "phone", "whatsapp", "email", "website", "address_ar", "address_en",
        "working_hours_ar", "working_hours_en")}, show_staff_names=bool(form.show_staff_names.data), reopen_days=days)
    try:
        profile.save(db.session, current_user, current_app.config, data,
                     logo=sent.stream if sent and sent.filename else None, remove_logo=bool(form.remove_logo.data))
    except ValidationFailed as failed:
        merge_errors(form, failed.errors)
        return render_template("portal/admin_association.html", form=form, row=row), 422
    flash(_("Saved."), "success")
    return redirect(url_for("portal_admin.association"), 303)
