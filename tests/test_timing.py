"""desk.timing: the benchmark's Server-Timing header, only when DESK_BENCH_TIMING asks for it."""
from __future__ import annotations

import re

from desk import create_app
from desk.settings import load

TIMING = re.compile(r'^sql;dur=([\d.]+);desc="(\d+)", tpl;dur=([\d.]+), app;dur=([\d.]+)$')


def test_off_unless_asked(app, as_user, people):
    assert load({"DESK_ENV": "testing"})["DESK_BENCH_TIMING"] is False
    assert load({"DESK_ENV": "testing", "DESK_BENCH_TIMING": "1"})["DESK_BENCH_TIMING"] is True
    assert "Server-Timing" not in as_user(people.staff).get("/tickets").headers


def test_each_response_says_its_sql_and_templates(app, tmp_path, people, make_ticket, db):
    make_ticket()
    db.session.commit()
    timed = create_app({"TESTING": True, "DESK_BENCH_TIMING": True, "WTF_CSRF_ENABLED": False,
                        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    client = timed.test_client()
    health = TIMING.match(client.get("/healthz").headers["Server-Timing"])
    assert health and int(health.group(2)) == 1 and float(health.group(3)) == 0  # SELECT 1, no template
    login = TIMING.match(client.get("/login").headers["Server-Timing"])
    assert login and float(login.group(3)) > 0  # a page: rendered
    sql, statements, tpl, whole = (float(x) for x in login.groups())
    assert sql + tpl <= whole
