"""The field work's part of the general manager's report: pure queries over a date range
(inclusive, Riyadh-local days), no Flask, no permission check (the report's own page decides
who reads it). templates/survey/_report_sections.html renders what these return, given as
``visitors``, ``emergencies`` and ``findings``.

Visit tickets have no site (tickets carry no site column yet), so ``visitor_figures`` gives the
counter's taps per site per day and, beside them, the visit-channel tickets of the whole
association per day.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk.models import (
    AnswerState,
    AuxService,
    AuxServiceTap,
    Channel,
    Emergency,
    ItemCode,
    Site,
    StatsRollup,
    Survey,
    SurveyAnswer,
    SurveyItem,
    SurveyStatus,
    Ticket,
    VisitorTap,
)
from desk.models.stats import Grain
from desk.sqlhints import indexed_by
from desk.stats.rollup import rolled_through
from desk.text import riyadh_midnight

CREATED_INDEX = "ix_tickets_created"  # (created_at, id): every ticket by creation time

@dataclass
class VisitorDay:
    day: date
    by_site: dict[int, int]       # site id → visitors counted at the desk
    counted: int                  # the day's taps, all sites
    visit_tickets: int            # visit-channel tickets received that day (the whole association)


@dataclass
class VisitorFigures:
    start: date
    end: date
    sites: list[Site]             # every site with a tap in the range, or active (in order)
    days: list[VisitorDay] = field(default_factory=list)

    @property
    def total_counted(self) -> int:
        return sum(d.counted for d in self.days)

    @property
    def total_visit_tickets(self) -> int:
        return sum(d.visit_tickets for d in self.days)

    def site_total(self, site_id: int) -> int:
        return sum(d.by_site.get(site_id, 0) for d in self.days)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def visitor_figures(session: Session, start: date, end: date, visit_tickets: bool = True) -> VisitorFigures:
    """Per day, per site: visitors counted; and per day the visit-channel tickets received (the
    whole association: tickets have no site). Every day of the range is listed, zeros included.
    Two GROUP BY queries. ``visit_tickets=False`` leaves the tickets out (zeros): the statistics
    page has them already, in its per-channel counts."""
    taps = session.execute(
        select(VisitorTap.day, VisitorTap.site_id, func.count())
        .where(VisitorTap.day >= start, VisitorTap.day <= end)
        .group_by(VisitorTap.day, VisitorTap.site_id)).all()
    by_day: dict[date, dict[int, int]] = {}
    for day, site_id, n in taps:
        by_day.setdefault(day, {})[site_id] = int(n)
    tickets = _visit_tickets_per_day(session, start, end) if visit_tickets else {}
    seen = {site_id for counts in by_day.values() for site_id in counts}
    sites = list(session.scalars(select(Site).where((Site.active.is_(True)) | (Site.id.in_(seen or {0})))
                                 .order_by(Site.position, Site.id)))
    figures = VisitorFigures(start, end, sites)
    for day in _days(start, end):
        counts = by_day.get(day, {})
        figures.days.append(VisitorDay(day, counts, sum(counts.values()), tickets.get(day, 0)))
    return figures


def riyadh_day(session: Session, column):
    """SQL for the Riyadh calendar day of a UTC timestamp column (Riyadh is UTC+3 all year)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Riyadh", column))
    return func.date(column, "+3 hours")  # SQLite keeps naive UTC text


def _visit_tickets_per_day(session: Session, start: date, end: date) -> dict[date, int]:
    """Visit-channel tickets per Riyadh day: from the statistics' day roll-ups for the days
    they cover (each a few rows of the (grain, day) index, whatever the number of tickets), the
    days after them counted live from the tickets. (Counted live throughout, this was 299 ms
    of the 12-month statistics page at 1,000,000 tickets.)"""
    counts: dict[date, int] = {}
    live_from = start
    through = rolled_through(session)
    if through is not None and through >= start:
        last = min(end, through)
        counts.update((_as_date(d), int(n or 0)) for d, n in session.execute(
            select(StatsRollup.day, func.sum(StatsRollup.received))
            .where(StatsRollup.grain == Grain.DAY, StatsRollup.day.between(start, last),
                   StatsRollup.channel == Channel.VISIT)
            .group_by(StatsRollup.day)))
        live_from = last + timedelta(days=1)
    if live_from <= end:
        day = riyadh_day(session, Ticket.created_at)
        live = (select(day, func.count())
                .where(Ticket.channel == Channel.VISIT, Ticket.created_at >= riyadh_midnight(live_from),
                       Ticket.created_at < riyadh_midnight(end + timedelta(days=1)))
                .group_by(day))
        if through is not None:
            # The days since the last roll-up: a short range of the creation index. SQLite's
            # sampled statistics took the channel index instead, every visit ticket ever
            # read for one day (231 ms at 1,000,000 tickets).
            live = indexed_by(live, Ticket.__table__, CREATED_INDEX)
        counts.update((_as_date(d), int(n)) for d, n in session.execute(live))
    return counts


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def emergencies_between(session: Session, start: date, end: date) -> list[Emergency]:
    """Emergencies that happened in the range (Riyadh days), oldest first, each with its site,
    what happened, the corrective action, and its acknowledgement (who, when, note) if any."""
    return list(session.scalars(
        select(Emergency).where(Emergency.occurred_at >= riyadh_midnight(start),
                                Emergency.occurred_at < riyadh_midnight(end + timedelta(days=1)))
        .order_by(Emergency.occurred_at, Emergency.id)))


@dataclass(frozen=True)
class Finding:
    day: date
    site: Site
    item_text_ar: str
    item_text_en: str
    item_id: int
    note: str | None
    survey_id: int
    submitted: bool

    def item_text(self, locale: str) -> str:
        return (self.item_text_en if locale == "en" else self.item_text_ar) or self.item_text_ar


def findings_between(session: Session, start: date, end: date, item_id: int | None = None,
                     submitted_only: bool = True) -> list[Finding]:
    """The "needs attention" answers of surveys of the range (submitted ones by default), with
    the item's text as it was answered, the site, the day and the note: by day, site, item."""
    # The columns used, not the entities: a SurveyAnswer would bring its item (joined) and photos
    # (one more statement), a Survey its site and submitter (joined, and two more for the
    # submitter's roles and departments), none of which a finding shows.
    a = SurveyAnswer
    query = (
        select(a.item_text_ar, a.item_text_en, a.item_id, a.note, Survey.day, Survey.id, Survey.status, Site)
        .join(Survey, Survey.id == a.survey_id)
        .join(Site, Site.id == Survey.site_id)
        .where(Survey.day >= start, Survey.day <= end, a.state == AnswerState.ATTENTION)
        .order_by(Survey.day, Site.position, Site.id, a.position, a.id)
    )
    if submitted_only:
        query = query.where(Survey.status == SurveyStatus.SUBMITTED)
    if item_id is not None:
        query = query.where(a.item_id == item_id)
    return [Finding(day, site, text_ar, text_en, answer_item_id, note, survey_id, status == SurveyStatus.SUBMITTED)
            for text_ar, text_en, answer_item_id, note, day, survey_id, status, site in session.execute(query).all()]


@dataclass
class ServiceFigures:
    """Auxiliary services given in the range: per service, per site."""

    start: date
    end: date
    services: list[AuxService]
    sites: list[Site]
    counts: dict[tuple[int, int], int] = field(default_factory=dict)   # (service id, site id) → count

    def count(self, service_id: int, site_id: int) -> int:
        return self.counts.get((service_id, site_id), 0)

    def service_total(self, service_id: int) -> int:
        return sum(n for (s, _site), n in self.counts.items() if s == service_id)

    def site_total(self, site_id: int) -> int:
        return sum(n for (_s, site), n in self.counts.items() if site == site_id)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def service_figures(session: Session, start: date, end: date) -> ServiceFigures:
    """Auxiliary services counted per service and site over the range (one GROUP BY): every
    active service and site, and any inactive one that has a count in the range."""
    rows = session.execute(
        select(AuxServiceTap.service_id, AuxServiceTap.site_id, func.count())
        .where(AuxServiceTap.day >= start, AuxServiceTap.day <= end)
        .group_by(AuxServiceTap.service_id, AuxServiceTap.site_id)).all()
    counts = {(service_id, site_id): int(n) for service_id, site_id, n in rows}
    used_services = {s for s, _site in counts} or {0}
    used_sites = {site for _s, site in counts} or {0}
    services = list(session.scalars(select(AuxService).where(AuxService.active.is_(True) | AuxService.id.in_(
        used_services)).order_by(AuxService.position, AuxService.id)))
    sites = list(session.scalars(select(Site).where(Site.active.is_(True) | Site.id.in_(used_sites))
                                 .order_by(Site.position, Site.id)))
    return ServiceFigures(start, end, services, sites, counts)


@dataclass(frozen=True)
class Readiness:
    """One survey's staff-readiness answer: the day, the site, whether the reception was staffed
    ("yes" | "partly" | "no", None if not said), who was on duty (names as recorded)."""

    day: date
    site: Site
    staffed: str | None
    on_duty: list[str]
    state: str | None
    note: str | None
    survey_id: int


def readiness_between(session: Session, start: date, end: date, submitted_only: bool = True) -> list[Readiness]:
    """The staff-readiness answers of the range's surveys (submitted ones by default), by day and site."""
    # The columns used, not the entities (as findings_between: no eager loads of items, photos,
    # submitters).
    a = SurveyAnswer
    query = (
        select(a.readiness, a.state, a.note, Survey.day, Survey.id, Site)
        .join(Survey, Survey.id == a.survey_id)
        .join(Site, Site.id == Survey.site_id)
        .join(SurveyItem, SurveyItem.id == a.item_id)
        .where(Survey.day >= start, Survey.day <= end, SurveyItem.code == ItemCode.STAFF_READINESS)
        .order_by(Survey.day, Site.position, Site.id)
    )
    if submitted_only:
        query = query.where(Survey.status == SurveyStatus.SUBMITTED)
    found = []
    for readiness, state, note, day, survey_id, site in session.execute(query).all():
        kept = readiness or {}
        found.append(Readiness(day, site, kept.get("staffed"), [p.get("name", "") for p in
                                                                 kept.get("on_duty") or []],
                               state, note, survey_id))
    return found
