"""The administrator's calendar and service-level screens: /admin/calendar (a month in both
calendars), its holidays and working hours, and /admin/service-levels. Everyone but an admin
gets 404: for them these pages do not exist."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import utcnow
from desk.permissions import Action
from desk.sla import service
from desk.sla.calendar import SUNDAY_FIRST
from desk.sla.forms import MONTHS, UNITS, WEEKDAYS, HolidayForm, TargetForm, WorkingTimeForm
from desk.text import hijri_month_name, to_riyadh
from desk.web import current_locale, go_to, is_htmx, merge_errors, page_or_fragment, role_gate

bp = Blueprint("sla", __name__, url_prefix="/admin")


role_gate(bp, Action.ADMIN_MANAGE)


@bp.context_processor
def _vocabulary():
    locale = current_locale()
    return {"WEEKDAYS": WEEKDAYS, "SUNDAY_FIRST": SUNDAY_FIRST, "UNITS": UNITS,
            "hijri_month_name": lambda month: hijri_month_name(month, locale),
            "gregorian_month_name": lambda month: str(MONTHS[month - 1])}



# The month in both calendars ----------------------------------------------------------

@bp.get("/calendar")
def calendar():
    year, month = service.parse_month(request.args.get("month"), to_riyadh(utcnow()).date())
    return page_or_fragment("sla/calendar.html", "sla/_month.html", month=service.month_view(db.session, year, month),
                            hours=service.working_time(db.session))


# Working hours ------------------------------------------------------------------------

def _hours_page(form: WorkingTimeForm, status: int = 200):
    return page_or_fragment("sla/hours.html", "sla/_hours_form.html", status, form=form)


@bp.route("/calendar/hours", methods=["GET", "POST"])
def hours():
    if request.method == "GET":
        row = service.working_time(db.session)
        form = WorkingTimeForm(formdata=None, work_days=[str(d) for d in row.work_days],
                               day_start=f"{row.day_start:%H:%M}", day_end=f"{row.day_end:%H:%M}",
                               ramadan_start=f"{row.ramadan_start:%H:%M}" if row.ramadan_start else "",
                               ramadan_end=f"{row.ramadan_end:%H:%M}" if row.ramadan_end else "")
        return _hours_page(form)
    form = WorkingTimeForm()
    if form.validate_on_submit():
        data = service.WorkingTimeData(work_days=form.work_days.data or [], day_start=form.day_start.data or "",
                                       day_end=form.day_end.data or "", ramadan_start=form.ramadan_start.data or "",
                                       ramadan_end=form.ramadan_end.data or "")
        try:
            service.save_working_time(db.session, current_user, data)
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("sla.calendar"), _("Working days and hours saved."))
    return _hours_page(form, 422)


# Holidays -----------------------------------------------------------------------------

@bp.get("/calendar/holidays")
def holidays():
    return page_or_fragment("sla/holidays.html", "sla/_holidays_table.html", holidays=service.holidays(db.session))


def _holiday_page(form: HolidayForm, holiday, status: int = 200):
    return page_or_fragment("sla/holiday.html", "sla/_holiday_form.html", status, form=form, holiday=holiday)


def _holiday_form(holiday=None) -> HolidayForm:
    if request.method != "GET":
        return HolidayForm()
    if holiday is None:
        return HolidayForm(formdata=None, entered_as=request.args.get("calendar", "gregorian"))
    return HolidayForm(formdata=None, name_ar=holiday.name_ar, name_en=holiday.name_en, entered_as=holiday.entered_as,
                       first_day=service.format_day(holiday.first_day, holiday.entered_as),
                       last_day=service.format_day(holiday.last_day, holiday.entered_as),
                       confirmed=not holiday.proposed)


def _save_holiday(form: HolidayForm, holiday):
    if form.validate_on_submit():
        data = service.HolidayData(name_ar=form.name_ar.data or "", name_en=form.name_en.data or "",
                                   entered_as=form.entered_as.data or "", first_day=form.first_day.data or "",
                                   last_day=form.last_day.data or "", confirmed=bool(form.confirmed.data))
        try:
            saved = service.save_holiday(db.session, current_user, data, holiday)
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("sla.holidays"), _("Holiday “%(name)s” saved.", name=saved.name_ar))
    return _holiday_page(form, holiday, 422)


@bp.route("/calendar/holidays/new", methods=["GET", "POST"])
def holiday_new():
    form = _holiday_form()
    return _holiday_page(form, None) if request.method == "GET" else _save_holiday(form, None)


@bp.route("/calendar/holidays/<int:holiday_id>", methods=["GET", "POST"])
def holiday_edit(holiday_id: int):
    holiday = service.get_holiday(db.session, current_user, holiday_id)
    form = _holiday_form(holiday)
    return _holiday_page(form, holiday) if request.method == "GET" else _save_holiday(form, holiday)


@bp.post("/calendar/holidays/<int:holiday_id>/delete")
def holiday_delete(holiday_id: int):
    holiday = service.get_holiday(db.session, current_user, holiday_id)
    service.delete_holiday(db.session, current_user, holiday)
    if is_htmx():
        return render_template("sla/_holidays_table.html", holidays=service.holidays(db.session))
    flash(_("Holiday deleted."), "success")
    return redirect(url_for("sla.holidays"))


@bp.post("/calendar/holidays/<int:holiday_id>/confirm")
def holiday_confirm(holiday_id: int):
    holiday = service.get_holiday(db.session, current_user, holiday_id)
    service.confirm_holiday(db.session, current_user, holiday)
    if is_htmx():
        return render_template("sla/_holidays_table.html", holidays=service.holidays(db.session))
    flash(_("Holiday “%(name)s” confirmed.", name=holiday.name_ar), "success")
    return redirect(url_for("sla.holidays"))


# Service-level targets ----------------------------------------------------------------

@bp.get("/service-levels")
def targets():
    return page_or_fragment("sla/targets.html", "sla/_targets_table.html", targets=service.targets(db.session))


def _target_page(form: TargetForm, target, status: int = 200):
    return page_or_fragment("sla/target.html", "sla/_target_form.html", status, form=form, target=target)


def _target_form(target=None) -> TargetForm:
    if request.method != "GET":
        form = TargetForm()
    elif target is None:
        form = TargetForm(formdata=None, kind=request.args.get("kind", ""))
    else:
        form = TargetForm(formdata=None, kind=target.kind, priority=str(target.priority or ""),
                          first_response_amount=str(target.first_response_amount or ""),
                          first_response_unit=target.first_response_unit or "days",
                          resolution_amount=str(target.resolution_amount or ""),
                          resolution_unit=target.resolution_unit or "days")
    form.set_choices()
    return form


def _save_target(form: TargetForm, target):
    if form.validate_on_submit():
        data = service.TargetData(kind=form.kind.data or "", priority=form.priority.data or "",
                                  first_response_amount=form.first_response_amount.data or "",
                                  first_response_unit=form.first_response_unit.data or "",
                                  resolution_amount=form.resolution_amount.data or "",
                                  resolution_unit=form.resolution_unit.data or "")
        try:
            service.save_target(db.session, current_user, data, target)
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("sla.targets"), _("Service level saved."))
    return _target_page(form, target, 422)


@bp.route("/service-levels/new", methods=["GET", "POST"])
def target_new():
    form = _target_form()
    return _target_page(form, None) if request.method == "GET" else _save_target(form, None)


@bp.route("/service-levels/<int:target_id>", methods=["GET", "POST"])
def target_edit(target_id: int):
    target = service.get_target(db.session, current_user, target_id)
    form = _target_form(target)
    return _target_page(form, target) if request.method == "GET" else _save_target(form, target)


@bp.post("/service-levels/<int:target_id>/delete")
def target_delete(target_id: int):
    target = service.get_target(db.session, current_user, target_id)
    service.delete_target(db.session, current_user, target)
    if is_htmx():
        return render_template("sla/_targets_table.html", targets=service.targets(db.session))
    flash(_("Service level deleted."), "success")
    return redirect(url_for("sla.targets"))
