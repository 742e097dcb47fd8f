"""The bulk factory ``make_tickets`` (tests/conftest.py) writes what the real intake writes, so
a test that uses it for speed still tests the same rows."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from desk.models import Beneficiary, EventKind, Status, Ticket, TicketEvent
from desk.routing.service import keyword_shares
from desk.text import normalize_search
from desk.tickets.search import ticket_search_text

SAME = ["kind", "channel", "channel_detail", "status", "priority", "body", "anonymous", "department_id",
        "category_id", "routing_rule_id", "assignee_id", "created_by_id", "version", "meta"]


def _events(db, ticket):
    return [(e.kind, e.actor_id, e.old_value, e.new_value, e.reason, e.public, e.version, e.created_at)
            for e in db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                        .order_by(TicketEvent.id))]


def test_make_tickets_writes_the_rows_the_intake_writes(db, people, make_ticket, make_tickets):
    one = make_ticket(subject="تأخر صرف السلة", body="لم تصل")
    (bulk,) = make_tickets(1, subject="تأخر صرف السلة", body="لم تصل")
    db.session.expire_all()
    one, bulk = db.session.get(Ticket, one.id), db.session.get(Ticket, bulk.id)
    assert {c: getattr(bulk, c) for c in SAME} == {c: getattr(one, c) for c in SAME}
    assert bulk.subject == one.subject == "تأخر صرف السلة"
    # the next number of the same counter, and the search text the intake computes
    assert bulk.reference[:-6] == one.reference[:-6] and int(bulk.reference[-6:]) == int(one.reference[-6:]) + 1
    mine, theirs = db.session.get(Beneficiary, bulk.beneficiary_id), db.session.get(Beneficiary, one.beneficiary_id)
    assert bulk.search_text == ticket_search_text(bulk.reference, bulk.subject, bulk.body, mine.name)
    assert one.search_text == ticket_search_text(one.reference, one.subject, one.body, theirs.name)
    assert (mine.search_name, theirs.search_name) == (normalize_search(mine.name), normalize_search(theirs.name))
    assert mine.created_by_id == theirs.created_by_id == people.staff.id
    assert mine.phone != theirs.phone  # a new beneficiary each, never one the intake would refuse
    # the same timeline: CREATED, then ROUTED by staff's choice, at the ticket's creation
    strip = lambda events: [e[:-1] for e in events]  # noqa: E731
    assert strip(_events(db, bulk)) == strip(_events(db, one))
    assert {e[-1] for e in _events(db, bulk)} == {bulk.created_at} == {bulk.updated_at}


def test_make_tickets_are_newest_last_and_take_columns(db, people, make_ticket, make_tickets):
    first = make_tickets(3, subject="أول")
    middle = make_ticket(subject="وسط")
    last = make_tickets(2, subject="آخر", department_id=None, status=Status.OPEN.value)
    newest = db.session.scalars(select(Ticket.subject).order_by(Ticket.created_at.desc(), Ticket.id.desc())).all()
    assert newest == ["آخر"] * 2 + ["وسط"] + ["أول"] * 3
    assert [t.subject for t in first] == ["أول"] * 3 and middle.subject == "وسط"
    assert [(t.department_id, t.status) for t in last] == [(None, Status.OPEN)] * 2
    assert [e[0] for e in _events(db, last[0])] == [EventKind.CREATED, EventKind.RECEIPT]  # no department: no ROUTED
    assert keyword_shares(db.session, ["اخر", "اول"], latest=2) == {"اخر": (2, 2), "اول": (0, 2)}
    earlier = first[0].created_at - timedelta(days=3)
    (old,) = make_tickets(1, created_at=earlier)
    assert old.created_at == earlier
