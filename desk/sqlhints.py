"""Naming the index SQLite reads, where its planner's sampled statistics would choose worse.

SQLite plans from ``sqlite_stat1``, which ANALYZE fills from a sample (desk.maintenance): on
a large table its estimates can send a query that needs a few rows of one index through
thousands of another's. PostgreSQL's planner, with its own statistics, is left to itself:
the hint renders on SQLite only.
"""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, Table
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler

S = TypeVar("S", bound=Select)


def _sqlite_from_hint(self, table, text):
    """SQLAlchemy renders no table hint for SQLite (its base compiler drops them): this one
    renders ``with_hint(table, "INDEXED BY …", "sqlite")``, the only SQLite hint the desk uses."""
    return text


SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # type: ignore[method-assign]


def indexed_by(stmt: S, table: Table, index: str) -> S:
    """``stmt`` reading ``table`` through ``index`` on SQLite (an error there if it cannot)."""
    return stmt.with_hint(table, f"INDEXED BY {index}", "sqlite")
