"""The statistics as tables: one list that the dashboard, the printable report, the charts,
the XLSX workbook and the CSV file all render, so the five never disagree.

Cells are plain values (int, str, date) or the small types below, which each renderer
formats its own way (the page: Arabic digits and units; the workbook: numbers).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _

from desk import labels
from desk.models import Kind
from desk.stats.service import Stats, Times
from desk.text import to_arabic_digits


@dataclass(frozen=True)
class Percent:
    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class Duration:
    """The upper edge of a histogram bucket, in seconds (``over``: 60 days or more)."""
    seconds: int | None
    over: bool = False

    @property
    def hours(self) -> float | None:
        return None if self.seconds is None else round(self.seconds / 3600, 2)


@dataclass(frozen=True)
class Average:
    total: int
    count: int

    @property
    def value(self) -> float | None:
        return round(self.total / self.count, 2) if self.count else None


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    chart: str | None = None          # "bar" (first value column) or "line" (every value column)
    note: str | None = None
    total: list | None = None         # a last row set apart (all departments together)

    @property
    def chart_points(self) -> list[tuple[str, int]]:
        return [(str(row[0]), int(row[1] or 0)) for row in self.rows]


def _name(pair: tuple[str, str] | None, locale: str, fallback: str) -> str:
    if not pair:
        return fallback
    ar, en = pair
    return (en if locale == "en" else ar) or ar or en or fallback


def department_label(stats: Stats, department_id: int, locale: str) -> str:
    if not department_id:
        return _("No department")
    return _name(stats.department_names.get(department_id), locale, f"#{department_id}")


def _times_cells(times: Times | None) -> list:
    if times is None or not times.count:
        return [0, Duration(None), Duration(None)]
    return [times.count, Duration(times.median, times.over), Duration(times.p90, times.p90_over)]


def build(stats: Stats, locale: str) -> list[Table]:
    L = labels.Translated()
    t = stats.totals
    dep = lambda d: department_label(stats, d, locale)  # noqa: E731
    tables: list[Table] = []

    all_times_r = stats.resolution_times.get(None)
    all_times_f = stats.response_times.get(None)
    open_total, overdue_total = sum(stats.open_now.values()), sum(stats.overdue_now.values())
    tables.append(Table("summary", _("Summary"), [_("Figure"), _("Value")], rows=[
        [_("Tickets received"), t["received"]],
        [_("Tickets resolved"), t["resolved"]],
        [_("Resolved with the action taken recorded"), t["actioned"]],
        [_("Median first response"), _times_cells(all_times_f)[1]],
        [_("Median resolution time"), _times_cells(all_times_r)[1]],
        [_("Resolved within the service level"), Percent(t["sla_met"], t["sla_targets"])],
        [_("Service-level breaches"), t["breached"]],
        [_("Open now"), open_total],
        [_("Overdue now"), overdue_total],
        [_("Satisfaction answers"), t["answers"]],
        [_("Satisfaction response rate"), Percent(t["answers"], t["resolved"])],
        [_("Average satisfaction (1–5)"), Average(t["rating_sum"], t["answers"])],
    ]))

    def received(table: dict, label) -> list[list]:
        rows = [[label(k), v["received"]] for k, v in table.items() if v["received"]]
        return sorted(rows, key=lambda r: -r[1])

    tables.append(Table("channels", _("Tickets received by channel"), [_("Channel"), _("Number received")],
                        received(stats.by_channel, lambda c: L.CHANNELS.get(c, c)), chart="bar"))
    tables.append(Table("kinds", _("Tickets received by kind"), [_("Kind"), _("Number received")],
                        received(stats.by_kind, lambda k: L.KINDS.get(k, k)), chart="bar"))
    requesters = [[L.REQUESTER_KINDS.get(k, k) if k else _("Anonymous or not recorded"), v["received"], v["resolved"]]
                  for k, v in stats.by_requester.items() if v["received"] or v["resolved"]]
    tables.append(Table("requesters", _("Tickets by stakeholder type"),
                        [_("The requester is"), _("Number received"), _("Number resolved")],
                        sorted(requesters, key=lambda r: -r[1]), chart="bar",
                        note=_("Stakeholders as the policies name them: beneficiaries, employees, clients and "
                               "suppliers, government and civil bodies, the private sector, donors and volunteers.")))
    complaints = stats.by_kind.get(Kind.COMPLAINT.value, {}).get("received", 0)
    inquiries = stats.by_kind.get(Kind.INQUIRY.value, {}).get("received", 0)
    others = t["received"] - complaints - inquiries
    tables.append(Table("inquiries_complaints", _("Inquiries and complaints"), [_("Kind"), _("Number received"), _("Share")], [
        [L.KINDS[Kind.INQUIRY.value], inquiries, Percent(inquiries, t["received"])],
        [L.KINDS[Kind.COMPLAINT.value], complaints, Percent(complaints, t["received"])],
        [_("Other kinds"), others, Percent(others, t["received"])],
    ], chart="bar"))

    departments = sorted(set(stats.by_department) | set(stats.open_now), key=lambda d: (d == 0, dep(d)))
    tables.append(Table(
        "departments", _("Tickets by department"),
        [_("Department"), _("Number received"), _("Number resolved"), _("Action taken recorded"), _("Open now"), _("Overdue now")],
        [[dep(d), stats.by_department.get(d, {}).get("received", 0), stats.by_department.get(d, {}).get("resolved", 0),
          stats.by_department.get(d, {}).get("actioned", 0), stats.open_now.get(d, 0), stats.overdue_now.get(d, 0)]
         for d in departments],
        chart="bar", total=[_("All departments"), t["received"], t["resolved"], t["actioned"], open_total,
                            overdue_total]))
    categories = received({k: v for k, v in stats.by_category.items() if k},
                          lambda c: _name(stats.category_names.get(c), locale, f"#{c}"))
    uncategorised = stats.by_category.get(0, {}).get("received", 0)
    if uncategorised:
        categories.append([_("No category"), uncategorised])
    tables.append(Table("categories", _("Tickets received by category"), [_("Category"), _("Number received")], categories,
                        chart="bar"))

    def time_row(label, d):
        counts = stats.by_department.get(d, {}) if d is not None else t
        return [label, *_times_cells(stats.response_times.get(d)), *_times_cells(stats.resolution_times.get(d)),
                counts.get("sla_targets", 0), counts.get("sla_met", 0),
                Percent(counts.get("sla_met", 0), counts.get("sla_targets", 0)), counts.get("breached", 0)]

    timed = sorted(set(stats.by_department) | {d for d in stats.resolution_times if d is not None},
                   key=lambda d: (d == 0, dep(d)))
    tables.append(Table(
        "times", _("Response and resolution times, service levels"),
        [_("Department"), _("First responses"), _("Median first response"), _("90th percentile first response"),
         _("Resolutions"), _("Median resolution time"), _("90th percentile resolution time"),
         _("Resolved with a due time"), _("Resolved in time"), _("Service-level compliance"), _("Breaches")],
        [time_row(dep(d), d) for d in timed], total=time_row(_("All departments"), None),
        note=_("Times run from the ticket's creation to its first public response or its resolution, in calendar "
               "time. Medians and 90th percentiles are rounded up to the hour under two days, to six hours under a "
               "week and to the day under 60 days. A ticket is resolved in time when it was resolved at or before "
               "its due time.")))

    def satisfaction_row(label, c):
        return [label, c["answers"], Percent(c["answers"], c["resolved"]), Average(c["rating_sum"], c["answers"]),
                c["rating_5"], c["rating_4"], c["rating_3"], c["rating_2"], c["rating_1"],
                Percent(c["solved"], c["answers"]), c["comments"]]

    stars = [to_arabic_digits(str(n)) if locale != "en" else str(n) for n in (5, 4, 3, 2, 1)]
    sat_headers = [_("Answers"), _("Response rate"), _("Average rating"), *stars,
                   _("Solved"), _("Comments")]
    tables.append(Table(
        "satisfaction_departments", _("Beneficiary satisfaction by department"), [_("Department"), *sat_headers],
        [satisfaction_row(dep(d), stats.by_department[d]) for d in sorted(stats.by_department, key=lambda d: (d == 0, dep(d)))
         if stats.by_department[d]["answers"] or stats.by_department[d]["resolved"]],
        total=satisfaction_row(_("All departments"), t),
        note=_("Satisfaction is shown per department and channel, never per staff member: it is a tool for "
               "improvement. The response rate compares the answers given in the period with the tickets resolved "
               "in it.")))
    tables.append(Table(
        "satisfaction_channels", _("Beneficiary satisfaction by channel"), [_("Channel"), *sat_headers],
        [satisfaction_row(L.CHANNELS.get(c, c), v) for c, v in sorted(stats.by_channel.items(), key=lambda i: -i[1]["answers"])
         if v["answers"] or v["resolved"]]))
    tables.append(Table("series", _("Created and resolved per day"), [_("Day"), _("Number received"), _("Number resolved")],
                        [[day, received_, resolved] for day, received_, resolved in stats.series], chart="line"))
    months: dict[str, list[int]] = {}
    for day, received_, resolved in stats.series:
        month = months.setdefault(day.strftime("%Y-%m"), [0, 0])
        month[0] += received_
        month[1] += resolved
    tables.append(Table("series_months", _("Created and resolved per month"),
                        [_("Month"), _("Number received"), _("Number resolved")],
                        [[key if locale == "en" else to_arabic_digits(key), a, b] for key, (a, b) in months.items()]))
    outcomes = [(key, L.CLAIM_OUTCOMES.get(key, key)) for key in ("approved", "rejected", "pending")]
    tables.append(Table(
        "compensation", _("Compensation claims"), [_("Outcome"), _("Claims"), _("Amount (SAR)")],
        [[label, stats.compensation.get(key, {}).get("count", 0),
          round(stats.compensation.get(key, {}).get("halalas", 0) / 100, 2)] for key, label in outcomes],
        note=_("Claims opened in the period, with the amount proposed.")))
    tables.append(Table(
        "comments", _("Latest satisfaction comments"), [_("Date"), _("Department"), _("Channel"), _("Rating"),
                                                       _("Comment")],
        [[c["at"], dep(c["department_id"]), L.CHANNELS.get(c["channel"], c["channel"]), c["rating"], c["comment"]]
         for c in stats.comments]))
    tables.append(Table(
        "tags", _("Tags"), [_("Tag"), _("Received in the period"), _("Open now")],
        [[t["name"], t["received"], t["open"]] for t in stats.by_tag], chart="bar",
        note=_("Tickets carrying each tag: received in the period, and open now.")))
    if stats.field_work is not None:
        tables.extend(_field_work_tables(stats.field_work, locale))
    tables.append(Table(
        "actions", _("Latest actions taken"), [_("Reference"), _("Resolved on"), _("Department"), _("Kind"),
                                              _("Action taken")],
        [[a["reference"], a["at"], dep(a["department_id"]), L.KINDS.get(a["kind"], a["kind"]), a["action"]]
         for a in stats.actions]))
    return tables


def _field_work_tables(work, locale: str) -> list[Table]:
    """The supervisors' field work (desk.survey): visitors per site, emergencies and their
    corrective actions, the daily survey's findings (the parts read: the dashboard's figures
    leave some out)."""
    visitors = work.visitors
    rows = [[site.name(locale), visitors.site_total(site.id)] for site in visitors.sites]
    return [
        Table("visitors", _("Walk-in visitors"), [_("Site"), _("Visitors counted")], rows, chart="bar",
              total=[_("All sites"), visitors.total_counted],
              note=_("Counted at the desk (the visitor count). Visit tickets received in the period, the whole "
                     "association: %(n)s.", n=work.visit_tickets if locale == "en"
                     else to_arabic_digits(str(work.visit_tickets)))),
        *([Table("emergencies", _("Emergencies and corrective actions"),
                 [_("Date"), _("Site"), _("What happened"), _("Corrective action taken on the spot"), _("Status")],
                 [[e.occurred_at, e.site.name(locale), e.what_happened, e.action_taken,
                   _("Open: awaiting the general manager") if e.is_open else _("Acknowledged")]
                  for e in work.emergencies])] if work.emergencies is not None else []),
        *([Table("findings", _("Field survey findings"), [_("Day"), _("Site"), _("Item"), _("Note")],
                 [[f.day, f.site.name(locale), f.item_text(locale), f.note or ""] for f in work.findings])]
          if work.findings is not None else []),
        *([services_table(work.services, locale)] if work.services is not None else []),
        Table("readiness", _("Staff readiness"), [_("Day"), _("Site"), _("Reception staffed"), _("On duty")],
              [[r.day, r.site.name(locale), str(labels.STAFFED.get(r.staffed or "", "")), "، ".join(r.on_duty) if locale == "ar"
                else ", ".join(r.on_duty)] for r in work.readiness]),
        *(training_tables(work.training, locale) if work.training is not None else []),
    ]


def services_table(services, locale: str) -> Table:
    """Auxiliary services given (desk.survey.report.ServiceFigures): one row per service, a column per site."""
    return Table(
        "services", _("Auxiliary services"), [_("Service"), _("All sites"),
                                              *[site.name(locale) for site in services.sites]],
        [[row.name(locale), services.service_total(row.id), *[services.count(row.id, site.id)
                                                              for site in services.sites]]
         for row in services.services], chart="bar",
        total=[_("All services"), services.total, *[services.site_total(site.id) for site in services.sites]],
        note=_("Copying, calls and other services given at the desk (the visitor counter)."))


def training_tables(training, locale: str) -> list[Table]:
    """The training log (desk.training.service.TrainingFigures): hours per person and per month
    of the period (when read), and who had no training in the last 12 months."""
    return [
        Table("training", _("Training of service staff"),
              [_("Staff member"), _("Hours"), _("Courses"), _("Latest training")],
              [[p.user.name, p.hours, p.courses, p.last_day or ""] for p in training.people],
              total=[_("Everyone"), training.centihours / 100, training.courses, ""]),
        *([Table("training_months", _("Training hours per month"), [_("Month"), _("Hours"), _("Courses")],
                 [[m.month if locale == "en" else to_arabic_digits(m.month), m.hours, m.courses]
                  for m in training.months])] if training.months is not None else []),
        Table("untrained", _("No training in the last 12 months"), [_("Staff member"), _("Latest training")],
              [[p.user.name, p.last_day or _("No training yet")] for p in training.untrained],
              note=_("Up to the end of the period.")),
    ]


def by_key(tables: list[Table]) -> dict[str, Table]:
    return {table.key: table for table in tables}


def is_day(value) -> bool:
    return isinstance(value, (date, datetime))
