"""What an erasure or a retention run leaves in a SQLite file, and how little.

Updating a row does not wipe its old bytes by itself: SQLite leaves freed space as it was, the
FTS5 tables take an old text out by writing a "delete" entry beside it (the old trigrams stay in
their segment until the segments are merged), and the WAL keeps every page image written since
the last checkpoint. So, on SQLite:

- every connection runs ``PRAGMA secure_delete=ON`` (desk/__init__.py): freed space is zeroed;
- after an erasure, both FTS tables' segments are merged, at most ``ERASURE_MERGE_STEPS`` steps
  of ``MERGE_PAGES`` pages each (the person waiting on the page is not kept long); ``desk
  retention`` (daily) finishes any larger merge;
- then ``PRAGMA wal_checkpoint(TRUNCATE)`` writes the pages home and empties the WAL (after each
  retention run too). A reader holding an old snapshot at that moment keeps the WAL: the next
  run's checkpoint empties it.

What this cannot reach: a copy of the database file made before (renamed, copied, a backup,
the archives of ``desk backup``) still holds the data until it expires; pages SQLite reuses
rather than frees keep no old data, but the file does not shrink — ``VACUUM`` (with the desk
stopped) rewrites it whole and is advised after a large erasure. FTS5's own ``secure-delete``
option (SQLite 3.42+), which removes an entry from its segment at once, is not used: the
machines this runs on have SQLite 3.40.1, which lacks it; the merges above do its work later.
PostgreSQL: nothing here applies (its dead tuples go with VACUUM, which autovacuum runs).
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desk.tickets.search import SQLITE_FTS_TABLE, SQLITE_NAMES_FTS_TABLE, sqlite_has
from desk.transaction import commit

log = logging.getLogger(__name__)

MERGE_PAGES = 500
ERASURE_MERGE_STEPS = 60
FTS_TABLES = (SQLITE_FTS_TABLE, SQLITE_NAMES_FTS_TABLE)


def _merge_step(session: Session, table: str, pages: int) -> bool:
    """One FTS5 'merge' of about ``pages`` pages; whether it did any work (FTS5 says so by the
    connection's change count growing by 2 or more)."""
    before = int(session.scalar(sa.text("SELECT total_changes()")) or 0)
    session.execute(sa.text(f"INSERT INTO {table}({table}, rank) VALUES ('merge', :pages)"),  # noqa: S608
                    {"pages": pages})
    return int(session.scalar(sa.text("SELECT total_changes()")) or 0) - before >= 2


def merge_fts(session: Session, steps: int | None = ERASURE_MERGE_STEPS) -> bool:
    """Merge each FTS table's segments, committing after every step: at most ``steps`` steps a
    table (None: until done). True when both are merged whole."""
    done = True
    for table in FTS_TABLES:
        if not sqlite_has(session, table):
            continue
        pages = -MERGE_PAGES  # negative first: every segment on one level, merged even if only two
        taken = 0
        while True:
            if steps is not None and taken >= steps:
                done = False
                break
            worked = _merge_step(session, table, pages)
            commit(session)
            taken += 1
            pages = MERGE_PAGES  # then go on with the merge started
            if not worked:
                break
    return done


def checkpoint(session: Session) -> bool:
    """``PRAGMA wal_checkpoint(TRUNCATE)``: True when the WAL was written home and emptied."""
    commit(session)
    busy = session.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
    commit(session)
    if busy is not None and busy[0]:
        log.warning("scrub: the WAL could not be emptied now (a reader holds it); the next checkpoint will")
        return False
    return True


def after_erasure(session: Session) -> None:
    """What an erasure does once committed (SQLite only)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    if not merge_fts(session, ERASURE_MERGE_STEPS):
        log.info("scrub: the search index's merge goes on at the next `desk retention`")
    checkpoint(session)


def after_retention(session: Session) -> None:
    """What the retention run does at its end (SQLite only): every merge finished, the WAL emptied."""
    if session.get_bind().dialect.name != "sqlite":
        return
    merge_fts(session, None)
    checkpoint(session)
