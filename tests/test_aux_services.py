"""Auxiliary services on the visitor counter (issue 20, point 9; R51 "تقديم الخدمات المساعدة
للمستفيدين/ات (التصوير – الاتصال ... الخ)"): counted per site and Riyadh day, once per form token
(a double tap, a retry, two requests at once), totals in the reports, the list edited by admins
on the audit trail. The visitor tap shares the same idempotency."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from desk import submissions
from desk.errors import NotFound
from desk.models import AuditAction, AuditEntry, AuxService, AuxServiceTap, FormSubmission, Site, User, VisitorTap
from desk.submissions import AlreadyTaken
from desk.survey import report, service
from tests.test_survey import _race

ONCE = re.compile(r'name="once" value="([^"]+)"')


@pytest.fixture
def sites(db):
    main = Site(name_ar="المقر الرئيسي", name_en="Main office", position=1, active=True)
    branch = Site(name_ar="المكتب الفرعي", name_en="Branch office", position=2, active=True)
    db.session.add_all([main, branch])
    db.session.commit()
    return main, branch


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _once(user: User, token: str, kind=submissions.Kind.AUX_SERVICE):
    return submissions.bind(kind, token, f"user:{user.id}", user.id)


def test_the_policys_services_are_there_by_default(app, db):
    rows = service.aux_services(db.session)  # as migration 0024 inserts them
    assert [r.code for r in rows] == ["copying", "call", "form"]
    assert rows[0].name_ar == "تصوير المستندات"
    db.session.execute(AuxService.__table__.delete())
    db.session.commit()
    assert app.test_cli_runner().invoke(args=["desk", "init"]).exit_code == 0  # an emptied list: init re-creates it
    assert [r.code for r in service.aux_services(db.session)] == ["copying", "call", "form"]
    service.ensure_default_services(db.session)  # a second time adds nothing
    assert _count(db, AuxService) == 3


def test_a_page_never_writes_the_default_services(as_user, db, people, sites):
    """The counter is in every page's context: reading it on a GET writes nothing, even when
    the list is empty (only ``desk init`` re-creates it)."""
    staff = as_user(people.staff)
    assert "تصوير المستندات" in staff.get("/visitors").get_data(as_text=True)
    db.session.execute(AuxService.__table__.delete())
    db.session.commit()
    for path in ("/visitors", "/"):
        assert staff.get(path).status_code in (200, 302)
    db.session.expire_all()
    assert _count(db, AuxService) == 0


def test_services_are_counted_per_site_and_riyadh_day(db, people, sites):
    main, branch = sites
    copying, call, form = service.aux_services(db.session)
    late = datetime(2026, 11, 23, 20, 59, tzinfo=UTC)   # 23:59 on the 23rd in Riyadh
    after = datetime(2026, 11, 23, 21, 1, tzinfo=UTC)   # 00:01 on the 24th
    service.tap_service(db.session, people.staff, main, copying, now=late)
    service.tap_service(db.session, people.staff, main, copying, now=after)
    service.tap_service(db.session, people.supervisor, main, copying, now=after + timedelta(minutes=5))
    service.tap_service(db.session, people.staff, branch, call, now=after)
    day = date(2026, 11, 24)
    assert service.service_taps_today(db.session, main.id, day) == {copying.id: 2}
    assert service.service_taps_today(db.session, branch.id, day) == {call.id: 1}
    assert service.service_taps_today(db.session, main.id, date(2026, 11, 23)) == {copying.id: 1}
    figures = report.service_figures(db.session, date(2026, 11, 23), day)
    assert figures.count(copying.id, main.id) == 3 and figures.count(call.id, branch.id) == 1
    assert figures.service_total(copying.id) == 3 and figures.site_total(branch.id) == 1 and figures.total == 4
    assert [s.code for s in figures.services] == ["copying", "call", "form"]  # zeros listed too
    only_the_24th = report.service_figures(db.session, day, day)
    assert only_the_24th.total == 3


def test_only_the_counters_roles_may_count_and_only_active_services(db, people, sites):
    main, _branch = sites
    copying = service.aux_services(db.session)[0]
    for who in (people.focal, people.admin):
        with pytest.raises(NotFound):
            service.tap_service(db.session, who, main, copying)
    copying.active = False
    db.session.commit()
    with pytest.raises(NotFound):
        service.tap_service(db.session, people.staff, main, copying)
    assert _count(db, AuxServiceTap) == 0


def test_the_same_token_counts_once(db, people, sites):
    main, _branch = sites
    copying, call, _form = service.aux_services(db.session)
    once = _once(people.staff, submissions.new_token())
    service.tap_service(db.session, people.staff, main, copying, once=once)
    with pytest.raises(AlreadyTaken):
        service.tap_service(db.session, people.staff, main, copying, once=once)
    assert _count(db, AuxServiceTap) == 1
    assert submissions.first(db.session, once).result == {"aux_service_tap": db.session.scalar(select(AuxServiceTap.id))}
    service.tap_service(db.session, people.staff, main, call, once=_once(people.staff, submissions.new_token()))
    assert _count(db, AuxServiceTap) == 2


def test_two_requests_with_the_same_token_at_once_count_once(app, db, people, sites):
    main, _branch = sites
    copying = service.aux_services(db.session)[0]
    staff_id, site_id, service_id = people.staff.id, main.id, copying.id
    db.session.commit()
    for _round in range(3):
        token = submissions.new_token()

        def tap_it(session, token=token):
            actor = session.get(User, staff_id)
            return service.tap_service(session, actor, session.get(Site, site_id), session.get(AuxService, service_id),
                                       once=_once(actor, token)).id

        results, errors = _race(app, tap_it)
        assert sorted(type(e).__name__ for e in errors if e is not None) == ["AlreadyTaken"], errors
        assert len([r for r in results if r is not None]) == 1
    db.session.expire_all()
    assert _count(db, AuxServiceTap) == 3


def test_a_failure_half_way_leaves_neither_the_tap_nor_the_token(db, people, sites, monkeypatch):
    """The tap and its token are one transaction: the database failing after both are flushed
    keeps neither, and the same form sent again counts."""
    main, _branch = sites
    copying = service.aux_services(db.session)[0]
    once = _once(people.staff, submissions.new_token())

    def broken(self, ticket, **result):
        raise RuntimeError("the database went away")
    monkeypatch.setattr(submissions.Taken, "done", broken)
    with pytest.raises(RuntimeError):
        service.tap_service(db.session, people.staff, main, copying, once=once)
    assert _count(db, AuxServiceTap) == 0 and _count(db, FormSubmission) == 0
    monkeypatch.undo()
    service.tap_service(db.session, people.staff, main, copying, once=once)
    assert _count(db, AuxServiceTap) == 1


def test_tapping_on_the_counter_page(as_user, db, people, sites):
    main, branch = sites
    copying, call, _form = service.aux_services(db.session)
    staff = as_user(people.staff)
    page = staff.get("/visitors").get_data(as_text=True)
    assert "تصوير المستندات" in page and 'name="service_id"' in page
    token = ONCE.findall(page)[-1]
    data = {"site_id": branch.id, "service_id": copying.id, "once": token}
    first = staff.post("/visitors/service", htmx=True, data=data)
    assert first.status_code == 200
    fragment = first.get_data(as_text=True)
    assert f'data-service="{copying.id}">١</strong>' in fragment and "/visitors/service/undo" in fragment
    again = staff.post("/visitors/service", htmx=True, data=data)  # a double tap: the same form
    assert again.status_code == 200 and f'data-service="{copying.id}">١</strong>' in again.get_data(as_text=True)
    assert _count(db, AuxServiceTap) == 1
    fresh = ONCE.findall(fragment)[-1]
    assert fresh != token  # the swapped counter carries new tokens
    staff.post("/visitors/service", htmx=True, data={"site_id": branch.id, "service_id": call.id, "once": fresh})
    assert service.service_taps_today(db.session, branch.id) == {copying.id: 1, call.id: 1}
    # without JavaScript: a redirect back to the page
    plain = staff.post("/visitors/service", data={"site_id": main.id, "service_id": copying.id,
                                                  "once": submissions.new_token(), "back": "/visitors"})
    assert plain.status_code == 302
    assert service.service_taps_today(db.session, main.id) == {copying.id: 1}
    # undo the last one, within the minute
    last = db.session.scalar(select(AuxServiceTap).order_by(AuxServiceTap.id.desc()))
    assert staff.post("/visitors/service/undo", htmx=True, data={"tap_id": last.id}).status_code == 200
    assert service.service_taps_today(db.session, main.id) == {}
    # not theirs to count
    focal = as_user(people.focal)
    assert focal.post("/visitors/service", data={"site_id": main.id, "service_id": copying.id}).status_code == 404
    unknown = staff.post("/visitors/service", htmx=True, data={"site_id": main.id, "service_id": 999999})
    assert unknown.status_code == 422 and _count(db, AuxServiceTap) == 2


def test_a_double_tap_of_plus_one_visitor_counts_once(as_user, db, people, sites):
    main, _branch = sites
    staff = as_user(people.staff)
    token = ONCE.findall(staff.get("/visitors").get_data(as_text=True))[0]
    for _ in range(2):
        assert staff.post("/visitors/tap", htmx=True, data={"site_id": main.id, "once": token}).status_code == 200
    assert _count(db, VisitorTap) == 1
    staff.post("/visitors/tap", htmx=True, data={"site_id": main.id, "once": submissions.new_token()})
    assert _count(db, VisitorTap) == 2


def test_the_services_in_the_reports(as_user, db, people, sites):
    main, branch = sites
    copying, call, _form = service.aux_services(db.session)
    service.tap_service(db.session, people.staff, main, copying)
    service.tap_service(db.session, people.staff, branch, copying)
    service.tap_service(db.session, people.staff, branch, call)
    visitors = as_user(people.staff).get("/visitors").get_data(as_text=True)
    assert 'id="aux-service-table"' in visitors
    supervisor = as_user(people.supervisor)
    report_page = supervisor.get("/stats/report?preset=this_month").get_data(as_text=True)
    assert 'id="table-services"' in report_page and "تصوير المستندات" in report_page
    dashboard = supervisor.get("/stats?preset=this_month").get_data(as_text=True)
    assert 'id="table-services"' in dashboard
    csv = supervisor.get("/stats/export.csv?preset=this_month").get_data().decode("utf-8-sig")
    assert "الخدمات المساعدة" in csv
    assert "تصوير المستندات,2,1,1" in csv  # all sites, then each site in order


def test_admins_edit_the_list_on_the_audit_trail(db, people, admin, as_user):
    refused = admin.post("/admin/aux-services", {"name_ar": "", "name_en": "Printing", "position": "4", "active": "y"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'value="Printing"' in html and "This field is required." in html
    assert admin.post("/admin/aux-services", {"name_ar": "طباعة", "name_en": "Printing", "position": "4",
                                              "active": "y"}).status_code == 302
    added = db.session.scalar(select(AuxService).where(AuxService.name_en == "Printing"))
    assert added.code is None and added.active
    assert admin.post(f"/admin/aux-services/{added.id}", {"name_ar": "طباعة", "name_en": "Printing",
                                                          "position": "4"}).status_code == 302
    db.session.expire_all()
    assert not db.session.get(AuxService, added.id).active
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.ADMIN_CHANGE,
                                                       AuditEntry.record_type == "aux_service",
                                                       AuditEntry.record_id == str(added.id))).all()
    assert [r.detail["change"] for r in rows] == ["created", "edited"]
    assert rows[1].detail["old"] == {"active": True} and rows[1].detail["new"] == {"active": False}
    assert as_user(people.supervisor).get("/admin/aux-services").status_code == 404
