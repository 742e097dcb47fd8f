"""The statistics' roll-ups: what happened each Riyadh day, summed in SQL.

``ticket_facts(lo, hi)`` is the one definition of the counted facts: one row per event of a
ticket (created, first response, resolved, breach marked) or per satisfaction answer inside
[lo, hi), with its Riyadh day, dimensions and 0/1 columns. ``refresh`` groups it into
``stats_rollup`` day rows (and whole months, and per-department series); the service sums the
same facts live for the days after ``rolled_through``. Durations go into hour-based buckets
(``bucket_of``/``bucket_bounds``), so medians and 90th percentiles come from a histogram:
exact to the bucket (the hour under two days, six hours under a week, the day under 60 days).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desk.models import Beneficiary, SatisfactionResponse, StatsDuration, StatsRollup, StatsRollupState, Ticket, utcnow
from desk.models.stats import Grain
from desk.text import riyadh_midnight, to_riyadh
from desk.transaction import commit

COUNTS = ("received", "resolved", "actioned", "responded", "sla_targets", "sla_met", "breached", "answers",
          "rating_sum", "rating_1", "rating_2", "rating_3", "rating_4", "rating_5", "solved", "comments")
DIMENSIONS = ("department_id", "channel", "kind", "category_id", "requester_kind")
RESPONSE, RESOLUTION = "f", "r"

HOUR = 3600
DAY = 24 * HOUR
# Bucket edges (seconds): hourly below 48 h, six-hourly below 7 days, daily below 60 days.
_STEPS = ((0, 2 * DAY, HOUR), (2 * DAY, 7 * DAY, 6 * HOUR), (7 * DAY, 60 * DAY, DAY))
LAST_BUCKET = 48 + 20 + 53  # 121: 60 days or more


def bucket_of(seconds: int) -> int:
    """The bucket of a duration (Python twin of ``_bucket_sql``; tests compare them)."""
    seconds = max(0, int(seconds))
    first = 0
    for lo, hi, step in _STEPS:
        if seconds < hi:
            return first + (seconds - lo) // step
        first += (hi - lo) // step
    return LAST_BUCKET


def bucket_bounds(bucket: int) -> tuple[int, int | None]:
    """[lower, upper) seconds of a bucket; upper None for the last (60 days or more)."""
    first = 0
    for lo, hi, step in _STEPS:
        count = (hi - lo) // step
        if bucket < first + count:
            start = lo + (bucket - first) * step
            return start, start + step
        first += count
    return 60 * DAY, None


def _bucket_sql(seconds):
    cases, first = [(seconds < 0, sa.literal(0))], 0
    for lo, hi, step in _STEPS:
        cases.append((seconds < hi, first + (seconds - lo) // step))
        first += (hi - lo) // step
    return sa.case(*cases, else_=sa.literal(LAST_BUCKET))


def _day(column, dialect: str):
    """The Asia/Riyadh calendar day of a stored UTC time, in SQL."""
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone("Asia/Riyadh", column), sa.Date)
    return sa.type_coerce(sa.func.date(column, "+3 hours"), sa.Date)  # Riyadh keeps UTC+3 all year


def _seconds(later, earlier, dialect: str):
    if dialect == "postgresql":
        return sa.cast(sa.func.round(sa.extract("epoch", later - earlier)), sa.BigInteger)
    return sa.cast(sa.func.round((sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400), sa.Integer)


def utc_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[start of ``first``, start of the day after ``last``) in Riyadh, as UTC times."""
    lo = riyadh_midnight(first).astimezone(UTC)
    hi = riyadh_midnight(last + timedelta(days=1)).astimezone(UTC)
    return lo, hi


def _one(flag) -> sa.ColumnElement:
    return sa.case((flag, 1), else_=0)


# A bound or bindable value: the statistics' service builds its statements once with
# ``sa.bindparam`` placeholders (an expanding one for the departments) and binds them per request.
Bound = datetime | sa.BindParameter
Departments = list[int] | sa.BindParameter | None


def ticket_facts(dialect: str, lo: Bound, hi: Bound, departments: Departments = None):
    """The counted facts in [lo, hi) as a UNION ALL select: day, the dimensions, the counts."""
    tickets, t, s = Ticket.__table__, Ticket.__table__.c, SatisfactionResponse.__table__.c
    b = Beneficiary.__table__
    # Who filed each ticket: its requester's kind (one primary-key lookup per ticket counted).
    with_requester = tickets.outerjoin(b, b.c.id == t.beneficiary_id)
    zero = sa.literal(0)

    def facts(when, dims, department, source=None, **values):
        columns = [_day(when, dialect).label("day")] + dims
        columns += [sa.cast(values.get(name, zero), sa.Integer).label(name) for name in COUNTS]
        stmt = sa.select(*columns).where(when >= lo, when < hi)
        if source is not None:
            stmt = stmt.select_from(source)
        if departments is not None:
            stmt = stmt.where(department.in_(departments))
        return stmt

    ticket_dims = [sa.func.coalesce(t.department_id, 0).label("department_id"), t.channel.label("channel"),
                   t.kind.label("kind"), sa.func.coalesce(t.category_id, 0).label("category_id"),
                   sa.func.coalesce(b.c.requester_kind, "").label("requester_kind")]
    with_target = t.due_at.is_not(None)
    parts = [
        facts(t.created_at, ticket_dims, t.department_id, with_requester, received=sa.literal(1)),
        facts(t.resolved_at, ticket_dims, t.department_id, with_requester, resolved=sa.literal(1),
              actioned=_one(sa.func.length(sa.func.coalesce(t.action_taken, "")) > 0),
              sla_targets=_one(with_target), sla_met=_one(with_target & (t.resolved_at <= t.due_at))),
        facts(t.first_response_at, ticket_dims, t.department_id, with_requester, responded=sa.literal(1)),
        facts(t.breached_at, ticket_dims, t.department_id, with_requester, breached=sa.literal(1)),
        facts(s.created_at, [sa.func.coalesce(s.department_id, 0).label("department_id"), s.channel.label("channel"),
                             s.kind.label("kind"), sa.literal(0).label("category_id"),
                             sa.literal("").label("requester_kind")], s.department_id,
              answers=sa.literal(1), rating_sum=s.rating,
              **{f"rating_{r}": _one(s.rating == r) for r in range(1, 6)},
              solved=_one(s.solved.is_(True)),
              comments=_one(sa.func.length(sa.func.coalesce(s.comment, "")) > 0)),
    ]
    return sa.union_all(*parts)


def duration_facts(dialect: str, lo: Bound, hi: Bound, departments: Departments = None):
    """One row per first response and per resolution in [lo, hi): day, department, metric, bucket."""
    t = Ticket.__table__.c
    parts = []
    for metric, when in ((RESPONSE, t.first_response_at), (RESOLUTION, t.resolved_at)):
        stmt = sa.select(_day(when, dialect).label("day"), sa.func.coalesce(t.department_id, 0).label("department_id"),
                         sa.literal(metric).label("metric"),
                         _bucket_sql(_seconds(when, t.created_at, dialect)).label("bucket")
                         ).where(when >= lo, when < hi)
        if departments is not None:
            stmt = stmt.where(t.department_id.in_(departments))
        parts.append(stmt)
    return sa.union_all(*parts)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def refresh(session: Session, first: date, last: date) -> None:
    """Recompute the roll-ups of the Riyadh days [first, last] (and the whole months among
    them), then mark them rolled up when they continue the rolled-up days. Commits."""
    dialect = session.get_bind().dialect.name
    rollup, durations = StatsRollup.__table__, StatsDuration.__table__
    lo, hi = utc_bounds(first, last)
    for table in (rollup, durations):
        session.execute(table.delete().where(table.c.grain.in_([Grain.DAY, Grain.SERIES]),
                                             table.c.day.between(first, last)))

    facts = ticket_facts(dialect, lo, hi).subquery()
    sums = [sa.func.sum(facts.c[name]) for name in COUNTS]
    session.execute(rollup.insert().from_select(
        ["grain", "day", *DIMENSIONS, *COUNTS],
        sa.select(sa.literal(Grain.DAY), facts.c.day, *[facts.c[d] for d in DIMENSIONS], *sums)
        .group_by(facts.c.day, *[facts.c[d] for d in DIMENSIONS])))
    days = rollup.c
    session.execute(rollup.insert().from_select(
        ["grain", "day", "department_id", "channel", "kind", "category_id", *COUNTS],
        sa.select(sa.literal(Grain.SERIES), days.day, days.department_id, sa.literal(""), sa.literal(""),
                  sa.literal(0), *[sa.func.sum(days[name]) for name in COUNTS])
        .where(days.grain == Grain.DAY, days.day.between(first, last))
        .group_by(days.day, days.department_id)))

    spans = duration_facts(dialect, lo, hi).subquery()
    session.execute(durations.insert().from_select(
        ["grain", "day", "department_id", "metric", "bucket", "n"],
        sa.select(sa.literal(Grain.DAY), spans.c.day, spans.c.department_id, spans.c.metric, spans.c.bucket,
                  sa.func.count()).group_by(spans.c.day, spans.c.department_id, spans.c.metric, spans.c.bucket)))

    state = session.get(StatsRollupState, 1)
    if state is None:
        state = StatsRollupState(id=1, rolled_through=None)
        session.add(state)
    if state.rolled_through is None or first <= state.rolled_through + timedelta(days=1):
        state.rolled_through = max(last, state.rolled_through or last)
    state.refreshed_at = utcnow()

    # The whole months touched whose every day is now rolled up: one row per combination
    # instead of one per day.
    month = _month_start(first)
    while month <= last:
        end = _month_end(month)
        if state.rolled_through is not None and end <= state.rolled_through:
            _roll_month(session, month, end)
        month = end + timedelta(days=1)
    commit(session)


def _roll_month(session: Session, month: date, end: date) -> None:
    for table, keys, values in (
            (StatsRollup.__table__, DIMENSIONS, COUNTS),
            (StatsDuration.__table__, ("department_id", "metric", "bucket"), ("n",))):
        c = table.c
        session.execute(table.delete().where(c.grain == Grain.MONTH, c.day == month))
        session.execute(table.insert().from_select(
            ["grain", "day", *keys, *values],
            sa.select(sa.literal(Grain.MONTH), sa.literal(month, sa.Date), *[c[k] for k in keys],
                      *[sa.func.sum(c[v]) for v in values])
            .where(c.grain == Grain.DAY, c.day.between(month, end)).group_by(*[c[k] for k in keys])))


def rolled_through(session: Session) -> date | None:
    state = session.get(StatsRollupState, 1)
    return state.rolled_through if state else None


def first_day(session: Session) -> date | None:
    """The Riyadh day of the oldest ticket (where a full rebuild starts)."""
    oldest = session.scalar(sa.select(sa.func.min(Ticket.created_at)))
    return to_riyadh(oldest).date() if oldest else None


def catch_up(session: Session, today: date, lookback_days: int = 35, full: bool = False,
             progress=None) -> tuple[date, date] | None:
    """What `flask desk stats-rollup` does: roll up to yesterday, redoing the last
    ``lookback_days`` (late changes: a transfer, a reopened ticket) or everything with ``full``.
    Month by month, one commit each. Returns the range refreshed, or None (no tickets)."""
    yesterday = today - timedelta(days=1)
    through = None if full else rolled_through(session)
    oldest = first_day(session)
    if oldest is None:
        return None
    start = oldest if through is None else max(oldest, through - timedelta(days=lookback_days))
    if start > yesterday:
        return None
    if full:
        for table in (StatsRollup.__table__, StatsDuration.__table__):
            session.execute(table.delete())
        state = session.get(StatsRollupState, 1)
        if state is not None:
            state.rolled_through = None
        commit(session)
    chunk = start
    while chunk <= yesterday:
        end = min(_month_end(chunk), yesterday)
        refresh(session, chunk, end)
        if progress:
            progress(chunk, end)
        chunk = end + timedelta(days=1)
    return start, yesterday
