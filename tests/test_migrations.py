"""The migrations build exactly the schema the models describe (on SQLite and PostgreSQL)."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from desk.extensions import db
from desk.models import Base
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
    from desk.text import normalize_search
    from desk.tickets.search import search_condition
    ticket = make_ticket(subject="انقطاع الكهرباء عن المستودع")
    db.session.commit()

    def found(text):
        return db.session.scalars(select(Ticket.id).where(search_condition(db.session, text))).all()

    assert found("الكهرباء") == [ticket.id]
    monkeypatch.setattr("desk.tickets.search.SQLITE_MANY", 0)  # SQLite: "many matches" → LIKE
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
    import pytest
    from flask_migrate import upgrade

    from desk import create_app

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
