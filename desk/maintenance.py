"""Database upkeep the query planner depends on.

SQLite chooses its plans from ``sqlite_stat1``, which only ANALYZE writes: without it (a
database never analysed, or a table rebuilt by a migration) the queue's first page sorts every
open ticket instead of reading the newest first (15 ms → 75 ms at 100,000 tickets). PostgreSQL's
autovacuum analyses by itself; an explicit ANALYZE after a bulk load only makes it sooner.

The FTS5 search tables' own tables (``tickets_fts_data`` …) are left out of the statistics:
FTS5 reads and writes them by key, and a count ANALYZE took while they were nearly empty
(``desk demo`` analyses a new database) made SQLite 3.40 delete a merged segment's pages with
only the lower bound of their id range, reading every page above it: each of the ~100,000
merges of a bulk load then read the rest of the index, and 100,000 names took 46 s instead of
9 s to index (a million tickets did not finish in half an hour). With no row for them the
planner keeps both bounds whatever their size.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desk.transaction import commit

# Rows SQLite samples per index: approximate statistics, and ANALYZE stays well under a second.
SQLITE_ANALYSIS_LIMIT = 2000


def refresh_statistics(session: Session) -> None:
    """ANALYZE the whole database (commits first: ANALYZE is not for the middle of a change);
    on SQLite every table but the FTS5 tables' own (see above)."""
    commit(session)
    if session.get_bind().dialect.name != "sqlite":
        session.execute(sa.text("ANALYZE"))
        commit(session)
        return
    session.execute(sa.text(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}"))
    shadows = fts_shadow_tables(session)
    if shadows and session.scalar(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")):
        # Rows an earlier ANALYZE wrote for them go first; each ANALYZE below then has every
        # connection read the statistics again.
        session.execute(sa.text("DELETE FROM sqlite_stat1 WHERE tbl IN :names")
                        .bindparams(sa.bindparam("names", expanding=True)), {"names": shadows})
    tables = session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                                     "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name")).all()
    for name in tables:
        if name not in shadows:
            session.execute(sa.text(f'ANALYZE "{name}"'))  # names from the schema itself
    commit(session)


def fts_shadow_tables(session: Session) -> list[str]:
    """SQLite: the tables each FTS5 table keeps its index in (``<name>_data``, ``_idx``,
    ``_docsize``, ``_config``, ``_content``)."""
    virtual = session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'table' "
                                      "AND sql LIKE 'CREATE VIRTUAL TABLE%USING fts5%'")).all()
    return [f"{name}_{part}" for name in virtual for part in ("data", "idx", "docsize", "config", "content")]
