"""The one place that decides what a ticket's free-text search covers and how it is indexed.

``search_text`` holds normalised text; the queue's filter is a substring match on it. A plain
``LIKE '%…%'`` reads every row when few tickets match, so each database gets a trigram index
(built by migration 0002):

- PostgreSQL: a GIN ``pg_trgm`` index on ``tickets.search_text``, which ``LIKE`` uses as is;
- SQLite: an FTS5 ``trigram`` table over ``tickets.search_text`` (external content, kept in
  step by triggers), queried with a quoted phrase, i.e. the same substring match, when it
  finds few tickets (see ``search_condition``).

Either index needs at least three characters; shorter text falls back to ``LIKE``.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, column, func, literal_column, select, table
from sqlalchemy.orm import Session

from desk.models import Ticket
from desk.text import normalize_search

TRIGRAM = 3
SQLITE_FTS_TABLE = "tickets_fts"
POSTGRES_TRGM_INDEX = "ix_tickets_search_trgm"
# Fetching k matches by id and sorting them costs ~k; reading the queue in order until a
# page of 50 is full costs ~50·N/k: even near k = √(50·N), about 2,000 at N = 100,000.
SQLITE_MANY = 2000

_fts = table(SQLITE_FTS_TABLE, column("rowid"))


def ticket_search_text(reference: str, subject: str, body: str | None, beneficiary_name: str | None) -> str:
    """Normalised text the queue's free-text filter matches against (reference, subject, body, name)."""
    return normalize_search(" ".join(p for p in (reference, subject, body or "", beneficiary_name or "") if p))


def search_condition(session: Session, typed: str) -> ColumnElement[bool] | None:
    """The WHERE condition for the queue's free-text box (None when nothing to search for)."""
    text = normalize_search(typed)
    if not text:
        return None
    like = Ticket.search_text.like("%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",
                                   escape="\\")
    if session.get_bind().dialect.name != "sqlite" or len(text) < TRIGRAM:
        return like  # PostgreSQL's planner chooses between its trigram index and a scan itself
    # SQLite's planner cannot see how many tickets match, so it is decided here: a few
    # matches are fetched through the trigram index; many are found sooner by reading the
    # queue in its order until a page is full (LIKE), than by sorting thousands of matches.
    phrase = '"' + text.replace('"', '""') + '"'
    matches = select(_fts.c.rowid).where(literal_column(SQLITE_FTS_TABLE).op("MATCH")(phrase))
    many = session.execute(select(func.count()).select_from(matches.limit(SQLITE_MANY + 1).subquery())).scalar_one()
    return like if many > SQLITE_MANY else Ticket.id.in_(matches)


def is_search_index(name: str | None) -> bool:
    """Schema objects migration 0002 makes outside the models (for autogenerate and its test)."""
    if not name:
        return False
    return name == POSTGRES_TRGM_INDEX or name.startswith(SQLITE_FTS_TABLE)
