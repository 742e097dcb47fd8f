"""The demo data generator: consistent, complete and repeatable (plain SQLite, no Flask)."""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from desk.demo import DEMO_DEPARTMENTS
from desk.demo.generator import generate
from desk.models import (
    KIND_LETTER,
    OPEN_STATUSES,
    Base,
    Beneficiary,
    Channel,
    Department,
    DepartmentMember,
    EventKind,
    Kind,
    ReferenceCounter,
    Role,
    Status,
    Ticket,
    TicketEvent,
    User,
    UserRole,
)
from desk.text import hijri_year, parse_national_id

NOW = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
N = 500
REFERENCE = re.compile(r"^([CISRKDT])-(1[45]\d\d)-(\d{6})$")


def _session(tmp_path, name: str = "demo.db") -> Session:
    engine = create_engine(f"sqlite:///{tmp_path / name}")
    Base.metadata.create_all(engine)
    return Session(engine)


@pytest.fixture
def session(tmp_path):
    with _session(tmp_path) as s:
        yield s


@pytest.fixture
def generated(session):
    assert generate(session, N, seed=3, now=NOW) == N
    return session


def _tickets(session) -> list[Ticket]:
    return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def _events(session) -> dict[int, list[TicketEvent]]:
    by_ticket: dict[int, list[TicketEvent]] = defaultdict(list)
    for e in session.scalars(select(TicketEvent).order_by(TicketEvent.id)):
        by_ticket[e.ticket_id].append(e)
    return by_ticket


def test_every_kind_and_channel_appears(generated):
    tickets = _tickets(generated)
    assert len(tickets) == N
    assert {t.kind for t in tickets} == {k.value for k in Kind}
    assert {t.channel for t in tickets} == {c.value for c in Channel}
    assert {t.status for t in tickets} == {s.value for s in Status}
    social = [t for t in tickets if t.channel == Channel.SOCIAL]
    assert social and all(t.channel_detail for t in social)
    assert any(t.channel_detail == "whatsapp" for t in social)
    share_open = sum(t.status in OPEN_STATUSES for t in tickets) / N
    assert 0.05 <= share_open <= 0.25
    # Without any department the generator brings its own, and most tickets are routed.
    assert generated.scalar(select(Department.id).where(Department.code == "SOCIAL"))
    assert 0.7 <= sum(t.department_id is not None for t in tickets) / N <= 0.97
    for t in tickets:
        if t.channel == Channel.LETTER:
            assert t.meta.get("letter_no")
        if t.channel == Channel.EMAIL:
            assert "@" in t.meta.get("from", "")


def test_references_and_counters(generated):
    tickets = _tickets(generated)
    assert len({t.reference for t in tickets}) == N
    top: dict[int, int] = {}
    for t in tickets:
        m = REFERENCE.match(t.reference)
        assert m, t.reference
        assert m.group(1) == KIND_LETTER[Kind(t.kind)]
        year, seq = int(m.group(2)), int(m.group(3))
        assert year == hijri_year(t.created_at)
        top[year] = max(top.get(year, 0), seq)
    counters = {c.hijri_year: c.last for c in generated.scalars(select(ReferenceCounter))}
    assert counters == top
    # One sequence per year, shared by all kinds: no gaps.
    for year, last in top.items():
        seqs = sorted(int(t.reference[-6:]) for t in tickets if t.reference[2:6] == str(year))
        assert seqs == list(range(1, last + 1))


def test_timelines_are_consistent(generated):
    events = _events(generated)
    staff_ids = set(generated.scalars(
        select(UserRole.user_id).where(UserRole.role.in_([Role.STAFF, Role.SUPERVISOR, Role.ADMIN]))))
    for t in _tickets(generated):
        timeline = events[t.id]
        assert 2 <= len(timeline) <= 12 or (len(timeline) == 1 and t.status == Status.NEW)
        first = timeline[0]
        assert first.kind == EventKind.CREATED and first.version == 1 and not first.public
        assert first.created_at == t.created_at and first.new_value == Status.NEW
        assert first.actor_id == t.created_by_id
        assert all(e.created_at >= t.created_at for e in timeline)
        assert [e.created_at for e in timeline] == sorted(e.created_at for e in timeline)
        assert t.updated_at == timeline[-1].created_at <= NOW
        assert t.version == max(e.version for e in timeline)
        # Each state change bumps the version by one; notes do not.
        version = 1
        status = Status.NEW.value
        for e in timeline[1:]:
            if e.kind in (EventKind.NOTE, EventKind.VERIFIED, EventKind.ATTESTED):
                assert e.version == version and not e.public
            else:
                version += 1
                assert e.version == version
            if e.kind in (EventKind.STATUS, EventKind.RESOLVED, EventKind.COMMITTEE_REFERRED):
                assert e.old_value == status
                status = e.new_value
            if e.kind == EventKind.RESOLVED:  # the one way to resolve, with the action taken
                assert e.body and t.action_taken is not None
            if e.kind == EventKind.REPLY:
                assert e.public and e.body
        assert status == t.status
        # resolved_at: when it was resolved (the RESOLVED event); a ticket closed without being
        # resolved (a duplicate, spam) has none, and only intake staff close it so.
        resolved = [e for e in timeline if e.kind == EventKind.RESOLVED]
        if resolved:
            assert t.resolved_at == resolved[-1].created_at and t.resolved_at >= t.created_at
        else:
            assert t.resolved_at is None
        if t.status == Status.RESOLVED:
            assert resolved
        elif t.status != Status.CLOSED:
            assert t.resolved_at is None and t.closed_at is None
        for e in timeline:
            if e.kind == EventKind.STATUS and e.new_value == Status.CLOSED and e.old_value != Status.RESOLVED:
                assert e.actor_id is None or e.actor_id in staff_ids  # (no users: no actor)
        assert (t.closed_at is not None) == (t.status == Status.CLOSED)
        if t.department_id is not None:
            assert any(e.kind == EventKind.ROUTED and e.new_value == str(t.department_id) for e in timeline)
        assert (t.action_taken is not None) == any(e.kind == EventKind.RESOLVED for e in timeline)


def test_people(generated):
    tickets = _tickets(generated)
    anonymous = [t for t in tickets if t.anonymous]
    assert anonymous
    for t in anonymous:
        assert t.channel == Channel.WEBSITE and t.kind in (Kind.COMPLAINT, Kind.SUGGESTION)
        assert t.beneficiary_id is None
    assert sum(t.beneficiary_id is not None for t in tickets) / N > 0.7
    beneficiaries = list(generated.scalars(select(Beneficiary)))
    assert len(beneficiaries) == N // 3
    ids = [b.national_id for b in beneficiaries if b.national_id]
    assert len(ids) == len(set(ids)) and 0.6 < len(ids) / len(beneficiaries) < 0.95
    for national_id in ids:
        assert parse_national_id(national_id) == national_id and national_id[0] in "12"
    for b in beneficiaries:
        assert b.phone is None or re.fullmatch(r"\+9665\d{8}", b.phone)
        assert b.search_name
    # No users at all: nobody is recorded as creator, assignee or verifier.
    assert all(t.created_by_id is None and t.assignee_id is None and t.verified_by_id is None for t in tickets)
    # Arabic first, some English.
    arabic = sum(bool(re.search("[\u0600-\u06ff]", t.subject)) for t in tickets) / N
    assert 0.7 < arabic < 0.95


def test_twice_in_the_same_database(generated):
    first = {t.id: t.reference for t in _tickets(generated)}
    assert generate(generated, N, seed=3, now=NOW) == N  # same seed: must still not clash
    tickets = _tickets(generated)
    assert len(tickets) == 2 * N
    assert len({t.reference for t in tickets}) == 2 * N
    assert all(first[t.id] == t.reference for t in tickets if t.id in first)
    events = _events(generated)
    assert all(events[t.id][0].kind == EventKind.CREATED for t in tickets)
    ids = [b.national_id for b in generated.scalars(select(Beneficiary)) if b.national_id]
    assert len(ids) == len(set(ids))
    counters = {c.hijri_year: c.last for c in generated.scalars(select(ReferenceCounter))}
    assert counters == {y: max(int(t.reference[-6:]) for t in tickets if t.reference[2:6] == str(y))
                        for y in counters}
    assert generated.scalar(select(Department.id).where(Department.code == "SOCIAL"))
    assert len(list(generated.scalars(select(Department)))) == len(DEMO_DEPARTMENTS)  # not created twice


def test_same_seed_same_data(tmp_path, generated):
    with _session(tmp_path, "again.db") as other:
        generate(other, N, seed=3, now=NOW)
        assert [t.subject for t in _tickets(other)] == [t.subject for t in _tickets(generated)]
    with _session(tmp_path, "different.db") as other:
        generate(other, N, seed=4, now=NOW)
        assert [t.subject for t in _tickets(other)] != [t.subject for t in _tickets(generated)]


def test_uses_existing_departments_and_users(session):
    deps = [Department(code=f"D{i}", name_ar=f"إدارة {i}", name_en=f"Dept {i}") for i in range(3)]
    session.add_all(deps)
    users = [User(email=f"u{i}@example.org", name=f"User {i}", password_hash="x") for i in range(6)]
    session.add_all(users)
    session.flush()
    for u in users[:2]:
        session.add(UserRole(user_id=u.id, role=Role.STAFF))
    for u, d in zip(users[2:5], deps, strict=True):
        session.add(UserRole(user_id=u.id, role=Role.FOCAL))
        session.add(DepartmentMember(user_id=u.id, department_id=d.id))
    session.commit()
    staff = {users[0].id, users[1].id}
    focal = {d.id: {u.id} for u, d in zip(users[2:5], deps, strict=True)}

    seen = []
    assert generate(session, 300, seed=9, now=NOW, batch=100, progress=seen.append) == 300
    assert seen == [100, 200, 300]
    assert len(list(session.scalars(select(Department)))) == 3
    tickets = _tickets(session)
    assigned = [t for t in tickets if t.assignee_id is not None]
    assert assigned
    for t in assigned:
        assert t.assignee_id in focal[t.department_id]
    for t in tickets:
        assert t.department_id is None or t.department_id in focal
        assert t.created_by_id is None or t.created_by_id in staff
        if t.kind in (Kind.SUPPORT, Kind.COMPENSATION):
            assert t.verified_by_id in staff and t.verified_at is not None
            assert t.attested and t.attested_at is not None
            assert t.beneficiary_id is not None
        if t.channel in (Channel.VISIT, Channel.PHONE):
            assert t.created_by_id in staff
    # Only intake staff close a ticket that was never resolved (a focal point resolves it).
    unresolved_closes = session.scalars(select(TicketEvent).where(
        TicketEvent.kind == EventKind.STATUS, TicketEvent.new_value == Status.CLOSED,
        TicketEvent.old_value != Status.RESOLVED)).all()
    assert unresolved_closes and all(e.actor_id in staff for e in unresolved_closes)


def test_open_tickets_have_the_due_times_the_sla_policy_gives(session):
    """Generated open tickets carry due moments as tickets recorded at the desk do, so the
    queue shows due and overdue badges and the Overdue view has tickets (benchmarks see them)."""
    from desk.sla.service import DEFAULT_TARGETS, ensure_default_targets
    from desk.sla.tickets import refresh_open_due_times

    ensure_default_targets(session)
    generate(session, N, seed=3, now=NOW)
    targeted = {kind.value for kind, _, resolution in DEFAULT_TARGETS if resolution}
    open_tickets = [t for t in _tickets(session) if t.status in OPEN_STATUSES and t.kind in targeted]
    assert open_tickets and all(t.due_at is not None for t in open_tickets)
    assert any(t.due_at < NOW for t in open_tickets) and any(t.due_at > NOW for t in open_tickets)
    assert refresh_open_due_times(session, now=NOW).changed == 0  # what the policy gives, exactly
