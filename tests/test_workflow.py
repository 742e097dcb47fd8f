"""The one owner of a ticket's life (desk.tickets.workflow) and the one transaction helper
(desk.transaction): every status change is one event old → new through change_status, the
service-level pause ends whichever path leaves "waiting", resolving sets off its effects in
one place, and a transaction either commits all it wrote — rows and files — or nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from desk.committee import service as committee
from desk.errors import InvalidTransition, StaleVersion, ValidationFailed
from desk.models import STATUS_EVENTS, EventKind, OutboxMessage, Status, Ticket, TicketEvent, utcnow
from desk.sla.service import ensure_default_targets, load_policy
from desk.sla.tickets import refresh_if_policy_changed
from desk.tickets import actions, workflow
from desk.transaction import atomic
from tests.test_committee import committee as committee_member  # noqa: F401  (fixture)
from tests.test_committee import support  # noqa: F401  (fixture)


def _status_events(db, ticket) -> list[tuple[str, str, str]]:
    return [(e.kind, e.old_value, e.new_value) for e in db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(
            [str(k) for k in STATUS_EVENTS if k != EventKind.CREATED])).order_by(TicketEvent.id))]


def test_every_path_records_one_status_event_old_to_new(db, people, support, committee_member):  # noqa: F811
    ticket = support(email="b@example.org")
    actions.request_info(db.session, people.staff, ticket, "أرسل الصك", expected_version=ticket.version)
    committee.refer(db.session, people.staff, ticket, "للدراسة", expected_version=ticket.version)
    committee.decide(db.session, committee_member, ticket, "accepted", "مستحق", "سلة شهرية",
                     expected_version=ticket.version)
    actions.resolve(db.session, people.focal, ticket, "سُلّمت السلة", expected_version=ticket.version)
    assert _status_events(db, ticket) == [
        (EventKind.INFO_REQUESTED, Status.NEW, Status.WAITING),
        (EventKind.COMMITTEE_REFERRED, Status.WAITING, Status.AWAITING_COMMITTEE),
        (EventKind.STATUS, Status.AWAITING_COMMITTEE, Status.OPEN),
        (EventKind.RESOLVED, Status.OPEN, Status.RESOLVED),
    ]
    assert ticket.resolved_at is not None and ticket.action_taken == "سُلّمت السلة"


def test_a_step_the_transitions_do_not_allow_is_refused(db, people, make_ticket):
    ticket = make_ticket()
    with pytest.raises(InvalidTransition):
        workflow.change_status(db.session, ticket, Status.OPEN, actor=people.staff)  # new → open is allowed …
        workflow.change_status(db.session, ticket, Status.NEW, actor=people.staff)   # … back to new is not
    assert issubclass(InvalidTransition, ValidationFailed)
    with pytest.raises(ValueError):  # an event kind that carries no status cannot record a status change
        workflow.change_status(db.session, ticket, Status.WAITING, actor=people.staff, event=EventKind.NOTE)


def test_leaving_waiting_for_the_committee_ends_the_pause_at_that_moment(db, people, support):  # noqa: F811
    """The review's case: a waiting support request referred to the committee recorded no status
    event the service levels read, so its pause ran on until the next recompute."""
    ensure_default_targets(db.session)
    refresh_if_policy_changed(db.session, load_policy(db.session), utcnow())
    ticket = support()
    actions.request_info(db.session, people.staff, ticket, "أرسل الصك", expected_version=ticket.version)
    waited_from = ticket.updated_at
    committee.refer(db.session, people.staff, ticket, "للدراسة", expected_version=ticket.version)
    ended = ticket.updated_at
    policy = load_policy(db.session)
    expected = policy.due_times(ticket.kind, ticket.priority, ticket.created_at, [(waited_from, ended)])
    assert ticket.due_at == expected.resolution_due is not None


def test_resolving_tells_the_creator_and_sends_the_survey_from_one_place(db, people, make_ticket, monkeypatch):
    sent = []
    monkeypatch.setattr(workflow.links, "send_survey", lambda session, t, note="": sent.append((t.id, note)))
    ticket = make_ticket(department_id=people.social.id)
    actions.resolve(db.session, people.focal, ticket, "تم", expected_version=ticket.version, message="شكرًا")
    assert sent == [(ticket.id, "شكرًا")]
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "resolved")).all()
    assert [m.to_user_id for m in told] == [people.staff.id]  # who recorded it, a queue role


def test_atomic_turns_a_concurrent_commit_into_a_conflict_with_the_changes(db, people, make_ticket):
    ticket = make_ticket()
    seen = ticket.version
    # Someone else commits a change after our read (the row's version moves under us).
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(version=Ticket.version + 1))
    db.session.add(TicketEvent(ticket_id=ticket.id, kind=EventKind.PRIORITY, old_value="2", new_value="3",
                               version=seen + 1, created_at=utcnow()))
    db.session.commit()
    set_committed_value(ticket, "version", seen)  # what this session read before that commit
    with pytest.raises(StaleVersion) as stale:
        with atomic(db.session, ticket, seen):
            workflow.record(db.session, ticket, people.staff, EventKind.NOTE, body="x")
    assert stale.value.current_version == seen + 1
    assert [e.kind for e in stale.value.changes] == [EventKind.PRIORITY]
    assert db.session.scalars(select(TicketEvent).where(TicketEvent.kind == EventKind.NOTE)).all() == []


def test_atomic_removes_the_files_of_a_transaction_that_fails(db, tmp_path):
    written = tmp_path / "a.bin"
    with pytest.raises(RuntimeError):
        with atomic(db.session) as files:
            written.write_bytes(b"x")
            files.append(written)
            raise RuntimeError("the disk, the database or a worker failed halfway")
    assert not written.exists()


def test_atomic_rolls_back_when_the_commit_itself_fails(db, people, make_ticket, monkeypatch, tmp_path):
    ticket = make_ticket()
    written = tmp_path / "b.bin"

    def broken():
        raise StaleDataError("UPDATE tickets matched 0 rows")
    with pytest.raises(StaleVersion):
        with atomic(db.session, ticket, ticket.version) as files:
            written.write_bytes(b"y")
            files.append(written)
            workflow.record(db.session, ticket, people.staff, EventKind.NOTE, body="y", bump=False)
            monkeypatch.setattr(db.session, "commit", broken)
    monkeypatch.undo()
    assert not written.exists()
    assert db.session.scalars(select(TicketEvent).where(TicketEvent.kind == EventKind.NOTE)).all() == []
    assert db.session.get(Ticket, ticket.id).version == ticket.version  # the session is usable again


def test_no_status_event_is_recorded_twice_for_one_resolution(db, people, make_ticket):
    ticket = make_ticket(department_id=people.social.id)
    before = utcnow() - timedelta(seconds=1)
    actions.resolve(db.session, people.focal, ticket, "تم", expected_version=ticket.version)
    assert [k for k, _, _ in _status_events(db, ticket)] == [EventKind.RESOLVED]
    assert ticket.resolved_at >= before
