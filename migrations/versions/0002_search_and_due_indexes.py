"""search and overdue indexes: trigram search on both databases, due_at

A substring search on tickets.search_text read every row when few tickets matched (140 ms at
100,000 tickets). PostgreSQL gets a pg_trgm GIN index, which LIKE '%…%' uses as it is;
SQLite gets an FTS5 trigram table over the same column, kept in step by triggers. Both live
outside the models: see desk/tickets/search.py, and env.py, which tells autogenerate so.

The Overdue count read every open ticket for want of an index on due_at (17 ms at 100,000
tickets on SQLite). The index is on due_at alone: a (status, due_at) index, before ANALYZE
had seen it, made SQLite's planner prefer it for the queue's first page and sort every open
ticket (0.4 ms → 22 ms).

On SQLite, a later migration that rebuilds `tickets` (batch "move and copy") drops the
triggers with the old table: such a migration must run SQLITE_UP's triggers again.

Revision ID: 0002_search_due
Revises: cd8bf81ba480
Create Date: 2026-11-23 17:00:00

"""
from alembic import op

revision = "0002_search_due"
down_revision = "cd8bf81ba480"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE tickets_fts USING fts5("
    "search_text, content='tickets', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN "
    "INSERT INTO tickets_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN "
    "INSERT INTO tickets_fts(tickets_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER tickets_fts_update AFTER UPDATE OF search_text ON tickets BEGIN "
    "INSERT INTO tickets_fts(tickets_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO tickets_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO tickets_fts(tickets_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS tickets_fts_update",
    "DROP TRIGGER IF EXISTS tickets_fts_delete",
    "DROP TRIGGER IF EXISTS tickets_fts_insert",
    "DROP TABLE IF EXISTS tickets_fts",
]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",  # a trusted extension: the database owner may create it
    "CREATE INDEX ix_tickets_search_trgm ON tickets USING gin (search_text gin_trgm_ops)",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_tickets_search_trgm"]


def upgrade():
    op.create_index("ix_tickets_due", "tickets", ["due_at"], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_UP if dialect == "sqlite" else POSTGRES_UP if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRES_DOWN if dialect == "postgresql" else []:
        op.execute(statement)
    op.drop_index("ix_tickets_due", table_name="tickets")
