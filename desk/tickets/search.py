"""What a ticket's free-text search covers, how it is indexed, and how it is rebuilt.

``search_text`` holds desk.search.indexed_text(reference + subject, body + beneficiary name):
the normalised text and its stems. The queue's box is parsed by desk.search.parse; every term
is a few substring needles, so the match is ``LIKE '%needle%'``, and each database gets a
trigram index (built by migration 0002):

- PostgreSQL: a GIN ``pg_trgm`` index on ``tickets.search_text``, which ``LIKE`` uses as is
  (provided its ctype lets pg_trgm see Arabic letters: see ``trigram_problem``); a page newest
  first of a search the newest tickets show to be common is read in order instead, the same
  needles by ``strpos`` (see ``POSTGRES_PROBE``);
- SQLite: an FTS5 ``trigram`` table over ``tickets.search_text`` (external content, kept in
  step by triggers), queried with the same needles as quoted phrases when it finds few tickets
  (see ``search_condition``).

Either index needs at least three characters; shorter needles fall back to ``LIKE``.
The intake's name lookup (desk.beneficiaries.service) matches ``beneficiaries.search_name``
the same way, served by a pg_trgm index (migration 0019) and an FTS5 trigram table
``beneficiaries_fts`` kept by triggers (0026), which bulk loads keep too (``deferred_index``).
A whole query that is a national ID or a mobile number also finds that beneficiary's tickets,
by the stored value (``Beneficiary.national_id`` / ``phone``), exactly.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from desk import search
from desk.models import Base, Beneficiary, Ticket
from desk.transaction import commit, discard

SQLITE_FTS_TABLE = "tickets_fts"
SQLITE_NAMES_FTS_TABLE = "beneficiaries_fts"  # the intake's name lookup (migration 0026; desk.beneficiaries)
POSTGRES_TRGM_INDEX = "ix_tickets_search_trgm"
POSTGRES_NAME_TRGM_INDEX = "ix_beneficiaries_search_name_trgm"
# Fetching k matches by id and sorting them costs ~k; reading the queue in order until a
# page of 50 is full costs ~50·N/k: even near k = √(50·N), about 2,000 at N = 100,000 (the
# least ever taken; a search reads up to √(50·N) ids: ~7,000 at 1,000,000, see ``_most_ids``).
SQLITE_MANY = 2000
# A search that finds a page among the newest SQLITE_WALK_WINDOW tickets is answered by reading
# the queue newest first, without reading every match's id from the trigram index: those ids
# cost ~13 ms for three Arabic words at 100,000 tickets (1,309 matches), the window's ~1 ms.
# When the window holds a few matches (SQLITE_WIDEN_FROM or more) but not a page, a wider one
# is tried, as wide as those matches say a page needs (with half again as margin), up to a
# SQLITE_WIDEST_SHARE-th of the table: at 1,000,000 tickets three Arabic words in 2,062 were 8
# among the newest 5,000 and 99 among 50,000 (~3 ms), where reading all their ids took 18 ms
# and reading the queue by LIKE 65 ms (page: 98 -> 37 ms). A page read through a window walks
# the window in order (~0.16 µs a ticket), so it is not widened on one or two matches, nor in a
# small table, where reading the ids costs less: at 100,000 tickets, widening to 50,000 made
# a name and a rare word 5-8 ms slower; at 1,000,000, 1-2 ms.
SQLITE_WALK_WINDOW = 5000
SQLITE_WIDEST_SHARE = 20
SQLITE_WIDEN_FROM = 3
SQLITE_WINDOW_IDS = 500  # at most this many of the window's ids are read (newest first)
SQLITE_PAGE = 51  # a queue page and one more (desk.queue.service)
# PostgreSQL, a page newest first: its planner guesses how many tickets a LIKE finds from a
# hundred sampled texts and multiplies the guesses of each word, so it fetched and sorted all
# 18,219 matches of three common Arabic words at 1,000,000 tickets (120 ms) where reading the
# queue in order fills the page within ~3,000 (3 ms). For one word its guess is often too
# high: it read the queue in order for "expenses" (1,002 of 1,000,000 tickets, guessed 5,608:
# 41,000 tickets read, 30-56 ms), so one word is read through the index's matches when the
# probe says so. The search's share is read from the
# newest POSTGRES_PROBE tickets (~0.5 ms), and the page is read in order (``strpos``, which
# no index serves) when that costs less: ~SQLITE_PAGE/share tickets read (a page and one
# more), against ~share·N matches fetched through the trigram index and sorted, each costing
# POSTGRES_MATCH_COST tickets read in order. Measured, a match costs three to four (1,000,000: 1.9 µs a match, 0.64 µs a
# ticket); half that is taken, as a walk misjudged has no bound (a name read in order at
# 1,000,000: 400 ms) where a sort misjudged costs its matches (100,000, three Arabic words in
# 969 tickets, 8 of the newest 500: sorted 3.9 ms, read in order 5.0 ms).
POSTGRES_PROBE = 500
POSTGRES_MATCH_COST = 1.5
REINDEX_BATCH = 2000
# The six triggers that keep SQLite's two FTS5 tables in step with their content tables, exactly
# as migrations 0002 (tickets) and 0026 (beneficiaries) create them (a test compares the two):
# the runtime copy lets the index check see every one and make again whichever is missing.
# A bulk load drops the tickets' insert trigger while it runs; a migration that rebuilds a table
# (batch "move and copy") drops its three with the old table.
SQLITE_TRIGGERS = {
    "tickets_fts_insert":
        "CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN "
        "INSERT INTO tickets_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "tickets_fts_delete":
        "CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN "
        "INSERT INTO tickets_fts(tickets_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "tickets_fts_update":
        "CREATE TRIGGER tickets_fts_update AFTER UPDATE OF search_text ON tickets BEGIN "
        "INSERT INTO tickets_fts(tickets_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
        "INSERT INTO tickets_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "beneficiaries_fts_insert":
        "CREATE TRIGGER beneficiaries_fts_insert AFTER INSERT ON beneficiaries BEGIN "
        "INSERT INTO beneficiaries_fts(rowid, search_name) VALUES (new.id, new.search_name); END",
    "beneficiaries_fts_delete":
        "CREATE TRIGGER beneficiaries_fts_delete AFTER DELETE ON beneficiaries BEGIN "
        "INSERT INTO beneficiaries_fts(beneficiaries_fts, rowid, search_name) "
        "VALUES ('delete', old.id, old.search_name); END",
    "beneficiaries_fts_update":
        "CREATE TRIGGER beneficiaries_fts_update AFTER UPDATE OF search_name ON beneficiaries BEGIN "
        "INSERT INTO beneficiaries_fts(beneficiaries_fts, rowid, search_name) "
        "VALUES ('delete', old.id, old.search_name); "
        "INSERT INTO beneficiaries_fts(rowid, search_name) VALUES (new.id, new.search_name); END",
}
# Each FTS table and its triggers.
SQLITE_FTS_TRIGGERS = {
    SQLITE_FTS_TABLE: ("tickets_fts_insert", "tickets_fts_delete", "tickets_fts_update"),
    SQLITE_NAMES_FTS_TABLE: ("beneficiaries_fts_insert", "beneficiaries_fts_delete", "beneficiaries_fts_update"),
}
# The trigger that indexes each new ticket on SQLite, dropped during a bulk load.
SQLITE_INSERT_TRIGGER = "tickets_fts_insert"


def _if_not_exists(name: str) -> str:
    return SQLITE_TRIGGERS[name].replace("CREATE TRIGGER ", "CREATE TRIGGER IF NOT EXISTS ", 1)


POSTGRES_TRGM_DDL = f"CREATE INDEX IF NOT EXISTS {POSTGRES_TRGM_INDEX} ON tickets USING gin (search_text gin_trgm_ops)"
# The indexes the migrations make outside the models (0002, 0019), as a bulk load re-creates them.
POSTGRES_SEARCH_INDEXES = {
    POSTGRES_TRGM_INDEX: POSTGRES_TRGM_DDL,
    POSTGRES_NAME_TRGM_INDEX: f"CREATE INDEX IF NOT EXISTS {POSTGRES_NAME_TRGM_INDEX} ON beneficiaries "
                              "USING gin (search_name gin_trgm_ops)",
}
# The tables a bulk load fills (desk.demo.generator). On PostgreSQL, when the load is at least
# as large as the table, their secondary indexes (the models' non-unique ones, and the trigram
# indexes above) are dropped while it runs and built once at the end: maintained row by row,
# the tickets' 23 took most of the load's time. Primary keys and unique indexes stay: they
# are the constraints that refuse a duplicate as it comes.
BULK_TABLES = ("tickets", "ticket_events", "beneficiaries", "satisfaction_responses")
# Memory for each index build at the end of a bulk load: a million tickets' B-tree keys sort
# in memory, and the trigram index takes its entries in fewer passes.
POSTGRES_BUILD_MEMORY = "512MB"
# FTS5's page cache while it is built in one go (KiB, as SQLite's PRAGMA takes it negated). The
# trigram index takes ~1.7 KiB a ticket; once it outgrows the cache, every merge of its segments
# reads pages back one system call at a time. Measured at load ~10: 300,000 tickets indexed in
# 149 s with 256 MiB and 76 s with 1 GiB; 1,000,000 with 256 MiB ran for over an hour, reading
# 1.3 TB through read(). So the cache grows with the table, 2 KiB a ticket, up to 4 GiB (pages
# are taken only as the index fills them; the default comes back when the build is done).
SQLITE_BUILD_CACHE_KIB_PER_TICKET = 2
SQLITE_BUILD_CACHE_KIB = (256 * 1024, 4 * 1024 * 1024)
# FTS5 gathers new entries in a hash table and writes them out as a segment when it holds this
# many bytes (1 MiB by default): a whole build in 1 MiB steps writes ~thousands of small
# segments that the final merge reads again. 128 MiB while the index is built in one go
# (1,000,000 tickets: the rebuild 34 s -> 26 s, and 61 s -> 50 s indexing the rows above an id);
# the default is put back in the same transaction, so the table keeps it afterwards.
SQLITE_BUILD_HASH_BYTES = 128 * 1024 * 1024
SQLITE_DEFAULT_HASH_BYTES = 1024 * 1024

def ticket_search_text(reference: str, subject: str, body: str | None, beneficiary_name: str | None) -> str:
    """The stored text the queue's search matches (reference and subject, then body and name)."""
    return search.indexed_text(subject or "", f"{body or ''} {beneficiary_name or ''}", label=reference)


def _beneficiary_tickets(query: search.Query) -> ColumnElement[bool] | None:
    """The tickets of the beneficiary whose national ID or phone the whole query is (exactly)."""
    if query.national_id:
        people = select(Beneficiary.id).where(Beneficiary.national_id == query.national_id)
    elif query.phone:
        people = select(Beneficiary.id).where(Beneficiary.phone == query.phone)
    else:
        return None
    return Ticket.beneficiary_id.in_(people)


def parse_query(session: Session, typed: str) -> search.Query:
    """The queue box's text as a desk.search.Query (with the admins' word groups)."""
    if not (typed or "").strip():
        return search.Query()
    return search.parse(typed, search.word_groups(session))


def search_condition(session: Session, typed: str | search.Query, *,
                     newest_first: bool = False) -> ColumnElement[bool] | None:
    """The WHERE condition for the queue's free-text box (None when nothing to search for).
    ``newest_first``: for a page read newest first (on SQLite the condition may then be one
    that such a walk reads cheaply and a count or another order would not)."""
    query = parse_query(session, typed) if isinstance(typed, str) else typed
    if not query:
        return None
    by_person = _beneficiary_tickets(query)
    if by_person is not None:
        # A whole ID or mobile number: that person's tickets (their index), not the same digits
        # somewhere in a text, whose OR would make the planner walk the queue to find a handful.
        return by_person
    return _text_condition(session, query.terms, newest_first)


def _text_condition(session: Session, terms: Sequence[search.Term], newest_first: bool = False) -> ColumnElement[bool] | None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return _postgres_condition(session, terms, newest_first)
    like = search.condition(Ticket.search_text, terms)
    if like is None or dialect != "sqlite":
        return like
    # SQLite's planner cannot see how many tickets match, so it is decided here: a few
    # matches are fetched through the trigram index; many are found sooner by reading the
    # queue in its order until a page is full (LIKE), than by sorting thousands of matches.
    indexed = search.trigram_terms(terms)
    if not indexed:
        return like
    newest = _newest_first(session, indexed, like) if newest_first else None
    if newest is not None:
        return newest
    # The matches' ids are read once, at most _most_ids + 1 of them, and the page takes them
    # as they are (a term the index looked for by a text its needles share is checked again):
    # the trigram index is not asked the same question twice.
    ids = search.fts_ids(session, search.fts_rowids(SQLITE_FTS_TABLE, indexed), _most_ids(session))
    if ids is None:
        return like
    rest = search.condition(Ticket.search_text, [t for t in terms if t not in indexed or not search.is_exact_in_index(t)])
    found = Ticket.id.in_(ids)
    return found if rest is None else sa.and_(found, rest)


def _postgres_condition(session: Session, terms: Sequence[search.Term], newest_first: bool) -> ColumnElement[bool] | None:
    """PostgreSQL: the trigram index's condition, which its planner reads through the index or
    in order as its guesses say. A page newest first is decided here (see POSTGRES_PROBE):
    read in order when the newest tickets say it pays, else through the index; for one word,
    whose guess the planner takes for commoner than it often is, the index's matches are
    read first (at most _most_ids of them) and the page takes their ids."""
    indexed = search.indexed_condition(Ticket.search_text, terms)
    if indexed is None or not newest_first:
        return indexed
    if _walk_is_cheaper(session, terms):
        return search.walk_condition(Ticket.search_text, terms)
    if len(terms) == 1:
        ids = search.fts_ids(session, select(Ticket.id).where(indexed), _most_ids(session))
        if ids is not None:  # one array, not a parameter per id (1,158 ids: 2.7 ms, 6.5 ms as an IN list)
            return Ticket.id == sa.any_(sa.bindparam("search_ids", ids, type_=postgresql.ARRAY(sa.Integer)))
    return indexed


def _walk_is_cheaper(session: Session, terms: Sequence[search.Term]) -> bool:
    """PostgreSQL: whether a page newest first is read sooner in order than through the
    trigram index, judged by the share of the newest POSTGRES_PROBE tickets the search finds
    and the table's size as the planner knows it (see POSTGRES_PROBE). Only the plan rests on
    it: ``walk_condition`` finds what ``condition`` finds."""
    newest = (select(Ticket.search_text).order_by(Ticket.created_at.desc(), Ticket.id.desc())
              .limit(POSTGRES_PROBE).subquery())
    walk = search.walk_condition(newest.c.search_text, terms)
    if walk is None:
        return False
    found = select(func.count()).select_from(newest).where(walk)
    size = (select(sa.column("reltuples", sa.Float)).select_from(sa.table("pg_class"))
            .where(sa.column("oid") == sa.text("'tickets'::regclass")))
    hits, tickets = session.execute(select(found.scalar_subquery(), size.scalar_subquery())).one()
    return walk_pays(hits, tickets)


def walk_pays(hits: int, tickets: float) -> bool:
    """Whether ``hits`` of the newest POSTGRES_PROBE tickets make a page read in order cheaper
    than the trigram index's matches sorted, in a table of ``tickets`` (the planner's count:
    unknown, -1, before the first ANALYZE)."""
    if not hits or tickets < POSTGRES_PROBE:
        return False
    share = hits / POSTGRES_PROBE
    return SQLITE_PAGE / share < POSTGRES_MATCH_COST * share * tickets


def _about_how_many(session: Session) -> int:
    """About how many tickets there are: the highest id (one step down the table's b-tree)."""
    return session.scalar(select(func.max(Ticket.id))) or 0


def _most_ids(session: Session) -> int:
    """How many matches' ids are worth reading and sorting rather than reading the queue in
    order: √(50·N) for N tickets, at least SQLITE_MANY."""
    return max(SQLITE_MANY, math.isqrt(SQLITE_PAGE * _about_how_many(session)))


def _newest_low_id(session: Session, window: int) -> int | None:
    """The id of the ``window``-th newest ticket, counted backwards along ix_tickets_created
    (None: there are fewer tickets)."""
    return session.scalar(select(Ticket.id).order_by(Ticket.created_at.desc(), Ticket.id.desc())
                          .offset(window - 1).limit(1))


def _newest_first(session: Session, indexed: Sequence[search.Term], like: ColumnElement[bool]) -> ColumnElement[bool] | None:
    """The condition for reading the queue newest first, when the trigram index finds a page
    of matches among the tickets with an id from the newest window's lowest on (None: fewer,
    or no window). Those ids are read from the index (bounded by the window, ~1 ms); a ticket
    of the window is then set aside by its id, and one the index found is confirmed by the
    LIKE, so a ticket matches exactly when ``like`` holds, whichever way it is read. Only
    older tickets (a page thinned by the queue's filters) are read by LIKE alone. Ids follow
    creation here but need not: only the choice of a plan rests on it, not the results."""
    rowids = search.fts_rowids(SQLITE_FTS_TABLE, indexed)
    rowid = rowids.selected_columns[0]
    window, widest = SQLITE_WALK_WINDOW, None
    while True:  # at most three windows: each at least twice as wide, up to the widest
        low = _newest_low_id(session, window)
        if low is None:
            return None
        ids = list(session.scalars(rowids.where(rowid >= low).order_by(rowid.desc()).limit(SQLITE_WINDOW_IDS)))
        if len(ids) >= SQLITE_PAGE:
            break
        if len(ids) < SQLITE_WIDEN_FROM:
            return None
        if widest is None:  # the table's size, read only when a window is to be widened
            widest = max(SQLITE_WALK_WINDOW, _about_how_many(session) // SQLITE_WIDEST_SHARE)
        if window >= widest:
            return None
        window = min(widest, window * math.ceil(SQLITE_PAGE * 1.5 / len(ids)))
    if len(ids) == SQLITE_WINDOW_IDS:  # a common word: the window ends at the last id read,
        low = ids[-1]  # and every match from there on is one of these
    return sa.and_(sa.or_(Ticket.id < low, Ticket.id.in_(ids)), like)


def relevance(session: Session, query: search.Query) -> ColumnElement[int]:
    """The "best match" order's key for the queue (desk.search.score over the ticket's text)."""
    return search.score(Ticket.search_text, query.terms, session.get_bind().dialect.name)


def is_search_index(name: str | None) -> bool:
    """Schema objects the migrations make outside the models (for autogenerate and its test)."""
    if not name:
        return False
    return (name in (POSTGRES_TRGM_INDEX, POSTGRES_NAME_TRGM_INDEX)
            or name.startswith((SQLITE_FTS_TABLE, SQLITE_NAMES_FTS_TABLE)))


def trigram_problem(connection: sa.Connection) -> str | None:
    """Why PostgreSQL's trigram indexes cannot serve Arabic searches here, or None.

    pg_trgm keeps only the characters its database's LC_CTYPE calls letters or digits: under
    ``C`` no Arabic letter is one, so it extracts no trigram from Arabic and every Arabic
    search reads the whole table (the results stay right, only slow)."""
    if connection.dialect.name != "postgresql":
        return None
    if not connection.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")):
        return None  # not migrated yet: the schema check speaks first
    if connection.scalar(sa.text("SELECT cardinality(show_trgm('نوره'))")):
        return None
    ctype = connection.scalar(sa.text("SELECT datctype FROM pg_database WHERE datname = current_database()"))
    return (f"PostgreSQL's pg_trgm sees no Arabic letter in this database (LC_CTYPE={ctype}): every Arabic "
            "search reads the whole tickets table. Re-create the database with a UTF-8 ctype "
            "(createdb --template=template0 --locale=C.UTF-8 …, or ar_SA.UTF-8), restore it, and run "
            "`flask --app wsgi desk reindex-search`.")


# Rebuilding the stored texts -----------------------------------------------------------

_tickets = sa.table("tickets", sa.column("id", sa.Integer), sa.column("reference", sa.String),
                    sa.column("subject", sa.String), sa.column("body", sa.Text), sa.column("anonymous", sa.Boolean),
                    sa.column("beneficiary_id", sa.Integer), sa.column("search_text", sa.Text))
_rules = sa.table("routing_rules", sa.column("id", sa.Integer), sa.column("keywords", sa.JSON))
_people = sa.table("beneficiaries", sa.column("id", sa.Integer), sa.column("name", sa.String),
                   sa.column("search_name", sa.Text))


def reindex(connect: Callable[[], sa.Connection], *, after: int = 0, batch: int = REINDEX_BATCH,
            progress: Callable[[int], None] | None = None) -> int:
    """Write every routing rule's keywords, every beneficiary's ``search_name`` and every
    ticket's ``search_text`` again with today's normaliser and stemmer, in batches of ``batch`` rows by id, the tickets from id
    ``after`` on (to resume). Plain Core on the connection ``connect()`` gives for each batch
    (a session's, or a migration's ``op.get_bind``). ``progress``
    gets the last ticket id of each batch once it is written (the CLI commits there, so a run
    that stops can go on from that id). Returns how many tickets were rewritten."""
    from desk.text import normalize_search
    connection = connect()
    for rule_id, keywords in connection.execute(select(_rules.c.id, _rules.c.keywords)).all():
        again = list(dict.fromkeys(k for k in (normalize_search(k) for k in keywords or []) if k))
        if again != keywords:
            connection.execute(_rules.update().where(_rules.c.id == rule_id).values(keywords=again))
    last = 0
    while True:
        connection = connect()
        rows = connection.execute(select(_people.c.id, _people.c.name).where(_people.c.id > last)
                                  .order_by(_people.c.id).limit(batch)).all()
        if not rows:
            break
        connection.execute(_people.update().where(_people.c.id == sa.bindparam("b_id"))
                           .values(search_name=sa.bindparam("b_text")),
                           [{"b_id": i, "b_text": normalize_search(name)} for i, name in rows])
        last = rows[-1][0]
    done, last = 0, after
    name = select(_people.c.name).where(_people.c.id == _tickets.c.beneficiary_id).scalar_subquery()
    while True:
        connection = connect()
        tickets = connection.execute(
            select(_tickets.c.id, _tickets.c.reference, _tickets.c.subject, _tickets.c.body, _tickets.c.anonymous,
                   name).where(_tickets.c.id > last).order_by(_tickets.c.id).limit(batch)).all()
        if not tickets:
            return done
        connection.execute(
            _tickets.update().where(_tickets.c.id == sa.bindparam("t_id")).values(search_text=sa.bindparam("t_text")),
            [{"t_id": i, "t_text": ticket_search_text(ref, subject, body, None if anonymous else person)}
             for i, ref, subject, body, anonymous, person in tickets])
        done += len(tickets)
        last = tickets[-1][0]
        if progress:
            progress(last)


# Bulk loads ----------------------------------------------------------------------------

@contextmanager
def deferred_index(session: Session, rows: int) -> Iterator[None]:
    """Tickets inserted inside the block are indexed for search once, at the end, not row by
    row (``desk generate``): on SQLite the insert trigger is dropped and the new rows are added
    to the FTS table in one statement; on PostgreSQL, when the load is at least as large as the
    table (else updating them costs less), the trigram indexes and every secondary index of the
    ``BULK_TABLES`` are dropped and built again at the end. The block may commit as it goes.
    However it ends the indexes are whole again (``finally``); if the process itself dies in
    between, ``restore_index`` (run by ``desk reindex-search`` and by the next bulk load)
    builds what is missing.

    The names' index on SQLite keeps its triggers: a name is indexed in the transaction that
    inserts it, so a load that dies leaves nothing to repair there, and it costs little
    (measured at load ~5: 33,333 names in 1.07 s instead of 0.16 s, the 100,000-ticket load
    taking 69 s; 333,330 names in 14.6 s instead of 2.0 s)."""
    dialect = _indexed_dialect(session)
    if dialect == "sqlite":
        trigger_was_there = not _index_broken(session)
        after = int(session.scalar(select(func.coalesce(func.max(Ticket.id), 0))) or 0)
        session.execute(sa.text(f"DROP TRIGGER IF EXISTS {SQLITE_INSERT_TRIGGER}"))
        commit(session)
        try:
            yield
        finally:
            discard(session)
            # A trigger found missing: an earlier load died half-way; every row is indexed again.
            restore_index(session, after=after if trigger_was_there else None)
        return
    # An index missing already (an earlier load died half-way) is built at the end with the rest.
    rebuild = dialect == "postgresql" and (
        rows >= int(session.scalar(select(func.count()).select_from(Ticket)) or 0) or bool(_missing_indexes(session)))
    if rebuild:
        names = [*POSTGRES_SEARCH_INDEXES, *(str(index.name) for index in _deferred_indexes())]
        session.execute(sa.text(f"DROP INDEX IF EXISTS {', '.join(names)}"))
        commit(session)
    try:
        yield
    finally:
        if rebuild:
            discard(session)
            restore_index(session)


def restore_index(session: Session, after: int | None = None) -> None:
    """Make the queue's search index whole and commit: on SQLite re-create the insert trigger
    and index the tickets with an id above ``after`` (None: rebuild the whole FTS table); on
    PostgreSQL build every index a bulk load drops that is missing, each committed as it is
    built (a run stopped half-way keeps those it finished)."""
    dialect = _indexed_dialect(session)
    if dialect == "postgresql":
        missing = _missing_indexes(session)
        discard(session)
        try:
            session.execute(sa.text(f"SET maintenance_work_mem = '{POSTGRES_BUILD_MEMORY}'"))
            for ddl in missing:
                session.execute(ddl)
                commit(session)
        finally:
            discard(session)
            session.execute(sa.text("RESET maintenance_work_mem"))  # the pooled connection as it was
            commit(session)
        return
    if dialect != "sqlite":
        return
    tickets = int(session.scalar(select(func.count()).select_from(Ticket)) or 0)
    low, high = SQLITE_BUILD_CACHE_KIB
    cache_kib = min(high, max(low, SQLITE_BUILD_CACHE_KIB_PER_TICKET * tickets))
    session.execute(sa.text(f"PRAGMA cache_size = -{cache_kib}"))
    try:
        # Merge the index's segments once at the end instead of after every few inserts.
        session.execute(sa.text("INSERT INTO tickets_fts(tickets_fts, rank) VALUES ('automerge', 0)"))
        session.execute(sa.text("INSERT INTO tickets_fts(tickets_fts, rank) VALUES ('hashsize', :bytes)"),
                        {"bytes": SQLITE_BUILD_HASH_BYTES})
        if after is None:
            session.execute(sa.text("INSERT INTO tickets_fts(tickets_fts) VALUES ('rebuild')"))
        else:
            session.execute(sa.text("INSERT INTO tickets_fts(rowid, search_text) "
                                    "SELECT id, search_text FROM tickets WHERE id > :after"), {"after": after})
        session.execute(sa.text("INSERT INTO tickets_fts(tickets_fts, rank) VALUES ('hashsize', :bytes)"),
                        {"bytes": SQLITE_DEFAULT_HASH_BYTES})
        session.execute(sa.text("INSERT INTO tickets_fts(tickets_fts, rank) VALUES ('automerge', 4)"))
        session.execute(sa.text("INSERT INTO tickets_fts(tickets_fts) VALUES ('optimize')"))
        for name in SQLITE_FTS_TRIGGERS[SQLITE_FTS_TABLE]:
            session.execute(sa.text(_if_not_exists(name)))
        _restore_names_index(session)
        commit(session)
    finally:
        session.execute(sa.text("PRAGMA cache_size = -2000"))


def _restore_names_index(session: Session) -> None:
    """The names' FTS table: a trigger of its found missing is made again and the table rebuilt
    (a name changed or erased while it was missing would otherwise stay findable, or unfound)."""
    names = SQLITE_FTS_TRIGGERS[SQLITE_NAMES_FTS_TABLE]
    if not sqlite_has(session, SQLITE_NAMES_FTS_TABLE) or not set(names) & set(missing_sqlite_triggers(session.connection())):
        return
    for name in names:
        session.execute(sa.text(_if_not_exists(name)))
    session.execute(sa.text("INSERT INTO beneficiaries_fts(beneficiaries_fts) VALUES ('rebuild')"))


def missing_sqlite_triggers(connection: sa.Connection) -> list[str]:
    """The FTS triggers (``SQLITE_TRIGGERS``) a SQLite database lacks, for the FTS tables it has
    (none on PostgreSQL, or on SQLite tables made from the models alone)."""
    if connection.dialect.name != "sqlite":
        return []
    present = set(connection.scalars(sa.text("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")))
    return [name for table, names in SQLITE_FTS_TRIGGERS.items() if table in present
            for name in names if name not in present]


def sqlite_trigger_problem(connection: sa.Connection) -> str | None:
    """The start check's warning when a search index's trigger is missing, or None."""
    missing = missing_sqlite_triggers(connection)
    if not missing:
        return None
    return (f"SQLite's search index lacks its trigger(s) {', '.join(missing)}: new, changed or erased "
            "tickets and names are not kept in step with it (a bulk load or a migration stopped half-way). "
            "Run `flask --app wsgi desk reindex-search` to make them again and rebuild the index.")


def sqlite_has(session: Session, fts_table: str) -> bool:
    """SQLite, with this FTS table (absent from tables made from the models alone, without the
    migrations: the generator's own tests)."""
    return session.get_bind().dialect.name == "sqlite" and bool(session.scalar(
        sa.text("SELECT 1 FROM sqlite_master WHERE name = :name"), {"name": fts_table}))


def _indexed_dialect(session: Session) -> str:
    """The database's dialect name, or "" when it has no search index to keep (SQLite tables
    made from the models alone)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite" and not sqlite_has(session, SQLITE_FTS_TABLE):
        return ""
    return dialect


def _index_broken(session: Session) -> bool:
    """The search index lacks what a bulk load drops (a load that died half-way), or, on SQLite,
    any of its six triggers."""
    dialect = _indexed_dialect(session)
    if dialect == "sqlite":
        return bool(missing_sqlite_triggers(session.connection()))
    if dialect == "postgresql":
        return bool(_missing_indexes(session))
    return False


def _deferred_indexes() -> list[sa.Index]:
    """The models' secondary indexes on the tables a bulk load fills (PostgreSQL drops them)."""
    tables = Base.metadata.tables
    return [index for name in BULK_TABLES for index in sorted(tables[name].indexes, key=lambda i: i.name or "")
            if not index.unique]


def _missing_indexes(session: Session) -> list[sa.Executable]:
    """PostgreSQL: the DDL of each index a bulk load drops that the database lacks now, the
    models' own (from their ``Index``, partial ``WHERE`` and all) and the trigram ones."""
    present = set(session.scalars(sa.text(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN :tables")
        .bindparams(sa.bindparam("tables", expanding=True)), {"tables": list(BULK_TABLES)}))
    missing: list[sa.Executable] = [sa.text(ddl) for name, ddl in POSTGRES_SEARCH_INDEXES.items()
                                    if name not in present]
    missing += [sa.schema.CreateIndex(index, if_not_exists=True) for index in _deferred_indexes()
                if index.name not in present]
    return missing


def repair_index(session: Session) -> bool:
    """Rebuild the search index whole if a bulk load died half-way; True when it had to."""
    if not _index_broken(session):
        return False
    restore_index(session)
    return True
