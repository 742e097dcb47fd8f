"""The one way a service ends its transaction: ``atomic``.

Everything a use case writes — rows, the files stored with them, the ticket's version — is
kept together or dropped together:

- on success the session commits, then every file the block staged takes its final name;
- on any failure (a refusal raised inside the block, a database error, a crash of the commit
  itself) the session rolls back, so it is never left half-applied for its next use, and every
  file the block wrote is removed: nothing half-written, neither in the database nor on disk.
  A file is written under a temporary name and renamed only once its row is committed, so a
  process killed half-way leaves at most a temporary file, which ``flask desk sweep-files``
  removes (or, when its row was committed just before the kill, renames into place);
- a ticket changed inside the block is written only if nobody committed a newer version
  meanwhile (its version is the optimistic lock): otherwise the refusal is ``StaleVersion``,
  carrying the changes the user did not see.

Pieces of a use case (``record``, ``move_ticket``, ``notify``…) never end the transaction:
they join the caller's.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.orm.exc import StaleDataError

from desk.errors import StaleVersion
from desk.models import EventKind, Ticket, TicketEvent

log = logging.getLogger("desk.transaction")


class Files(list[Path]):
    """The files a transaction writes: removed if it does not commit.

    ``stage(temporary, final)``: a file written under a temporary name, renamed to ``final``
    once the transaction has committed. ``append(path)``: a file already at its final name.
    ``delete(path)``: a stored file whose row the transaction deletes, removed only once that
    is committed (a rollback keeps both; a crash just after the commit leaves a file no row
    names, which ``flask desk sweep-files`` removes)."""

    def __init__(self) -> None:
        super().__init__()
        self.staged: list[tuple[Path, Path]] = []
        self.deleted: list[Path] = []

    def stage(self, temporary: Path, final: Path) -> None:
        self.append(temporary)
        self.staged.append((temporary, final))

    def delete(self, path: Path) -> None:
        self.deleted.append(path)

    def put_in_place(self) -> None:
        for path in self.deleted:
            try:
                path.unlink(missing_ok=True)
            except OSError as error:  # committed: the row is gone; sweep-files removes the file
                log.error("a deleted document's file %s could not be removed (%s): run `flask desk sweep-files`",
                          path.name, type(error).__name__)
        for temporary, final in self.staged:
            try:
                os.replace(temporary, final)
            except OSError as error:  # committed: the row stands; sweep-files finishes the rename
                log.error("a committed file stayed under its temporary name %s (%s): run `flask desk "
                          "sweep-files`", temporary.name, type(error).__name__)


def changes_since(session: Session, ticket: Ticket, version: int) -> list[TicketEvent]:
    """Events that moved the ticket past ``version``: what a stale editor did not see."""
    return list(session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.version > version,
               TicketEvent.kind != EventKind.NOTE)
        .order_by(TicketEvent.id)
    ))


def stale(session: Session, ticket: Ticket, seen: int | None) -> StaleVersion:
    """The refusal for someone who saw ``seen`` of a ticket that is now further on."""
    return StaleVersion(ticket.version, changes_since(session, ticket, seen or 0))


@contextmanager
def atomic(session: Session, ticket: Ticket | None = None, seen: int | None = None) -> Iterator[Files]:
    """One transaction: commit at the end of the block, or roll back on any failure.

    The block stages every file it writes in the ``Files`` it is given (``stage`` or
    ``append``); they are removed if the transaction does not commit, put in place if it
    does. With ``ticket`` (and the version the user ``seen``), a concurrent commit of the
    same ticket turns into ``StaleVersion``."""
    written = Files()
    try:
        yield written
        session.commit()
    except StaleDataError:  # someone committed the ticket between our read and our write
        _undo(session, written)
        if ticket is None:
            raise
        session.refresh(ticket)
        raise stale(session, ticket, ticket.version - 1 if seen is None else seen) from None
    except BaseException:
        _undo(session, written)
        raise
    written.put_in_place()


@contextmanager
def batch(session: Session) -> Iterator[None]:
    """Many use cases in a row in one request, each its own ``atomic`` transaction (the queue's
    bulk actions): within the block a commit does not expire what the session holds, so the
    actor and the rows already read are not read again after every ticket. Each use case still
    reads its own ticket afresh (the caller's business) and a rollback still expires everything."""
    real = session() if isinstance(session, scoped_session) else session  # Flask-SQLAlchemy's db.session
    kept = real.expire_on_commit
    real.expire_on_commit = False
    try:
        yield
    finally:
        real.expire_on_commit = kept


def discard(session: Session) -> None:
    """Drop what the session holds without ending a use case: before reading afresh after a
    failure that happened outside ``atomic`` (a worker's loop, a lost race read again)."""
    session.rollback()


def _undo(session: Session, written: Files) -> None:
    session.rollback()
    for path in written:
        path.unlink(missing_ok=True)


def commit(session: Session) -> None:
    """A transaction with nothing to undo on disk and no ticket to guard: ``atomic`` in one call."""
    with atomic(session):
        pass
