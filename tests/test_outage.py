"""The database unreachable or the disk full (issue 14): what counts as such a failure
(desk.outage), and what a page still shows without the database."""
from __future__ import annotations

import errno
import socket
import sqlite3
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from desk import outage
from desk.extensions import db as _db
from tests.conftest import Browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def engine_at(app, url: str):
    """The app's engine replaced meanwhile (Flask-SQLAlchemy keeps one per app; its sessions ask
    for it at every connection)."""
    engines = _db._app_engines[app]
    real = engines[None]
    other = sa.create_engine(url, **app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    engines[None] = other
    try:
        yield other
    finally:
        engines[None] = real
        other.dispose()


@contextmanager
def refused(app, db=None):
    """The database does not answer: every connection the app opens meanwhile is refused
    (PostgreSQL's address, nothing listening)."""
    if db is not None:
        db.session.rollback()  # the test's own session holds nothing open across the outage
    with engine_at(app, f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/desk"):
        yield


def test_the_portals_frame_needs_no_database(app, db):
    """The frame's name comes from the settings when the association's profile cannot be read."""
    visitor = Browser(app.test_client())
    with refused(app, db):
        home = visitor.get("/portal/")
    assert home.status_code == 200 and app.config["DESK_ASSOCIATION_NAME"] in home.get_data(as_text=True)


def test_the_users_language_is_remembered_for_a_page_without_the_database(app, en, as_user):
    staff = as_user(en.staff)
    staff.get("/tickets")
    with staff.client.session_transaction() as session:
        assert session["locale"] == "en"


def _wrapped(orig: Exception, cls=OperationalError, invalidated=False):
    return cls("INSERT INTO tickets ...", {}, orig, connection_invalidated=invalidated)


def test_what_counts_as_an_outage():
    import psycopg
    outages = [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        _wrapped(sqlite3.OperationalError("database or disk is full")),
        _wrapped(sqlite3.OperationalError("database is locked")),
        _wrapped(psycopg.OperationalError("connection failed: Connection refused")),
        _wrapped(psycopg.errors.DiskFull("could not extend file")),
        _wrapped(psycopg.errors.AdminShutdown("terminating connection due to administrator command")),
        _wrapped(psycopg.InterfaceError("the connection is closed"), cls=sa.exc.InterfaceError),
        _wrapped(psycopg.ProgrammingError("x"), cls=sa.exc.ProgrammingError, invalidated=True),
        sa.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
    ]
    for error in outages:
        assert outage.is_outage(error), error
    not_outages = [
        OSError(errno.EACCES, "Permission denied"),
        FileNotFoundError(errno.ENOENT, "No such file"),
        _wrapped(sqlite3.OperationalError("no such table: tickets")),  # a bug, not an outage
        _wrapped(sqlite3.IntegrityError("UNIQUE constraint failed"), cls=IntegrityError),
        _wrapped(psycopg.errors.UniqueViolation("duplicate key"), cls=IntegrityError),
        _wrapped(sqlite3.InterfaceError("Error binding parameter 1"), cls=sa.exc.InterfaceError),
        ValueError("x"),
    ]
    for error in not_outages:
        assert not outage.is_outage(error), error
