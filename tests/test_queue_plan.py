"""The open views' first pages read the open-tickets indexes newest first and stop after a
page (migration 0022_speed), whatever ANALYZE's sampled statistics say: on SQLite the index
is named in the query; on both databases the pages are the right tickets in the right order."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from desk.accounts.service import create_user
from desk.models import Status, User, utcnow
from desk.queue import service as queue
from desk.tickets import actions
from tests.conftest import statements_run


@pytest.fixture
def statements(db):
    """The queue's page statements run by the test (SELECTs of tickets in created order)."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM tickets" in statement and "ORDER BY tickets.created_at" in statement:
            seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", record)


def _plan(db, statement, parameters) -> str:
    return "\n".join(row[-1] for row in db.session.connection().exec_driver_sql(
        "EXPLAIN QUERY PLAN " + statement, parameters))


@pytest.fixture
def desk(db, people, make_tickets):
    """Open and closed tickets in two departments, and statistics that lie: ANALYZE's
    sample says the status index finds a handful of rows (what sent the queue into a sort)."""
    start = utcnow() - timedelta(days=3)
    made = make_tickets(30, created_at=start, status=Status.CLOSED.value)
    made += make_tickets(20, created_at=start + timedelta(hours=1))
    made += make_tickets(20, created_at=start + timedelta(hours=2), department_id=people.aid.id,
                         status=Status.OPEN.value)
    made += make_tickets(10, created_at=start + timedelta(hours=3), status=Status.RESOLVED.value)
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        db.session.execute(sa.text("ANALYZE"))
        db.session.execute(sa.text("DELETE FROM sqlite_stat1 WHERE tbl = 'tickets'"))
        db.session.execute(sa.text(
            "INSERT INTO sqlite_stat1 VALUES ('tickets', 'ix_tickets_status_created', '1000000 2 1 1'), "
            "('tickets', 'ix_tickets_open_created', '1000000 1 1'), "
            "('tickets', 'ix_tickets_created', '1000000 1 1')"))
        db.session.commit()
        db.session.execute(sa.text("ANALYZE sqlite_schema"))  # reload the statistics
    return made


def _expected(tickets, departments=None) -> list[int]:
    rows = [t for t in tickets if t.is_open and (departments is None or t.department_id in departments)]
    return [t.id for t in sorted(rows, key=lambda t: (t.created_at, t.id), reverse=True)]


def test_the_open_view_reads_newest_first_from_its_index(db, people, desk, statements):
    first = queue.page(db.session, people.staff, queue.parse_filters({}, "open"), limit=15)
    second = queue.page(db.session, people.staff, queue.parse_filters({}, "open"), cursor=first.next_cursor, limit=15)
    assert [t.id for t in first.tickets + second.tickets] == _expected(desk)[:30]
    if db.engine.dialect.name != "sqlite":
        return
    for statement, parameters in statements[-2:]:
        plan = _plan(db, statement, parameters)
        assert queue.OPEN_CREATED_INDEX in plan and "TEMP B-TREE" not in plan, plan


def test_one_department_reads_its_own_index(db, people, desk, statements):
    focal = queue.page(db.session, people.focal, queue.parse_filters({}, "department"))
    assert [t.id for t in focal.tickets] == _expected(desk, {people.social.id})
    filtered = queue.page(db.session, people.staff, queue.parse_filters({"department": str(people.aid.id)}, "open"))
    assert [t.id for t in filtered.tickets] == _expected(desk, {people.aid.id})
    if db.engine.dialect.name != "sqlite":
        return
    for statement, parameters in statements[-2:]:
        plan = _plan(db, statement, parameters)
        assert queue.OPEN_DEPARTMENT_CREATED_INDEX in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize("args", [{"channel": "phone"}, {"status": "new"}, {"q": "السلة"}, {"sort": "due"},
                                  {"view": "all"}, {"assignee": "none"}])
def test_other_filters_leave_the_plan_to_the_planner(db, people, desk, args):
    f = queue.parse_filters(args, "open")
    assert queue._forced_index(people.staff, f) is None
    assert queue.page(db.session, people.staff, f).tickets  # and the page still comes


@pytest.fixture
def mixed(db, people, make_tickets):
    """Open tickets by phone and by email, interleaved in time, and closed ones between them."""
    start = utcnow() - timedelta(days=2)
    made = []
    for k in range(6):
        at = start + timedelta(hours=k)
        made += make_tickets(7, created_at=at, channel="email")
        made += make_tickets(3, created_at=at + timedelta(minutes=10), channel="phone")
        made += make_tickets(2, created_at=at + timedelta(minutes=20), channel="phone", status=Status.CLOSED.value)
    db.session.commit()
    return made


def _filtered_pages(db, actor, args, size):
    f, ids, cursor = queue.parse_filters(args, "open"), [], ""
    while True:
        page = queue.page(db.session, actor, f, cursor=cursor, limit=size)
        ids += [t.id for t in page.tickets]
        if not page.next_cursor:
            return ids
        cursor = page.next_cursor


def _expected_where(tickets, keep) -> list[int]:
    rows = [t for t in tickets if t.is_open and keep(t)]
    return [t.id for t in sorted(rows, key=lambda t: (t.created_at, t.id), reverse=True)]


def test_a_filtered_view_reads_its_newest_tickets_in_order(db, people, mixed, statements, monkeypatch):
    """SQLite reads the view's index newest first until a page of filtered tickets is full,
    instead of sorting every open phone ticket; every page holds the right tickets."""
    monkeypatch.setattr(queue, "SQLITE_MANY", 5)  # more phone tickets than "a few"
    assert _filtered_pages(db, people.staff, {"channel": "phone"}, 5) == _expected_where(
        mixed, lambda t: t.channel == "phone")
    if db.engine.dialect.name != "sqlite":
        return
    pages = [(s, p) for s, p in statements if "tickets.channel" in s]
    assert pages
    for statement, parameters in pages:
        plan = _plan(db, statement, parameters)
        assert queue.OPEN_CREATED_INDEX in plan and "TEMP B-TREE" not in plan, plan


def test_a_filter_that_keeps_few_leaves_the_window_for_the_planner(db, people, mixed, statements, monkeypatch):
    """When the newest tickets hold less than a page of the filtered ones, the window is given
    up and the page comes from the planner's plan: the same tickets either way."""
    monkeypatch.setattr(queue, "WALK_WINDOW", 8)
    monkeypatch.setattr(queue, "SQLITE_MANY", 5)
    expected = _expected_where(mixed, lambda t: t.channel == "phone")
    assert _filtered_pages(db, people.staff, {"channel": "phone"}, 5) == expected
    assert _filtered_pages(db, people.focal, {"channel": "phone", "view": "department"}, 4) == _expected_where(
        mixed, lambda t: t.channel == "phone" and t.department_id in people.focal.department_ids)
    assert _filtered_pages(db, people.staff, {"channel": "phone", "kind": "inquiry"}, 5) == []
    if db.engine.dialect.name == "sqlite":
        plans = [_plan(db, s, p) for s, p in list(statements) if "tickets.channel" in s]
        assert any("TEMP B-TREE" in p for p in plans)  # some pages fell back to the planner


def test_a_filter_that_keeps_a_few_is_sorted(db, people, mixed, statements):
    """A filter whose own index counts no more than SQLITE_MANY open tickets: they are
    fetched and sorted, without looking for them among the newest."""
    assert _filtered_pages(db, people.staff, {"channel": "phone"}, 5) == _expected_where(
        mixed, lambda t: t.channel == "phone")
    pages = [s for s, _p in statements if "tickets.channel" in s]
    assert pages and not any("INDEXED BY" in s for s in pages)


def test_a_focal_point_of_two_departments_reads_each_in_order(db, people, desk, statements):
    """Each department's newest open tickets from its own index, merged: every page right,
    no sort of all their open tickets."""
    both = create_user(db.session, "two@example.org", "password-of-two-1", "نوف", ["focal"], ["SOCIAL", "AID"])
    db.session.commit()
    for view in ("department", "open"):
        f, ids, cursor = queue.parse_filters({"view": view}, "department"), [], ""
        while True:
            page = queue.page(db.session, both, f, cursor=cursor, limit=7)
            ids += [t.id for t in page.tickets]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert ids == _expected(desk, {people.social.id, people.aid.id}), view
    if db.engine.dialect.name != "sqlite":
        return
    walks = [(s, p) for s, p in list(statements) if "UNION ALL" in s]
    assert walks
    for statement, parameters in walks:
        plan = _plan(db, statement, parameters)
        assert plan.count(queue.OPEN_DEPARTMENT_CREATED_INDEX) == 2, plan  # one range per department


def test_a_page_the_database_sorts_sorts_ids_only(db, people, mixed, statements):
    """A page no index holds in order (a search here) is sorted as ids, then its rows read
    by id: the sorter never copies bodies and search texts."""
    f = queue.parse_filters({"view": "all", "q": "أحمد"}, "open")
    first = queue.page(db.session, people.staff, f, limit=5)
    assert [t.id for t in first.tickets] == [t.id for t in sorted(mixed, key=lambda t: (t.created_at, t.id),
                                                                   reverse=True)][:5]
    # PostgreSQL's count of the newest tickets the search finds (desk.tickets.search.POSTGRES_PROBE) sorts nothing.
    sorting = [s for s, _p in statements if "LIMIT" in s and not s.startswith("SELECT (SELECT count(*)")]
    assert sorting and all(s.startswith("SELECT tickets.id \nFROM") for s in sorting), sorting


def test_who_reads_which_index(people):
    f = queue.parse_filters({}, "open")
    assert queue._forced_index(people.staff, f) == queue.OPEN_CREATED_INDEX
    assert queue._forced_index(people.focal, f) == queue.OPEN_DEPARTMENT_CREATED_INDEX  # sees one department
    # Asking for a department the focal point does not hold: nothing to read in order.
    assert queue._forced_index(people.focal, f.with_(department=str(people.aid.id))) is None


def test_a_focal_points_counts_read_only_indexes(db, people, desk):
    """Every view count is an index range with nothing read from the table (SQLite says
    COVERING INDEX): "unassigned" and "mine" included (ix_tickets_open_department_assignee)."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "count(*)" in statement:
            seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        counts = queue.view_counts(db.session, people.focal)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert counts["open"] == len(_expected(desk, {people.social.id}))
    assert counts["unassigned"] == counts["open"] and counts["mine"] == 0
    if db.engine.dialect.name != "sqlite":
        return
    plan = _plan(db, *seen[-1])
    searches = [line for line in plan.splitlines() if "tickets" in line and ("SEARCH" in line or "SCAN" in line)]
    assert len(searches) == 5 and all("COVERING INDEX" in line for line in searches), plan


@pytest.mark.parametrize("args", [{}, {"sort": "due"}, {"q": "السلة"}, {"department": "AID"}])
def test_the_rows_leave_unread_what_they_do_not_show(db, people, make_ticket, args):
    """The queue's rows do not read the texts, the metadata, the category nor the assignee's
    roles and departments (templates/queue/_rows.html shows none of them): each still reads
    right on first use."""
    made = make_ticket(actor=people.staff)
    actions.take(db.session, people.focal, made, expected_version=made.version)
    db.session.commit()
    social_id, staff_id = people.social.id, people.staff.id
    db.session.expunge_all()  # nothing of the ticket or its assignee already in the session
    if args.get("department"):
        args = {"department": str(social_id)}
    staff = db.session.get(User, staff_id)
    rows = queue.page(db.session, staff, queue.parse_filters(args, "all")).tickets
    assert rows
    row = rows[0]
    unloaded = sa.inspect(row).unloaded
    assert {"body", "search_text", "action_taken", "meta", "category"} <= unloaded
    assert row.assignee is not None and {"role_rows", "memberships"} <= sa.inspect(row.assignee).unloaded
    assert set(row.assignee.department_ids) == {social_id}
    assert row.body == "لم تصل السلة الغذائية لهذا الشهر"


def test_the_full_queue_page_reads_people_departments_and_tags_once(db, people, make_ticket, as_user):
    """The filters and the bulk form share their lists: one read of the people (without their
    roles or departments), one of the departments, one of the tags."""
    make_ticket(actor=people.staff)
    browser = as_user(people.supervisor)
    with statements_run(db) as sent:
        page = browser.get("/tickets?view=all")
    seen = [" ".join(statement.split()) for statement in sent]
    assert page.status_code == 200
    assert len([s for s in seen if s.startswith("SELECT tags.")]) == 1
    assert len([s for s in seen if "FROM departments WHERE departments.active" in s]) == 1
    assert len([s for s in seen if "FROM users WHERE users.active" in s]) == 1
    assert not [s for s in seen if "FROM user_roles" in s and "user_roles.user_id IN" in s]
