"""The planner's statistics (desk.maintenance.refresh_statistics), on a database of its own:
ANALYZE on the shared test database would change the plans other tests see."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from desk import create_app
from desk.extensions import db
from desk.maintenance import fts_shadow_tables, refresh_statistics

# FTS5 deletes a merged segment's pages by their id range (fts5_index.c).
SEGMENT_DELETE = "EXPLAIN QUERY PLAN DELETE FROM {table}_data WHERE id >= 1 AND id <= 5"


@pytest.fixture
def own(app, tmp_path):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's planner statistics")
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'stats.db'}"})
    with other.app_context():
        upgrade()
        yield other
        db.session.remove()
        db.engine.dispose()


def _stat_tables() -> set[str]:
    return set(db.session.scalars(sa.text("SELECT tbl FROM sqlite_stat1")))


def test_the_search_index_tables_get_no_statistics_and_stale_ones_go(own):
    shadows = fts_shadow_tables(db.session)
    assert {"tickets_fts_data", "tickets_fts_idx", "beneficiaries_fts_data"} <= set(shadows)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO tickets_fts(rowid, search_text) VALUES (1, 'شكوى الطابعة')")
        conn.exec_driver_sql("ANALYZE")  # as the desk did before: the search tables too
    assert "tickets_fts_data" in _stat_tables()
    refresh_statistics(db.session)
    analysed = _stat_tables()
    assert "search_words" in analysed  # the seeded tables are analysed as before
    assert not analysed & set(shadows)


def test_a_segment_of_an_analysed_small_index_is_deleted_by_both_ends_of_its_range(own):
    """With a row count taken while the index was nearly empty, SQLite 3.40 deleted a merged
    segment's pages reading from its first id to the end of the table (every merge of a bulk
    load read the rest of the index)."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO beneficiaries_fts(rowid, search_name) VALUES (1, 'نورة سالم الدوسري')")
    refresh_statistics(db.session)
    db.engine.dispose()  # every connection reads the statistics afresh, as the next process would
    for table in ("tickets_fts", "beneficiaries_fts"):
        plan = " ".join(row[-1] for row in db.session.execute(sa.text(SEGMENT_DELETE.format(table=table))))
        assert "rowid>? AND rowid<?" in plan, plan
