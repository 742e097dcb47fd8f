"""When the database cannot be reached or the disk is full: what counts as such a failure, and
how a page still renders without the database.

Such a failure is the machine's, not the request's: nothing was saved (a failure inside
``desk.transaction.atomic`` has rolled back and removed the files the block wrote) and the same
request succeeds once the database is back or space is freed. desk.error_pages answers it:
503 with Retry-After, and a form comes back with what was typed.

- the database: PostgreSQL down, restarting or unreachable (a refused or lost connection), out
  of connections, out of disk (``DiskFull``), a statement cancelled or a deadlock: every DBAPI
  OperationalError, and a connection the pool found dead. SQLite's OperationalError also means
  "no such table" or a syntax error (a bug, not an outage), so only its full, busy, locked,
  I/O and cannot-open errors count;
- the disk: ENOSPC or EDQUOT while a file is written (desk.attachments.service.write_capped).

A page shown after such a failure may itself need the database (the association's name in its
frame, the signed-in user): ``without_database`` reads what it can and falls back to the
settings when the database is down, once per request (``database_down``).
"""
from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable
from typing import TypeVar

from flask import g, has_app_context, has_request_context
from sqlalchemy import event, exc
from sqlalchemy.orm import Session

from desk.transaction import discard

T = TypeVar("T")

# Seconds a client is asked to wait before sending the same request again.
RETRY_AFTER = 30

_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# SQLite's result codes for a database that will take the write later (extended codes, e.g.
# SQLITE_IOERR_WRITE or SQLITE_BUSY_SNAPSHOT, start with one of these).
_SQLITE_CODES = ("SQLITE_FULL", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_NOMEM")
_SQLITE_MESSAGES = ("database or disk is full", "database is locked", "database table is locked",
                    "disk i/o error", "unable to open database file", "out of memory")


def is_outage(error: BaseException) -> bool:
    """The database is unreachable or cannot write for now, or the disk is full."""
    for cause in (error, error.__cause__):
        if isinstance(cause, OSError) and cause.errno in _DISK_ERRNOS:
            return True
    if isinstance(error, (exc.TimeoutError, exc.DisconnectionError)):  # no connection free, or none alive
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:  # the connection died under the statement
        return True
    if isinstance(error.orig, sqlite3.Error):
        return isinstance(error, exc.OperationalError) and _sqlite_transient(error.orig)
    return isinstance(error, (exc.OperationalError, exc.InterfaceError))


def _sqlite_transient(error: sqlite3.Error) -> bool:
    name = getattr(error, "sqlite_errorname", "") or ""
    if name:
        return name.startswith(_SQLITE_CODES)
    message = str(error).lower()  # an error made by hand (a test, a wrapper) has no code
    return any(text in message for text in _SQLITE_MESSAGES)


def kind(error: BaseException) -> str:
    """For the log: "disk full" or "database unavailable" (never the message: it may quote data)."""
    if isinstance(error, OSError) or isinstance(error.__cause__, OSError):
        return "disk full"
    orig = getattr(error, "orig", None)
    full = (type(orig).__name__ == "DiskFull"
            or (isinstance(orig, sqlite3.Error) and "full" in (getattr(orig, "sqlite_errorname", "") or str(orig)).lower()))
    return "database disk full" if full else "database unavailable"


@event.listens_for(Session, "after_commit")
def _note_commit(session: Session) -> None:
    if has_request_context() and not session.in_nested_transaction():  # (a savepoint commits nothing yet)
        g.desk_committed = True


def committed() -> bool:
    """This request committed something: after a failure, "not saved" would not be true."""
    return has_request_context() and bool(g.get("desk_committed"))


def database_down() -> bool:
    """The database failed a read in this request: the rest of the request does without it."""
    return has_app_context() and bool(g.get("desk_database_down"))


def lost_database(session: Session) -> None:
    """Note that the database is down for this request, and drop the session's failed transaction
    so that it can be used again (Flask-SQLAlchemy removes it at the end of the request)."""
    if has_app_context():
        g.desk_database_down = True
    release(session)


def release(session: Session) -> None:
    """After a failure: the session's transaction dropped, whatever state the connection is in."""
    try:
        discard(session)
    except Exception:  # the connection cannot even roll back: give it up (the pool discards it)
        session.close()


def without_database(session: Session, read: Callable[[], T], fallback: Callable[[], T]) -> T:
    """``read()``; when the database is down (now, or already in this request), ``fallback()``.
    For what a page shows around its subject (the association's name), so the page still renders."""
    if database_down():
        return fallback()
    try:
        return read()
    except Exception as error:
        if not is_outage(error):
            raise
        lost_database(session)
        return fallback()
