"""The ticket page puts the work first (issue 18, point 7): the request as received opens the
page, and the timeline reads newest or oldest first by the person's choice, remembered on
their account for every ticket."""
from __future__ import annotations

import re

from desk.models import User
from desk.tickets import service

EVENT_IDS = re.compile(r'id="event-(\d+)"')


def _event_ids(html: str) -> list[int]:
    return [int(i) for i in EVENT_IDS.findall(html)]


def test_the_request_as_received_opens_the_main_column(as_user, people, make_ticket):
    ticket = make_ticket(body="لم تصل السلة الغذائية لهذا الشهر")
    html = as_user(people.staff).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert html.index('id="ticket-request"') < html.index('id="ticket-compose"') < html.index('id="ticket-timeline"')
    assert html.index('id="ticket-actions"') < html.index('id="ticket-props"')
    request_card = html[html.index('id="ticket-request"'):html.index('id="ticket-compose"')]
    assert ticket.body in request_card


def test_the_timeline_order_is_the_persons_choice_and_remembered(db, as_user, people, make_ticket):
    first = make_ticket()
    second = make_ticket()
    service.add_comment(db.session, people.staff, first, "ملاحظة أولى", public=False, expected_version=None)
    staff = as_user(people.staff)
    oldest = _event_ids(staff.get(f"/tickets/{first.reference}").get_data(as_text=True))
    assert len(oldest) >= 2 and oldest == sorted(oldest)

    answer = staff.post(f"/tickets/{first.reference}/timeline-order", {"order": "newest"}, htmx=True)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "<html" not in html and 'id="ticket-timeline"' in html
    assert _event_ids(html) == sorted(oldest, reverse=True)
    db.session.expire_all()
    assert db.session.get(User, people.staff.id).timeline_newest_first is True

    # Remembered: another ticket, a later visit, reads newest first too; others keep their own order.
    newest = _event_ids(staff.get(f"/tickets/{second.reference}").get_data(as_text=True))
    assert newest == sorted(newest, reverse=True)
    supervisor_ids = _event_ids(as_user(people.supervisor).get(f"/tickets/{first.reference}").get_data(as_text=True))
    assert supervisor_ids == sorted(supervisor_ids)

    # Without JavaScript the form posts plainly and lands back on the ticket.
    plain = staff.post(f"/tickets/{first.reference}/timeline-order", {"order": "oldest"})
    assert plain.status_code == 302 and plain.headers["Location"].endswith(f"/tickets/{first.reference}#ticket-timeline")
    db.session.expire_all()
    assert db.session.get(User, people.staff.id).timeline_newest_first is False


def test_the_timeline_order_needs_csrf_and_a_ticket_the_person_may_see(db, as_user, people, make_ticket):
    foreign = make_ticket(department_id=people.aid.id)
    focal = as_user(people.focal)
    assert focal.post(f"/tickets/{foreign.reference}/timeline-order", {"order": "newest"}, htmx=True).status_code == 404
    assert focal.post(f"/tickets/{foreign.reference}/timeline-order", {"order": "newest"}, csrf=False).status_code == 400
    db.session.expire_all()
    assert db.session.get(User, people.focal.id).timeline_newest_first is False


def test_the_pages_permissions_answer_as_can_for_every_action(app, people, make_ticket):
    """``may`` asks can() only for what the page reads, and answers every action as can() does;
    a name that is no action reads as undefined (false), as a missing key of a dict did."""
    from jinja2 import Environment

    from desk.permissions import Action, can
    from desk.tickets.page import Permissions

    ticket = make_ticket()
    for actor in (people.staff, people.focal, people.other_focal, people.supervisor):
        may = Permissions(actor, ticket)
        for action in Action:
            assert may[action.name.lower()] is can(actor, action, ticket)
            assert getattr(may, action.name.lower()) is can(actor, action, ticket)
    page = Environment(autoescape=True).from_string("{{ 'yes' if may.no_such_action else 'no' }}|{{ 'yes' if may.TICKET_NOTE else 'no' }}")
    assert page.render(may=Permissions(people.staff, ticket)) == "no|no"


def test_the_page_reads_its_peoples_names_not_their_roles(db, as_user, people, make_ticket):
    """The timeline's authors, the assignee choices and the names in events are shown by name:
    their roles and departments are not read (two statements each, before)."""
    from desk.tickets import actions
    from tests.conftest import statements_run
    ticket = make_ticket()
    actions.take(db.session, people.focal, ticket, expected_version=ticket.version)
    browser = as_user(people.supervisor)
    with statements_run(db) as seen:
        page = browser.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert page.count(people.focal.name) >= 2  # the event's author and the assignee it names
    roles_read = [s for s in seen if re.search(r"\bFROM user_roles\b", s) and s.lstrip().startswith("SELECT user_roles")]
    # the signed-in person's own (the test's sign-in) and the ticket's assignee's: no one else's (6 before)
    assert len(roles_read) <= 2, roles_read
