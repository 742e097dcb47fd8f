"""The shared queue: views, filters, sort, keyset pagination, counts, the cheap refresh."""
from __future__ import annotations

import re

import sqlalchemy as sa

from desk.models import Channel, Kind
from desk.tickets import service as tickets

ROW_REF = re.compile(r'class="desk-ref" href="/tickets/([A-Z]-\d{4}-\d{6})"')


def refs(response) -> list[str]:
    return ROW_REF.findall(response.get_data(as_text=True))


def test_queue_full_page_and_fragment(as_user, people, make_ticket):
    ticket = make_ticket()
    staff = as_user(people.staff)
    page = staff.get("/tickets")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert refs(page) == [ticket.reference]
    fragment = staff.get("/tickets", htmx=True)
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and 'id="queue-results"' in html
    assert 'id="count-open" hx-swap-oob="true"' in html


def test_every_channel_lands_in_one_queue(as_user, people, make_ticket):
    made = {make_ticket(channel=c, channel_detail="whatsapp" if c == "social" else None).reference for c in Channel}
    assert set(refs(as_user(people.staff).get("/tickets"))) == made


def test_filters(as_user, people, make_ticket, db):
    phone = make_ticket(channel="phone")
    visit = make_ticket(channel="visit", kind=Kind.INQUIRY, new_beneficiary=None)
    aid = make_ticket(department_id=people.aid.id)
    unrouted = make_ticket(department_id=None)
    staff = as_user(people.staff)
    assert set(refs(staff.get("/tickets?channel=visit"))) == {visit.reference}
    assert set(refs(staff.get("/tickets?kind=inquiry"))) == {visit.reference}
    assert set(refs(staff.get(f"/tickets?department={people.aid.id}"))) == {aid.reference}
    assert set(refs(staff.get("/tickets?department=none"))) == {unrouted.reference}
    tickets.change_field(db.session, people.staff, phone, "priority", "4", expected_version=phone.version)
    assert set(refs(staff.get("/tickets?priority=4"))) == {phone.reference}
    from desk.tickets.actions import resolve  # the one way to resolve: with the action taken
    resolve(db.session, people.staff, phone, "تم الرد على الاستفسار", expected_version=phone.version)
    assert phone.reference not in refs(staff.get("/tickets"))  # "All open" by default
    assert set(refs(staff.get("/tickets?view=all&status=resolved"))) == {phone.reference}


def test_free_text_search_is_arabic_normalised(as_user, people, make_ticket):
    hit = make_ticket(subject="طلب مساعدة لأسرة محتاجة", body="الأسرة تحتاج إلى سلة")
    make_ticket(subject="شكر للموظفين", body="")
    staff = as_user(people.staff)
    assert refs(staff.get("/tickets?q=لاسره")) == [hit.reference]          # hamza and taa marbuta folded
    assert refs(staff.get(f"/tickets?q={hit.reference.lower()}")) == [hit.reference]


def test_views_unassigned_mine_department(as_user, people, make_ticket, db):
    mine = make_ticket()
    tickets.change_field(db.session, people.focal, mine, "assignee", str(people.focal.id), expected_version=mine.version)
    other = make_ticket()
    focal = as_user(people.focal)
    assert refs(focal.get("/tickets?view=mine")) == [mine.reference]
    assert refs(focal.get("/tickets?view=unassigned")) == [other.reference]
    assert set(refs(focal.get("/tickets?view=department"))) == {mine.reference, other.reference}
    html = focal.get("/tickets").get_data(as_text=True)
    assert re.search(r'id="count-mine">\s*١\s*<', html)


def test_focal_point_sees_only_their_department(as_user, people, make_ticket):
    own = make_ticket(department_id=people.social.id)
    make_ticket(department_id=people.aid.id)
    make_ticket(department_id=None)
    focal = as_user(people.focal)
    assert refs(focal.get("/tickets?view=all")) == [own.reference]
    assert refs(focal.get(f"/tickets?view=all&department={people.aid.id}")) == []


def test_keyset_pagination_walks_every_ticket_once(app, as_user, people, make_ticket):
    app.config["DESK_QUEUE_PAGE_SIZE"] = 4
    try:
        made = [make_ticket().reference for _ in range(10)]
        staff = as_user(people.staff)
        first = staff.get("/tickets")
        seen = refs(first)
        assert seen == list(reversed(made))[:4]
        more = re.search(r'hx-get="(/tickets/more\?[^"]+)"', first.get_data(as_text=True)).group(1).replace("&amp;", "&")
        while more:
            chunk = staff.get(more, htmx=True).get_data(as_text=True)
            seen += ROW_REF.findall(chunk)
            found = re.search(r'hx-get="(/tickets/more\?[^"]+)"', chunk)
            more = found.group(1).replace("&amp;", "&") if found else None
        assert seen == list(reversed(made))
        # the last "more" answer tells the refresh how many rows are shown now
        assert "shown=10" in chunk
    finally:
        app.config["DESK_QUEUE_PAGE_SIZE"] = 50


def test_load_more_full_page_fallback(app, as_user, people, make_ticket):
    app.config["DESK_QUEUE_PAGE_SIZE"] = 2
    try:
        made = [make_ticket().reference for _ in range(3)]
        staff = as_user(people.staff)
        link = re.search(r'<a class="btn btn-outline-secondary" href="(/tickets\?[^"]+)"', staff.get("/tickets").get_data(as_text=True))
        assert refs(staff.get(link.group(1).replace("&amp;", "&"))) == [made[0]]
    finally:
        app.config["DESK_QUEUE_PAGE_SIZE"] = 50


def test_sort_by_priority_both_ways(as_user, people, make_ticket, db):
    low = make_ticket(priority=1)
    urgent = make_ticket(priority=4)
    normal = make_ticket(priority=2)
    staff = as_user(people.staff)
    assert refs(staff.get("/tickets?sort=priority")) == [urgent.reference, normal.reference, low.reference]
    assert refs(staff.get("/tickets?sort=priority&dir=asc")) == [low.reference, normal.reference, urgent.reference]


def test_unknown_filter_values_are_ignored(as_user, people, make_ticket):
    ticket = make_ticket()
    response = as_user(people.staff).get("/tickets?status=drop+table&sort=id;--&department=x&cursor=garbage")
    assert response.status_code == 200 and refs(response) == [ticket.reference]


def test_refresh_answers_204_until_something_changes(as_user, people, make_ticket, db):
    ticket = make_ticket()
    staff = as_user(people.staff)
    html = staff.get("/tickets").get_data(as_text=True)
    poll = re.search(r'hx-get="(/tickets/poll\?[^"]+)"', html).group(1).replace("&amp;", "&")
    unchanged = staff.get(poll, htmx=True)
    assert unchanged.status_code == 204 and unchanged.data == b""
    tickets.add_comment(db.session, people.focal, ticket, "ملاحظة", public=False, expected_version=None)
    changed = staff.get(poll, htmx=True)
    assert changed.status_code == 200 and ticket.reference in changed.get_data(as_text=True)


def test_an_unchanged_refresh_is_two_statements(as_user, people, make_ticket, db):
    """The refresh every open queue sends each 30 s: the signed-in session, then the change
    token in one round trip (README, Performance)."""
    make_ticket()
    staff = as_user(people.staff)
    html = staff.get("/tickets").get_data(as_text=True)
    poll = re.search(r'hx-get="(/tickets/poll\?[^"]+)"', html).group(1).replace("&amp;", "&")
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert staff.get(poll, htmx=True).status_code == 204
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert len(seen) == 2, seen


def test_refresh_keeps_as_many_rows_as_were_shown(app, as_user, people, make_ticket):
    app.config["DESK_QUEUE_PAGE_SIZE"] = 2
    try:
        for _ in range(5):
            make_ticket()
        response = as_user(people.staff).get("/tickets/poll?token=stale&shown=4", htmx=True)
        assert len(refs(response)) == 4
    finally:
        app.config["DESK_QUEUE_PAGE_SIZE"] = 50


def test_filter_state_round_trips_through_the_url(as_user, people, make_ticket):
    make_ticket()
    html = as_user(people.staff).get("/tickets?view=all&channel=phone&q=سلة&sort=priority&dir=asc").get_data(as_text=True)
    assert 'id="view-all" value="all" checked' in html
    assert '<option value="phone" selected>' in html
    assert 'value="سلة"' in html
    assert 'name="sort" value="priority"' in html and 'name="dir" value="asc"' in html


def test_filter_by_a_named_assignee(as_user, people, make_ticket, db):
    ticket = make_ticket()
    make_ticket()
    tickets.change_field(db.session, people.staff, ticket, "assignee", str(people.focal.id), expected_version=ticket.version)
    staff = as_user(people.staff)
    html = staff.get("/tickets").get_data(as_text=True)
    assert f'<option value="{people.focal.id}"' in html
    assert refs(staff.get(f"/tickets?assignee={people.focal.id}")) == [ticket.reference]


def test_htmx_answer_pushes_the_clean_url(as_user, people, make_ticket):
    make_ticket()
    response = as_user(people.staff).get("/tickets?view=all&q=&status=&channel=phone&kind=", htmx=True)
    assert response.headers["HX-Push-Url"] == "/tickets?view=all&channel=phone"


def test_focal_point_department_filter_lists_only_their_departments(as_user, people):
    html = as_user(people.focal).get("/tickets").get_data(as_text=True)
    select = re.search(r'<select[^>]*id="f-department".*?</select>', html, re.S).group(0)
    assert f'<option value="{people.social.id}"' in select
    assert f'<option value="{people.aid.id}"' not in select


def test_each_view_opens_in_its_own_order():
    """Overdue opens most overdue first; a sort chosen in one view does not follow the user
    into another (the form says which view its order belongs to), but a bookmarked URL keeps it."""
    from desk.queue.service import parse_filters

    overdue = parse_filters({"view": "overdue"})
    assert (overdue.sort, overdue.desc) == ("due", False) and overdue.query_args() == [("view", "overdue")]
    opened = parse_filters({})
    assert (opened.sort, opened.desc) == ("created", True) and opened.query_args() == []
    # the form, switching from "open" (sorted newest first) to "overdue"
    switched = parse_filters({"view": "overdue", "sort": "created", "dir": "desc", "sort_for": "open"})
    assert (switched.sort, switched.desc) == ("due", False)
    # re-sorting inside the overdue view, and a bookmark of it
    resorted = parse_filters({"view": "overdue", "sort": "created", "dir": "desc", "sort_for": "overdue"})
    assert (resorted.sort, resorted.desc) == ("created", True)
    assert parse_filters(dict(resorted.query_args())) == resorted
