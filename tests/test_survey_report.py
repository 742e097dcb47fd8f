"""desk.survey.report: the field work's part of the general manager's report, against a fixture
whose every figure is counted by hand below (Riyadh days: UTC+3)."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import render_template

from desk.models import (
    AnswerState,
    Channel,
    Emergency,
    EmergencyStatus,
    Site,
    Survey,
    SurveyAnswer,
    SurveyStatus,
    VisitorTap,
)
from desk.survey import report, service
from tests.conftest import statements_run

D0, D1, D2, D3 = date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def utc(y, m, d, h, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=UTC)


@pytest.fixture
def fixture(db, people, make_ticket):
    a = Site(name_ar="أ", name_en="A", position=1, active=True)
    b = Site(name_ar="ب", name_en="B", position=2, active=True)
    c = Site(name_ar="ج", name_en="C", position=3, active=False)   # inactive, no taps: left out
    d = Site(name_ar="د", name_en="D", position=4, active=False)   # inactive, counted in range: listed
    db.session.add_all([a, b, c, d])
    db.session.flush()
    taps = [(D1, a)] * 3 + [(D1, b)] + [(D2, a)] * 2 + [(D2, d)] + [(D0, a)] * 5
    db.session.add_all(VisitorTap(site_id=s.id, day=day, created_at=utc(2026, 3, 1, 8), recorded_by_id=people.staff.id)
                       for day, s in taps)
    # Visit tickets: 19:30 UTC on 1 March is 22:30 in Riyadh (day 1); 21:30 UTC is 00:30 on the 2nd
    # (day 2); 20:59 UTC on 28 February is 23:59 there (before the range). A phone ticket never counts.
    for when, channel in ((utc(2026, 3, 1, 19, 30), Channel.VISIT), (utc(2026, 3, 1, 21, 30), Channel.VISIT),
                          (utc(2026, 2, 28, 20, 59), Channel.VISIT), (utc(2026, 3, 1, 10), Channel.PHONE)):
        make_ticket(channel=channel).created_at = when
    # Emergencies: 00:10 on 1 March in Riyadh (21:10 UTC the day before) and 23:59 on the 3rd are
    # in; 00:00 on the 4th is out.
    first = Emergency(site_id=a.id, occurred_at=utc(2026, 2, 28, 21, 10), what_happened="حريق صغير",
                      action_taken="إطفاء", severity="high", status=EmergencyStatus.ACKNOWLEDGED,
                      acknowledged_by_id=people.admin.id, acknowledged_at=utc(2026, 3, 1, 9),
                      acknowledgement_note="شكرا", recorded_by_id=people.supervisor.id)
    last = Emergency(site_id=b.id, occurred_at=utc(2026, 3, 3, 20, 59), what_happened="تسرب ماء",
                     action_taken="إغلاق المحبس", severity="low", status=EmergencyStatus.OPEN,
                     recorded_by_id=people.supervisor.id)
    out = Emergency(site_id=b.id, occurred_at=utc(2026, 3, 3, 21, 0), what_happened="خارج المدة",
                    action_taken="-", severity="low", status=EmergencyStatus.OPEN)
    db.session.add_all([first, last, out])
    # Findings: a submitted survey (one finding), a draft (one, only when drafts are asked for),
    # a submitted survey with nothing to find, and one after the range.
    items = service.items(db.session)

    def survey(site, day, status, states):
        row = Survey(site_id=site.id, day=day, status=status)
        db.session.add(row)
        db.session.flush()
        for item, (state, note) in zip(items, states, strict=True):
            db.session.add(SurveyAnswer(survey_id=row.id, item_id=item.id, item_text_ar=item.text_ar,
                                        item_text_en=item.text_en, position=item.position, state=state, note=note))
        return row

    ok = (AnswerState.OK, None)
    survey(a, D1, SurveyStatus.SUBMITTED, [ok, (AnswerState.ATTENTION, "الإرشادات باهتة")] + [ok] * 5)
    survey(b, D2, SurveyStatus.DRAFT, [(AnswerState.ATTENTION, "مسودة")] + [ok] * 6)
    survey(a, D2, SurveyStatus.SUBMITTED, [ok] * 6 + [(AnswerState.NOT_APPLICABLE, None)])
    survey(a, date(2026, 3, 4), SurveyStatus.SUBMITTED, [(AnswerState.ATTENTION, "بعد المدة")] + [ok] * 6)
    db.session.commit()
    return {"a": a, "b": b, "c": c, "d": d, "first": first, "last": last, "items": items}


def test_visitor_figures(db, fixture):
    a, b, d = fixture["a"], fixture["b"], fixture["d"]
    figures = report.visitor_figures(db.session, D1, D3)
    assert [s.id for s in figures.sites] == [a.id, b.id, d.id]
    assert [(x.day, x.by_site, x.counted, x.visit_tickets) for x in figures.days] == [
        (D1, {a.id: 3, b.id: 1}, 4, 1),
        (D2, {a.id: 2, d.id: 1}, 3, 1),
        (D3, {}, 0, 0),
    ]
    assert (figures.total_counted, figures.total_visit_tickets) == (7, 2)
    assert (figures.site_total(a.id), figures.site_total(b.id), figures.site_total(d.id)) == (5, 1, 1)
    one_day = report.visitor_figures(db.session, D0, D0)
    assert [(x.counted, x.visit_tickets) for x in one_day.days] == [(5, 1)]


def test_visit_tickets_come_from_the_roll_ups_where_they_reach(db, fixture):
    """Days the statistics have rolled up are read from their day rows (a few index rows a
    day, not the tickets); the days after them live. Proved by a roll-up that differs from
    the tickets: a visit ticket removed after its day was rolled up still counts there (as
    the statistics keep counts after retention), while the live day counts what is there."""
    from desk.models import Ticket
    from desk.stats import rollup

    rollup.refresh(db.session, D0, D1)  # rolled through 1 March; the 2nd and 3rd are live
    assert rollup.rolled_through(db.session) == D1
    for ticket in db.session.query(Ticket).filter(Ticket.channel == Channel.VISIT):
        db.session.delete(ticket)
    db.session.commit()
    figures = report.visitor_figures(db.session, D0, D3)
    assert [x.visit_tickets for x in figures.days] == [1, 1, 0, 0]


def test_emergencies_between(db, fixture):
    rows = report.emergencies_between(db.session, D1, D3)
    assert [e.id for e in rows] == [fixture["first"].id, fixture["last"].id]
    assert rows[0].action_taken == "إطفاء" and rows[0].acknowledgement_note == "شكرا"
    assert rows[0].acknowledged_by.email == "admin@example.org" and rows[1].is_open
    assert report.emergencies_between(db.session, D2, D2) == []


def test_findings_between(db, fixture):
    a, b, items = fixture["a"], fixture["b"], fixture["items"]
    found = report.findings_between(db.session, D1, D3)
    assert [(f.day, f.site.id, f.item_id, f.note) for f in found] == [(D1, a.id, items[1].id, "الإرشادات باهتة")]
    assert found[0].item_text("ar") == items[1].text_ar
    with_drafts = report.findings_between(db.session, D1, D3, submitted_only=False)
    assert [(f.day, f.site.id, f.note, f.submitted) for f in with_drafts] == [
        (D1, a.id, "الإرشادات باهتة", True), (D2, b.id, "مسودة", False)]
    assert report.findings_between(db.session, D1, D3, item_id=items[0].id) == []


def test_findings_and_readiness_are_one_statement_each(db, people, fixture):
    """Only the columns shown are read: no eager loads of the answers' items and photos nor of
    the surveys' submitters (with their roles and departments)."""
    import sqlalchemy as sa

    from desk.models import Survey
    for survey in db.session.scalars(sa.select(Survey)):
        survey.submitted_by_id = people.supervisor.id
    db.session.commit()
    db.session.expunge_all()
    with statements_run(db) as seen:
        found = report.findings_between(db.session, D1, D3)
        assert len(seen) == 1, seen
        assert [(f.day, f.site.name_en, f.note) for f in found] == [(D1, "A", "الإرشادات باهتة")]
        report.readiness_between(db.session, D1, D3)
        assert len(seen) == 2, seen


def test_the_report_sections_render_for_print(db, fixture):
    html = render_template("survey/_report_sections.html",
                           visitors=report.visitor_figures(db.session, D1, D3),
                           emergencies=report.emergencies_between(db.session, D1, D3),
                           findings=report.findings_between(db.session, D1, D3))
    for text in ("إغلاق المحبس", "إطفاء", "الإرشادات باهتة", "report-visitors", "report-findings"):
        assert text in html
    assert "خارج المدة" not in html and "بعد المدة" not in html
