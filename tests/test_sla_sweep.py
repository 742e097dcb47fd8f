"""The SLA sweep (issue 5, item 3): breaches, escalation, idempotence, concurrency, the CLI."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from desk.cli import desk_cli
from desk.models import EventKind, OutboxMessage, Status, Ticket, TicketEvent, utcnow
from desk.queue import service as queue
from desk.sla.tickets import sweep


def _set(db, ticket, **values):
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(**values))
    db.session.commit()


def _events(db, ticket, kind):
    return db.session.scalar(select(func.count()).select_from(TicketEvent)
                             .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == kind))


def _outbox(db, user, ticket):
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.to_user_id == user.id, OutboxMessage.ticket_id == ticket.id, OutboxMessage.reason == "sla_breach")))


def test_breach_marked_once_with_event_and_focal_point_told(db, people, make_ticket, targets):
    late, on_time = make_ticket(), make_ticket()
    now = utcnow()
    _set(db, late, due_at=now - timedelta(minutes=5))
    _set(db, on_time, due_at=now + timedelta(hours=5))

    first = sweep(db.session, now=now)
    assert (first.breached, first.escalated) == (1, 0)
    db.session.expire_all()
    assert db.session.get(Ticket, late.id).breached_at is not None
    assert db.session.get(Ticket, on_time.id).breached_at is None
    assert _events(db, late, EventKind.SLA_BREACHED) == 1
    messages = _outbox(db, people.focal, late)
    assert len(messages) == 1 and late.reference in messages[0].subject

    again = sweep(db.session, now=now + timedelta(minutes=1))  # idempotent
    assert (again.breached, again.escalated) == (0, 0)
    assert _events(db, late, EventKind.SLA_BREACHED) == 1
    assert len(_outbox(db, people.focal, late)) == 1


def test_waiting_resolved_and_untargeted_tickets_never_breach(db, people, make_ticket, targets):
    waiting, resolved, no_target = make_ticket(), make_ticket(), make_ticket()
    past = utcnow() - timedelta(days=3)
    _set(db, waiting, status=Status.WAITING, due_at=past)
    _set(db, resolved, status=Status.RESOLVED, due_at=past)
    _set(db, no_target, due_at=None)
    result = sweep(db.session)
    assert result.breached == 0
    for ticket in (waiting, resolved, no_target):
        assert _events(db, ticket, EventKind.SLA_BREACHED) == 0


def test_escalation_after_the_threshold_tells_supervisors(db, people, make_ticket, targets):
    ticket = make_ticket()
    now = utcnow()
    _set(db, ticket, due_at=now - timedelta(hours=30), breached_at=now - timedelta(hours=23))
    assert sweep(db.session, now=now, escalate_after=timedelta(hours=24)).escalated == 0
    later = now + timedelta(hours=2)
    result = sweep(db.session, now=later, escalate_after=timedelta(hours=24))
    assert (result.breached, result.escalated) == (0, 1)
    assert _events(db, ticket, EventKind.SLA_ESCALATED) == 1
    messages = _outbox(db, people.supervisor, ticket)
    assert len(messages) == 1 and ticket.reference in messages[0].subject
    assert sweep(db.session, now=later + timedelta(hours=1)).escalated == 0
    assert _events(db, ticket, EventKind.SLA_ESCALATED) == 1


def test_overdue_view_and_change_token_follow_the_sweep(db, people, make_ticket, targets):
    ticket = make_ticket()
    waiting = make_ticket()
    now = utcnow()
    _set(db, ticket, due_at=now - timedelta(minutes=1))
    _set(db, waiting, status=Status.WAITING, due_at=now - timedelta(minutes=1))
    filters = queue.Filters(view="overdue")
    before = queue.change_token(db.session, people.supervisor, filters)
    listed = queue.page(db.session, people.supervisor, filters).tickets
    assert [t.id for t in listed] == [ticket.id]  # the waiting one is paused, not overdue
    assert queue.view_counts(db.session, people.supervisor)["overdue"] == 1
    sweep(db.session, now=now)
    assert queue.change_token(db.session, people.supervisor, filters) != before


def test_cli_prints_counts_and_exits_zero(app, db, people, make_ticket, targets):
    ticket = make_ticket()
    _set(db, ticket, due_at=utcnow() - timedelta(hours=1))
    runner = app.test_cli_runner()
    result = runner.invoke(desk_cli, ["sla-sweep"])
    assert result.exit_code == 0, result.output
    assert "1 breached" in result.output
    result = runner.invoke(desk_cli, ["sla-sweep"])
    assert result.exit_code == 0 and "0 breached" in result.output


def test_two_sweeps_at_once_never_double_mark(app, db, people, make_ticket, targets):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL only (SQLite runs one writer at a time)")
    tickets = [make_ticket() for _ in range(40)]
    now = utcnow()
    db.session.execute(update(Ticket).where(Ticket.id.in_([t.id for t in tickets]))
                       .values(due_at=now - timedelta(minutes=1)))
    db.session.commit()
    results, barrier = [], threading.Barrier(2)

    def run():
        with app.app_context():
            barrier.wait()
            results.append(sweep(db.session, now=now))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.breached for r in results) == 40
    count = db.session.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == EventKind.SLA_BREACHED))
    assert count == 40


def test_an_unrouted_ticket_breaches_without_anyone_to_tell(db, people, make_ticket, targets):
    ticket = make_ticket(department_id=None)
    now = utcnow()
    _set(db, ticket, due_at=now - timedelta(hours=30), breached_at=None)
    result = sweep(db.session, now=now)
    assert (result.breached, result.notified) == (1, 0)
    later = sweep(db.session, now=now + timedelta(hours=25))
    assert later.escalated == 1 and later.notified == 1  # the supervisor


# A calendar or target change moves the open tickets' due times (the next sweep) ----------------

def test_a_holiday_declared_late_moves_the_due_times_at_the_next_sweep(db, people, make_ticket, targets):
    from desk.sla.service import HolidayData, save_holiday
    from desk.text import to_riyadh
    ticket = make_ticket()
    db.session.expire_all()
    before = db.session.get(Ticket, ticket.id)
    due_day = to_riyadh(before.due_at).date()
    version = before.version
    assert sweep(db.session).recomputed == 0  # nothing changed since the targets were applied
    save_holiday(db.session, people.admin, HolidayData(name_ar="إجازة طارئة", name_en="Sudden holiday",
                                                       first_day=str(due_day - timedelta(days=1)), last_day=str(due_day)))
    result = sweep(db.session)
    assert result.recomputed >= 1
    db.session.expire_all()
    after = db.session.get(Ticket, ticket.id)
    assert to_riyadh(after.due_at).date() > due_day  # past the holiday
    assert after.version == version  # not an edit: nobody's open form goes stale
    assert sweep(db.session).recomputed == 0  # applied once


def test_a_recompute_leaves_a_ticket_changed_meanwhile_alone(db, people, make_ticket, targets, monkeypatch):
    """The bulk UPDATE carries the version it read: a ticket edited between its read and its
    write keeps what the edit computed."""
    from desk.sla import tickets as sla_tickets
    from desk.sla.service import load_policy
    ticket = make_ticket()
    _set(db, ticket, due_at=utcnow() + timedelta(days=90))  # a stale value the recompute would fix
    real = sla_tickets._due_values

    def edit_meanwhile(*args, **kwargs):  # someone saves the ticket while the sweep computes
        db.session.connection().execute(update(Ticket).where(Ticket.id == ticket.id)
                                        .values(version=Ticket.version + 1, due_at=None))
        return real(*args, **kwargs)

    monkeypatch.setattr(sla_tickets, "_due_values", edit_meanwhile)
    assert sla_tickets.refresh_open_due_times(db.session, load_policy(db.session)).changed == 0
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).due_at is None  # the edit's value, not the sweep's


def test_first_response_breach_marked_once_and_focal_points_told(db, people, make_ticket, targets):
    from desk.tickets.service import add_comment
    silent, answered = make_ticket(), make_ticket()
    now = utcnow()
    _set(db, silent, first_response_due_at=now - timedelta(minutes=1))
    _set(db, answered, first_response_due_at=now - timedelta(minutes=1))
    answered = db.session.get(Ticket, answered.id)
    add_comment(db.session, people.staff, answered, "نعمل على طلبك", public=True, expected_version=answered.version)
    result = sweep(db.session, now=now)
    assert result.first_response == 1
    assert _events(db, silent, EventKind.SLA_FIRST_RESPONSE) == 1 and _events(db, answered, EventKind.SLA_FIRST_RESPONSE) == 0
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "sla_first_response")).all()
    assert [(m.to_user_id, m.ticket_id) for m in told] == [(people.focal.id, silent.id)]
    assert sweep(db.session, now=now + timedelta(minutes=1)).first_response == 0
    assert db.session.get(Ticket, silent.id).first_response_breached_at is not None


def test_a_large_recompute_goes_on_over_several_sweeps(db, people, make_ticket, targets, monkeypatch):
    """Each sweep does a bounded share (a chunk at least) and the next goes on where it stopped;
    the new policy counts as applied once every open ticket is done."""
    from desk.sla import tickets as sla_tickets
    from desk.sla.service import ServiceTarget, load_policy, working_time
    made = [make_ticket() for _ in range(5)]
    target = db.session.scalars(select(ServiceTarget).where(ServiceTarget.kind == "complaint")).first()
    target.resolution_amount += 3  # an admin lengthens the complaints' target
    db.session.commit()
    monkeypatch.setattr(sla_tickets, "_CHUNK", 2)
    monkeypatch.setattr(sla_tickets, "RECOMPUTE_BUDGET_S", 0.0)
    before = {t.id: db.session.get(Ticket, t.id).due_at for t in made}
    runs = []
    while True:
        result = sweep(db.session)
        runs.append(result.recompute_pending)
        if not result.recompute_pending:
            break
        assert len(runs) < 10
    assert runs == [True, True, False]  # 2 + 2 + 1 tickets
    db.session.expire_all()
    assert all(db.session.get(Ticket, i).due_at > due for i, due in before.items())
    assert working_time(db.session).applied_policy == load_policy(db.session).fingerprint()
    assert working_time(db.session).recompute_cursor is None
