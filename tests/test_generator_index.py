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
    if db.session.get_bind().dialect.name == "sqlite":  # the build's large FTS5 hash is not kept
        stored = db.session.scalar(sa.text("SELECT v FROM tickets_fts_config WHERE k = 'hashsize'"))
        assert stored == ticket_search.SQLITE_DEFAULT_HASH_BYTES
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
    real_insert = generator._insert

    def failing_insert(session, table, rows):
        nonlocal batches
        if table is Beneficiary.__table__:
            batches += 1
            if batches == 2:  # the first batch of names is in, not yet committed
                raise Stop
        real_insert(session, table, rows)

    monkeypatch.setattr(generator, "_insert", failing_insert)
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


# PostgreSQL: the secondary indexes of the tables a bulk load fills --------------------------

def _index_definitions(session) -> dict[str, str]:
    """Every index of the tables a bulk load fills, as PostgreSQL defines it now."""
    return dict(session.execute(sa.text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN :tables")
        .bindparams(sa.bindparam("tables", expanding=True)), {"tables": list(ticket_search.BULK_TABLES)}).all())


def _postgres_only(db) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's indexes (SQLite keeps its own while loading)")


def test_a_large_load_builds_the_indexes_at_the_end_and_a_small_one_drops_none(db):
    """A load at least the table's size runs without the secondary indexes and ends with every
    one of them as it was; a smaller load into a populated desk drops nothing."""
    _postgres_only(db)
    session = db.session
    before = _index_definitions(session)
    declared = {str(index.name) for table in ticket_search.BULK_TABLES
                for index in Ticket.metadata.tables[table].indexes}
    assert declared | set(ticket_search.POSTGRES_SEARCH_INDEXES) <= set(before)
    during: list[set[str]] = []

    def progress(done: int) -> None:
        during.append(set(_index_definitions(session)))

    generate(session, 200, seed=6, batch=100, progress=progress)
    assert during and all("ix_tickets_open_due" not in names and "ix_ticket_events_ticket" not in names
                          and ticket_search.POSTGRES_TRGM_INDEX not in names for names in during)
    assert {"pk_tickets", "uq_tickets_reference", "uq_satisfaction_responses_ticket_id"} <= during[0]
    assert _index_definitions(session) == before
    during.clear()
    generate(session, 50, seed=7, batch=25, progress=progress)
    assert during and all(names == set(before) for names in during)
    assert _index_definitions(session) == before


def test_indexes_dropped_by_a_killed_load_are_built_again(db):
    """A load killed between its batches leaves the tables without their secondary indexes:
    ``repair_index`` (``desk reindex-search``) builds every one the models and migrations
    declare, partial conditions and all, and so does the next bulk load, however small."""
    _postgres_only(db)
    session = db.session
    generate(session, 120, seed=8, batch=60)
    before = _index_definitions(session)
    secondary = sorted(name for name, definition in before.items() if "UNIQUE" not in definition)

    def kill_a_load() -> None:
        session.execute(sa.text(f"DROP INDEX {', '.join(secondary)}"))
        session.commit()

    kill_a_load()
    assert ticket_search._index_broken(session)
    assert ticket_search.repair_index(session) is True
    assert _index_definitions(session) == before
    assert "WHERE" in before["ix_tickets_open_due"]
    assert ticket_search.repair_index(session) is False
    kill_a_load()
    generate(session, 10, seed=9, batch=10)  # far smaller than the table
    assert _index_definitions(session) == before


def test_bulk_rows_are_stored_as_an_insert_stores_them(db):
    """The generator's bulk insert (COPY on PostgreSQL) keeps what an INSERT would: datetimes
    in UTC, JSON, awkward text, and the constant defaults of the columns it leaves out."""
    from datetime import UTC, datetime, timezone

    from desk.demo import generator
    from desk.models import Beneficiary, Kind, TicketEvent

    riyadh = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=3)))
    name = 'نورة\tالعتيبي\\N "x"\nline'
    generator._insert(db.session, Beneficiary.__table__, [
        dict(id=9001, name=name, search_name="", created_at=riyadh, phone=None)])
    generator._insert(db.session, Ticket.__table__, [dict(
        id=9002, reference="C-1447-900002", kind=Kind.COMPLAINT.value, channel="email", status="new", priority=2,
        subject="s", body="b", search_text="", beneficiary_id=9001, anonymous=False, created_at=riyadh,
        updated_at=riyadh, version=1, attested=False, meta={"from": "a@example.com", "n": [1, "٢"]})])
    generator._insert(db.session, TicketEvent.__table__, [
        dict(id=9003, ticket_id=9002, created_at=riyadh, kind="created", public=False, version=1)])
    db.session.commit()
    db.session.expunge_all()
    person = db.session.get(Beneficiary, 9001)
    assert (person.name, person.phone, person.created_at) == (name, None, riyadh)
    assert person.created_at.tzinfo == UTC
    assert (person.requester_kind, person.registration_state) == ("person", "new")
    ticket = db.session.get(Ticket, 9002)
    assert ticket.meta == {"from": "a@example.com", "n": [1, "٢"]} and ticket.created_at == riyadh
    event = db.session.get(TicketEvent, 9003)
    assert (event.reason, event.body, event.public) == (None, None, False)
    with pytest.raises(ValueError, match="created_at"):  # a default computed per row: given, or refused
        generator._insert(db.session, Beneficiary.__table__, [dict(id=9004, name="x", search_name="")])
