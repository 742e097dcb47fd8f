"""The supervisors' field work: /survey (today's surveys, one per site), /survey/<id> (the
form, autosaved item by item with htmx, or saved whole without JavaScript), its calendar and
findings, /emergencies (record, report to the general manager, acknowledge, print),
/visitors (the desk's "+1 visitor" counter and its auxiliary services) and the admin's
/admin/sites, /admin/survey-items and /admin/aux-services. Who may do what: desk.permissions (Action.SURVEY_*, EMERGENCY_*,
VISITOR_COUNT); anyone else gets 404."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from desk import error_pages
from desk.errors import NotFound, ValidationFailed
from desk.extensions import db
from desk.files import survey_photo_dir
from desk.forms import optional_id
from desk.models import Association, AuxService, ItemCode, SurveyItem, utcnow
from desk.permissions import Action, can, require
from desk.sla.forms import MONTHS
from desk.submissions import AlreadyTaken, Kind, first
from desk.survey import report, service
from desk.survey.forms import (
    ITEM_KIND_LABELS,
    SEVERITIES,
    STAFFED_LABELS,
    STATES,
    VISIT_REASON_LABELS,
    AcknowledgeForm,
    EmergencyForm,
    ItemForm,
    SiteForm,
)
from desk.text import RIYADH, hijri_month_name, to_riyadh, today_riyadh
from desk.web import current_locale, go_to, is_htmx, merge_errors, posted_once, safe_next

bp = Blueprint("survey", __name__)

VISITOR_SITE_KEY = "visitor_site"   # the counter's chosen site, remembered in the session
LAST_TAP_KEY = "visitor_last_tap"


@bp.context_processor
def _vocabulary():
    locale = current_locale()
    return {"STATES": STATES, "SEVERITIES": SEVERITIES, "VISIT_REASONS": VISIT_REASON_LABELS,
            "STAFFED": STAFFED_LABELS, "ITEM_KINDS": ITEM_KIND_LABELS,
            "ItemCode": ItemCode, "can": can, "Action": Action,
            "hijri_month_name": lambda month: hijri_month_name(month, locale),
            "gregorian_month_name": lambda month: str(MONTHS[month - 1])}


@bp.app_template_filter("fromiso")
def _fromiso(value: str | None):
    """An ISO timestamp kept in JSON (item 6's figures) back to a datetime, for both_dates."""
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.app_template_filter("clock")
def _clock(value: datetime | None) -> str:
    """"14:05" in Riyadh (Arabic-Indic digits in Arabic)."""
    from desk.text import to_arabic_digits
    if value is None:
        return ""
    text = to_riyadh(value).strftime("%H:%M")
    return to_arabic_digits(text) if current_locale() == "ar" else text


@bp.app_context_processor
def _readiness_labels():
    """The staff-readiness answers' labels, for templates/survey/_readiness_table.html on any page."""
    return {"STAFFED_LABELS": STAFFED_LABELS, "ANSWER_STATES": STATES}


@bp.app_context_processor
def _visitor_counter():
    """``visitor_counter()`` for templates/survey/_counter.html included on any page (the widget)."""
    return {"visitor_counter": _counter_context_value}


def _open_emergencies_value() -> int:
    return service.open_emergency_count(db.session)


@bp.app_context_processor
def _open_emergencies():
    """``open_emergencies()``: emergencies no general manager has acknowledged, for the nav
    link's badge and the manager's landing page (review m5). Counted only where a page asks."""
    return {"open_emergencies": _open_emergencies_value}


def _photo_max_bytes() -> int:
    return int(current_app.config["DESK_ATTACHMENT_MAX_MB"] * 1024 * 1024)


def _photo_dir() -> str:
    return str(survey_photo_dir(current_app.config))


# Today's surveys ------------------------------------------------------------------------------

@bp.get("/survey")
@login_required
def index():
    require(current_user, Action.SURVEY_VIEW)
    day = today_riyadh()
    sites = service.sites(db.session)
    surveys = {site.id: service.find_survey(db.session, site.id, day) for site in sites}
    return render_template("survey/index.html", day=day, sites=sites, surveys=surveys,
                           **_counter_context())


@bp.post("/survey/open")
@login_required
def open_today():
    require(current_user, Action.SURVEY_RUN)
    site = service.get_site(db.session, optional_id(request.form.get("site_id")))
    survey = service.open_survey(db.session, current_user, site)
    return go_to(url_for("survey.show", survey_id=survey.id))


def _survey_context(survey, errors=None, values=None) -> dict:
    answers = service.answers_by_item(survey)
    if survey.submitted:  # what was answered, in the text it was answered under
        rows = [(answer.item, answer) for answer in survey.answers]
    else:
        rows = [(item, answers.get(item.id)) for item in service.items(db.session)]
    editable = not survey.submitted and can(current_user, Action.SURVEY_RUN)
    figures = None
    if any(item.code == ItemCode.COMPLAINTS for item, _answer in rows) and editable:
        figures = service.live_figures(db.session, current_user)
    site_emergencies = [e for e in report.emergencies_between(db.session, survey.day, survey.day)
                        if e.site_id == survey.site_id]
    errors = errors or {}
    # The first item the refused submit marked: the page moves focus there (review m2).
    first_error = next((item.id for item, _answer in rows if any(
        f"{name}_{item.id}" in errors for name in ("state", "note", "staffed", "on_duty"))), None)
    duty_staff = service.duty_staff(db.session) if editable and any(
        item.code == ItemCode.STAFF_READINESS for item, _answer in rows) else []
    return {"survey": survey, "rows": rows, "editable": editable, "figures": figures, "errors": errors,
            "duty_staff": duty_staff,
            "first_error": first_error, "values": values or {}, "site_emergencies": site_emergencies,
            "photo_max_mb": f"{current_app.config['DESK_ATTACHMENT_MAX_MB']:g}"}


@bp.get("/survey/<int:survey_id>")
@login_required
def show(survey_id: int):
    survey = service.get_survey(db.session, current_user, survey_id)
    return render_template("survey/show.html", **_survey_context(survey))


def _answers_from(form, item_ids, readiness_id: int | None = None) -> dict[int, service.AnswerData]:
    """The answers the form carries (state_<id>, note_<id>), for the items given; for the
    staff-readiness item (``readiness_id``) also staffed_<id>, on_duty_<id> (account ids) and
    names_<id> (names typed, one a line)."""
    found = {}
    for item_id in item_ids:
        state_key, note_key = f"state_{item_id}", f"note_{item_id}"
        if state_key in form or note_key in form:
            found[item_id] = service.AnswerData(form.get(state_key) or None, form.get(note_key) or "")
            if item_id == readiness_id:
                found[item_id].readiness = service.ReadinessData(
                    form.get(f"staffed_{item_id}") or None,
                    [optional_id(v) or -1 for v in form.getlist(f"on_duty_{item_id}") if v],  # -1: no account
                    (form.get(f"names_{item_id}") or "").splitlines())
    return found


def _readiness_id(items) -> int | None:
    return next((item.id for item in items if item.code == ItemCode.STAFF_READINESS), None)


@bp.post("/survey/<int:survey_id>")
@login_required
def save(survey_id: int):
    """Without JavaScript: save every answer (draft) or submit."""
    require(current_user, Action.SURVEY_RUN)
    survey = service.get_survey(db.session, current_user, survey_id)
    active = service.items(db.session)
    answers = _answers_from(request.form, [item.id for item in active], _readiness_id(active))
    try:
        if request.form.get("action") == "submit":
            service.submit(db.session, current_user, survey, answers)
            return go_to(url_for("survey.show", survey_id=survey.id), _("The survey is submitted."))
        service.save_draft(db.session, current_user, survey, answers)
    except ValidationFailed as failed:
        values = {item_id: data for item_id, data in answers.items()}
        if set(failed.errors) - {"survey"}:  # items to fix; "already submitted" speaks for itself (review m1)
            flash(_("The survey is not submitted yet: see the items marked below."), "error")
        return render_template("survey/show.html", **_survey_context(survey, failed.errors, values)), 422
    return go_to(url_for("survey.show", survey_id=survey.id), _("The draft is saved."))


@bp.post("/survey/<int:survey_id>/items/<int:item_id>")
@login_required
def save_item_answer(survey_id: int, item_id: int):
    """The autosave of one item (htmx, on change): the item's status line."""
    require(current_user, Action.SURVEY_RUN)
    survey = service.get_survey(db.session, current_user, survey_id)
    item = service.get_item(db.session, item_id)
    data = _answers_from(request.form, [item_id], _readiness_id([item])).get(item_id, service.AnswerData())
    try:
        answer = service.save_answer(db.session, current_user, survey, item, data)
    except ValidationFailed as failed:
        if not is_htmx():
            flash(str(failed.message), "error")
            return redirect(url_for("survey.show", survey_id=survey.id))
        return render_template("survey/_saved.html", item=item, errors=failed.errors, answer=None), 422
    if not is_htmx():
        return redirect(url_for("survey.show", survey_id=survey.id, _anchor=f"item-{item.id}"))
    return render_template("survey/_saved.html", item=item, errors={}, answer=answer)


@bp.post("/survey/<int:survey_id>/items/<int:item_id>/photos")
@login_required
def add_photo(survey_id: int, item_id: int):
    require(current_user, Action.SURVEY_RUN)
    survey = service.get_survey(db.session, current_user, survey_id)
    item = service.get_item(db.session, item_id)
    sent = request.files.get("file")
    try:
        service.add_photo(db.session, current_user, survey, item, sent.stream if sent else None,
                          sent.filename if sent else "", directory=_photo_dir(), max_bytes=_photo_max_bytes())
    except ValidationFailed as failed:
        flash(str(failed.message), "error")
    else:
        flash(_("The photo is added."), "success")
    return redirect(url_for("survey.show", survey_id=survey.id, _anchor=f"item-{item.id}"))


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    """A photo over the limit on the survey: said on the survey's page, by the item."""
    if request.endpoint == "survey.add_photo" and request.view_args is not None and current_user.is_authenticated:
        flash(_("The file is too large (at most %(n)s MB).", n=f"{current_app.config['DESK_ATTACHMENT_MAX_MB']:g}"),
              "error")
        return redirect(url_for("survey.show", survey_id=request.view_args["survey_id"]))
    return error_pages.answer(413)


@bp.get("/survey/photos/<int:photo_id>")
@login_required
def photo(photo_id: int):
    photo = service.get_photo(db.session, current_user, photo_id)
    path = f"{_photo_dir()}/{photo.stored_name}"
    try:
        response = send_file(path, mimetype=photo.content_type, download_name=photo.filename, etag=photo.sha256,
                             max_age=0)
    except FileNotFoundError:
        abort(404)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# The survey calendar and findings -------------------------------------------------------------

def _parse_month(text: str | None) -> tuple[int, int]:
    from desk.sla.service import parse_month
    return parse_month(text, today_riyadh())


@bp.get("/survey/calendar")
@login_required
def calendar():
    require(current_user, Action.SURVEY_VIEW)
    year, month = _parse_month(request.args.get("month"))
    grid = service.survey_calendar(db.session, current_user, year, month)
    template = "survey/_calendar.html" if is_htmx() else "survey/calendar.html"
    return render_template(template, grid=grid, today=today_riyadh())


def _parse_day(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return default


@bp.get("/survey/findings")
@login_required
def findings():
    require(current_user, Action.SURVEY_VIEW)
    end = _parse_day(request.args.get("to"), today_riyadh())
    start = _parse_day(request.args.get("from"), end - timedelta(days=30))
    if start > end:
        start, end = end, start
    item_id = optional_id(request.args.get("item"))
    rows = report.findings_between(db.session, start, end, item_id=item_id)
    all_items = service.items(db.session, active_only=False)
    return render_template("survey/findings.html", rows=rows, start=start, end=end, item_id=item_id,
                           items=all_items)


# Emergencies ----------------------------------------------------------------------------------

@bp.get("/emergencies")
@login_required
def emergencies():
    rows = service.emergencies(db.session, current_user)
    return render_template("survey/emergencies.html", rows=rows)


def _site_choices():
    from wtforms import SelectChoice
    return [SelectChoice("", _("Choose…"))] + [SelectChoice(str(s.id), s.name(current_locale()))
                                              for s in service.sites(db.session)]


def _parse_local(text: str | None) -> datetime | None:
    """"2026-11-23T10:05" typed in Riyadh time → aware UTC; None if not a time."""
    try:
        value = datetime.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return value.replace(tzinfo=RIYADH) if value.tzinfo is None else value


@bp.route("/emergencies/new", methods=["GET", "POST"])
@login_required
def emergency_new():
    require(current_user, Action.EMERGENCY_RECORD)
    if request.method == "GET":
        form = EmergencyForm(formdata=None, site_id=request.args.get("site", ""),
                             occurred_at=to_riyadh(utcnow()).strftime("%Y-%m-%dT%H:%M"))
        form.site_id.choices = _site_choices()
        return render_template("survey/emergency_new.html", form=form, survey_id=request.args.get("survey", ""))
    form = EmergencyForm()
    form.site_id.choices = _site_choices()
    survey_id = optional_id(request.form.get("survey_id"))
    if form.validate_on_submit():
        data = service.EmergencyData(
            site_id=optional_id(form.site_id.data), occurred_at=_parse_local(form.occurred_at.data),
            what_happened=form.what_happened.data or "", action_taken=form.action_taken.data or "",
            severity=form.severity.data or "", survey_id=survey_id)
        try:
            emergency = service.record_emergency(db.session, current_user, data)
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("survey.emergency", emergency_id=emergency.id),
                         _("The emergency is recorded and reported to the general manager."))
    return render_template("survey/emergency_new.html", form=form, survey_id=survey_id or ""), 422


@bp.get("/emergencies/<int:emergency_id>")
@login_required
def emergency(emergency_id: int):
    row = service.get_emergency(db.session, current_user, emergency_id)
    return render_template("survey/emergency.html", emergency=row, form=AcknowledgeForm(formdata=None))


def association_name(locale: str) -> str:
    """The association's name: its profile (row 1) when there is one, else the settings."""
    profile = db.session.get(Association, 1)
    if profile is not None and profile.name(locale):
        return profile.name(locale)
    return current_app.config["DESK_ASSOCIATION_NAME_EN" if locale == "en" else "DESK_ASSOCIATION_NAME"]


@bp.get("/emergencies/<int:emergency_id>/print")
@login_required
def emergency_print(emergency_id: int):
    row = service.get_emergency(db.session, current_user, emergency_id)
    return render_template("survey/emergency_print.html", emergency=row,
                           association_name=association_name(current_locale()), printed_at=utcnow())


@bp.post("/emergencies/<int:emergency_id>/acknowledge")
@login_required
def emergency_acknowledge(emergency_id: int):
    row = service.get_emergency(db.session, current_user, emergency_id)
    require(current_user, Action.EMERGENCY_ACKNOWLEDGE)
    form = AcknowledgeForm()
    if form.validate_on_submit():
        try:
            service.acknowledge(db.session, current_user, row, form.note.data or "")
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("survey.emergency", emergency_id=row.id), _("The emergency is acknowledged."))
    return render_template("survey/emergency.html", emergency=row, form=form), 422


# The visitor counter --------------------------------------------------------------------------

def _counter_context() -> dict:
    return {"counter": _counter_context_value()}


def _counter_context_value() -> dict | None:
    """What the counter (page or widget) shows: the chosen site, today's counts, the undo."""
    if not current_user.is_authenticated or not can(current_user, Action.VISITOR_COUNT):
        return None
    sites = service.sites(db.session)
    chosen = session.get(VISITOR_SITE_KEY)
    site = next((s for s in sites if s.id == chosen), sites[0] if sites else None)
    last = service.last_tap(db.session, current_user)
    return {"sites": sites, "site": site, "counts": service.taps_today(db.session), "last": last,
            "undo_seconds": service.UNDO_SECONDS, "services": service.aux_services(db.session),
            "service_counts": service.service_taps_today(db.session, site.id) if site else {},
            "last_service": service.last_service_tap(db.session, current_user)}


@bp.get("/visitors")
@login_required
def visitors():
    require(current_user, Action.VISITOR_COUNT)
    day = today_riyadh()
    figures = report.visitor_figures(db.session, day - timedelta(days=6), day)
    services = report.service_figures(db.session, day - timedelta(days=6), day)
    return render_template("survey/visitors.html", figures=figures, services=services, day=day,
                           **_counter_context())


def _after_counter(message: str | None = None, status: int = 200):
    if is_htmx():
        return render_template("survey/_counter.html", message=message, **_counter_context()), status
    if message:
        flash(message, "success" if status == 200 else "error")
    return redirect(safe_next(request.form.get("back"), url_for("survey.visitors")))


@bp.post("/visitors/tap")
@login_required
def visitor_tap():
    require(current_user, Action.VISITOR_COUNT)
    site = service.get_site(db.session, optional_id(request.form.get("site_id")))
    session[VISITOR_SITE_KEY] = site.id
    counted = _("One visitor counted at %(site)s.", site=site.name(current_locale()))
    once = posted_once(Kind.VISITOR_TAP)
    if first(db.session, once) is not None:  # counted already (a double tap, a retry): the same answer
        return _after_counter(counted)
    try:
        service.tap(db.session, current_user, site, request.form.get("reason"), request.form.get("reason_text", ""),
                    once=once)
    except AlreadyTaken:  # the same tap, sent at the same moment, was counted by the other request
        return _after_counter(counted)
    except ValidationFailed as failed:
        return _after_counter(str(failed.message), 422)
    return _after_counter(counted)


@bp.post("/visitors/service")
@login_required
def service_tap():
    """One auxiliary service given (copying, a call…): counted once per form token, like a visitor."""
    require(current_user, Action.VISITOR_COUNT)
    site = service.get_site(db.session, optional_id(request.form.get("site_id")))
    session[VISITOR_SITE_KEY] = site.id
    try:
        row = service.get_aux_service(db.session, optional_id(request.form.get("service_id")))
    except NotFound:  # none chosen, or one deactivated since the page was opened
        return _after_counter(_("Choose one of the answers listed."), 422)
    counted = _("%(service)s counted at %(site)s.", service=row.name(current_locale()),
                site=site.name(current_locale()))
    once = posted_once(Kind.AUX_SERVICE)
    if first(db.session, once) is not None:
        return _after_counter(counted)
    try:
        service.tap_service(db.session, current_user, site, row, once=once)
    except AlreadyTaken:
        return _after_counter(counted)
    return _after_counter(counted)


@bp.post("/visitors/service/undo")
@login_required
def service_undo():
    require(current_user, Action.VISITOR_COUNT)
    if service.undo_service_tap(db.session, current_user, optional_id(request.form.get("tap_id")) or 0):
        return _after_counter(_("The last service counted is taken back."))
    return _after_counter(_("Nothing to take back: a count can be undone within a minute."), 422)


@bp.post("/visitors/undo")
@login_required
def visitor_undo():
    require(current_user, Action.VISITOR_COUNT)
    done = service.undo_tap(db.session, current_user, optional_id(request.form.get("tap_id")) or 0)
    if done:
        return _after_counter(_("The last count is taken back."))
    return _after_counter(_("Nothing to take back: a count can be undone within a minute."), 422)


# Sites and survey items (admins) --------------------------------------------------------------

@bp.route("/admin/sites", methods=["GET", "POST"])
@bp.route("/admin/sites/<int:site_id>", methods=["GET", "POST"])
@login_required
def sites(site_id: int | None = None):
    require(current_user, Action.SURVEY_SETUP)
    site = service.get_site(db.session, site_id, active_only=False) if site_id else None
    if request.method == "GET":
        form = SiteForm(formdata=None, obj=site)
        return render_template("survey/sites.html", form=form, site=site, rows=service.sites(db.session, False))
    form = SiteForm()
    if form.validate_on_submit():
        data = service.SiteData(form.name_ar.data or "", form.name_en.data or "", form.position.data or 0,
                                bool(form.active.data))
        try:
            service.save_site(db.session, current_user, data, site)
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("survey.sites"), _("The site is saved."))
    return render_template("survey/sites.html", form=form, site=site, rows=service.sites(db.session, False)), 422


@bp.route("/admin/survey-items", methods=["GET", "POST"])
@bp.route("/admin/survey-items/<int:item_id>", methods=["GET", "POST"])
@login_required
def survey_items(item_id: int | None = None):
    require(current_user, Action.SURVEY_SETUP)
    item: SurveyItem | None = service.get_item(db.session, item_id) if item_id else None
    rows = service.items(db.session, active_only=False)
    if request.method == "GET":
        form = ItemForm(formdata=None, obj=item, position=item.position if item else (max(
            [r.position for r in rows], default=0) + 1),
            kind=item.code if item and item.code == ItemCode.STAFF_READINESS else "")
        return render_template("survey/items.html", form=form, item=item, rows=rows)
    form = ItemForm()
    if form.validate_on_submit():
        data = service.ItemData(form.text_ar.data or "", form.text_en.data or "", form.position.data or 0,
                                bool(form.active.data), form.kind.data or "")
        try:
            service.save_item(db.session, current_user, data, item)
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("survey.survey_items"), _("The survey item is saved."))
    return render_template("survey/items.html", form=form, item=item, rows=rows), 422



@bp.route("/admin/aux-services", methods=["GET", "POST"])
@bp.route("/admin/aux-services/<int:service_id>", methods=["GET", "POST"])
@login_required
def aux_services(service_id: int | None = None):
    """The auxiliary services the counter offers (admins; each change on the audit trail)."""
    require(current_user, Action.SURVEY_SETUP)
    row: AuxService | None = service.get_aux_service(db.session, service_id, active_only=False) if service_id else None
    rows = service.aux_services(db.session, active_only=False)
    if request.method == "GET":
        form = SiteForm(formdata=None, obj=row, position=row.position if row else (max(
            [r.position for r in rows], default=0) + 1))
        return render_template("survey/aux_services.html", form=form, row=row, rows=rows)
    form = SiteForm()
    if form.validate_on_submit():
        data = service.SiteData(form.name_ar.data or "", form.name_en.data or "", form.position.data or 0,
                                bool(form.active.data))
        try:
            service.save_aux_service(db.session, current_user, data, row)
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("survey.aux_services"), _("The service is saved."))
    return render_template("survey/aux_services.html", form=form, row=row, rows=rows), 422
