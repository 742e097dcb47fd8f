"""The training log (/training): supervisors and admins record entries for anyone and read
everyone's, with hours per person and per month and who had no training in the last 12 months,
and export them (/training/export.xlsx, .csv: the statistics' export code); every staff account
reads its own. Who may do what: desk.permissions (TRAINING_RECORD, TRAINING_OWN); anyone else
gets 404."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from desk import audit
from desk.errors import NotFound, ValidationFailed
from desk.extensions import db
from desk.files import training_dir
from desk.forms import optional_id
from desk.models import AuditAction
from desk.permissions import Action, can, require
from desk.stats import export, tables
from desk.stats.forms import RangeForm
from desk.stats.service import DateRange, parse_range
from desk.training import service
from desk.training.forms import TrainingForm
from desk.transaction import commit
from desk.web import current_locale, go_to, merge_errors

bp = Blueprint("training", __name__)


def _directory() -> str:
    return str(training_dir(current_app.config))


def _max_bytes() -> int:
    return int(current_app.config["DESK_ATTACHMENT_MAX_MB"] * 1024 * 1024)


def _range(form: RangeForm) -> DateRange | None:
    """The period asked for (default: the last 12 months); None with the messages on the form."""
    from desk.sla.service import HIJRI, format_day
    args = request.args
    preset = args.get("preset") or ("" if args.get("start") or args.get("end") else "last_12_months")
    try:
        r = parse_range(form.start.data, form.end.data, form.calendar.data or "gregorian", preset or None)
    except ValidationFailed as failed:
        merge_errors(form, failed.errors)
        return None
    calendar = form.calendar.data if form.calendar.data == HIJRI else "gregorian"
    form.preset.data = ""
    form.start.data, form.end.data = format_day(r.first, calendar), format_day(r.last, calendar)
    return r


def _people_choices():
    return [SelectChoice("", _("Choose…"))] + [SelectChoice(str(u.id), u.name) for u in service.trainees(db.session)]


def _page(form: TrainingForm | None = None, status: int = 200):
    manager = can(current_user, Action.TRAINING_RECORD)
    if not manager:
        require(current_user, Action.TRAINING_OWN)
    range_form = RangeForm(request.args)
    r = _range(range_form)
    person = optional_id(request.args.get("person")) if manager else None
    rows = service.entries(db.session, current_user, user_id=person, start=r.first if r else None,
                           end=r.last if r else None)
    figures = service.figures(db.session, r.first, r.last) if manager and r else None
    built = tables.training_tables(figures, current_locale()) if figures else []
    if manager and form is None:
        form = TrainingForm(formdata=None)
    if form is not None:
        form.user_id.choices = _people_choices()
    return render_template(
        "training/index.html", form=form, range_form=range_form, range=r, rows=rows, built=built,
        manager=manager, person=person, people=service.trainees(db.session) if manager else [],
        query={"start": r.first.isoformat(), "end": r.last.isoformat()} if r else {},
        max_mb=f"{current_app.config['DESK_ATTACHMENT_MAX_MB']:g}"), status


@bp.get("/training")
@login_required
def index():
    return _page()


@bp.post("/training")
@login_required
def add():
    require(current_user, Action.TRAINING_RECORD)
    form = TrainingForm()
    form.user_id.choices = _people_choices()
    if form.validate_on_submit():
        sent = request.files.get("certificate")
        data = service.TrainingData(optional_id(form.user_id.data), form.course.data or "", form.provider.data or "",
                                    form.day.data or "", form.entered_as.data or "", form.hours.data or "")
        try:
            service.add_entry(db.session, current_user, data, sent.stream if sent else None,
                              sent.filename if sent else None, directory=_directory(), max_bytes=_max_bytes())
        except ValidationFailed as failed:
            merge_errors(form, {("certificate" if k == "file" else k): v for k, v in failed.errors.items()})
        else:
            return go_to(url_for("training.index"), _("The training is recorded."))
    return _page(form, 422)


@bp.post("/training/<int:entry_id>/remove")
@login_required
def remove(entry_id: int):
    require(current_user, Action.TRAINING_RECORD)
    entry = service.get_entry(db.session, current_user, entry_id)
    service.remove_entry(db.session, current_user, entry, directory=_directory())
    return go_to(url_for("training.index"), _("The entry is removed."))


@bp.get("/training/<int:entry_id>/certificate")
@login_required
def certificate(entry_id: int):
    entry = service.get_entry(db.session, current_user, entry_id)
    if not entry.certificate_stored_name:
        abort(404)
    try:
        response = send_file(f"{_directory()}/{entry.certificate_stored_name}",
                             mimetype=entry.certificate_content_type, download_name=entry.certificate_filename,
                             etag=entry.certificate_sha256 or False, max_age=0, as_attachment=True)
    except FileNotFoundError:
        abort(404)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.get("/training/export.<fmt>")
@login_required
def download(fmt: str):
    """The period's training log as XLSX or CSV: the entries, hours per person and per month, and
    who had no training in the last 12 months (desk.stats.export's writers; on the audit trail)."""
    require(current_user, Action.TRAINING_RECORD)
    if fmt not in export.FORMATS:
        raise NotFound()
    r = _range(RangeForm(request.args))
    if r is None:
        abort(400, description=_("Choose a valid period."))
    locale = current_locale()
    rows = service.entries(db.session, current_user, start=r.first, end=r.last, limit=100_000)
    built = [tables.Table("training_entries", _("Training log"),
                          [_("Staff member"), _("Course"), _("Provider"), _("Date"), _("Hours"), _("Certificate")],
                          [[e.user.name, e.course, e.provider, e.day, e.hours, e.certificate_filename or ""]
                           for e in rows]),
             *tables.training_tables(service.figures(db.session, r.first, r.last), locale)]
    body = export.render(fmt, built, _("Training log"), export.period_text(r.first, r.last, locale), locale)
    audit.record(db.session, AuditAction.EXPORT, actor=current_user, record_type="report", record_id="training",
                 detail={"format": fmt, "from": r.first.isoformat(), "to": r.last.isoformat()})
    commit(db.session)
    response = Response(body, mimetype=export.MIME[fmt])
    response.headers["Content-Disposition"] = (
        f'attachment; filename="training-{r.first.isoformat()}-{r.last.isoformat()}.{fmt}"')
    return response
