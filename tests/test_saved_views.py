"""Personal and shared queue views (issue 18, point 5): saved from the queue's current filters
and sort, shown beside the built-in views with exact counts, shared with a department or the
desk only by who may, renamed and deleted by who may, and never a door to tickets the person
may not see (visibility is applied when the view is counted and opened, never stored)."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from desk.models import Channel, DepartmentMember, Priority, SavedView, Status, ViewScope
from desk.queue import saved
from desk.queue import service as queue
from tests.conftest import count

NAME_MISSING = "اكتب اسمًا للعرض."


def _save(browser, name, scope="personal", share="", htmx=False, **filters):
    data = {"name": name, "scope": scope, "share_department": share, **filters}
    return browser.post("/tickets/views", data, htmx=htmx)


def _count_in(html: str, view_id: int) -> int:
    match = re.search(rf'id="count-saved-{view_id}">([^<]*)<', html)
    assert match, f"no count for view {view_id}"
    digits = match.group(1).translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")).replace("٬", "").replace(",", "")
    return int(digits)


def test_a_personal_view_saves_the_filters_and_sort_and_is_counted_for_its_owner_only(
        db, as_user, people, make_tickets):
    make_tickets(3, channel=Channel.PHONE.value, priority=Priority.URGENT.value)
    make_tickets(2, channel=Channel.EMAIL.value, priority=Priority.URGENT.value)
    make_tickets(4, channel=Channel.PHONE.value, status=Status.CLOSED.value, priority=Priority.URGENT.value)
    staff = as_user(people.staff)
    answer = _save(staff, "مكالمات عاجلة", channel="phone", priority="4", sort="due", dir="asc", q="سلة")
    assert answer.status_code == 302
    view = db.session.scalars(sa.select(SavedView)).one()
    assert view.scope == ViewScope.PERSONAL and view.owner_id == people.staff.id
    assert view.args == [["view", "open"], ["channel", "phone"], ["priority", "4"], ["sort", "due"], ["dir", "asc"]]  # no search text
    assert answer.headers["Location"].endswith("/tickets?channel=phone&priority=4&sort=due&dir=asc")

    html = staff.get("/tickets").get_data(as_text=True)
    assert "مكالمات عاجلة" in html and _count_in(html, view.id) == 3
    # Exact on the next refresh: a change is counted at once, nothing is tallied in between.
    make_tickets(1, channel=Channel.PHONE.value, priority=Priority.URGENT.value)
    poll = staff.get("/tickets/poll?token=stale", htmx=True).get_data(as_text=True)
    assert 'id="saved-views"' in poll and 'hx-swap-oob="true"' in poll and _count_in(poll, view.id) == 4

    other = as_user(people.supervisor).get("/tickets").get_data(as_text=True)
    assert "مكالمات عاجلة" not in other


def test_the_save_form_answers_with_messages_by_the_fields_and_keeps_what_was_typed(db, as_user, people):
    staff = as_user(people.staff)
    empty = _save(staff, "  ", htmx=True, channel="phone")
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422 and "<html" not in html
    assert NAME_MISSING in html and 'id="save-view-name-error"' in html
    assert 'name="channel" value="phone"' in html  # the filters are still those to save
    assert _save(staff, "هاتف", channel="phone").status_code == 302
    twice = _save(staff, "هاتف", channel="email")  # plain form: the whole queue page, with the message
    text = twice.get_data(as_text=True)
    assert twice.status_code == 422 and "<html" in text and 'value="هاتف"' in text
    assert "يوجد عرض بهذا الاسم" in text
    desk = _save(staff, "للجميع", scope="desk", htmx=True)
    assert desk.status_code == 422 and "المشرفون ومدير النظام فقط" in desk.get_data(as_text=True)
    assert count(db, SavedView) == 1


def test_sharing_with_a_department_is_for_its_focal_point_or_a_supervisor(db, as_user, people):
    focal = as_user(people.focal)
    refused = _save(focal, "المساعدات", scope="department", share=str(people.aid.id), htmx=True)
    assert refused.status_code == 422 and 'id="save-view-dept-error"' in refused.get_data(as_text=True)
    assert _save(focal, "إدارتي", scope="department", share=str(people.social.id)).status_code == 302
    assert _save(as_user(people.supervisor), "للمساعدات", scope="department",
                 share=str(people.aid.id)).status_code == 302
    assert _save(as_user(people.staff), "إدارة", scope="department", share=str(people.social.id),
                 htmx=True).status_code == 422
    views = {v.name: v for v in db.session.scalars(sa.select(SavedView))}
    assert set(views) == {"إدارتي", "للمساعدات"}
    # Seen by that department's members only (and kept by supervisors on the views page).
    mine, aid = (f'id="saved-view-{views[name].id}"' for name in ("إدارتي", "للمساعدات"))
    assert mine in as_user(people.focal).get("/tickets").get_data(as_text=True)
    assert mine not in (other := as_user(people.other_focal).get("/tickets").get_data(as_text=True)) and aid in other
    assert f'id="view-{views["إدارتي"].id}"' in as_user(people.supervisor).get("/tickets/views").get_data(as_text=True)


def test_a_desk_view_counts_only_what_each_person_may_see(db, as_user, people, make_tickets):
    make_tickets(3, department_id=people.social.id, channel=Channel.PHONE.value)
    make_tickets(5, department_id=people.aid.id, channel=Channel.PHONE.value)
    assert _save(as_user(people.supervisor), "الهاتف", scope="desk", channel="phone").status_code == 302
    view = db.session.scalars(sa.select(SavedView)).one()
    assert _count_in(as_user(people.supervisor).get("/tickets").get_data(as_text=True), view.id) == 8
    assert _count_in(as_user(people.focal).get("/tickets").get_data(as_text=True), view.id) == 3
    page = as_user(people.focal).get("/tickets?channel=phone").get_data(as_text=True)
    assert page.count('class="desk-ref"') == 3


def test_a_department_the_person_no_longer_serves_shows_nothing(db, as_user, people, make_tickets):
    make_tickets(2, department_id=people.social.id)
    make_tickets(4, department_id=people.aid.id)
    focal = as_user(people.focal)
    assert _save(focal, "البحث", status="new", department=str(people.social.id)).status_code == 302
    view = db.session.scalars(sa.select(SavedView)).one()
    assert _count_in(focal.get("/tickets").get_data(as_text=True), view.id) == 2
    # Moved to Aid: the view is still theirs, but Social's tickets are no longer counted or listed.
    membership = db.session.scalars(sa.select(DepartmentMember).where(DepartmentMember.user_id == people.focal.id)).one()
    membership.department_id = people.aid.id
    db.session.commit()
    db.session.expire_all()
    moved = db.session.get(type(people.focal), people.focal.id)
    assert saved.counts(db.session, moved, [view], queue.default_view(moved)) == {view.id: 0}
    html = as_user(moved).get(f"/tickets?department={people.social.id}&status=new").get_data(as_text=True)
    assert _count_in(html, view.id) == 0 and "desk-ref" not in html


def test_rename_and_delete_by_who_may(db, as_user, people):
    assert _save(as_user(people.staff), "عرضي").status_code == 302
    assert _save(as_user(people.supervisor), "للجميع", scope="desk").status_code == 302
    assert _save(as_user(people.focal), "إدارتي", scope="department", share=str(people.social.id)).status_code == 302
    views = {v.name: v.id for v in db.session.scalars(sa.select(SavedView))}
    staff, focal, supervisor = as_user(people.staff), as_user(people.focal), as_user(people.supervisor)

    # Another person's personal view, or a shared one the person may not share: as if absent.
    assert supervisor.post(f"/tickets/views/{views['عرضي']}/rename", {"name": "x"}).status_code == 404
    assert staff.post(f"/tickets/views/{views['للجميع']}/delete").status_code == 404
    assert focal.post(f"/tickets/views/{views['للجميع']}/rename", {"name": "x"}).status_code == 404
    assert staff.post(f"/tickets/views/{views['عرضي']}/delete", csrf=False).status_code == 400

    empty = staff.post(f"/tickets/views/{views['عرضي']}/rename", {"name": ""})
    assert empty.status_code == 422 and NAME_MISSING in empty.get_data(as_text=True)
    assert staff.post(f"/tickets/views/{views['عرضي']}/rename", {"name": "مكالماتي"}).status_code == 302
    # The department's view: its focal point or a supervisor, not only the one who made it.
    assert supervisor.post(f"/tickets/views/{views['إدارتي']}/rename", {"name": "البحث الاجتماعي"}).status_code == 302
    assert focal.post(f"/tickets/views/{views['إدارتي']}/delete").status_code == 302
    assert supervisor.post(f"/tickets/views/{views['للجميع']}/delete").status_code == 302
    assert [v.name for v in db.session.scalars(sa.select(SavedView))] == ["مكالماتي"]


def test_a_failed_commit_writes_no_view(db, people, monkeypatch):
    def fail():
        raise sa.exc.OperationalError("COMMIT", {}, Exception("the disk is full"))

    monkeypatch.setattr(db.session, "commit", fail)
    with pytest.raises(sa.exc.OperationalError):
        saved.save_view(db.session, people.staff, "عرض", ViewScope.PERSONAL, None, queue.Filters())
    monkeypatch.undo()
    assert count(db, SavedView) == 0


def test_each_count_reads_one_index(db, people, make_tickets):
    """The counts of common views each read one index range on SQLite (EXPLAIN QUERY PLAN),
    the open-ticket indexes migration 0023_views added among them; PostgreSQL's plans are in
    the README (tests/bench/views.py prints them)."""
    make_tickets(5)
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the SQLite planner's choice is checked here; PostgreSQL's depends on its statistics")
    # (a department's open tickets are one covering range of either of two indexes: the planner
    # may take the one it thinks smaller)
    cases = [(("ix_tickets_open_channel",), [("channel", "phone")]), (("ix_tickets_open_kind",), [("kind", "complaint")]),
             (("ix_tickets_open_priority",), [("priority", "4")]),
             (("ix_tickets_open_department", "ix_tickets_department_status_created"),
              [("department", str(people.social.id))])]
    for indexes, args in cases:
        f = queue.parse_filters(dict(args), "open")
        stmt = sa.select(sa.func.count()).select_from(queue.Ticket).where(
            *queue.filter_conditions(db.session, people.supervisor, f, queue.utcnow()))
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = " | ".join(row[-1] for row in db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        assert any(f"USING COVERING INDEX {index} " in plan for index in indexes), plan
        assert plan.count("SEARCH") == 1, plan
    # A focal point's counts are restricted to their departments: still one covering range each
    # (migration 0025_counts; before it, 728 ms for ten views at 1,000,000 tickets on PostgreSQL).
    for indexes, args in cases[:3]:
        f = queue.parse_filters(dict(args), "open")
        stmt = sa.select(sa.func.count()).select_from(queue.Ticket).where(
            *queue.filter_conditions(db.session, people.focal, f, queue.utcnow()))
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = " | ".join(row[-1] for row in db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        assert any(f"USING COVERING INDEX {index} " in plan and "department_id" in plan for index in indexes), plan
        assert plan.count("SEARCH") == 1, plan
