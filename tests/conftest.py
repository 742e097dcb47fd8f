"""Shared fixtures: one app and schema per test session (built by the Alembic migrations),
emptied after every test. ``DESK_TEST_DATABASE_URL`` runs the same suite on PostgreSQL."""
from __future__ import annotations

import itertools
import os
import re
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings

# No property test may fail for taking long: Hypothesis' default deadline (200 ms an example)
# and its too-slow health check are timed assertions, and fail on a busy machine.
settings.register_profile("desk", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("desk")

_INSTANCE = tempfile.mkdtemp(prefix="desk-test-")
os.environ["DESK_ENV"] = "testing"
os.environ["DESK_SECRET_KEY"] = "test-secret-key"
os.environ["DESK_INSTANCE_PATH"] = _INSTANCE
os.environ["DESK_DATABASE_URL"] = os.environ.get("DESK_TEST_DATABASE_URL") or f"sqlite:///{_INSTANCE}/test.db"

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event as sa_event  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

import desk.models.accounts  # noqa: E402
from desk import create_app, ratelimits  # noqa: E402
from desk.accounts.service import create_user  # noqa: E402
from desk.beneficiaries.service import NewBeneficiary  # noqa: E402
from desk.cli import ensure_department  # noqa: E402
from desk.extensions import db as _db  # noqa: E402
from desk.intake.service import IntakeData, create_ticket  # noqa: E402
from desk.models import (  # noqa: E402
    Base,
    Beneficiary,
    Channel,
    EventKind,
    Kind,
    Priority,
    Status,
    Ticket,
    TicketEvent,
    utcnow,
)
from desk.sla.service import ensure_default_targets, load_policy  # noqa: E402
from desk.sla.tickets import refresh_if_policy_changed  # noqa: E402
from desk.survey import service as survey  # noqa: E402
from desk.text import normalize_search  # noqa: E402
from desk.tickets.search import ticket_search_text  # noqa: E402
from desk.tickets.service import next_reference  # noqa: E402

PASSWORD = "correct-horse-battery"
desk.models.accounts.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # fast hashing for tests only
VALID_NID = "1000000008"  # passes the Luhn check


def _compile_catalogs() -> None:
    """Compile a catalog whose .mo is missing or older than its .po, as `make translations`
    does, so a plain `pytest` never tests against stale translations."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (Path(__file__).resolve().parent.parent / "desk" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source, mo.open("wb") as target:
                write_mo(target, read_po(source))


@pytest.fixture(scope="session")
def app():
    _compile_catalogs()
    app = create_app({"TESTING": True})
    with app.app_context():
        if _db.engine.dialect.name == "postgresql":
            # A clean public schema: the shared `test` database may hold an earlier run.
            with _db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            Base.metadata.drop_all(_db.engine)
        upgrade()  # the real migrations build the schema, so they are tested on both databases
    yield app


@pytest.fixture(autouse=True)
def _clean(app):
    yield
    with app.app_context():
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
        # Each test starts as a migrated database does: with the policy's lists the migrations insert.
        survey.ensure_default_items(_db.session)
        survey.ensure_default_services(_db.session)
        _db.session.remove()
        ratelimits.reset()  # the store and the per-process fallback


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.fixture
def db(ctx):
    return _db


@dataclass
class People:
    staff: object
    focal: object          # focal point of SOCIAL
    other_focal: object    # focal point of AID
    supervisor: object
    admin: object
    social: object         # departments
    aid: object


@pytest.fixture
def people(db) -> People:
    social = ensure_department("SOCIAL", "البحث الاجتماعي", "Social research")
    aid = ensure_department("AID", "المساعدات", "Aid")
    make = lambda email, name, roles, deps=(): create_user(db.session, email, PASSWORD, name, roles, list(deps))  # noqa: E731
    return People(
        staff=make("staff@example.org", "سارة", ["staff"]),
        focal=make("focal@example.org", "فهد", ["focal"], ["SOCIAL"]),
        other_focal=make("focal2@example.org", "منى", ["focal"], ["AID"]),
        supervisor=make("super@example.org", "نورة", ["supervisor"]),
        admin=make("admin@example.org", "Admin", ["admin"]),
        social=social, aid=aid,
    )


@pytest.fixture
def ticket_numbers():
    """One numbering per test for the made-up tickets' subjects, names and phones, shared by
    ``make_ticket`` and ``make_tickets`` (intake refuses a new beneficiary on a known phone)."""
    return itertools.count(1)


@pytest.fixture
def make_ticket(db, people, ticket_numbers):
    """``make_ticket(actor=None, **IntakeData fields)``: one ticket through the real intake."""
    counter = ticket_numbers

    def make(actor=None, **overrides):
        n = next(counter)
        data = IntakeData(
            kind=Kind.COMPLAINT, channel=Channel.PHONE, subject=f"تأخر صرف السلة الغذائية {n}",
            body="لم تصل السلة الغذائية لهذا الشهر", department_id=people.social.id,
            new_beneficiary=NewBeneficiary(name=f"أحمد محمد {n}", phone=f"+9665{n:08d}"),
        )
        for key, value in overrides.items():
            setattr(data, key, value)
        return create_ticket(db.session, actor or people.staff, data)

    return make


@pytest.fixture
def en(db, people):
    """Everyone reads English here (the new strings' Arabic arrives when the catalogs are merged)."""
    for user in (people.staff, people.focal, people.other_focal, people.supervisor, people.admin):
        user.locale = "en"
    db.session.commit()
    return people


@pytest.fixture
def admin(as_user, en):
    """A signed-in admin who reads English."""
    return as_user(en.admin)


@pytest.fixture
def targets(db):
    """The default service levels, taken as applied: the sweep recomputes nothing until they change."""
    ensure_default_targets(db.session)
    refresh_if_policy_changed(db.session, load_policy(db.session), utcnow())


def count(db, model, *where) -> int:
    """How many rows of ``model`` match ``where``, read afresh (nothing cached in the session)."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@contextmanager
def statements_run(db) -> Iterator[list[str]]:
    """The SQL statements the engine sends while the block runs, as sent."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", record)


def close_as_done(db, ticket: Ticket, days_ago: float, action: str = "تم التواصل مع المستفيد وحل المشكلة") -> Ticket:
    """The ticket answered, resolved and closed ``days_ago`` days ago (past what holds an erasure)."""
    at = utcnow() - timedelta(days=days_ago)
    ticket.status = Status.CLOSED
    ticket.first_response_at = at - timedelta(hours=2)
    ticket.resolved_at = ticket.closed_at = at
    ticket.action_taken = action
    ticket.version += 1
    db.session.commit()
    return ticket


@pytest.fixture
def make_tickets(db, people, ticket_numbers):
    """``make_tickets(n, actor=None, **columns)``: ``n`` tickets written at once, for tests that
    need many rows (the intake takes a transaction per ticket).

    Like ``make_ticket``'s: a new complaint by phone for SOCIAL, each with its own beneficiary,
    recorded by ``actor`` (intake staff by default); ``columns`` set any Ticket column on every
    row (``subject``, ``body``, ``department_id``, ``status``, ``created_at``…). The reference comes
    from the real counter (``next_reference``), the search text from ``ticket_search_text``, as
    at intake; each ticket gets its CREATED event (and ROUTED, "staff", when it has a
    department). Not done: routing rules, due times, notifications. Creation times rise by a
    microsecond per ticket, after every ticket made before (unless ``created_at`` is given: then
    from there), so "the latest" are the last made. Returns the tickets in the order made."""
    tickets, events, beneficiaries = Ticket.__table__, TicketEvent.__table__, Beneficiary.__table__
    last: list[datetime] = []

    def make(n: int, actor=None, **columns) -> list[Ticket]:
        unknown = set(columns) - set(tickets.c.keys())
        assert not unknown, f"not Ticket columns: {unknown}"
        session, actor = db.session, actor or people.staff
        start = columns.pop("created_at", None)
        if start is None:
            start = utcnow()
            if last and start <= last[0]:
                start = last[0] + timedelta(microseconds=1)
        numbers = [next(ticket_numbers) for _ in range(n)]
        names = [f"أحمد محمد {k}" for k in numbers]
        anonymous = columns.get("anonymous", False)
        beneficiary_ids = [None] * n if anonymous else session.execute(
            insert(beneficiaries).returning(beneficiaries.c.id, sort_by_parameter_order=True),
            [dict(name=name, phone=f"+9665{k:08d}", search_name=normalize_search(name), created_at=start,
                  created_by_id=actor.id) for name, k in zip(names, numbers, strict=True)]).scalars().all()
        rows = []
        for i, (k, name, beneficiary_id) in enumerate(zip(numbers, names, beneficiary_ids, strict=True)):
            at = start + timedelta(microseconds=i)
            row = dict(kind=Kind.COMPLAINT.value, channel=Channel.PHONE.value, status=Status.NEW.value,
                       priority=int(Priority.NORMAL), subject=f"تأخر صرف السلة الغذائية {k}",
                       body="لم تصل السلة الغذائية لهذا الشهر", beneficiary_id=beneficiary_id,
                       department_id=people.social.id, created_by_id=actor.id, created_at=at, updated_at=at,
                       version=1, meta={}) | columns
            row["subject"], row["body"] = row["subject"].strip(), row["body"].strip()
            row["reference"] = next_reference(session, row["kind"], at)
            row["search_text"] = ticket_search_text(row["reference"], row["subject"], row["body"],
                                                    None if anonymous else name)
            rows.append(row)
        ids = session.execute(insert(tickets).returning(tickets.c.id, sort_by_parameter_order=True),
                              rows).scalars().all()
        timeline = []  # every row with the same keys: executemany takes its columns from the first
        for ticket_id, row in zip(ids, rows, strict=True):
            event = dict(ticket_id=ticket_id, actor_id=actor.id, created_at=row["created_at"], old_value=None,
                         public=False, version=1)
            timeline.append(event | dict(kind=EventKind.CREATED.value, new_value=Status.NEW.value, reason=None))
            if row["department_id"] is not None:
                timeline.append(event | dict(kind=EventKind.ROUTED.value, new_value=str(row["department_id"]),
                                             reason="staff"))
            if not row.get("anonymous"):  # the receipt (issue 20): a phone only, no SMS gateway in the tests
                timeline.append(event | dict(kind=EventKind.RECEIPT.value, new_value=None, reason="no_contact"))
        session.execute(insert(events), timeline)
        session.commit()
        if rows:
            last[:] = [max([rows[-1]["created_at"], *last])]
        return list(session.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id)))

    return make


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Browser:
    """The Flask test client with a signed-in user and the page's CSRF token.

    Each request runs on a worker thread, so it gets its own app context, ``g`` and
    database session like a real request, instead of sharing the test's pushed context
    (which would hide caching and transaction bugs)."""

    _pool = ThreadPoolExecutor(max_workers=1)

    def __init__(self, client):
        self.client = client
        self.token = None

    def _run(self, fn, *args, **kwargs):
        return self._pool.submit(fn, *args, **kwargs).result()

    def refresh_token(self, path="/login"):
        page = self._run(self.client.get, path)
        match = CSRF_META.search(page.get_data(as_text=True))
        assert match, "no CSRF token on the page"
        self.token = match.group(1)
        return self.token

    def login(self, user, password=PASSWORD):
        self.refresh_token()
        response = self._run(self.client.post, "/login",
                             data={"email": user.email, "password": password, "csrf_token": self.token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        self.refresh_token("/tickets")
        return self

    def get(self, path, htmx=False, **kw):
        headers = kw.pop("headers", {})
        if htmx:
            headers.update({"HX-Request": "true"})
        return self._run(self.client.get, path, headers=headers, **kw)

    def post(self, path, data=None, htmx=False, csrf=True, **kw):
        data = dict(data or {})
        headers = kw.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
            if csrf:
                headers["X-CSRFToken"] = self.token
        elif csrf:
            data.setdefault("csrf_token", self.token)
        return self._run(self.client.post, path, data=data, headers=headers, **kw)


@pytest.fixture
def browser(app):
    return Browser(app.test_client())


@pytest.fixture
def visitor(app):
    """Someone on the portal without an account (their own session and CSRF token)."""
    def make(ip="203.0.113.7"):
        browser = Browser(app.test_client())
        browser.client.environ_base["REMOTE_ADDR"] = ip
        browser.refresh_token("/portal/new")
        return browser
    return make


@pytest.fixture
def as_user(app):
    """``as_user(user)`` → a signed-in Browser; several may exist at once (two editors)."""
    def make(user):
        return Browser(app.test_client()).login(user)
    return make
