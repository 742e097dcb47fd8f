"""A bulk load (``desk generate``) indexes its tickets for search once, at the end, and leaves
the index whole however it ends: finished, failed half-way, or killed (``repair_index``).
The beneficiaries it adds are indexed row by row, by the triggers of migration 0026 (on
SQLite): in the same transaction as the rows, so whatever commits is indexed, and nothing else."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from desk.beneficiaries.service import NewBeneficiary
from desk.demo import generator
from desk.demo.generator import generate
from desk.models import Beneficiary, Ticket
from desk.tickets import search as ticket_search


def _indexed_and_matching(db, needle: str) -> tuple[int, int]:
    """(tickets the search index finds for ``needle``, tickets whose text holds it)."""
    session = db.session
    like = session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(Ticket.search_text.contains(needle)))
    if session.get_bind().dialect.name == "sqlite":
        indexed = session.scalar(sa.text("SELECT count(*) FROM tickets_fts WHERE tickets_fts MATCH :q"),
                                 {"q": f'"{needle}"'})
    else:
        session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(session.scalars(sa.text(
            "EXPLAIN SELECT count(*) FROM tickets WHERE search_text LIKE :q"), {"q": f"%{needle}%"}))
        assert ticket_search.POSTGRES_TRGM_INDEX in plan
        indexed = like
    return indexed, like


def _a_word(db) -> str:
    text = db.session.scalar(sa.select(Ticket.search_text).order_by(Ticket.id.desc()).limit(1))
    return max(text.split(), key=len)[:5]


def _names_indexed(db) -> None:
    """On SQLite, the names' trigram index holds exactly the names in the table."""
    session = db.session
    if session.get_bind().dialect.name != "sqlite":
        return
    session.execute(sa.text("INSERT INTO beneficiaries_fts(beneficiaries_fts, rank) VALUES ('integrity-check', 1)"))
    name = session.scalar(sa.select(Beneficiary.search_name).order_by(Beneficiary.id.desc()).limit(1))
    word = max(name.split(), key=len)
    like = session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)
                          .where(Beneficiary.search_name.contains(word)))
    indexed = session.scalar(sa.text("SELECT count(*) FROM beneficiaries_fts WHERE beneficiaries_fts MATCH :q"),
                             {"q": f'"{word}"'})
    assert indexed == like > 0


def test_a_bulk_load_is_searchable_and_the_index_keeps_up_afterwards(db, make_ticket):
    assert generate(db.session, 300, seed=3, batch=100) == 300
    assert not ticket_search._index_broken(db.session)
    _names_indexed(db)
    word = _a_word(db)
    indexed, matching = _indexed_and_matching(db, word)
    assert matching > 0 and indexed == matching
    # A ticket recorded afterwards is indexed row by row again (the trigger is back).
    make_ticket(subject="طابعة زرقاء معطلة")
    assert _indexed_and_matching(db, "زرقاء") == (1, 1)


class Stop(Exception):
    pass


def test_a_load_that_fails_half_way_leaves_what_it_committed_searchable(db):
    def progress(done: int) -> None:
        if done >= 100:
            raise Stop

    with pytest.raises(Stop):
        generate(db.session, 300, seed=4, batch=100, progress=progress)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 100
    assert not ticket_search._index_broken(db.session)
    indexed, matching = _indexed_and_matching(db, _a_word(db))
    assert matching > 0 and indexed == matching
    _names_indexed(db)


def test_a_load_that_fails_among_its_beneficiaries_leaves_the_names_index_whole(db, make_ticket, monkeypatch):
    make_ticket(new_beneficiary=NewBeneficiary(name="هيفاء ناصر الدوسري", phone="+966509990001"))
    db.session.commit()
    batches = 0

    def failing_insert(table):
        nonlocal batches
        if table is Beneficiary.__table__:
            batches += 1
            if batches == 2:  # the first batch of names is in, not yet committed
                raise Stop
        return sa.insert(table)

    monkeypatch.setattr(generator, "insert", failing_insert)
    with pytest.raises(Stop):
        generate(db.session, 600, seed=6, batch=100)
    assert batches == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 1
    _names_indexed(db)
    assert ticket_search.repair_index(db.session) is False  # nothing left to repair
    monkeypatch.undo()
    assert generate(db.session, 300, seed=6, batch=100) == 300  # the next load goes on as usual
    _names_indexed(db)


def test_an_index_left_broken_by_a_killed_load_is_repaired(db):
    generate(db.session, 200, seed=5, batch=100)
    session = db.session
    if session.get_bind().dialect.name == "sqlite":  # what a load killed between its batches leaves
        session.execute(sa.text("DROP TRIGGER tickets_fts_insert"))
        session.execute(sa.text("INSERT INTO tickets_fts(tickets_fts) VALUES ('delete-all')"))
    else:
        session.execute(sa.text(f"DROP INDEX {ticket_search.POSTGRES_TRGM_INDEX}"))
    session.commit()
    assert ticket_search._index_broken(session)
    assert ticket_search.repair_index(session) is True
    assert ticket_search.repair_index(session) is False  # whole: nothing to do
    indexed, matching = _indexed_and_matching(db, _a_word(db))
    assert matching > 0 and indexed == matching
    _names_indexed(db)


def test_desk_generate_rolls_the_statistics_up(app, db):
    """Generated tickets reach three years back: `desk generate` rolls the statistics up from
    the first day, so the statistics page does not count them live."""
    from desk.stats import rollup
    from desk.text import today_riyadh

    result = app.test_cli_runner().invoke(args=["desk", "generate", "--tickets", "60", "--batch", "30"])
    assert result.exit_code == 0, result.output
    assert "statistics rolled up" in result.output
    db.session.remove()
    assert rollup.rolled_through(db.session) == today_riyadh() - timedelta(days=1)
    received = db.session.scalar(sa.select(sa.func.sum(rollup.StatsRollup.received))
                                 .where(rollup.StatsRollup.grain == "d"))
    created_before_today = db.session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(
        Ticket.created_at < rollup.utc_bounds(today_riyadh(), today_riyadh())[0]))
    assert received == created_before_today > 0
