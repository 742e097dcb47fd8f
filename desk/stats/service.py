"""The statistics (issue 8, items 5 and 6): what the dashboard, the general manager's report
and its exports show, for a range of Riyadh days and what the actor may see.

Everything is summed in SQL: the rolled-up days from ``stats_rollup``/``stats_durations``
(whole months from their month rows), the days after ``rolled_through`` live from the tickets
through the same fact definitions (desk.stats.rollup), "open and overdue now" live from the
tickets. Python only folds the few hundred grouped rows into tables.
"""
from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _nl
from hijridate import Gregorian, Hijri
from sqlalchemy.orm import Session

from desk.errors import NotFound, ValidationFailed
from desk.models import (
    OPEN_STATUSES,
    Category,
    Channel,
    CompensationClaim,
    Department,
    Role,
    SatisfactionResponse,
    StatsDuration,
    StatsRollup,
    Ticket,
    User,
    utcnow,
)
from desk.models.stats import Grain
from desk.permissions import Action, can
from desk.sla.service import GREGORIAN, HIJRI, parse_day
from desk.sla.tickets import running_statuses
from desk.stats import rollup
from desk.stats.rollup import COUNTS, DIMENSIONS, RESOLUTION, RESPONSE, bucket_bounds
from desk.tags.service import counts as tag_counts
from desk.text import today_riyadh

MAX_YEARS = 5
PRESETS = ("this_month", "last_month", "this_quarter", "this_year", "hijri_year", "last_12_months")


# The range ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DateRange:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def preset_range(name: str, today: date) -> DateRange:
    month = today.replace(day=1)
    if name == "this_month":
        return DateRange(month, today)
    if name == "last_month":
        end = month - timedelta(days=1)
        return DateRange(end.replace(day=1), end)
    if name == "this_quarter":
        return DateRange(month.replace(month=3 * ((today.month - 1) // 3) + 1), today)
    if name == "this_year":
        return DateRange(date(today.year, 1, 1), today)
    if name == "hijri_year":
        year = Gregorian(today.year, today.month, today.day).to_hijri().year
        return DateRange(Hijri(year, 1, 1).to_gregorian(), today)
    if name == "last_12_months":
        return DateRange(_add_years(today, -1) + timedelta(days=1), today)
    raise ValueError(name)


def parse_range(start: str | None, end: str | None, calendar: str = GREGORIAN, preset: str | None = None,
                today: date | None = None) -> DateRange:
    """The range typed (Gregorian or Umm al-Qura Hijri, either digits) or a preset.
    ValidationFailed with a message for the field at fault."""
    today = today or today_riyadh()
    if preset:
        if preset not in PRESETS:
            raise ValidationFailed({"preset": [str(_l("Choose one of the listed periods."))]})
        return preset_range(preset, today)
    calendar = HIJRI if calendar == HIJRI else GREGORIAN
    errors: dict[str, list[str]] = {}
    days = {}
    for name, text in (("start", start), ("end", end)):
        if not (text or "").strip():
            errors[name] = [str(_l("Enter a date."))]
            continue
        try:
            days[name] = parse_day(text, calendar)
        except ValueError:
            errors[name] = [str(_l("Enter a real date as year-month-day, e.g. 2026-01-31 or 1447-07-15."))]
    if not errors:
        if days["start"] > days["end"]:
            errors["end"] = [str(_l("The end of the period must not be before its start."))]
        elif days["end"] >= _add_years(days["start"], MAX_YEARS):
            errors["end"] = [str(_nl("The period can be at most %(num)s year.", "The period can be at most %(num)s years.", MAX_YEARS))]
    if errors:
        raise ValidationFailed(errors)
    return DateRange(days["start"], days["end"])


# Who sees what -----------------------------------------------------------------------

def scope(actor: User) -> list[int] | None:
    """The departments whose figures the actor may see: None for all (supervisor, general
    manager, admin), a focal point's own departments; NotFound for anyone else."""
    if not can(actor, Action.STATS_VIEW):
        raise NotFound()
    if actor.has_role(Role.SUPERVISOR, Role.GENERAL_MANAGER, Role.ADMIN):
        return None
    return sorted(actor.department_ids)


# The figures -------------------------------------------------------------------------

@dataclass
class Times:
    """Medians and 90th percentiles from a histogram: the upper edge of the bucket holding the
    nearest-rank value (None when nothing was counted, or "60 days or more")."""
    count: int = 0
    median: int | None = None
    p90: int | None = None
    over: bool = False  # the percentile fell in the last bucket (60 days or more)
    p90_over: bool = False


def percentile(histogram: dict[int, int], share: float) -> tuple[int | None, bool]:
    """Nearest-rank percentile of a bucket histogram: (upper edge in seconds, is-last-bucket)."""
    total = sum(histogram.values())
    if not total:
        return None, False
    rank = max(1, math.ceil(share * total))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            lower, upper = bucket_bounds(bucket)
            return (lower, True) if upper is None else (upper, False)
    raise AssertionError("unreachable")


def _times(histogram: dict[int, int]) -> Times:
    median, over = percentile(histogram, 0.5)
    p90, p90_over = percentile(histogram, 0.9)
    return Times(count=sum(histogram.values()), median=median, p90=p90, over=over, p90_over=p90_over)


@dataclass
class Stats:
    range: DateRange
    departments: list[int] | None  # the scope: None = all
    rolled_through: date | None
    totals: dict[str, int]
    by_channel: dict[str, dict[str, int]]
    by_kind: dict[str, dict[str, int]]
    by_department: dict[int, dict[str, int]]
    by_category: dict[int, dict[str, int]]
    response_times: dict[int | None, Times]     # None: all departments together
    resolution_times: dict[int | None, Times]
    open_now: dict[int, int]
    overdue_now: dict[int, int]
    series: list[tuple[date, int, int]]           # day, received, resolved
    comments: list[dict]
    actions: list[dict]
    compensation: dict[str, dict]
    department_names: dict[int, tuple[str, str]] = field(default_factory=dict)  # id → (Arabic, English)
    # The field work (desk.survey.report): visitors counted, emergencies, the survey's findings.
    # None for a focal point's scope: it belongs to the sites, not to a department.
    field_work: FieldWork | None = None
    category_names: dict[int, tuple[str, str]] = field(default_factory=dict)
    # Per tag (desk.tags.service.counts): tickets received in the period with it, open ones now.
    by_tag: list[dict] = field(default_factory=list)
    # Per requester kind (desk.models.RequesterKind; "" anonymous or no requester recorded).
    by_requester: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class FieldWork:
    visitors: object          # desk.survey.report.VisitorFigures
    # None when not read: the dashboard shows neither (the report and the exports do).
    emergencies: list | None  # desk.models.Emergency, in the order they happened
    findings: list | None     # desk.survey.report.Finding
    services: object = None   # desk.survey.report.ServiceFigures: auxiliary services given
    readiness: list = field(default_factory=list)  # desk.survey.report.Readiness: staff readiness
    training: object = None   # desk.training.service.TrainingFigures: the training log
    # Visit-channel tickets received in the period, the whole association (the visitors' note).
    visit_tickets: int = 0


def _field_work(session: Session, r: DateRange, visit_tickets: int, dashboard: bool = False) -> FieldWork:
    """The field work; ``visit_tickets`` from the per-channel counts the figures already hold
    (the same roll-ups and live facts), not counted again. For the ``dashboard``, only what it
    shows: no emergencies, findings or training months."""
    from desk.survey import report as survey_report
    from desk.training import service as training
    everything = not dashboard
    return FieldWork(survey_report.visitor_figures(session, r.first, r.last, visit_tickets=False),
                     survey_report.emergencies_between(session, r.first, r.last) if everything else None,
                     survey_report.findings_between(session, r.first, r.last) if everything else None,
                     survey_report.service_figures(session, r.first, r.last),
                     survey_report.readiness_between(session, r.first, r.last),
                     training.figures(session, r.first, r.last, months=everything), visit_tickets)


def _month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _whole_or_days(first: date, last: date) -> list[tuple[str, date, date]]:
    """The (grain, first day, last day) spans of the roll-up rows covering [first, last]: month
    rows for the whole months, day rows for the days before and after them."""
    m1 = first if first.day == 1 else _month_end(first) + timedelta(days=1)
    m_last = last.replace(day=1)
    if _month_end(last) != last:
        m_last = (m_last - timedelta(days=1)).replace(day=1)
    if m1 > m_last:  # no whole month inside
        return [(Grain.DAY, first, last)]
    tail_start = _month_end(m_last) + timedelta(days=1)
    spans = [(Grain.MONTH, m1, m_last)]
    if first < m1:
        spans.append((Grain.DAY, first, m1 - timedelta(days=1)))
    if tail_start <= last:
        spans.append((Grain.DAY, tail_start, last))
    return spans


def _series_days(first: date, last: date) -> list[tuple[str, date, date]]:
    return [(Grain.SERIES, first, last)]


def _split(session: Session, r: DateRange) -> tuple[DateRange | None, DateRange | None, date | None]:
    """The rolled-up part of the range and the part read live from the tickets."""
    through = rollup.rolled_through(session)
    if through is None or r.first > through:
        return None, r, through
    if r.last <= through:
        return r, None, through
    return DateRange(r.first, through), DateRange(through + timedelta(days=1), r.last), through


# The grouped statements are built once per shape and kept: building them (and SQLAlchemy's
# cache key of them) cost more than running them. A shape is the grains of the rolled-up spans
# (None: no rolled-up part), whether there is a live part, and whether the departments are
# limited; the days, the live part's UTC bounds and the departments (an expanding IN) are bound
# per request by ``_grouped``, so each statement object's cache key is computed once and
# SQLAlchemy's compiled cache hits. The SQL sent is the same as with the values written in.
Shape = tuple[str, ...] | None


def _grouped(session: Session, statement, dialect: str, rolled: DateRange | None, live: DateRange | None,
             departments: list[int] | None, spans=_whole_or_days) -> sa.Result:
    """The rows of a breakdown: the kept ``statement`` (one of the builders below) of this
    range's shape, run with its days and departments; ``spans`` the rolled-up rows read."""
    grains: Shape = None
    values: dict = {}
    if rolled is not None:
        parts = spans(rolled.first, rolled.last)
        grains = tuple(grain for grain, _, _ in parts)
        for i, (_, first, last) in enumerate(parts):
            values[f"first_{i}"], values[f"last_{i}"] = first, last
    if live is not None:
        values["live_lo"], values["live_hi"] = rollup.utc_bounds(live.first, live.last)
    if departments is not None:
        values["departments"] = departments
    return session.execute(statement(dialect, grains, live is not None, departments is not None), values)


def _rolled_and_live(table, grains: Shape, live: bool, scoped: bool, columns, facts, live_columns):
    """The rows of the rolled-up part (``columns`` of ``table`` in the spans of ``grains``, in the
    actor's departments) UNION ALL those of the live part (``live_columns`` of the ``facts``
    select over the live days), as one subquery to group; every value a bind parameter."""
    departments: sa.BindParameter | None = sa.bindparam("departments", expanding=True) if scoped else None
    parts = []
    if grains is not None:
        c = table.c
        # A flat OR of (grain, day range) terms: each one an index range on (grain, day).
        terms = [sa.and_(c.grain == grain, c.day.between(sa.bindparam(f"first_{i}"), sa.bindparam(f"last_{i}")))
                 for i, grain in enumerate(grains)]
        stmt = sa.select(*[c[name] for name in columns]).where(terms[0] if len(terms) == 1 else sa.or_(*terms))
        if departments is not None:
            stmt = stmt.where(c.department_id.in_(departments))
        parts.append(stmt)
    if live:
        rows = facts(sa.bindparam("live_lo"), sa.bindparam("live_hi"), departments).subquery()
        parts.append(sa.select(*live_columns(rows)))
    return (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery()


@functools.cache
def _counts_statement(dialect: str, grains: Shape, live: bool, scoped: bool):
    names = [*DIMENSIONS, *COUNTS]
    rows = _rolled_and_live(StatsRollup.__table__, grains, live, scoped, names,
                            lambda lo, hi, deps: rollup.ticket_facts(dialect, lo, hi, deps),
                            lambda facts: [facts.c[name] for name in names])
    dims = [rows.c[d] for d in DIMENSIONS]
    return sa.select(*dims, *[sa.func.sum(rows.c[n]).label(n) for n in COUNTS]).group_by(*dims)


def _counts(session: Session, dialect: str, rolled, live, departments):
    """(department, channel, kind, category, requester kind) → the summed counts, over the rolled and live parts."""
    return _grouped(session, _counts_statement, dialect, rolled, live, departments).all()


@functools.cache
def _durations_statement(dialect: str, grains: Shape, live: bool, scoped: bool):
    keys = ("department_id", "metric", "bucket")
    rows = _rolled_and_live(StatsDuration.__table__, grains, live, scoped, [*keys, "n"],
                            lambda lo, hi, deps: rollup.duration_facts(dialect, lo, hi, deps),
                            lambda spans: [*[spans.c[k] for k in keys], sa.literal(1).label("n")])
    groups = [rows.c[k] for k in keys]
    return sa.select(*groups, sa.func.sum(rows.c.n)).group_by(*groups)


def _durations(session: Session, dialect: str, rolled, live, departments):
    """(department, metric, bucket) → how many, over the rolled and live parts."""
    return _grouped(session, _durations_statement, dialect, rolled, live, departments).all()


@functools.cache
def _series_statement(dialect: str, grains: Shape, live: bool, scoped: bool):
    names = ("day", "received", "resolved")
    rows = _rolled_and_live(StatsRollup.__table__, grains, live, scoped, names,
                            lambda lo, hi, deps: rollup.ticket_facts(dialect, lo, hi, deps),
                            lambda facts: [facts.c[name] for name in names])
    return (sa.select(rows.c.day, sa.func.sum(rows.c.received), sa.func.sum(rows.c.resolved))
            .group_by(rows.c.day))


def _series(session: Session, dialect: str, rolled, live, departments) -> list[tuple[date, int, int]]:
    """Every day of the range: (day, received, resolved), zeros included."""
    found = {(d if isinstance(d, date) else date.fromisoformat(str(d))): (int(a or 0), int(b or 0))
             for d, a, b in _grouped(session, _series_statement, dialect, rolled, live, departments, _series_days)}
    out, day = [], rolled.first if rolled else live.first
    last = live.last if live else rolled.last
    while day <= last:
        received, resolved = found.get(day, (0, 0))
        out.append((day, received, resolved))
        day += timedelta(days=1)
    return out


def _now_counts(session: Session, departments, now: datetime) -> tuple[dict[int, int], dict[int, int]]:
    """Open tickets and those past their due time (clock running: not waiting on the
    beneficiary), per department, now: one pass over the partial index of open tickets
    (ix_tickets_open_department, index-only). The open condition is spelled with literal
    values, so both databases see that the partial index applies."""
    is_open = Ticket.status.in_([sa.literal_column(f"'{s.value}'") for s in OPEN_STATUSES])
    running = Ticket.status.in_([sa.literal_column(f"'{s}'") for s in running_statuses()])
    overdue = sa.func.sum(sa.case((running & (Ticket.due_at < now), 1), else_=0))
    # Grouped by the bare column (not COALESCE): SQLite then reads the index in order, covering.
    stmt = sa.select(Ticket.department_id, sa.func.count(), overdue).where(is_open).group_by(Ticket.department_id)
    if departments is not None:
        stmt = stmt.where(Ticket.department_id.in_(departments))
    rows = session.execute(stmt).all()
    return ({int(d or 0): int(n) for d, n, _ in rows if n}, {int(d or 0): int(late) for d, _, late in rows if late})


def _comments(session: Session, r: DateRange, departments, limit: int = 10) -> list[dict]:
    """The latest comments of the range: what was said, the department and channel, the
    rating; never who answered or who handled the ticket."""
    s = SatisfactionResponse
    lo, hi = rollup.utc_bounds(r.first, r.last)
    stmt = (sa.select(s.created_at, s.department_id, s.channel, s.rating, s.comment)
            .where(s.created_at >= lo, s.created_at < hi, s.comment.is_not(None), s.comment != "")
            .order_by(s.created_at.desc()).limit(limit))
    if departments is not None:
        stmt = stmt.where(s.department_id.in_(departments))
    return [dict(at=at, department_id=dep or 0, channel=channel, rating=rating, comment=comment)
            for at, dep, channel, rating, comment in session.execute(stmt)]


def _actions(session: Session, r: DateRange, departments, limit: int = 10) -> list[dict]:
    """The latest actions taken (الإجراء المتخذ) recorded when resolving, in the range."""
    lo, hi = rollup.utc_bounds(r.first, r.last)
    stmt = (sa.select(Ticket.reference, Ticket.resolved_at, Ticket.department_id, Ticket.kind, Ticket.action_taken)
            .where(Ticket.resolved_at >= lo, Ticket.resolved_at < hi, Ticket.action_taken.is_not(None))
            .order_by(Ticket.resolved_at.desc()).limit(limit))
    if departments is not None:
        stmt = stmt.where(Ticket.department_id.in_(departments))
    return [dict(reference=ref, at=at, department_id=dep or 0, kind=kind, action=action)
            for ref, at, dep, kind, action in session.execute(stmt)]


def _compensation(session: Session, r: DateRange, departments) -> dict[str, dict]:
    """Compensation claims opened in the range, by outcome: how many and the amount (halalas)."""
    lo, hi = rollup.utc_bounds(r.first, r.last)
    c = CompensationClaim
    stmt = (sa.select(c.outcome, sa.func.count(), sa.func.sum(c.amount_halalas))
            .where(c.created_at >= lo, c.created_at < hi).group_by(c.outcome))
    if departments is not None:
        stmt = stmt.join(Ticket, Ticket.id == c.ticket_id).where(Ticket.department_id.in_(departments))
    return {outcome: {"count": int(n), "halalas": int(amount or 0)} for outcome, n, amount in session.execute(stmt)}


def statistics(session: Session, actor: User, r: DateRange, now: datetime | None = None, *,
               dashboard: bool = False) -> Stats:
    """Every figure of the report (or only those the ``dashboard`` shows), for the range and
    the actor's scope."""
    return compute(session, scope(actor), r, now, dashboard=dashboard)


def compute(session: Session, departments: list[int] | None, r: DateRange, now: datetime | None = None, *,
            dashboard: bool = False) -> Stats:
    """The figures of the departments given (None: all of them; the CLI report, and
    ``statistics`` once it has checked who asks). With ``dashboard``, the field work leaves out
    what only the report and the exports show (see ``_field_work``)."""
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    rolled, live, through = _split(session, r)

    # The few hundred grouped rows folded into each breakdown: each breakdown's rows gathered
    # per key, then summed column by column (sum over zip, in C) rather than row by row.
    width = len(COUNTS)
    # channel, kind, department, category, requester kind
    groups: list[dict] = [defaultdict(list) for _ in range(5)]
    every = []
    by_channel_g, by_kind_g, by_department_g, by_category_g, by_requester_g = groups
    for row in _counts(session, dialect, rolled, live, departments):
        values = [int(v or 0) for v in row[len(DIMENSIONS):]]
        dep, channel, kind, category, requester = row[:len(DIMENSIONS)]
        every.append(values)
        by_channel_g[channel].append(values)
        by_kind_g[kind].append(values)
        by_department_g[int(dep or 0)].append(values)
        by_category_g[int(category or 0)].append(values)
        by_requester_g[requester or ""].append(values)
    summed = lambda rows: [sum(column) for column in zip(*rows, strict=True)] if rows else [0] * width  # noqa: E731
    total = summed(every)
    folds = [{key: summed(rows) for key, rows in group.items()} for group in groups]
    named = lambda fold: {k: dict(zip(COUNTS, v, strict=True)) for k, v in fold.items()}  # noqa: E731
    totals = dict(zip(COUNTS, total, strict=True))
    by_channel, by_kind, by_department, by_category, by_requester = (named(f) for f in folds)

    histograms: dict[str, dict[int | None, dict[int, int]]] = {
        RESPONSE: defaultdict(lambda: defaultdict(int)), RESOLUTION: defaultdict(lambda: defaultdict(int))}
    for dep, metric, bucket, n in _durations(session, dialect, rolled, live, departments):
        for key in (int(dep or 0), None):
            histograms[metric][key][int(bucket)] += int(n)

    open_now, overdue_now = _now_counts(session, departments, now)
    names = {d: (ar, en) for d, ar, en in session.execute(
        sa.select(Department.id, Department.name_ar, Department.name_en))}
    categories = {cid: (ar, en) for cid, ar, en in session.execute(
        sa.select(Category.id, Category.name_ar, Category.name_en))}
    return Stats(
        range=r, departments=departments, rolled_through=through, totals=totals,
        by_channel=by_channel, by_kind=by_kind, by_department=by_department, by_category=by_category,
        by_requester=by_requester,
        response_times={k: _times(v) for k, v in histograms[RESPONSE].items()},
        resolution_times={k: _times(v) for k, v in histograms[RESOLUTION].items()},
        open_now=open_now, overdue_now=overdue_now,
        series=_series(session, dialect, rolled, live, departments),
        comments=_comments(session, r, departments), actions=_actions(session, r, departments),
        compensation=_compensation(session, r, departments),
        department_names=names, category_names=categories,
        field_work=(_field_work(session, r, by_channel.get(Channel.VISIT.value, {}).get("received", 0), dashboard)
                    if departments is None else None),
        by_tag=tag_counts(session, departments, *rollup.utc_bounds(r.first, r.last)),
    )
