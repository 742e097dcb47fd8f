"""The statistics (issue 8, items 5 and 6): every figure against a small fixture computed by
hand, read live, from the roll-ups, and half and half; who sees what; the period form; the
exports opened and read back; the CLI writing the same file as the download."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale, gettext
from openpyxl import load_workbook

from desk.accounts.service import create_user
from desk.models import CompensationClaim, SatisfactionResponse, Status, Ticket
from desk.stats import rollup, service
from desk.stats.export import neutralise
from desk.stats.service import DateRange
from tests.conftest import PASSWORD

JAN = DateRange(date(2026, 1, 1), date(2026, 1, 31))
NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
H = 3600


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def manager(db):
    return create_user(db.session, "gm@example.org", PASSWORD, "المدير العام", ["manager"])


@pytest.fixture
def fixture(db, people):
    """Six tickets and three answers around January 2026 (Riyadh = UTC+3):

    T1 SOCIAL phone complaint, created 5 Jan 06:00Z; first response after 2.5 h, resolved after
       30 h with an action, due after 3 days (met).
    T2 SOCIAL visit inquiry, created 10 Jan 21:30Z = 11 Jan in Riyadh; response after 50 h,
       resolved after 10 days with an action, due after 7 days (missed), breach marked 17 Jan 21:30Z.
    T3 AID phone complaint, created 31 Dec 21:30Z = 1 Jan in Riyadh; still open, due 2 Jan (overdue).
    T4 AID email inquiry, created 31 Dec 20:30Z = 31 Dec in Riyadh (outside); response after
       3.5 h (1 Jan, inside), resolved after 37.5 h (2 Jan, inside), no action, no due time.
    T5 SOCIAL phone suggestion, created 31 Jan 21:30Z = 1 Feb in Riyadh (outside); new.
    T6 no department, website complaint, created 20 Jan 10:00Z; new.
    Answers: T1 rating 5 solved with a comment (7 Jan), T4 rating 2 unsolved (3 Jan),
    T2 rating 4 (2 Feb, outside).
    """
    social, aid = people.social.id, people.aid.id
    rows = [
        dict(dep=social, channel="phone", kind="complaint", created=utc(2026, 1, 5, 6), response=2.5 * H,
             resolved=30 * H, due=3 * 24 * H, action="اتصلنا بالمستفيد", status=Status.RESOLVED),
        dict(dep=social, channel="visit", kind="inquiry", created=utc(2026, 1, 10, 21, 30), response=50 * H,
             resolved=240 * H, due=7 * 24 * H, action="أحيل إلى اللجنة", status=Status.RESOLVED,
             breached=utc(2026, 1, 17, 21, 30)),
        dict(dep=aid, channel="phone", kind="complaint", created=utc(2025, 12, 31, 21, 30), due_at=utc(2026, 1, 2),
             status=Status.OPEN),
        dict(dep=aid, channel="email", kind="inquiry", created=utc(2025, 12, 31, 20, 30), response=3.5 * H,
             resolved=37.5 * H, status=Status.RESOLVED),
        dict(dep=social, channel="phone", kind="suggestion", created=utc(2026, 1, 31, 21, 30), status=Status.NEW),
        dict(dep=None, channel="website", kind="complaint", created=utc(2026, 1, 20, 10), status=Status.NEW),
    ]
    tickets = []
    for n, r in enumerate(rows, start=1):
        created = r["created"]
        t = Ticket(reference=f"C-1447-9{n:05d}", kind=r["kind"], channel=r["channel"], status=str(r["status"]),
                   subject=f"تذكرة {n}", body="", department_id=r["dep"], created_at=created, updated_at=created,
                   first_response_at=created + timedelta(seconds=r["response"]) if "response" in r else None,
                   resolved_at=created + timedelta(seconds=r["resolved"]) if "resolved" in r else None,
                   due_at=r.get("due_at") or (created + timedelta(seconds=r["due"]) if "due" in r else None),
                   breached_at=r.get("breached"), action_taken=r.get("action"))
        db.session.add(t)
        tickets.append(t)
    db.session.flush()
    t1, t2, _, t4, _, _ = tickets
    for ticket, rating, solved, comment, at in (
            (t1, 5, True, "=HYPERLINK(\"http://x\")", utc(2026, 1, 7, 9)),
            (t4, 2, False, None, utc(2026, 1, 3, 9)),
            (t2, 4, True, "جيد", utc(2026, 2, 2, 9))):
        db.session.add(SatisfactionResponse(ticket_id=ticket.id, rating=rating, solved=solved, comment=comment,
                                            department_id=ticket.department_id, channel=ticket.channel,
                                            kind=ticket.kind, created_at=at, updated_at=at))
    db.session.add(CompensationClaim(ticket_id=tickets[2].id, amount_halalas=150_000, outcome="approved",
                                     created_at=utc(2026, 1, 8)))
    db.session.commit()
    return tickets


def _check_january(stats, people) -> None:
    social, aid = people.social.id, people.aid.id
    t = stats.totals
    assert (t["received"], t["resolved"], t["actioned"], t["responded"]) == (4, 3, 2, 3)
    assert (t["sla_targets"], t["sla_met"], t["breached"]) == (2, 1, 1)
    assert {k: v["received"] for k, v in stats.by_channel.items() if v["received"]} == \
        {"phone": 2, "visit": 1, "website": 1}
    assert {k: v["received"] for k, v in stats.by_kind.items() if v["received"]} == {"complaint": 3, "inquiry": 1}
    assert {k: v["received"] for k, v in stats.by_department.items() if v["received"]} == {social: 2, aid: 1, 0: 1}
    assert stats.by_department[social]["sla_met"] == 1 and stats.by_department[social]["sla_targets"] == 2
    # First responses 2.5 h, 3.5 h, 50 h: median 3.5 h → its hour bucket ends at 4 h; p90 50 h → 54 h.
    everyone = stats.response_times[None]
    assert (everyone.count, everyone.median, everyone.p90) == (3, 4 * H, 54 * H)
    # Resolutions 30 h, 37.5 h, 240 h: median → 38 h; p90 240 h (10 days) → the day bucket ends at 11 days.
    resolution = stats.resolution_times[None]
    assert (resolution.count, resolution.median, resolution.p90) == (3, 38 * H, 11 * 24 * H)
    assert (stats.response_times[social].median, stats.response_times[social].p90) == (3 * H, 54 * H)
    # Satisfaction: two answers in January (5 and 2), one with a comment, one solved.
    assert (t["answers"], t["rating_sum"], t["rating_5"], t["rating_2"], t["solved"], t["comments"]) == \
        (2, 7, 1, 1, 1, 1)
    assert stats.by_department[social]["answers"] == 1 and stats.by_department[social]["resolved"] == 2
    assert stats.by_channel["email"]["answers"] == 1 and stats.by_channel["email"]["rating_sum"] == 2
    # Now: T3 and T6 and T5 open; T3 past due.
    assert stats.open_now == {aid: 1, 0: 1, social: 1}
    assert stats.overdue_now == {aid: 1}
    series = {day: (received, resolved) for day, received, resolved in stats.series}
    assert len(series) == 31
    assert series[date(2026, 1, 1)] == (1, 0) and series[date(2026, 1, 2)] == (0, 1)
    assert series[date(2026, 1, 5)] == (1, 0) and series[date(2026, 1, 6)] == (0, 1)
    assert series[date(2026, 1, 11)] == (1, 0) and series[date(2026, 1, 21)] == (0, 1)
    assert series[date(2026, 1, 20)] == (1, 0)
    assert sum(r for r, _ in series.values()) == 4 and sum(s for _, s in series.values()) == 3
    assert [c["rating"] for c in stats.comments] == [5]
    assert [a["action"] for a in stats.actions] == ["أحيل إلى اللجنة", "اتصلنا بالمستفيد"]
    assert stats.compensation == {"approved": {"count": 1, "halalas": 150_000}}


def test_figures_read_live(db, people, fixture):
    stats = service.compute(db.session, None, JAN, now=NOW)
    assert stats.rolled_through is None
    _check_january(stats, people)


def test_the_tables_agree_with_the_figures(db, people, fixture):
    from desk.stats import tables
    from desk.text import to_arabic_digits
    named = tables.by_key(tables.build(service.compute(db.session, None, JAN, now=NOW), "ar"))
    assert named["series_months"].rows == [[to_arabic_digits("2026-01"), 4, 3]]
    assert named["departments"].total[1:] == [4, 3, 2, 3, 1]  # received, resolved, actioned, open, overdue now
    times = named["times"].total
    assert times[1:4] == [3, tables.Duration(4 * H), tables.Duration(54 * H)]
    assert times[-4:] == [2, 1, tables.Percent(1, 2), 1]
    assert named["satisfaction_departments"].total[1:4] == [2, tables.Percent(2, 3), tables.Average(7, 2)]


@pytest.mark.parametrize("rolled_through", [None, date(2026, 1, 15), date(2026, 1, 31)])
def test_the_visitors_note_equals_a_live_count_of_visit_tickets(db, people, fixture, rolled_through):
    """The visitors table's note takes the visit tickets from the per-channel counts: the same
    number as counting the visit-channel tickets of the period live (and as the survey report's
    own count), read live, half rolled up or rolled up whole."""
    import sqlalchemy as sa

    from desk.models import Channel
    from desk.stats import tables
    from desk.survey import report
    from desk.text import riyadh_midnight, to_arabic_digits
    extra = Ticket(reference="C-1447-900099", kind="inquiry", channel="visit", status=str(Status.NEW), subject="زيارة",
                   body="", department_id=None, created_at=utc(2026, 1, 25, 7), updated_at=utc(2026, 1, 25, 7))
    db.session.add(extra)
    db.session.flush()
    if rolled_through is not None:
        rollup.refresh(db.session, date(2025, 12, 1), rolled_through)
    live = db.session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(
        Ticket.channel == Channel.VISIT, Ticket.created_at >= riyadh_midnight(JAN.first),
        Ticket.created_at < riyadh_midnight(JAN.last + timedelta(days=1))))
    assert live == 2  # T2 (11 January in Riyadh) and the one above
    assert report.visitor_figures(db.session, JAN.first, JAN.last).total_visit_tickets == live
    stats = service.compute(db.session, None, JAN, now=NOW)
    assert stats.field_work.visit_tickets == live
    for locale, shown in (("en", str(live)), ("ar", to_arabic_digits(str(live)))):
        with force_locale(locale):
            note = tables.by_key(tables.build(stats, locale))["visitors"].note
        assert note.endswith(f": {shown}."), note


def test_figures_from_the_rollups_whole_months(db, people, fixture):
    rollup.refresh(db.session, date(2025, 12, 1), date(2026, 1, 31))
    assert rollup.rolled_through(db.session) == date(2026, 1, 31)
    from desk.models import StatsRollup
    assert db.session.query(StatsRollup).filter_by(grain="m", day=date(2026, 1, 1)).count() > 0
    stats = service.compute(db.session, None, JAN, now=NOW)
    assert stats.rolled_through == date(2026, 1, 31)
    _check_january(stats, people)


def test_figures_half_rolled_up_half_live(db, people, fixture):
    rollup.refresh(db.session, date(2025, 12, 1), date(2026, 1, 15))
    stats = service.compute(db.session, None, JAN, now=NOW)
    assert stats.rolled_through == date(2026, 1, 15)
    _check_january(stats, people)


def test_figures_rolled_up_across_a_month_edge(db, people, fixture):
    """A range that starts mid-month reads day rows for the head and month rows for the rest."""
    rollup.catch_up(db.session, date(2026, 3, 1))  # up to 28 February
    stats = service.compute(db.session, None, DateRange(date(2025, 12, 20), date(2026, 2, 28)), now=NOW)
    assert stats.totals["received"] == 6 and stats.totals["answers"] == 3 and stats.totals["resolved"] == 3
    jan = service.compute(db.session, None, JAN, now=NOW)
    _check_january(jan, people)


def test_a_late_change_is_picked_up_by_the_next_rollup(db, people, fixture):
    rollup.catch_up(db.session, date(2026, 2, 1))
    t6 = fixture[5]
    t6.department_id = people.aid.id
    db.session.commit()
    assert service.compute(db.session, None, JAN, now=NOW).by_department[0]["received"] == 1  # rolled up before
    rollup.catch_up(db.session, date(2026, 2, 2))
    stats = service.compute(db.session, None, JAN, now=NOW)
    assert stats.by_department[people.aid.id]["received"] == 2 and 0 not in {
        k for k, v in stats.by_department.items() if v["received"]}


def test_buckets_and_percentiles():
    assert rollup.bucket_of(0) == 0 and rollup.bucket_of(H - 1) == 0 and rollup.bucket_of(H) == 1
    assert rollup.bucket_of(48 * H) == 48 and rollup.bucket_of(54 * H) == 49
    assert rollup.bucket_of(7 * 24 * H) == 68 and rollup.bucket_of(60 * 24 * H) == rollup.LAST_BUCKET
    assert rollup.bucket_of(-5) == 0
    for b in range(rollup.LAST_BUCKET):
        lo, hi = rollup.bucket_bounds(b)
        assert rollup.bucket_of(lo) == b and rollup.bucket_of(hi - 1) == b and rollup.bucket_of(hi) == b + 1
    assert service.percentile({}, 0.5) == (None, False)
    assert service.percentile({1: 1, 5: 1, 9: 8}, 0.5) == (10 * H, False)
    assert service.percentile({1: 5, 5: 4, 9: 1}, 0.9) == (6 * H, False)
    assert service.percentile({rollup.LAST_BUCKET: 2}, 0.5) == (60 * 24 * H, True)


def test_a_focal_point_sees_their_departments_figures_only(db, people, fixture):
    stats = service.statistics(db.session, people.focal, JAN, now=NOW)
    assert stats.departments == [people.social.id]
    assert stats.totals["received"] == 2 and set(stats.by_department) == {people.social.id}
    assert stats.open_now == {people.social.id: 1} and stats.overdue_now == {}
    assert stats.compensation == {}
    with pytest.raises(service.NotFound):
        service.statistics(db.session, people.staff, JAN)


# The period ----------------------------------------------------------------------------

def test_period_parsing_and_presets():
    today = date(2026, 5, 14)
    assert service.parse_range("٢٠٢٦-٠١-٠١", "2026-01-31", today=today) == JAN
    assert service.parse_range("1447-07-01", "1447-07-29", "hijri", today=today).first == date(2025, 12, 21)
    assert service.parse_range(None, None, preset="last_month", today=today) == DateRange(date(2026, 4, 1),
                                                                                           date(2026, 4, 30))
    assert service.parse_range(None, None, preset="this_quarter", today=today).first == date(2026, 4, 1)
    assert service.parse_range(None, None, preset="last_12_months", today=today) == DateRange(date(2025, 5, 15), today)
    assert service.parse_range(None, None, preset="hijri_year", today=today).first == date(2025, 6, 26)
    with pytest.raises(service.ValidationFailed) as failed:
        service.parse_range("2026-02-01", "2026-01-01")
    assert list(failed.value.errors) == ["end"]
    with pytest.raises(service.ValidationFailed) as failed:
        service.parse_range("2020-01-01", "2025-01-01")
    assert list(failed.value.errors) == ["end"]
    assert service.parse_range("2020-01-01", "2024-12-31").days == 1827
    with pytest.raises(service.ValidationFailed) as failed:
        service.parse_range("2026-02-30", "")
    assert set(failed.value.errors) == {"start", "end"}


# The pages -----------------------------------------------------------------------------

def test_dashboard_for_supervisor_and_htmx_fragment(as_user, people, fixture):
    browser = as_user(people.supervisor)
    page = browser.get("/stats?start=2026-01-01&end=2026-01-31")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="stats-page"' in html and "<svg" in html and 'id="table-channels"' in html
    assert 'id="table-series"' in html and "<script>" not in html and " onclick" not in html
    assert 'id="h-visitors"' in html  # the field work: walk-in visitors (desk.survey)
    fragment = browser.get("/stats?start=2026-01-01&end=2026-01-31", htmx=True).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="stats-page">') and "<html" not in fragment


def test_period_errors_are_shown_beside_the_field(as_user, people):
    browser = as_user(people.supervisor)
    response = browser.get("/stats?start=2026-02-01&end=2026-01-01", htmx=True)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="end-msg"' in html and 'value="2026-02-01"' in html


def test_who_may_see_the_statistics(as_user, people, manager, fixture):
    assert as_user(people.staff).get("/stats").status_code == 404
    focal = as_user(people.focal)
    html = focal.get("/stats?start=2026-01-01&end=2026-01-31").get_data(as_text=True)
    assert people.social.name_ar in html and people.aid.name_ar not in html
    assert focal.get("/stats/report?start=2026-01-01&end=2026-01-31").status_code == 404
    assert focal.get("/stats/export.csv?start=2026-01-01&end=2026-01-31").status_code == 404
    gm = as_user(manager)
    assert gm.get("/stats/report?start=2026-01-01&end=2026-01-31").status_code == 200


def test_the_general_manager_lands_on_the_statistics(browser, manager):
    browser.refresh_token()
    response = browser.post("/login", data={"email": manager.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/stats")


def test_report_page_in_both_calendars(as_user, people, fixture):
    html = as_user(people.supervisor).get("/stats/report?start=2026-01-01&end=2026-01-31").get_data(as_text=True)
    from desk.text import format_hijri
    assert format_hijri(date(2026, 1, 1), "ar") in html and format_hijri(date(2026, 1, 31), "ar") in html
    assert "١٤٤٧" in format_hijri(date(2026, 1, 1), "ar")  # 12 Rajab 1447
    assert "٢٠٢٦" in html
    assert all(f'id="h-{key}"' in html for key in ("visitors", "emergencies", "findings"))  # the field work
    assert "@media print" not in html  # print CSS lives in the stylesheet
    assert 'id="table-series"' in html and 'id="table-series_months"' not in html  # a month prints its days
    year = as_user(people.supervisor).get("/stats/report?start=2025-02-01&end=2026-01-31").get_data(as_text=True)
    assert 'id="table-series_months"' in year and 'id="table-series"' not in year  # a year its months


def test_xlsx_export_opened(as_user, people, fixture):
    response = as_user(people.supervisor).get("/stats/export.xlsx?start=2026-01-01&end=2026-01-31")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    summary = book.worksheets[0]
    assert summary.sheet_view.rightToLeft is True
    values = {row[0]: row[1] for row in summary.iter_rows(min_row=5, values_only=True) if row and row[0]}
    assert values[gettext("Tickets received")] == 4 and values[gettext("Tickets resolved")] == 3
    comments = next(ws for ws in book.worksheets if any("=HYPERLINK" in str(c) for r in ws.iter_rows(values_only=True)
                                                        for c in r if c))
    texts = [c for r in comments.iter_rows(values_only=True) for c in r if isinstance(c, str) and "HYPERLINK" in c]
    assert texts == ["'=HYPERLINK(\"http://x\")"]
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f"  # no formula anywhere


def test_csv_export_opened_and_cli_writes_the_same(app, as_user, people, fixture, tmp_path):
    body = as_user(people.supervisor).get("/stats/export.csv?start=2026-01-01&end=2026-01-31").data
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    flat = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(\"http://x\")" in flat and "=HYPERLINK(\"http://x\")" not in flat
    channels = rows.index([gettext("Tickets received by channel")])
    assert rows[channels + 2][1] == "2"  # the phone: two tickets
    output = tmp_path / "report.csv"
    result = app.test_cli_runner().invoke(args=["desk", "report", "--from", "2026-01-01", "--to", "2026-01-31",
                                                "--format", "csv", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == body
    xlsx = tmp_path / "report.xlsx"
    result = app.test_cli_runner().invoke(args=["desk", "report", "--from", "2026-01-01", "--to", "2026-01-31",
                                                "--format", "xlsx", "--output", str(xlsx)])
    assert result.exit_code == 0 and load_workbook(xlsx).worksheets[0].sheet_view.rightToLeft
    bad = app.test_cli_runner().invoke(args=["desk", "report", "--from", "2026-02-01", "--to", "2026-01-01",
                                             "--output", str(xlsx)])
    assert bad.exit_code == 2


def test_rollup_cli(app, db, fixture):
    result = app.test_cli_runner().invoke(args=["desk", "stats-rollup"])
    assert result.exit_code == 0, result.output
    assert rollup.rolled_through(db.session) is not None


def test_neutralise():
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(text) == "'" + text
    assert neutralise("نص عادي") == "نص عادي" and neutralise("1-2") == "1-2"


def test_the_field_work_is_in_the_report_and_its_exports_but_not_a_focal_points_view(app, db, people):
    """Part A of issue 8 in part B: visitors counted, emergencies and findings reach the general
    manager's figures (and the XLSX/CSV), never a focal point's department view."""
    from datetime import date, datetime

    from desk.models import Emergency, Site, VisitorTap
    from desk.stats import service, tables
    site = Site(name_ar="المقر الرئيسي", name_en="Main office", active=True, position=1)
    db.session.add(site)
    db.session.flush()
    day = date(2026, 10, 5)
    db.session.add_all([VisitorTap(site_id=site.id, day=day, recorded_by_id=people.staff.id,
                                   created_at=datetime(2026, 10, 5, 7, tzinfo=UTC)) for _ in range(3)])
    db.session.add(Emergency(site_id=site.id, occurred_at=datetime(2026, 10, 5, 9, tzinfo=UTC),
                             what_happened="انقطاع الكهرباء", action_taken="تشغيل المولد", recorded_by_id=people.supervisor.id))
    db.session.commit()
    r = service.DateRange(date(2026, 10, 1), date(2026, 10, 31))
    named = tables.by_key(tables.build(service.compute(db.session, None, r), "ar"))
    assert named["visitors"].rows == [["المقر الرئيسي", 3]] and named["visitors"].total[1] == 3
    assert [row[2:4] for row in named["emergencies"].rows] == [["انقطاع الكهرباء", "تشغيل المولد"]]
    scoped = tables.by_key(tables.build(service.compute(db.session, [people.social.id], r), "ar"))
    assert "visitors" not in scoped and "emergencies" not in scoped


def test_the_statistics_link_follows_the_permission(db, people, as_user):
    """A focal point may see their departments' figures, so the navigation offers them; intake
    staff may not, so it does not (the link follows can(), not a list of roles)."""
    link = 'href="/stats"'
    assert link in as_user(people.focal).get("/tickets").get_data(as_text=True)
    assert link not in as_user(people.staff).get("/tickets").get_data(as_text=True)


def test_the_english_statistics_have_no_arabic_in_charts_or_notes(as_user, db, people, fixture):
    """Review p2: the English chart's zero tick was "٠" and the visitors note carried Arabic."""
    people.supervisor.locale = "en"
    db.session.commit()
    html = as_user(people.supervisor).get("/stats?start=2026-01-01&end=2026-01-31").get_data(as_text=True)
    charts = re.findall(r"<svg class=\"stats-chart\".*?</svg>", html, re.S)
    assert charts and "Counted at the desk (the visitor count)" in html
    arabic = re.compile(r"[\u0600-\u06ff]")
    assert [m for svg in charts for m in arabic.findall(svg)] == []
    start = html.index('id="h-visitors"')
    note = html[start:html.find('</section>', start)]  # (the sections after it carry people's names)
    assert "Counted at the desk" in note and not arabic.search(note)


def test_rows_formatted_in_one_pass_as_cell_by_cell(app, people, fixture):
    """The table filter formats every cell as the one-cell filter does, in both languages."""
    from desk.stats import tables
    from desk.stats.views import stat_cell, stat_rows
    rows = [[date(2026, 1, 5), 1234, 2.5, tables.Percent(1, 3), tables.Average(7, 2), tables.Duration(3 * H),
             tables.Duration(None), tables.Duration(60 * 24 * H, True), tables.Duration(90 * H), None, "نص", True,
             utc(2026, 1, 5, 6)]]
    for locale in ("ar", "en"):
        with app.test_request_context(), force_locale(locale):
            formatted = stat_rows(rows)
            assert formatted == [[stat_cell(v) for v in rows[0]]]
            assert formatted[0][1] == ("1,234" if locale == "en" else "١٬٢٣٤")


def _field_work_fixture(db, people):
    """A site with visitors counted and an emergency in October 2026."""
    from desk.models import Emergency, Site, VisitorTap
    site = Site(name_ar="المقر الرئيسي", name_en="Main office", active=True, position=1)
    db.session.add(site)
    db.session.flush()
    db.session.add_all([VisitorTap(site_id=site.id, day=date(2026, 10, 5), recorded_by_id=people.staff.id,
                                   created_at=utc(2026, 10, 5, 7)) for _ in range(3)])
    db.session.add(Emergency(site_id=site.id, occurred_at=utc(2026, 10, 5, 9), what_happened="انقطاع الكهرباء",
                             action_taken="تشغيل المولد", recorded_by_id=people.supervisor.id))
    db.session.commit()
    return service.DateRange(date(2026, 10, 1), date(2026, 10, 31))


# The field work the dashboard does not show: the emergencies list, the survey's findings, the training months.
LEFT_OUT = ("emergencies.what_happened", "survey_answers.item_text_ar", "SELECT training_entries.day, training_entries.centihours")


def test_the_dashboard_reads_only_the_field_work_it_shows(db, people):
    """The report and the exports show every part of the field work; the dashboard only the
    visitors, services, readiness and training: five statements fewer (the emergencies with
    their recorder's roles and departments, the findings, the training months), the same tables."""
    from desk.stats import tables
    from tests.conftest import statements_run
    r = _field_work_fixture(db, people)
    db.session.expunge_all()
    with statements_run(db) as everything:
        full = service.compute(db.session, None, r, now=NOW)
    db.session.expunge_all()
    with statements_run(db) as shown:
        dashboard = service.compute(db.session, None, r, now=NOW, dashboard=True)
    assert len(shown) == len(everything) - 5, shown
    assert not [s for s in shown if any(part in s for part in LEFT_OUT)]
    assert all(any(part in s for s in everything) for part in LEFT_OUT)
    assert dashboard.field_work.emergencies is None and dashboard.field_work.findings is None
    assert dashboard.field_work.training.months is None
    for locale in ("ar", "en"):
        with force_locale(locale):
            full_tables = tables.by_key(tables.build(full, locale))
            dashboard_tables = tables.by_key(tables.build(dashboard, locale))
        assert set(full_tables) - set(dashboard_tables) == {"emergencies", "findings", "training_months"}
        for key, table in dashboard_tables.items():  # every table the dashboard has is the report's
            assert (table.title, table.headers, table.rows, table.total, table.note) == \
                (full_tables[key].title, full_tables[key].headers, full_tables[key].rows,
                 full_tables[key].total, full_tables[key].note), key


def test_the_dashboard_page_sends_fewer_statements_and_the_report_shows_everything(db, people, as_user):
    from tests.conftest import statements_run
    _field_work_fixture(db, people)
    browser = as_user(people.supervisor)
    query = "?start=2026-10-01&end=2026-10-31"
    browser.get("/stats" + query)  # the session's user and the catalogs read once
    with statements_run(db) as dashboard_sent:
        dashboard = browser.get("/stats" + query).get_data(as_text=True)
    with statements_run(db) as report_sent:
        report = browser.get("/stats/report" + query).get_data(as_text=True)
    assert not [s for s in dashboard_sent if any(part in s for part in LEFT_OUT)]
    assert all(any(part in s for s in report_sent) for part in LEFT_OUT)
    for key in ("visitors", "services", "readiness", "training", "untrained"):
        assert f'id="h-{key}"' in dashboard and f'id="h-{key}"' in report
    assert 'id="h-emergencies"' in report and "انقطاع الكهرباء" in report and "انقطاع الكهرباء" not in dashboard


EARLY = DateRange(date(2026, 1, 1), date(2026, 1, 10))


@pytest.mark.parametrize("rolled_to", [None, date(2026, 1, 5), date(2026, 1, 15), date(2026, 1, 31)])
def test_the_kept_statements_bind_each_request_s_range_and_departments(db, people, fixture, rolled_to):
    """The grouped statements are built once per shape and kept; one request after another, with
    another range and other departments, each gets its own figures: the same as from freshly
    built statements, and as counted by hand. Read live, rolled up, and both."""
    if rolled_to is not None:
        rollup.refresh(db.session, date(2025, 12, 1), rolled_to)
    social, aid = people.social.id, people.aid.id
    kept = (service._counts_statement, service._durations_statement, service._series_statement)
    asked = [(JAN, None), (EARLY, [aid]), (JAN, [social]), (EARLY, None), (JAN, [aid, social]), (JAN, None)]
    in_a_row = [service.compute(db.session, deps, r, now=NOW) for r, deps in asked]

    def figures(stats):
        return (stats.totals, stats.by_department, stats.by_channel, stats.by_kind, stats.by_category,
                stats.by_requester, stats.response_times, stats.resolution_times, stats.series)

    for (r, deps), stats in zip(asked, in_a_row, strict=True):
        for builder in kept:
            builder.cache_clear()
        assert figures(stats) == figures(service.compute(db.session, deps, r, now=NOW)), (r, deps)
    assert [(s.totals["received"], s.totals["resolved"]) for s in in_a_row] == \
        [(4, 3), (1, 1), (2, 2), (2, 2), (3, 3), (4, 3)]
    assert [len(s.series) for s in in_a_row] == [31, 10, 31, 10, 31, 31]
    assert set(in_a_row[1].by_department) == {aid} and set(in_a_row[2].by_department) == {social}
    _check_january(in_a_row[0], people)
    _check_january(in_a_row[-1], people)
    # The same shape again (another range, other departments) takes the statement kept.
    service.compute(db.session, [aid], DateRange(date(2026, 1, 2), date(2026, 1, 9)), now=NOW)
    before = [builder.cache_info() for builder in kept]
    again = service.compute(db.session, [social], DateRange(date(2026, 1, 3), date(2026, 1, 8)), now=NOW)
    after = [builder.cache_info() for builder in kept]
    assert [a.currsize for a in after] == [b.currsize for b in before]
    assert all(a.hits > b.hits for a, b in zip(after, before, strict=True))
    assert (again.totals["received"], again.totals["resolved"], set(again.by_department)) == (1, 1, {social})
