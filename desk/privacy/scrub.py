"""What an erasure or a retention run leaves in a SQLite file, and how little.

Updating a row does not wipe its old bytes by itself: SQLite leaves freed space as it was, the
FTS5 tables take an old text out by writing a "delete" entry beside it (the old trigrams stay in
their segment until the segments are merged), and the WAL keeps every page image written since
the last checkpoint. So, on SQLite:

- every connection runs ``PRAGMA secure_delete=ON`` (desk/__init__.py): freed space is zeroed;
- after an erasure, both FTS tables' segments are merged, at most ``ERASURE_MERGE_STEPS`` steps
  of ``MERGE_PAGES`` pages each (the person waiting on the page is not kept long); ``desk
  retention`` (daily) finishes any larger merge. Merging every segment rewrites the whole index:
  measured on a copy of the 100,000-ticket bench database (74 MB of tickets_fts), 38 steps,
  5.2-5.5 s with secure_delete off and 6.9-7.2 s on (2 runs each, machine shared): at that size
  an erasure's page waits that long; from ~160,000 tickets the 60 steps stop short and the
  retention run finishes;
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


def merge_fts(session: Session, steps: int | None = ERASURE_MERGE_STEPS, *, whole: bool = True) -> bool:
    """Merge each FTS table's segments, committing after every step: at most ``steps`` steps a
    table (None: until done). ``whole``: every segment into one (an erasure's, so its old
    trigrams are rewritten away); else only a merge already started goes on (with the levels
    that have filled up, as FTS5's automerge would). True when nothing is left to merge."""
    done = True
    for table in FTS_TABLES:
        if not sqlite_has(session, table):
            continue
        # Negative: every segment on one level, merged even if only two; positive: go on.
        pages = -MERGE_PAGES if whole else MERGE_PAGES
        taken = 0
        while True:
            if steps is not None and taken >= steps:
                done = False
                break
            worked = _merge_step(session, table, pages)
            commit(session)
            taken += 1
            pages = MERGE_PAGES
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


def after_retention(session: Session, anonymised: bool) -> None:
    """What the retention run does at its end (SQLite only): the merge an erasure started
    finished; when the run itself anonymised something, every segment merged into one (a
    rewrite of the whole index: ~38 steps, 5-7 s at 100,000 tickets, so not when nothing
    changed); the WAL emptied."""
    if session.get_bind().dialect.name != "sqlite":
        return
    merge_fts(session, None, whole=anonymised)
    checkpoint(session)
