"""The migrations build exactly the schema the models describe (on SQLite and PostgreSQL)."""
from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, has_app_context
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from desk import create_app
from desk.extensions import db
from desk.models import Base
from desk.schema import (
    UPGRADE_COMMAND,
    SchemaNotCurrent,
    database_revisions,
    schema_problem,
    sqlite_transactional_ddl,
)
from desk.settings import PROJECT_ROOT
from desk.text import normalize_search
from desk.tickets.search import is_search_index


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        include = lambda obj, name, type_, reflected, compare_to: not is_search_index(name)  # noqa: E731
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], diff


def test_search_index_is_there_and_kept_in_step(db, make_ticket, monkeypatch):
    """Migration 0002's trigram index exists, and a ticket is found through it once written
    and no longer after its text changes (the SQLite triggers)."""
    from desk.models import Ticket
    from desk.tickets.search import search_condition
    ticket = make_ticket(subject="انقطاع الكهرباء عن المستودع")
    db.session.commit()

    def found(text):
        return db.session.scalars(select(Ticket.id).where(search_condition(db.session, text))).all()

    assert found("الكهرباء") == [ticket.id]
    monkeypatch.setattr("desk.tickets.search._most_ids", lambda session: 0)  # SQLite: "many matches" → LIKE
    assert found("الكهرباء") == [ticket.id]
    monkeypatch.undo()
    ticket.search_text = normalize_search("نص آخر تماما")
    db.session.commit()
    assert found("الكهرباء") == []
    assert found("آخر") == [ticket.id]
    if db.engine.dialect.name == "postgresql":
        assert db.session.scalar(sa.text("SELECT 1 FROM pg_indexes WHERE indexname = 'ix_tickets_search_trgm'"))
    else:
        assert db.session.scalar(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'tickets_fts'"))


def test_sqlite_tickets_rebuild_keeps_the_planner_statistics(app, tmp_path):
    """Migration 0003 rebuilds `tickets` on SQLite; an analysed database must stay analysed, or
    the queue's first page sorts every open ticket (see desk/maintenance.py)."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's planner statistics")
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}"})
    with other.app_context():
        upgrade(revision="0002_search_due")
        with db.engine.begin() as conn:
            for i in range(3):
                conn.exec_driver_sql(
                    "INSERT INTO tickets (reference, kind, channel, status, priority, subject, body, search_text,"
                    " anonymous, created_at, updated_at, version, attested, meta) VALUES (?, 'inquiry', 'phone',"
                    " 'new', 2, 's', '', 's', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1, 0, '{}')",
                    (f"I-1447-00000{i}",))
            conn.exec_driver_sql("ANALYZE")
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT idx FROM sqlite_stat1 WHERE tbl = 'tickets'").all()
        db.engine.dispose()
    assert rows, "the rebuilt tickets table lost its statistics"


# Each migration all or nothing, and no desk started on a database behind them (desk/schema.py) --

MIGRATIONS = str(PROJECT_ROOT / "migrations")
HEAD = ScriptDirectory(MIGRATIONS).get_current_head()

KEPT = '''"""kept: a migration that works, before the one that fails"""
import sqlalchemy as sa
from alembic import op

revision = "9001_kept"
down_revision = {head!r}


def upgrade():
    op.create_table("kept", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("kept")
'''

HALF_WAY = '''"""half way: a new table, a rebuilt tickets table, changed rows, a new column, then a failure"""
import sqlalchemy as sa
from alembic import op

revision = "9002_half_way"
down_revision = "9001_kept"


def upgrade():
    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
    # SQLite: a batch "move and copy" of tickets (new table, copy, DROP TABLE tickets, rename),
    # the rebuild that drops the search triggers and, with foreign keys on, the ticket's events.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("tickets", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("half_done", sa.Integer, nullable=True))
    op.execute("UPDATE tickets SET subject = 'changed half way'")
    op.add_column("users", sa.Column("half_done", sa.Integer, nullable=True))
    raise ValueError("failed half way")


def downgrade():
    pass
'''

DANGLING = '''"""dangling: leaves an event whose ticket does not exist"""
from alembic import op

revision = "9001_dangling"
down_revision = {head!r}


def upgrade():
    op.execute("INSERT INTO ticket_events (ticket_id, created_at, kind, public, version)"
               " VALUES (987654321, '2026-01-01 00:00:00', 'comment', false, 1)")


def downgrade():
    pass
'''


def _chain(tmp_path, **revisions: str) -> str:
    """A copy of migrations/ (env.py and every revision) with more revisions after the head."""
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, directory, ignore=shutil.ignore_patterns("__pycache__"))
    for name, text in revisions.items():
        (directory / "versions" / f"{name}.py").write_text(text.format(head=HEAD) if "{head" in text else text)
    return str(directory)


def _revisions() -> set[str]:
    with db.engine.connect() as connection:
        return database_revisions(connection)


def _tables() -> set[str]:
    with db.engine.connect() as connection:
        return {name for name in sa.inspect(connection).get_table_names() if not name.startswith("sqlite_")}


def _columns(table: str) -> set[str]:
    with db.engine.connect() as connection:
        return {column["name"] for column in sa.inspect(connection).get_columns(table)}


def _found(text: str) -> list[int]:
    """The tickets the queue's search finds (on SQLite through the FTS5 table and its triggers)."""
    from desk.models import Ticket
    from desk.tickets.search import search_condition
    return list(db.session.scalars(select(Ticket.id).where(search_condition(db.session, text))))


@pytest.fixture
def back_to_head(app):
    """Whatever a test does to the session's database, it ends at the real head again: a
    revision of a test's own chain (9001_…) is undone by hand, an older one is upgraded."""
    yield
    if has_app_context():  # the test's own session (the `db` fixture's request context)
        db.session.remove()
    with app.app_context():
        with db.engine.begin() as connection:
            for table in ("kept", "half_done"):
                connection.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
            if any(revision.startswith("900") for revision in database_revisions(connection)):
                connection.execute(sa.text("UPDATE alembic_version SET version_num = :head"), {"head": HEAD})
        if _revisions() != {HEAD}:
            upgrade()


def test_a_migration_that_fails_half_way_leaves_nothing_behind(db, make_ticket, tmp_path, back_to_head):
    """Each migration runs in its own transaction, batch rebuilds included: the one before the
    failure stays, the failing one leaves no table, no column, no changed row, and
    alembic_version where the one before left it (SQLite and PostgreSQL)."""
    from desk.models import Ticket, TicketEvent
    ticket = make_ticket(subject="انقطاع الكهرباء عن المستودع")
    db.session.commit()
    events = db.session.scalar(select(sa.func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
    assert events and _found("الكهرباء") == [ticket.id]
    db.session.remove()
    chain = _chain(tmp_path, **{"9001_kept": KEPT, "9002_half_way": HALF_WAY})

    with pytest.raises(ValueError, match="failed half way"):
        upgrade(directory=chain)

    assert _revisions() == {"9001_kept"}
    assert "kept" in _tables() and "half_done" not in _tables()
    assert "half_done" not in _columns("tickets") and "half_done" not in _columns("users")
    assert db.session.get(Ticket, ticket.id).subject == "انقطاع الكهرباء عن المستودع"
    assert db.session.scalar(select(sa.func.count()).select_from(TicketEvent)
                             .where(TicketEvent.ticket_id == ticket.id)) == events
    assert _found("الكهرباء") == [ticket.id]  # SQLite: the search triggers came back with the table
    db.session.remove()
    # The desk's check knows a database a newer chain upgraded, and a chain it is behind.
    with db.engine.connect() as connection:
        assert "9001_kept, which this version of the desk does not know" in schema_problem(connection, MIGRATIONS)
        assert "behind this code's head 9002_half_way" in schema_problem(connection, chain)

    downgrade(directory=chain, revision=HEAD)
    assert _revisions() == {HEAD} and "kept" not in _tables()
    if db.engine.dialect.name == "sqlite":  # the pool's connections are as the desk made them
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.connection.driver_connection.isolation_level == ""


def test_a_migration_that_breaks_a_foreign_key_is_rolled_back(db, tmp_path, back_to_head):
    """SQLite runs migrations with its foreign keys off (a rebuild must not cascade): each one's
    rows are checked before its COMMIT instead. PostgreSQL refuses the row as it comes."""
    chain = _chain(tmp_path, **{"9001_dangling": DANGLING})
    db.session.remove()
    with pytest.raises((SystemExit, sa.exc.IntegrityError)):  # Flask-Migrate: the RuntimeError → exit 1
        upgrade(directory=chain)
    assert _revisions() == {HEAD}
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM ticket_events WHERE ticket_id = 987654321").scalar() == 0


def test_sqlite_transactional_ddl_hands_the_connection_back_as_it_was(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("pysqlite's transaction handling")
        with db.engine.connect() as connection:
            raw = connection.connection.driver_connection
            with sqlite_transactional_ddl(connection):
                assert raw.isolation_level is None
                connection.exec_driver_sql("CREATE TABLE rolled_back (id INTEGER)")
                assert raw.in_transaction  # the DDL is inside the BEGIN SQLAlchemy emitted
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
                connection.rollback()
            assert raw.isolation_level == "" and not raw.in_transaction
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert "rolled_back" not in _tables()


def test_every_migration_goes_down_and_up_again(db, make_ticket, back_to_head):
    """upgrade → downgrade (to 0002 with a ticket in, then to base) → upgrade, over every
    migration, on SQLite and PostgreSQL. On SQLite the downgrades rebuild `tickets` (batch
    move and copy): its events must survive that."""
    ticket = make_ticket(subject="ماء مقطوع")
    db.session.commit()
    rows = {"tickets": "id", "ticket_events": "ticket_id"}

    def counts() -> dict[str, int]:
        with db.engine.connect() as connection:
            return {table: connection.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {column} = :id"),  # noqa: S608
                                              {"id": ticket.id}).scalar_one() for table, column in rows.items()}

    before = counts()
    assert before["tickets"] == 1 and before["ticket_events"] >= 1
    db.session.remove()

    downgrade(revision="0002_search_due")
    assert _revisions() == {"0002_search_due"}
    assert counts() == before

    downgrade(revision="base")
    assert _revisions() == set()
    assert _tables() == {"alembic_version"}

    upgrade()
    assert _revisions() == {HEAD}
    with db.engine.connect() as connection:
        include = lambda obj, name, type_, reflected, compare_to: not is_search_index(name)  # noqa: E731
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include})
        assert compare_metadata(context, Base.metadata) == []
    assert db.session.scalar(select(sa.func.count()).select_from(Base.metadata.tables["tickets"])) == 0


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    """``python -m COMMAND`` in the checkout, as production runs it, on the session's database
    (DESK_DATABASE_URL, set by conftest). Each ends by itself: the timeout only stops a gunicorn
    that started when it should not have (and so serves until stopped)."""
    env = {**os.environ, "DESK_ENV": "production", "DESK_BASE_URL": "https://desk.example.org"}
    return subprocess.run([sys.executable, "-m", *command], cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120, check=False)


def _started(config: dict) -> Flask:
    """create_app(config), its engine let go of at once (create_app may have connected)."""
    started = create_app(config)
    with started.app_context():
        db.engine.dispose()
    return started


PRODUCTION = {"DESK_ENV": "production", "DESK_BASE_URL": "https://desk.example.org"}


def test_production_refuses_a_database_behind_the_migrations(app, back_to_head, caplog):
    """A production desk does not start on a database one migration behind, and says what to
    run; that command (`flask db upgrade`) is never refused, and after it the desk starts.
    Development starts with a warning; tests are not checked."""
    previous = ScriptDirectory(MIGRATIONS).get_revision(HEAD).down_revision
    with app.app_context():
        downgrade(revision=previous)

        # gunicorn, as the README starts it: the worker cannot boot, and gunicorn stops, saying why.
        served = _run("gunicorn", "--workers", "1", "--bind", "127.0.0.1:0", "wsgi:app")
        assert served.returncode == 3, served.stderr
        assert f"The desk will not start: The database is at revision {previous}, behind this code's head {HEAD}" \
            in served.stderr
        assert f"run `{UPGRADE_COMMAND}`" in served.stderr

        with pytest.raises(SchemaNotCurrent, match=re.escape(UPGRADE_COMMAND)):
            create_app(PRODUCTION)
        logger = logging.getLogger("desk")  # (env.py's fileConfig took caplog's handler off the root)
        logger.addHandler(caplog.handler)
        try:
            _started({"DESK_ENV": "development"})
        finally:
            logger.removeHandler(caplog.handler)
        assert f"behind this code's head {HEAD}" in caplog.text and UPGRADE_COMMAND in caplog.text
        _started({"DESK_ENV": "testing"})

        refused = _run("flask", "--app", "wsgi", "desk", "analyze")
        assert refused.returncode == 1 and "The command will not run" in refused.stderr, refused.stderr
        assert UPGRADE_COMMAND in refused.stderr
        assert _run("flask", "--app", "wsgi", "db", "current").stdout.strip().startswith(previous)

        upgraded = _run("flask", "--app", "wsgi", "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        assert _revisions() == {HEAD}
        assert _started(PRODUCTION).test_client().get("/healthz").status_code == 200
        assert _run("flask", "--app", "wsgi", "desk", "analyze").returncode == 0


def test_a_database_no_migration_ran_on_is_refused(app, back_to_head):
    """No alembic_version at all (an empty database): refused with the command that builds it
    (on PostgreSQL the failed query must not leave its transaction aborted)."""
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE alembic_version RENAME TO alembic_version_aside"))
        try:
            with db.engine.connect() as connection:
                problem = schema_problem(connection, MIGRATIONS)
                assert connection.execute(sa.text("SELECT 1")).scalar() == 1
            assert problem is not None and "no schema yet" in problem and UPGRADE_COMMAND in problem
            with pytest.raises(SchemaNotCurrent, match="no schema yet"):
                create_app(PRODUCTION)
        finally:
            with db.engine.begin() as connection:
                connection.execute(sa.text("ALTER TABLE alembic_version_aside RENAME TO alembic_version"))


def test_the_start_check_is_one_query(app):
    with app.app_context(), db.engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))  # connected, the dialect initialised
        statements: list[str] = []
        sa.event.listen(connection, "before_cursor_execute", lambda conn, cursor, statement, *rest: statements.append(statement))
        assert schema_problem(connection, MIGRATIONS) is None
    assert statements == ["SELECT version_num FROM alembic_version"]


def test_production_refuses_to_start_when_it_cannot_tell(tmp_path, caplog):
    """A database that cannot be reached cannot be checked: production does not start on it."""
    unreachable = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'no-such-folder' / 'desk.db'}"}
    with pytest.raises(SchemaNotCurrent, match="could not be reached to check its schema"):
        create_app({**PRODUCTION, **unreachable})
    logger = logging.getLogger("desk")
    logger.addHandler(caplog.handler)
    try:
        _started({"DESK_ENV": "development", **unreachable})
    finally:
        logger.removeHandler(caplog.handler)
    assert "could not be reached" in caplog.text


def test_migration_0019_rewrites_the_search_texts_in_place(db, make_ticket, back_to_head):
    """0019_search writes every text again (new normaliser, stems) without rebuilding
    `tickets`, so on SQLite the FTS triggers stay and the index follows; it seeds the word
    groups, and goes down and up again."""
    from desk.models import Beneficiary, SearchWords, Ticket
    from desk.tickets.search import search_condition, ticket_search_text
    ticket = make_ticket(subject="شكوى من المسؤول", body="لم يرد")
    db.session.commit()
    person = ticket.beneficiary
    ticket_id, person_id, reference = ticket.id, person.id, ticket.reference
    db.session.remove()
    downgrade(revision="0018_accounts")
    with db.engine.begin() as connection:  # as the desk wrote them before: one normalised phrase
        connection.execute(sa.text("UPDATE tickets SET search_text = 'old text' WHERE id = :id"), {"id": ticket_id})
        connection.execute(sa.text("UPDATE beneficiaries SET search_name = 'old' WHERE id = :id"), {"id": person_id})
    upgrade()
    assert _revisions() == {HEAD}
    ticket = db.session.get(Ticket, ticket_id)
    assert ticket.search_text == ticket_search_text(reference, "شكوى من المسؤول", "لم يرد", person.name)
    assert db.session.get(Beneficiary, person_id).search_name == normalize_search(person.name)
    assert db.session.scalar(select(sa.func.count()).select_from(SearchWords)) > 40
    assert db.session.scalars(select(Ticket.id).where(search_condition(db.session, "مسئول شكوى"))).all() == [ticket_id]
    if db.engine.dialect.name == "sqlite":
        triggers = db.session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                              "AND name LIKE 'tickets_fts%'")).all()
        assert len(triggers) == 3


def test_migration_0026_indexes_the_names_there_and_goes_down_and_up(db, make_ticket, back_to_head):
    """0026_names: on SQLite an FTS5 trigram table over beneficiaries.search_name, filled with
    the names already there and kept by three triggers; down removes all four (PostgreSQL:
    nothing to do, 0019's pg_trgm index serves the lookup)."""
    from desk.beneficiaries.service import search_people
    from desk.models import Beneficiary
    person_id = make_ticket().beneficiary_id
    db.session.commit()
    db.session.remove()

    def names_index() -> set[str]:  # the table, its shadow tables and its triggers
        with db.engine.connect() as connection:
            return set(connection.scalars(sa.text("SELECT name FROM sqlite_master WHERE name LIKE 'beneficiaries_fts%'")))

    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:
        assert {"beneficiaries_fts", "beneficiaries_fts_insert", "beneficiaries_fts_update",
                "beneficiaries_fts_delete"} <= names_index()
    downgrade(revision="0025_counts")
    if sqlite:
        assert names_index() == set()
    with db.engine.begin() as connection:  # written while no trigger keeps an index
        connection.execute(sa.text("UPDATE beneficiaries SET name = 'هيفاء ناصر', search_name = 'هيفاء ناصر' "
                                   "WHERE id = :id"), {"id": person_id})
    upgrade()
    assert _revisions() == {HEAD}
    assert [b.id for b in search_people(db.session, "هيفاء ناصر")] == [person_id]
    assert db.session.get(Beneficiary, person_id).name == "هيفاء ناصر"
    if sqlite:
        assert db.session.scalar(sa.text("SELECT count(*) FROM beneficiaries_fts WHERE beneficiaries_fts MATCH "
                                         "'\"ناصر\"'")) == 1
