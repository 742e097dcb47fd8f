"""The admin's screen for the association's profile (branding, contact details) and the
portal's policy (staff names on replies, the reopen window). /admin/association; and the
portal's privacy notice, /admin/privacy-notice (desk.portal.privacy)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, FileField, StringField, TextAreaField
from wtforms.validators import Email, Length, Optional

from desk.admin.forms import optional_int
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.forms import DeskForm
from desk.permissions import Action
from desk.portal import privacy, profile
from desk.web import merge_errors, reader_number, role_gate

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
    x_account = StringField(_l("X (Twitter)"), validators=[Length(max=254)])
    instagram = StringField(_l("Instagram"), validators=[Length(max=254)])
    snapchat = StringField(_l("Snapchat"), validators=[Length(max=254)])
    youtube = StringField(_l("YouTube"), validators=[Length(max=254)])
    show_staff_names = BooleanField(_l("Show the name of the staff member who wrote a reply on the portal"))
    reopen_days = StringField(_l("Days after resolution in which a beneficiary's reply reopens the request"))


class NoticeForm(DeskForm):
    body_ar = TextAreaField(_l("The notice in Arabic"))
    body_en = TextAreaField(_l("The notice in English"))


role_gate(bp, Action.PORTAL_MANAGE)


def _notice_page(form, status: int = 200):
    return render_template("portal/admin_privacy.html", form=form, notice=privacy.current(db.session),
                           versions=privacy.history(db.session)), status


@bp.route("/privacy-notice", methods=["GET", "POST"])
def privacy_notice():
    """The portal's full privacy notice, in both languages; saving makes a new version."""
    if request.method == "GET":
        notice = privacy.current(db.session)
        return _notice_page(NoticeForm(formdata=None, body_ar=notice.body_ar, body_en=notice.body_en))
    form = NoticeForm()
    if not form.validate():
        return _notice_page(form, 422)
    try:
        saved = privacy.save(db.session, current_user, form.body_ar.data or "", form.body_en.data or "")
    except ValidationFailed as failed:
        merge_errors(form, failed.errors)
        return _notice_page(form, 422)
    flash(_("Saved as version %(n)s. New requests record this version.",
            n=reader_number(saved.version)), "success")  # in the reader's digits
    return redirect(url_for("portal_admin.privacy_notice"), 303)


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
        "working_hours_ar", "working_hours_en", *profile.SOCIAL)}, show_staff_names=bool(form.show_staff_names.data), reopen_days=days)
    try:
        profile.save(db.session, current_user, current_app.config, data,
                     logo=sent.stream if sent and sent.filename else None, remove_logo=bool(form.remove_logo.data))
    except ValidationFailed as failed:
        merge_errors(form, failed.errors)
        return render_template("portal/admin_association.html", form=form, row=row), 422
    flash(_("Saved."), "success")
    return redirect(url_for("portal_admin.association"), 303)
