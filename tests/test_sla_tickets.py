"""Service levels applied to tickets (issue 5, item 2): due times at intake, on a priority
change and when a wait ends; the queue's due column, its sort and the ticket's SLA panel."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from desk.models import EventKind, Kind, Priority, ServiceTarget, Status, Ticket, TicketEvent, utcnow
from desk.queue import service as queue
from desk.sla.calendar import SlaState
from desk.sla.service import load_policy
from desk.sla.tickets import apply_due_times, apply_due_times_to_open, sweep, ticket_state
from desk.tickets.service import change_field

UTC = UTC
# Sunday 2026-11-01 09:00 in Riyadh (06:00 UTC): a working day, not a holiday.
SUNDAY_9 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def _set(db, ticket, **values):
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(**values))
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


def _event(db, ticket, kind, new, at):
    db.session.add(TicketEvent(ticket_id=ticket.id, kind=kind, new_value=new, created_at=at, version=ticket.version))
    db.session.commit()


def test_intake_sets_due_times_from_the_policy(db, people, make_ticket, targets):
    ticket = make_ticket()
    expected = load_policy(db.session).due_times(ticket.kind, ticket.priority, ticket.created_at)
    assert ticket.due_at == expected.resolution_due is not None
    assert ticket.at_risk_at == expected.resolution_at_risk
    assert ticket.first_response_due_at == expected.first_response_due is not None
    assert ticket.first_response_at_risk_at == expected.first_response_at_risk
    assert ticket.created_at < ticket.first_response_at_risk_at < ticket.first_response_due_at <= ticket.due_at
    assert ticket.at_risk_at < ticket.due_at


def test_no_target_no_due_time(db, people, make_ticket, targets):
    ticket = make_ticket(kind=Kind.SUGGESTION)
    assert ticket.due_at is None and ticket.first_response_due_at is None and ticket.at_risk_at is None
    assert ticket_state(ticket, utcnow()) is None


def test_no_targets_at_all_still_creates_tickets(db, people, make_ticket):
    ticket = make_ticket()
    assert ticket.id and ticket.due_at is None


def test_priority_change_recomputes_from_created_at(db, people, make_ticket, targets):
    db.session.add(ServiceTarget(kind=Kind.COMPLAINT, priority=int(Priority.URGENT), first_response_amount=2,
                                 first_response_unit="hours", resolution_amount=8, resolution_unit="hours"))
    db.session.commit()
    ticket = _set(db, make_ticket(), created_at=SUNDAY_9)
    apply_due_times(db.session, ticket)
    db.session.commit()
    assert ticket.due_at == datetime(2026, 11, 8, 6, 0, tzinfo=UTC)  # 5 business days: next Sunday 09:00
    change_field(db.session, people.supervisor, ticket, "priority", str(int(Priority.URGENT)),
                 expected_version=ticket.version)
    assert ticket.due_at == datetime(2026, 11, 2, 6, 0, tzinfo=UTC)  # 8 business hours: Monday 09:00
    assert ticket.first_response_due_at == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)  # 11:00 Riyadh


def test_waiting_pauses_the_clock_and_the_end_of_the_wait_moves_the_due_time(db, people, make_ticket, targets):
    ticket = _set(db, make_ticket(), created_at=SUNDAY_9)
    _event(db, ticket, EventKind.CREATED, Status.NEW, SUNDAY_9)
    waited_from = SUNDAY_9 + timedelta(hours=1)           # Sunday 10:00 Riyadh
    _event(db, ticket, EventKind.INFO_REQUESTED, Status.WAITING, waited_from)
    ticket = _set(db, ticket, status=Status.WAITING)
    apply_due_times(db.session, ticket)
    plain = datetime(2026, 11, 8, 6, 0, tzinfo=UTC)
    assert ticket.due_at == plain  # while waiting: the value without the open pause
    assert ticket_state(ticket, utcnow()) == SlaState.PAUSED
    db.session.commit()

    change_field(db.session, people.supervisor, ticket, "status", Status.OPEN, expected_version=ticket.version)
    ended = db.session.scalars(select(TicketEvent.created_at).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.STATUS).order_by(TicketEvent.id.desc())).first()
    expected = load_policy(db.session).due_times(ticket.kind, ticket.priority, SUNDAY_9, [(waited_from, ended)])
    assert ticket.due_at == expected.resolution_due > plain
    assert ticket.at_risk_at == expected.resolution_at_risk


def test_a_closed_pause_counts_only_working_time(db, people, make_ticket, targets):
    ticket = _set(db, make_ticket(), created_at=SUNDAY_9)
    _event(db, ticket, EventKind.INFO_REQUESTED, Status.WAITING, SUNDAY_9 + timedelta(hours=1))
    _event(db, ticket, EventKind.STATUS, Status.OPEN, SUNDAY_9 + timedelta(hours=3))  # two working hours
    apply_due_times(db.session, ticket)
    assert ticket.due_at == datetime(2026, 11, 8, 8, 0, tzinfo=UTC)  # next Sunday 11:00 Riyadh


def test_a_breach_whose_due_time_moves_later_is_cleared(db, people, make_ticket, targets):
    ticket = make_ticket()
    ticket = _set(db, ticket, due_at=utcnow() - timedelta(hours=1))
    assert sweep(db.session).breached == 1
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.breached_at is not None
    apply_due_times(db.session, ticket)  # the real due time is days away
    assert ticket.breached_at is None and ticket.escalated_at is None


def test_bulk_for_the_demo(db, people, make_ticket, targets):
    tickets = [make_ticket() for _ in range(3)]
    db.session.execute(update(Ticket).values(due_at=None, at_risk_at=None, first_response_due_at=None))
    db.session.commit()
    assert apply_due_times_to_open(db.session) == 3
    db.session.expire_all()
    assert all(db.session.get(Ticket, t.id).due_at is not None for t in tickets)
    assert apply_due_times_to_open(db.session) == 0


# The queue ---------------------------------------------------------------------------

def _dues(db, make_ticket):
    now = utcnow()
    values = [now + timedelta(hours=3), None, now - timedelta(hours=1), now + timedelta(hours=3), None,
              now + timedelta(days=2), now + timedelta(minutes=5)]
    tickets = [make_ticket() for _ in values]
    for ticket, due in zip(tickets, values, strict=True):
        _set(db, ticket, due_at=due, at_risk_at=None if due is None else due - timedelta(hours=1))
    return tickets, values


@pytest.mark.parametrize("desc", [False, True])
def test_queue_sorted_by_due_pages_with_nulls_last(db, people, make_ticket, targets, desc):
    tickets, values = _dues(db, make_ticket)
    with_due = sorted(((v, t.id) for t, v in zip(tickets, values, strict=True) if v is not None), reverse=desc)
    without = sorted((t.id for t, v in zip(tickets, values, strict=True) if v is None), reverse=desc)
    expected = [i for _, i in with_due] + without
    f = queue.Filters(view="all", sort="due", desc=desc)
    seen, cursor = [], ""
    while True:
        page = queue.page(db.session, people.supervisor, f, cursor=cursor, limit=2)
        seen.extend(t.id for t in page.tickets)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == expected


def test_parse_filters_accepts_due(db):
    assert queue.parse_filters({"sort": "due", "dir": "asc"}).sort == "due"
    assert queue.parse_filters({"sort": "due"}).query_args() == [("sort", "due")]


def test_queue_page_shows_due_states_in_words(db, people, make_ticket, targets, as_user):
    overdue, at_risk, waiting = make_ticket(), make_ticket(), make_ticket()
    now = utcnow()
    _set(db, overdue, due_at=now - timedelta(hours=1), at_risk_at=now - timedelta(hours=2))
    _set(db, at_risk, due_at=now + timedelta(hours=1), at_risk_at=now - timedelta(minutes=1))
    _set(db, waiting, status=Status.WAITING)
    browser = as_user(people.supervisor)
    for htmx in (False, True):
        response = browser.get("/tickets?view=all&sort=due&dir=asc", htmx=htmx)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        for state in ("desk-sla-overdue", "desk-sla-at-risk", "desk-sla-paused"):
            assert state in html
        assert html.index(overdue.reference) < html.index(at_risk.reference)
        assert "Overdue" in html or "متأخر" in html
        assert "sort=due" in html  # the column header sorts by due time
    more = browser.get("/tickets/more?view=all&sort=due&dir=asc&cursor=", htmx=True)
    assert more.status_code == 200


def test_focal_point_sees_only_their_department_in_overdue(db, people, make_ticket, targets, as_user):
    mine = make_ticket()
    theirs = make_ticket(department_id=people.aid.id)
    for t in (mine, theirs):
        _set(db, t, due_at=utcnow() - timedelta(hours=1))
    html = as_user(people.focal).get("/tickets?view=overdue").get_data(as_text=True)
    assert mine.reference in html and theirs.reference not in html


def test_ticket_page_shows_the_sla_panel_and_its_history(db, people, make_ticket, targets, as_user):
    ticket = make_ticket()
    _set(db, ticket, due_at=utcnow() - timedelta(hours=1))
    sweep(db.session)
    browser = as_user(people.focal)
    html = browser.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert 'id="ticket-sla"' in html and "desk-sla-overdue" in html
    assert "Resolution time exceeded" in html or "تجاوز" in html
    assert as_user(people.other_focal).get(f"/tickets/{ticket.reference}").status_code == 404
    untargeted = make_ticket(kind=Kind.SUGGESTION)
    assert 'id="ticket-sla"' not in browser.get(f"/tickets/{untargeted.reference}").get_data(as_text=True)
