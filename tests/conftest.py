"""Shared fixtures: one app and schema per test session (built by the Alembic migrations),
emptied after every test. ``DESK_TEST_DATABASE_URL`` runs the same suite on PostgreSQL."""
from __future__ import annotations

import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

_INSTANCE = tempfile.mkdtemp(prefix="desk-test-")
os.environ["DESK_ENV"] = "testing"
os.environ["DESK_SECRET_KEY"] = "test-secret-key"
os.environ["DESK_INSTANCE_PATH"] = _INSTANCE
os.environ["DESK_DATABASE_URL"] = os.environ.get("DESK_TEST_DATABASE_URL") or f"sqlite:///{_INSTANCE}/test.db"

import desk.models.accounts  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from desk import create_app  # noqa: E402
from desk.accounts.service import create_user  # noqa: E402
from desk.cli import ensure_department  # noqa: E402
from desk.extensions import db as _db  # noqa: E402
from desk.extensions import limiter  # noqa: E402
from desk.intake.service import IntakeData, create_ticket  # noqa: E402
from desk.beneficiaries.service import NewBeneficiary  # noqa: E402
from desk.models import Base, Channel, Kind, utcnow  # noqa: E402
from desk.sla.service import ensure_default_targets, load_policy  # noqa: E402
from desk.sla.tickets import refresh_if_policy_changed  # noqa: E402

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
        limiter.reset()


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
def make_ticket(db, people):
    counter = iter(range(1, 10_000))

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
def as_user(app):
    """``as_user(user)`` → a signed-in Browser; several may exist at once (two editors)."""
    def make(user):
        return Browser(app.test_client()).login(user)
    return make
