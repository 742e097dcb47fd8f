"""What a page reads more than once, read once per request while nothing is written.

The ticket page shows the ticket's attachments in three panels (the documents list, the reply's
"attach a document" choices, the settlement's agreement choices), asks for its kind's rule and,
in the registration panel, for every kind's, and asks whether the actor's roles were given a
permission for each control that needs one (reveal a phone, reveal an ID): each of those was a
statement per panel.

What was read is kept in the request's ``g`` and forgotten as soon as the database session
writes anything (a flush, an INSERT/UPDATE/DELETE statement, a commit or a rollback): a request
that changes something and then shows the page again reads afresh. Outside a request (the
worker, the CLI) nothing is kept.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy.orm import ORMExecuteState, Session

T = TypeVar("T")
_KEY = "desk_read_once"


def read_once(name: str, key: Hashable, load: Callable[[], T]) -> T:
    """``load()``, once per request for (``name``, ``key``) until the session next writes."""
    if not has_request_context():
        return load()
    memo = g.setdefault(_KEY, {})
    if (name, key) not in memo:
        memo[name, key] = load()
    return memo[name, key]


def forget() -> None:
    if has_request_context():
        g.pop(_KEY, None)


@sa.event.listens_for(Session, "after_flush")
def _after_flush(session: Session, context: Any) -> None:
    forget()


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    forget()


@sa.event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: Any) -> None:
    forget()


@sa.event.listens_for(Session, "do_orm_execute")
def _on_write_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        forget()
