"""names: the intake's name lookup through a trigram index on SQLite too

The lookup matches every typed word with LIKE '%…%' on beneficiaries.search_name. PostgreSQL
serves that from its pg_trgm index (0019_search); SQLite read every beneficiary (~110 ms at
1,000,000 tickets). SQLite gets an FTS5 trigram table over the same column, as 0002 gave the
tickets: external content, kept in step by triggers. An update or a delete removes the old
text with FTS5's 'delete' command, so a name corrected or erased (desk.privacy) is no longer
found through the index. It lives outside the models (desk/tickets/search.py, env.py).

On SQLite, a later migration that rebuilds `beneficiaries` (batch "move and copy") drops the
triggers with the old table: such a migration must run SQLITE_UP's triggers again.

Revision ID: 0026_names
Revises: 0025_counts
Create Date: 2026-12-05 16:00:00

"""
from alembic import op

revision = '0026_names'
down_revision = '0025_counts'
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE beneficiaries_fts USING fts5("
    "search_name, content='beneficiaries', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER beneficiaries_fts_insert AFTER INSERT ON beneficiaries BEGIN "
    "INSERT INTO beneficiaries_fts(rowid, search_name) VALUES (new.id, new.search_name); END",
    "CREATE TRIGGER beneficiaries_fts_delete AFTER DELETE ON beneficiaries BEGIN "
    "INSERT INTO beneficiaries_fts(beneficiaries_fts, rowid, search_name) "
    "VALUES ('delete', old.id, old.search_name); END",
    "CREATE TRIGGER beneficiaries_fts_update AFTER UPDATE OF search_name ON beneficiaries BEGIN "
    "INSERT INTO beneficiaries_fts(beneficiaries_fts, rowid, search_name) "
    "VALUES ('delete', old.id, old.search_name); "
    "INSERT INTO beneficiaries_fts(rowid, search_name) VALUES (new.id, new.search_name); END",
    "INSERT INTO beneficiaries_fts(beneficiaries_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS beneficiaries_fts_update",
    "DROP TRIGGER IF EXISTS beneficiaries_fts_delete",
    "DROP TRIGGER IF EXISTS beneficiaries_fts_insert",
    "DROP TABLE IF EXISTS beneficiaries_fts",
]


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
