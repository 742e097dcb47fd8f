"""Where a request's time goes, for the HTTP benchmark (tests/bench/http.py): with
``DESK_BENCH_TIMING=1`` every response carries a ``Server-Timing`` header (the W3C format
browsers' developer tools show too) with the request's SQL statements (count and time, from
SQLAlchemy's cursor events), the time spent rendering templates (Flask's template signals),
and the whole request as the app saw it. Off by default: the events cost a little on every
statement, and the header tells a visitor how long the database took.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Flask, Response, g, has_request_context, template_rendered
from flask.signals import before_render_template
from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclass
class Spent:
    started: float
    statements: int = 0
    sql: float = 0.0
    template: float = 0.0
    render_started: float = 0.0
    render_depth: int = 0


def _spent() -> Spent | None:
    return g.get("desk_timing") if has_request_context() else None


def _before_cursor(conn, cursor, statement, parameters, context, executemany) -> None:
    conn.info.setdefault("desk_timing_started", []).append(time.perf_counter())


def _after_cursor(conn, cursor, statement, parameters, context, executemany) -> None:
    started = conn.info.get("desk_timing_started")
    if not started:
        return
    elapsed = time.perf_counter() - started.pop()
    spent = _spent()
    if spent is not None:
        spent.statements += 1
        spent.sql += elapsed


def _render_starts(sender, template, context, **extra) -> None:
    spent = _spent()
    if spent is not None:
        if spent.render_depth == 0:
            spent.render_started = time.perf_counter()
        spent.render_depth += 1


def _render_ends(sender, template, context, **extra) -> None:
    spent = _spent()
    if spent is not None and spent.render_depth:
        spent.render_depth -= 1
        if spent.render_depth == 0:
            spent.template += time.perf_counter() - spent.render_started


def header(spent: Spent, now: float) -> str:
    """The Server-Timing value: sql (desc: statements), tpl, app (the whole request)."""
    return (f'sql;dur={spent.sql * 1000:.2f};desc="{spent.statements}", tpl;dur={spent.template * 1000:.2f}, '
            f"app;dur={(now - spent.started) * 1000:.2f}")


def init_app(app: Flask) -> None:
    if not app.config.get("DESK_BENCH_TIMING"):
        return
    if not event.contains(Engine, "before_cursor_execute", _before_cursor):
        event.listen(Engine, "before_cursor_execute", _before_cursor)
        event.listen(Engine, "after_cursor_execute", _after_cursor)
    before_render_template.connect(_render_starts, app)
    template_rendered.connect(_render_ends, app)

    @app.before_request
    def _start() -> None:
        g.desk_timing = Spent(started=time.perf_counter())

    @app.after_request
    def _report(response: Response) -> Response:
        spent = _spent()
        if spent is not None:
            response.headers["Server-Timing"] = header(spent, time.perf_counter())
        return response
