"""SQLite's two FTS5 tables are kept in step by six triggers the migrations create (0002, 0026).
The runtime copy (desk.tickets.search.SQLITE_TRIGGERS) is the migrations' SQL exactly; the index
check sees every one, ``repair_index`` makes a missing one again (and rebuilds its table), and
the start check warns about it."""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from desk import schema
from desk.models import Beneficiary
from desk.tickets import search as ticket_search

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"


def _migration_triggers() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in ("0002_search_and_due_indexes.py", "0026_names.py"):
        spec = importlib.util.spec_from_file_location(f"_migration_{name[:4]}", MIGRATIONS / name)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for statement in module.SQLITE_UP:
            if statement.startswith("CREATE TRIGGER"):
                found[statement.split()[2]] = statement
    return found


def test_the_runtime_copy_of_the_triggers_is_the_migrations_sql():
    migrations = _migration_triggers()
    assert len(migrations) == 6
    assert migrations == ticket_search.SQLITE_TRIGGERS
    assert {n for names in ticket_search.SQLITE_FTS_TRIGGERS.values() for n in names} == set(migrations)


def _sqlite(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's FTS5 triggers")


def _names_found(db, word: str) -> int:
    return int(db.session.scalar(sa.text("SELECT count(*) FROM beneficiaries_fts WHERE beneficiaries_fts MATCH :q"),
                                 {"q": f'"{word}"'}))


@pytest.mark.parametrize("trigger", sorted(ticket_search.SQLITE_TRIGGERS))
def test_each_missing_trigger_is_seen_warned_about_and_made_again(app, db, caplog, trigger):
    _sqlite(db)
    session = db.session
    assert ticket_search.missing_sqlite_triggers(session.connection()) == []
    assert not ticket_search._index_broken(session)
    session.execute(sa.text(f"DROP TRIGGER {trigger}"))
    session.commit()
    try:
        assert ticket_search.missing_sqlite_triggers(session.connection()) == [trigger]
        assert ticket_search._index_broken(session)
        with caplog.at_level(logging.WARNING):
            schema._warn_about_the_search_index(app)
        assert trigger in caplog.text and "reindex-search" in caplog.text
    finally:
        assert ticket_search.repair_index(session) is True
    assert ticket_search.missing_sqlite_triggers(session.connection()) == []
    assert ticket_search.repair_index(session) is False
    sql = session.scalar(sa.text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": trigger})
    assert sql == ticket_search.SQLITE_TRIGGERS[trigger]  # SQLite keeps it without "IF NOT EXISTS"


def test_a_name_changed_while_its_trigger_was_missing_is_indexed_again(db):
    _sqlite(db)
    session = db.session
    person = Beneficiary(name="زبرجدة القصيمي")
    person.refresh_search()
    session.add(person)
    session.commit()
    assert _names_found(db, "زبرجد") == 1
    session.execute(sa.text("DROP TRIGGER beneficiaries_fts_update"))
    person.name = "ياقوتة"
    person.refresh_search()
    session.commit()
    assert _names_found(db, "زبرجد") == 1  # stale: what the repair is for
    assert ticket_search.repair_index(session) is True
    assert _names_found(db, "زبرجد") == 0 and _names_found(db, "ياقوت") == 1


def test_no_trigger_warning_on_postgresql(db):
    with db.engine.connect() as connection:
        assert ticket_search.sqlite_trigger_problem(connection) is None
