"""The database schema and its migrations: each migration all or nothing, and no desk started on
a database the migrations have not brought to their head.

``migrations/env.py`` runs every migration in a transaction of its own (on PostgreSQL, whose DDL
is transactional, and on SQLite through :func:`sqlite_transactional_ddl`), so a migration that
fails half-way leaves the database as the previous one left it.

:func:`check_at_start` (from ``create_app``) compares the database's ``alembic_version`` with
the head of the migration scripts: in production (``DESK_ENV=production``) a desk refuses to
start on a database that is behind (or ahead of) this code, naming the command to run; in
development it logs a warning and starts; tests are left alone. ``flask db …`` (Flask-Migrate)
is never refused: it is how the database is brought up to date.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import Flask

UPGRADE_COMMAND = ".venv/bin/flask --app wsgi db upgrade"
VERSION_TABLE = "alembic_version"  # Alembic's default: env.py names no other
CURRENT_REVISIONS = sa.text("SELECT version_num FROM alembic_version")


class SchemaNotCurrent(RuntimeError):
    """The database is not at the head of the migrations this code carries."""


# -- Each migration all or nothing (migrations/env.py) -------------------------------------------

def _begin(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")  # a migration writes: take the write lock now


@contextmanager
def sqlite_transactional_ddl(connection: sa.Connection) -> Iterator[None]:
    """Make ``connection`` (SQLite, pysqlite) run DDL inside the transactions SQLAlchemy begins,
    for as long as the block lasts; the connection is handed back as it was.

    Python's sqlite3 (before 3.12's ``autocommit=False``) opens a transaction only before an
    INSERT, UPDATE or DELETE: a CREATE TABLE, ALTER TABLE or DROP TABLE outside one is committed
    at once, so a migration that fails half-way used to leave its first tables behind. Here the
    driver's own transaction handling is switched off (``isolation_level = None``) and every
    SQLAlchemy ``begin`` emits ``BEGIN`` itself — SQLAlchemy's recipe for pysqlite ("Enabling
    Non-Legacy SQLite Transactional Modes"). SQLite's DDL is transactional, so a ROLLBACK now
    takes back the new tables and a batch "move and copy" (new table, copy, drop, rename) whole.

    Foreign keys are off meanwhile, as SQLite's own procedure for rebuilding a table asks
    (https://www.sqlite.org/lang_altertable.html, "other kinds of table schema changes"): with
    them on, dropping the old table in a move and copy deletes its rows first, and with them
    every row that refers to it through ON DELETE CASCADE (a ticket's events, attachments…) or
    SET NULL. ``PRAGMA foreign_keys`` has no effect inside a transaction, so it is set here,
    before the first BEGIN; :func:`check_foreign_keys` then checks each migration's result
    before its COMMIT.
    """
    raw: Any = connection.connection.driver_connection  # the sqlite3.Connection
    if connection.in_transaction() or raw.in_transaction:
        raise RuntimeError("sqlite_transactional_ddl needs a connection outside any transaction")
    isolation_level = raw.isolation_level
    foreign_keys = raw.execute("PRAGMA foreign_keys").fetchone()[0]
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.isolation_level = None
    sa.event.listen(connection, "begin", _begin)
    try:
        yield
    finally:
        sa.event.remove(connection, "begin", _begin)
        if connection.in_transaction():  # whatever ran after the last migration's COMMIT
            connection.rollback()
        if raw.in_transaction:
            raw.rollback()
        raw.isolation_level = isolation_level
        raw.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")


def check_foreign_keys(connection: sa.Connection, revision: str) -> None:
    """Refuse (before its COMMIT) a migration that left rows pointing at rows that do not exist:
    on SQLite the foreign keys are not enforced while migrations run (see above)."""
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        where = ", ".join(sorted({f"{row[0]} → {row[2]}" for row in broken}))
        raise RuntimeError(f"migration {revision} would leave {len(broken)} row(s) referring to rows that "
                           f"do not exist ({where}; `PRAGMA foreign_key_check` lists them): it was rolled back")


# -- Is the database at head? ----------------------------------------------------------------------

def database_revisions(connection: sa.Connection) -> set[str]:
    """The revisions ``alembic_version`` records: one query, and none recorded (an empty set)
    when the table is missing (a database no migration has run on)."""
    try:
        return set(connection.execute(CURRENT_REVISIONS).scalars())
    except sa.exc.DBAPIError:
        connection.rollback()  # PostgreSQL refuses anything more in a failed transaction
        if sa.inspect(connection).has_table(VERSION_TABLE):
            raise  # not a missing table: let the real error show
        return set()


def schema_problem(connection: sa.Connection, directory: str) -> str | None:
    """Why the database at ``connection`` is not at the head of ``directory``'s migrations, or
    None when it is."""
    script = ScriptDirectory(directory)
    heads = set(script.get_heads())
    current = database_revisions(connection)
    if current == heads:
        return None
    shown = ", ".join(sorted(heads))
    if not current:
        return (f"The database has no schema yet (no alembic_version: no migration has run on it; "
                f"this code's head is {shown}). Run `{UPGRADE_COMMAND}` to build it.")
    unknown = sorted(revision for revision in current if not _known(script, revision))
    if unknown:
        return (f"The database is at revision {', '.join(unknown)}, which this version of the desk does "
                f"not know (its head is {shown}): a newer version has upgraded it. Run that version, "
                f"or first its own `.venv/bin/flask --app wsgi db downgrade {shown}`.")
    return (f"The database is at revision {', '.join(sorted(current))}, behind this code's head "
            f"{shown}. Back it up, then run `{UPGRADE_COMMAND}`.")


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:  # no such revision among the scripts
        return False


def require_current(app: Flask, refused: str = "The desk will not start") -> None:
    """Refuse (production: SchemaNotCurrent, its message starting with ``refused``) or warn
    about (development) a database that is not at the head of the migrations; tests
    (``DESK_ENV=testing``) are not checked."""
    mode = app.config["DESK_ENV"]
    if mode == "testing":
        return
    from desk.extensions import db

    directory = app.extensions["migrate"].directory
    with app.app_context():
        try:
            with db.engine.connect() as connection:
                problem = schema_problem(connection, directory)
        except sa.exc.DBAPIError as error:
            problem = (f"The database could not be reached to check its schema "
                       f"({type(error.orig).__name__}: {error.orig}).")
    if problem is None:
        _warn_about_the_search_index(app)
        return
    if mode == "production":
        raise SchemaNotCurrent(f"{refused}: {problem}")
    app.logger.warning("%s", problem)


def _warn_about_the_search_index(app: Flask) -> None:
    """A PostgreSQL database whose ctype hides Arabic letters from pg_trgm still answers every
    search rightly, only by reading the whole table: said at start, with the fix, never refused.
    So is a SQLite database missing one of its search index's triggers."""
    from desk.extensions import db
    from desk.tickets.search import sqlite_trigger_problem, trigram_problem

    with app.app_context():
        try:
            with db.engine.connect() as connection:
                problem = trigram_problem(connection) or sqlite_trigger_problem(connection)
        except sa.exc.DBAPIError:
            return  # the schema check just reached it; a blip now is not this check's to report
    if problem:
        app.logger.warning("%s", problem)


def check_at_start(app: Flask) -> None:
    """``create_app``'s check. A WSGI server (gunicorn) or a script starting the desk, and
    ``flask run``, are checked here. The other ``flask`` commands load the app before anyone
    knows which command will run: ``flask db …`` must work on any database (it is what brings
    the schema up to date), ``flask shell`` is how a person looks at a database in whatever
    state it is, ``flask routes`` reads none, and ``flask desk …`` checks in its own group
    (desk.cli)."""
    context = click.get_current_context(silent=True)
    if context is not None and not _running_the_server(context):
        return
    require_current(app)


def _running_the_server(context: click.Context) -> bool:
    from flask.cli import run_command

    node: click.Context | None = context
    while node is not None:
        if node.command is run_command:
            return True
        node = node.parent
    return False
