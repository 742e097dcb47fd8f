"""The focal point's workspace: "my department's assignments" is where a focal point lands,
with counts (new, in progress, waiting, overdue) and the queue's htmx filters; only their
department's tickets, through every door."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from desk.models import Status, Ticket, utcnow
from desk.queue import service as queue


def refs(response):
    return re.findall(r'class="desk-ref" href="/tickets/([A-Z]-\d{4}-\d{6})"', response.get_data(as_text=True))


def set_(db, ticket, **values):
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(**values))
    db.session.commit()


@pytest.fixture
def spread(db, people, make_ticket):
    """SOCIAL: two new, one open (overdue), one waiting (past due, but paused: not overdue), one
    resolved; AID: one new; one unrouted."""
    made = {
        "new1": make_ticket(), "new2": make_ticket(), "open": make_ticket(), "waiting": make_ticket(),
        "resolved": make_ticket(), "aid": make_ticket(department_id=people.aid.id),
        "unrouted": make_ticket(department_id=None),
    }
    set_(db, made["open"], status=Status.OPEN, due_at=utcnow() - timedelta(hours=1))
    set_(db, made["waiting"], status=Status.WAITING, due_at=utcnow() - timedelta(hours=2))
    set_(db, made["resolved"], status=Status.RESOLVED, due_at=utcnow() - timedelta(hours=2))
    return made


def test_counts_for_the_focal_points_departments(db, people, spread):
    assert queue.department_counts(db.session, people.focal) == {"new": 2, "open": 1, "waiting": 1, "overdue": 1, "unread": 0}
    assert queue.department_counts(db.session, people.other_focal) == {"new": 1, "open": 0, "waiting": 0, "overdue": 0, "unread": 0}
    assert queue.department_counts(db.session, people.staff) is None  # no department: no workspace


def test_focal_point_lands_in_their_workspace(as_user, people, spread):
    focal = as_user(people.focal)
    response = focal.get("/tickets")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'<h1 class="h4 m-0">(My department\'s assignments|طلبات إدارتي)</h1>', html)
    assert re.search(r'id="view-department" value="department"\s+checked', html)
    assert 'id="workspace-counts"' in html
    counts = dict(re.findall(r'id="workspace-(\w+)">([^<]+)<', html))
    assert counts == {"new": "٢", "open": "١", "waiting": "١", "overdue": "١", "unread": "٠"}
    assert set(refs(response)) == {spread[k].reference for k in ("new1", "new2", "open", "waiting")}
    # sign-in sends them there too: the home page is the queue, whose default is their view
    assert focal.get("/").headers["Location"].endswith("/tickets")


def test_staff_land_in_the_shared_queue_without_a_workspace(as_user, people, spread):
    html = as_user(people.staff).get("/tickets").get_data(as_text=True)
    assert 'id="workspace-counts"' not in html
    assert re.search(r'id="view-open" value="open"\s+checked', html)


def test_workspace_filters_with_htmx_and_the_url_stays_clean(as_user, people, spread):
    focal = as_user(people.focal)
    response = focal.get("/tickets?view=department&status=new", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert set(refs(response)) == {spread["new1"].reference, spread["new2"].reference}
    assert 'id="workspace-counts" class="desk-workspace d-flex flex-wrap gap-2 mb-2" hx-swap-oob="true"' in html
    assert response.headers["HX-Push-Url"] == "/tickets?status=new"  # their default view is left out
    # choosing "all open" explicitly is kept in the URL (it is not their default)
    other = focal.get("/tickets?view=open", htmx=True)
    assert other.headers["HX-Push-Url"] == "/tickets?view=open"
    # the 30-second refresh carries the same filters (their default view left implicit)
    assert re.search(r'hx-get="/tickets/poll\?status=new&amp;token=', html)


def test_refresh_keeps_the_focal_points_view(as_user, people, spread, make_ticket):
    focal = as_user(people.focal)
    make_ticket(department_id=people.aid.id)  # something changed, elsewhere
    response = focal.get("/tickets/poll?token=stale", htmx=True)
    assert response.status_code == 200
    assert set(refs(response)) == {spread[k].reference for k in ("new1", "new2", "open", "waiting")}


def test_focal_point_never_sees_another_departments_ticket(as_user, people, spread):
    focal = as_user(people.focal)
    assert refs(focal.get(f"/tickets?department={people.aid.id}")) == []
    assert refs(focal.get("/tickets?department=none")) == []
    assert spread["aid"].reference not in refs(focal.get("/tickets?view=all"))
    assert focal.get(f"/tickets/{spread['aid'].reference}").status_code == 404
    assert focal.get(f"/tickets/{spread['unrouted'].reference}").status_code == 404
    for target in ("ticket-actions", "ticket-timeline", "ticket-props"):
        response = focal.get(f"/tickets/{spread['aid'].reference}", htmx=True, headers={"HX-Target": target})
        assert response.status_code == 404


def test_count_links_open_the_matching_list(as_user, people, spread):
    focal = as_user(people.focal)
    html = focal.get("/tickets").get_data(as_text=True)
    link = re.search(r'href="(/tickets\?view=department&amp;status=waiting)"', html).group(1).replace("&amp;", "&")
    assert set(refs(focal.get(link))) == {spread["waiting"].reference}


def test_workspace_in_english(as_user, people, spread):
    focal = as_user(people.focal)
    focal.post("/language", {"locale": "en"})
    html = focal.get("/tickets").get_data(as_text=True)
    assert '<h1 class="h4 m-0">My department\'s assignments</h1>' in html and "In progress" in html


@pytest.mark.parametrize("role", ["staff", "supervisor", "admin"])
def test_a_queue_role_who_is_also_a_focal_point_gets_the_normal_view_counts(as_user, db, people, spread, role):
    """Their landing view is all open tickets, so their page shows the view counts (which match
    the links, e.g. Overdue lists every overdue ticket they see), not department-limited ones."""
    from desk.accounts.service import create_user
    from tests.conftest import PASSWORD
    user = create_user(db.session, f"{role}-focal@example.org", PASSWORD, "مزدوج", [role, "focal"], ["SOCIAL"])
    assert queue.default_view(user) == "open"
    assert queue.department_counts(db.session, user) is None
    html = as_user(user).get("/tickets").get_data(as_text=True)
    assert 'id="workspace-counts"' not in html
    assert re.search(r'id="view-open" value="open"\s+checked', html)
    assert queue.view_counts(db.session, user)["overdue"] == 1  # the open one; SOCIAL's and everyone's alike
