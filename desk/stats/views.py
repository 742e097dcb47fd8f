"""The statistics dashboard (/stats), the general manager's printable report (/stats/report)
and its exports (/stats/export.xlsx, /stats/export.csv). The period is in the URL, so every
view is a bookmark; the dashboard's form updates the page with htmx and pushes the URL."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from desk.errors import NotFound, ValidationFailed
from desk.extensions import db
from desk.models import Association
from desk.permissions import Action, can
from desk.sla.service import HIJRI, format_day
from desk.stats import charts, export, service, tables
from desk.stats.forms import RangeForm
from desk.text import format_hijri, to_arabic_digits
from desk.web import current_locale, merge_errors, page_or_fragment, role_gate

bp = Blueprint("stats", __name__, url_prefix="/stats")


role_gate(bp, Action.STATS_VIEW)


def _range(form: RangeForm) -> service.DateRange | None:
    """The period asked for (default: this month); None with the messages on the form."""
    args = request.args
    preset = args.get("preset") or ("" if args.get("start") or args.get("end") else "this_month")
    try:
        r = service.parse_range(form.start.data, form.end.data, form.calendar.data or "gregorian", preset or None)
    except ValidationFailed as failed:
        merge_errors(form, failed.errors)
        return None
    calendar = form.calendar.data if form.calendar.data == HIJRI else "gregorian"
    form.preset.data = ""
    form.start.data, form.end.data = format_day(r.first, calendar), format_day(r.last, calendar)
    return r


def _query(r: service.DateRange) -> dict[str, str]:
    return {"start": r.first.isoformat(), "end": r.last.isoformat()}


def _cell_formatter(locale: str):
    """The page's cell formatting for one locale: what ``stat_cell`` does, with the locale
    and the digit conversion looked up once for a whole table rather than for every cell."""
    from desk.text import format_both, format_gregorian
    ar = locale != "en"

    def digits(text: str) -> str:
        return to_arabic_digits(text).replace(",", "٬").replace(".", "٫") if ar else text

    def cell(value) -> str:
        if value is None:
            return "—"
        if isinstance(value, tables.Percent):
            return "—" if value.value is None else digits(f"{value.value * 100:.1f}") + ("٪" if ar else "%")
        if isinstance(value, tables.Average):
            return "—" if value.value is None else digits(f"{value.value:.2f}")
        if isinstance(value, tables.Duration):
            if value.over:
                return _("60 days or more")
            if value.seconds is None:
                return "—"
            hours = value.seconds / 3600
            if hours < 48:
                if hours.is_integer():
                    return ngettext("%(num)s hour", "%(num)s hours", int(hours))
                return _("%(n)s h", n=round(hours, 2))  # a fraction: "١٫٥ ساعة"
            days = hours / 24
            if days.is_integer():
                return ngettext("%(num)s day", "%(num)s days", int(days))
            return _("%(n)s d", n=round(days, 2))
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int):
            return digits(f"{value:,}")
        if isinstance(value, float):
            return digits(f"{value:,.2f}")
        if isinstance(value, date) and not hasattr(value, "hour"):
            return format_gregorian(value, locale)  # as the desk writes dates: "٠١ / ١٢ / ٢٠٢٦ م"
        if hasattr(value, "hour"):
            return format_both(value, locale)
        return str(value)

    return cell


@bp.app_template_filter("stat_cell")
def stat_cell(value) -> str:
    """One table cell as the page shows it (Arabic digits and units in Arabic)."""
    return _cell_formatter(current_locale())(value)


@bp.app_template_filter("stat_rows")
def stat_rows(rows: list[list]) -> list[list[str]]:
    """Every cell of a table's rows as ``stat_cell`` shows it, in one pass (one locale lookup)."""
    cell = _cell_formatter(current_locale())
    return [[cell(value) for value in row] for row in rows]


def _context(r: service.DateRange, dashboard: bool = False) -> dict:
    """The page's figures and tables; for the ``dashboard``, only the figures it shows."""
    stats = service.statistics(db.session, current_user, r, dashboard=dashboard)
    locale = current_locale()
    built = tables.build(stats, locale)
    named = tables.by_key(built)
    series = named["series"]
    line = charts.line([row[0] for row in series.rows], [[row[1] for row in series.rows],
                                                         [row[2] for row in series.rows]])
    bar_charts = {t.key: charts.bars(t.chart_points) for t in built if t.chart == "bar" and t.rows}
    return dict(stats=stats, tables=named, line=line, bar_charts=bar_charts, query=_query(r),
                period_hijri=(format_hijri(r.first, locale), format_hijri(r.last, locale)),
                can_report=can(current_user, Action.STATS_REPORT))


@bp.get("")
def dashboard():
    form = RangeForm(request.args)
    r = _range(form)
    context = dict(form=form, range=r)
    if r is not None:
        context.update(_context(r, dashboard=True))
    return page_or_fragment("stats/dashboard.html", "stats/_dashboard.html", 200 if r else 422, **context)


def _report_range() -> service.DateRange:
    if not can(current_user, Action.STATS_REPORT):
        abort(404)
    form = RangeForm(request.args)
    r = _range(form)
    if r is None:
        abort(400, description=_("Choose a valid period."))
    return r


def _association() -> tuple[str, Association | None]:
    from desk.portal import profile
    row = profile.get(db.session, current_app.config)
    return row.name(current_locale()), row


@bp.get("/report")
def report():
    r = _report_range()
    export.recorded(db.session, current_user, "html", r.first, r.last)
    name, association = _association()
    logo = None
    if association is not None and association.logo_stored_name and "portal.logo" in current_app.view_functions:
        logo = url_for("portal.logo")
    return page_or_fragment("stats/report.html", "stats/report.html", association_name=name,
                            association_row=association, logo_url=logo, range=r, **_context(r))


def report_file(fmt: str, r: service.DateRange, locale: str) -> bytes:
    """The general manager's report (every department) as XLSX or CSV bytes: the download
    (after STATS_REPORT is checked) and `flask desk report` write the same file."""
    from desk.portal import profile
    stats = service.compute(db.session, None, r)
    title = f"{profile.get(db.session, current_app.config).name(locale)} — {_('Report to the general manager')}"
    return export.render(fmt, tables.build(stats, locale), title, export.period_text(r.first, r.last, locale), locale)


@bp.get("/export.<fmt>")
def download(fmt: str):
    if fmt not in export.FORMATS:
        raise NotFound()
    r = _report_range()
    body = report_file(fmt, r, current_locale())
    export.recorded(db.session, current_user, fmt, r.first, r.last)
    response = Response(body, mimetype=export.MIME[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename(fmt, r.first, r.last)}"'
    return response
