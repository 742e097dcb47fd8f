"""Bulk actions in the queue (issue 18, point 2): each selected ticket checked on its own for
permission and version, changed by the single actions' own use cases (one event each, one
transaction each), one summary of what was done and what was refused and why; a failing
ticket, even a database fault in the middle of one, undoes nothing of the others and leaves
nothing half-changed."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from desk.accounts.service import create_user
from desk.errors import ValidationFailed
from desk.models import EventKind, Priority, Status, Tag, Ticket, TicketEvent, TicketTag
from desk.queue import bulk
from desk.tickets import service as tickets
from tests.conftest import PASSWORD, count


def seen(*rows):
    return [(t.id, t.version) for t in rows]


def events(db, kind, *ids):
    db.session.expire_all()
    return db.session.scalars(select(TicketEvent).where(TicketEvent.kind == kind, TicketEvent.ticket_id.in_(ids))
                              .order_by(TicketEvent.id)).all()


def fresh(db, ticket):
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


def test_parse_selection_keeps_id_and_version_and_drops_the_rest():
    assert bulk.parse_selection(["3:2", "x", "4:", "3:9", "5:1"]) == [(3, 2), (5, 1)]


def test_the_form_is_checked_before_any_ticket_is_touched(db, people, make_tickets):
    t, = make_tickets(1)
    cases = [
        (bulk.Request(action="priority", priority="9"), seen(t), "priority"),
        (bulk.Request(action="assign"), seen(t), "assignee"),
        (bulk.Request(action="route", department="999"), seen(t), "department"),
        (bulk.Request(action="tag", tag="  "), seen(t), "tag"),
        (bulk.Request(action="close", close_as="duplicate", reason=" "), seen(t), "reason"),
        (bulk.Request(action="close", close_as="other", reason="x"), seen(t), "close_as"),
        (bulk.Request(action="explode"), seen(t), "action"),
        (bulk.Request(action="priority", priority="3"), [], "selection"),
        (bulk.Request(action="priority", priority="3"), [(i, 1) for i in range(1, bulk.MAX_SELECTED + 2)], "selection"),
    ]
    for chosen, selection, field in cases:
        with pytest.raises(ValidationFailed) as refused:
            bulk.run(db.session, people.staff, chosen, selection)
        assert field in refused.value.errors, chosen
    assert fresh(db, t).version == 1


def test_priority_each_ticket_its_own_event_stale_and_invisible_refused(db, people, make_tickets):
    a, b, c = make_tickets(3)
    aid, = make_tickets(1, department_id=people.aid.id)
    selection = seen(a, b, c, aid)
    tickets.change_field(db.session, people.staff, b, "priority", "4", expected_version=b.version)  # someone else
    summary = bulk.run(db.session, people.focal, bulk.Request(action="priority", priority="3"), selection)
    assert [o.reference for o in summary.done] == [a.reference, c.reference]
    refused = {o.reference: str(o.message) for o in summary.refused}
    assert set(refused) == {b.reference, f"#{aid.id}"}  # another department's: not even its reference
    assert refused[b.reference] == str(bulk.STALE)
    assert fresh(db, a).priority == Priority.HIGH and fresh(db, b).priority == Priority.URGENT
    assert fresh(db, aid).priority == Priority.NORMAL
    assert [(e.ticket_id, e.actor_id, e.old_value, e.new_value) for e in events(db, EventKind.PRIORITY, a.id, c.id)] \
        == [(a.id, people.focal.id, "2", "3"), (c.id, people.focal.id, "2", "3")]
    again = bulk.run(db.session, people.focal, bulk.Request(action="priority", priority="3"), seen(fresh(db, a)))
    assert [o.reference for o in again.unchanged] == [a.reference] and not again.done


def test_assign_checks_who_may_be_assigned_per_ticket(db, people, make_tickets):
    social, = make_tickets(1)
    unrouted, = make_tickets(1, department_id=None)
    summary = bulk.run(db.session, people.staff, bulk.Request(action="assign", assignee=str(people.focal.id)),
                       seen(social, unrouted))
    assert [o.reference for o in summary.done] == [social.reference]
    assert [o.reference for o in summary.refused] == [unrouted.reference]  # not a member of its (no) department
    assert fresh(db, social).assignee_id == people.focal.id and fresh(db, social).status == Status.OPEN
    assert fresh(db, unrouted).assignee_id is None


def test_route_routes_the_unrouted_and_transfers_the_routed_only_with_a_reason(db, people, make_tickets):
    unrouted, = make_tickets(1, department_id=None)
    routed, already = make_tickets(1)[0], make_tickets(1, department_id=people.aid.id)[0]
    chosen = bulk.Request(action="route", department=str(people.aid.id))
    summary = bulk.run(db.session, people.staff, chosen, seen(unrouted, routed, already))
    assert [o.reference for o in summary.done] == [unrouted.reference]
    assert [o.reference for o in summary.unchanged] == [already.reference]
    assert [o.reference for o in summary.refused] == [routed.reference]
    assert fresh(db, routed).department_id == people.social.id
    with_reason = bulk.run(db.session, people.staff, bulk.Request(action="route", department=str(people.aid.id),
                                                                  reason="من اختصاص المساعدات"), seen(fresh(db, routed)))
    assert [o.reference for o in with_reason.done] == [routed.reference]
    assert [(e.kind, e.body) for e in events(db, EventKind.TRANSFERRED, routed.id)] == [
        (EventKind.TRANSFERRED, "من اختصاص المساعدات")]
    assert [e.kind for e in events(db, EventKind.ROUTED, unrouted.id)] == [EventKind.ROUTED]


def test_tag_in_bulk_uses_the_one_tag_and_each_ticket_gets_its_event(db, people, make_tickets):
    rows = make_tickets(3)
    summary = bulk.run(db.session, people.focal, bulk.Request(action="tag", tag="أيتام"), seen(*rows))
    assert len(summary.done) == 3 and count(db, Tag) == 1 and count(db, TicketTag) == 3
    assert len(events(db, EventKind.TAG_ADDED, *[t.id for t in rows])) == 3


def test_close_as_duplicate_through_the_status_lifecycle_with_the_reason(db, people, make_tickets, as_user):
    a, b = make_tickets(2)
    refused = bulk.run(db.session, people.focal, bulk.Request(action="close", close_as="duplicate", reason="مكرر"),
                       seen(a))
    assert [o.reference for o in refused.refused] == [a.reference]  # a focal point resolves instead
    summary = bulk.run(db.session, people.staff, bulk.Request(action="close", close_as="spam",
                                                              reason="رسالة دعائية"), seen(a, b))
    assert len(summary.done) == 2
    closed = fresh(db, a)
    assert closed.status == Status.CLOSED and closed.closed_at is not None and closed.resolved_at is None
    [event] = events(db, EventKind.STATUS, a.id)
    assert (event.old_value, event.new_value, event.reason, event.body) == ("new", "closed", "spam", "رسالة دعائية")
    timeline = as_user(people.staff).get(f"/tickets/{a.reference}").get_data(as_text=True)
    assert "أُغلق لأنه رسالة مزعجة" in timeline and "رسالة دعائية" in timeline
    again = bulk.run(db.session, people.staff, bulk.Request(action="close", close_as="spam", reason="x"),
                     seen(closed))
    assert [o.reference for o in again.refused] == [a.reference]  # no longer open


def test_a_database_fault_in_the_middle_leaves_that_ticket_whole_and_the_others_done(
        db, people, make_tickets, monkeypatch):
    a, b, c = make_tickets(3)
    from desk.tickets import service as service_module
    real = service_module.record

    def failing(session, ticket, *args, **kwargs):
        event = real(session, ticket, *args, **kwargs)
        if ticket.id == b.id:  # the priority and its event are written, the commit never comes
            session.flush()
            raise OperationalError("UPDATE tickets", {}, Exception("server closed the connection"))
        return event
    monkeypatch.setattr(service_module, "record", failing)
    summary = bulk.run(db.session, people.staff, bulk.Request(action="priority", priority="4"), seen(a, b, c))
    assert [o.reference for o in summary.done] == [a.reference, c.reference]
    assert [o.reference for o in summary.refused] == [b.reference]
    assert str(summary.refused[0].message) == str(bulk.NOT_SAVED)
    half = fresh(db, b)
    assert (half.priority, half.version) == (Priority.NORMAL, 1)
    assert events(db, EventKind.PRIORITY, b.id) == []
    assert fresh(db, a).priority == fresh(db, c).priority == Priority.URGENT


def test_the_sla_policy_is_read_once_for_the_batch(db, people, make_tickets, targets, monkeypatch):
    rows = make_tickets(5)
    from desk.sla import service as sla_service
    loads = []
    original = sla_service.load_calendar

    def counting(session):
        loads.append(1)
        return original(session)
    monkeypatch.setattr(sla_service, "load_calendar", counting)
    summary = bulk.run(db.session, people.staff, bulk.Request(action="priority", priority="4"), seen(*rows))
    assert len(summary.done) == 5 and len(loads) == 1
    assert all(fresh(db, t).due_at is not None for t in rows)


def test_the_queue_form_posts_plain_and_htmx_with_csrf_and_a_summary(db, people, make_tickets, as_user):
    a, b = make_tickets(2)
    staff = as_user(people.staff)
    page = staff.get("/tickets").get_data(as_text=True)
    assert 'id="bulk-form"' in page and f'value="{a.id}:1"' in page and 'form="bulk-form"' in page
    data = {"action": "priority", "priority": "3", "t": [f"{a.id}:1", f"{b.id}:1"]}
    assert staff.post("/tickets/bulk", data, htmx=True, csrf=False).status_code == 400
    answer = staff.post("/tickets/bulk", data, htmx=True)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["HX-Trigger"] == "desk-queue-changed"
    assert 'id="bulk-summary"' in html and a.reference in html
    # without JavaScript: the queue page itself, with the summary, the rows shown afresh
    plain = staff.post("/tickets/bulk", {**data, "priority": "4"})
    text = plain.get_data(as_text=True)
    assert plain.status_code == 200 and 'id="bulk-summary"' in text and 'id="queue-results"' in text
    refused = re.search(r'<details open class="desk-bulk-refused">(.*?)</details>', text, re.S)
    assert refused and a.reference in refused.group(1)  # the versions it was checked at are stale now
    # a form error: by its field, what was typed kept, nothing changed
    bad = staff.post("/tickets/bulk", {"action": "close", "close_as": "spam", "reason": "", "t": [f"{a.id}:3"]},
                     htmx=True)
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="bulk-reason-msg"' in body and '<option value="spam" selected' in body
    assert fresh(db, a).status == Status.NEW


def test_who_sees_no_bulk_form(db, people, as_user, make_tickets):
    make_tickets(1)
    manager = create_user(db.session, "gm@example.org", PASSWORD, "المدير", ["manager"], [])
    browser = as_user(manager)
    assert 'id="bulk-form"' not in browser.get("/tickets").get_data(as_text=True)
    assert browser.post("/tickets/bulk", {"action": "priority", "priority": "3"}).status_code == 404


def test_a_ticket_changed_after_the_batch_read_it_is_refused_not_overwritten(db, people, make_tickets, monkeypatch):
    a, b = make_tickets(2)
    real = bulk.change_field

    def meanwhile(session, actor, ticket, *args, **kwargs):
        if ticket.id == a.id:  # while a is being changed, someone else commits a change to b
            with db.engine.begin() as other:
                other.execute(Ticket.__table__.update().where(Ticket.__table__.c.id == b.id)
                              .values(priority=4, version=2))
        return real(session, actor, ticket, *args, **kwargs)
    monkeypatch.setattr(bulk, "change_field", meanwhile)
    summary = bulk.run(db.session, people.staff, bulk.Request(action="priority", priority="3"), seen(a, b))
    assert [o.reference for o in summary.done] == [a.reference]
    assert [(o.reference, str(o.message)) for o in summary.refused] == [(b.reference, str(bulk.STALE))]
    assert (fresh(db, b).priority, fresh(db, b).version) == (Priority.URGENT, 2)
