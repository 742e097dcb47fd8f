"""``python -m tests.bench.sla``: the SLA sweep over 100,000 open tickets (target < 5 s) and
the queue sorted by due time at 100,000 tickets (p95 < 50 ms), on SQLite and/or PostgreSQL.

It starts from the cached benchmark database (tests/bench/build.py ``prepare``: instance/bench,
PostgreSQL ``desk_bench``) and works on a COPY (a file copy; ``CREATE DATABASE desk_bench_sla
TEMPLATE desk_bench``), so the shared benchmark database is never changed. On the copy every
ticket is made open (new/open) with due times spread around now: ``--overdue`` of them (1 %
by default) past due, 20 % at risk, a few waiting (paused), some without a target.

Cases:
* sweep, steady state: the run every minute finds nothing new (the claim query alone);
* sweep, burst: ``--overdue`` tickets newly past due are marked, each with its event and the
  notification of its department's focal points (breach marks reset between runs, untimed);
* queue sorted by due (full page, htmx fragment, the next page by cursor, the Overdue view),
  as a staff member who sees every ticket, p95 of ``--runs`` requests each;
* the sweeps after an admin changed the calendar or the targets: every open ticket's due times
  recomputed, a bounded share per sweep (``RECOMPUTE_BUDGET_S``), each sweep timed; run last
  since it replaces the spread due times.

The spread due times are marked as computed with the policy in force, so the timed sweeps
measure marking, not a recompute.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.bench import build
from tests.bench.__main__ import Browser
from tests.bench.build import BENCH_EMAIL, BENCH_PASSWORD, prepare

ROOT = Path(__file__).resolve().parents[2]
COPY_DATABASE = "desk_bench_sla"
SWEEP_TARGET_S, QUEUE_TARGET_MS = 5.0, 50.0


def _copy(kind: str, app, cache: Path) -> tuple[str, Path]:
    """A private copy of the benchmark database: its URL and the instance directory to use."""
    from desk.extensions import db
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if kind == "sqlite":
        target = Path(tempfile.mkdtemp(prefix="desk-sla-bench-"))
        source = sa.create_engine(build.database_url("sqlite", cache))
        with source.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        source.dispose()
        shutil.copyfile(cache / "desk-bench.db", target / "desk-bench.db")
        return f"sqlite:///{target / 'desk-bench.db'}", target
    build._pg_admin(f'DROP DATABASE IF EXISTS "{COPY_DATABASE}" WITH (FORCE)')
    build._pg_admin(f'CREATE DATABASE "{COPY_DATABASE}" TEMPLATE "{build.PG_DATABASE}"')
    return build.PG_SERVER.rstrip("/") + "/" + COPY_DATABASE, Path(tempfile.mkdtemp(prefix="desk-sla-bench-"))


def _spread(app, overdue_share: float, all_open: bool) -> dict:
    """Due times around now (untimed setup). ``all_open``: every ticket made open (new/open, a
    few waiting), for the sweep; otherwise the generator's statuses are kept, open tickets get
    due times around now and resolved/closed ones a past due time (as they would keep), for the
    queue. Returns the counts."""
    from desk.extensions import db
    from desk.models import Status, Ticket, utcnow
    now = utcnow()
    with app.app_context():
        tickets = db.session.execute(sa.select(Ticket.id, Ticket.status, Ticket.created_at).order_by(Ticket.id)).all()
        step = max(1, round(1 / overdue_share)) if overdue_share else 0
        rows = []
        for position, (ticket_id, status, created_at) in enumerate(tickets):
            if all_open:
                status = Status.WAITING if position % 50 == 7 else (Status.NEW if position % 3 == 0 else Status.OPEN)
            if position % 40 == 5:  # no target (a suggestion, thanks…)
                due = None
            elif status not in ("new", "open", "waiting", "awaiting_committee"):
                due = created_at + timedelta(days=7)
            elif step and position % step == 0:
                due = now - timedelta(minutes=1 + position % 600)
            else:  # 1 hour to 14 days ahead
                due = now + timedelta(minutes=60 + (position * 37) % (14 * 24 * 60))
            at_risk = None if due is None else due - timedelta(hours=16 if position % 5 == 0 else 80)
            rows.append({"b_id": ticket_id, "status": str(status), "due": due, "risk": at_risk})
        table = Ticket.__table__
        stmt = (table.update().where(table.c.id == sa.bindparam("b_id"))
                .values(status=sa.bindparam("status"), due_at=sa.bindparam("due"), at_risk_at=sa.bindparam("risk"),
                        breached_at=None, escalated_at=None))
        for start in range(0, len(rows), 5000):
            db.session.execute(stmt, rows[start:start + 5000])
        db.session.commit()
        _mark_applied(db)
        _analyse(db)
        from desk.sla.tickets import running_statuses
        counts = {
            "tickets": len(tickets),
            "open": db.session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(Ticket.is_open)),
            "overdue": db.session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(
                Ticket.status.in_(running_statuses()), Ticket.due_at < now)),
        }
        db.session.remove()
    return counts


def _mark_applied(db) -> None:
    """The due times in place count as computed with the policy in force (no recompute)."""
    from desk.sla.service import load_policy, working_time
    row = working_time(db.session)
    if row not in db.session:
        db.session.add(row)
    row.applied_policy = load_policy(db.session).fingerprint()
    db.session.commit()


def _analyse(db) -> None:
    if db.engine.dialect.name == "sqlite":
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    else:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE tickets"))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _sweeps(app, runs: int) -> dict:
    from desk.extensions import db
    from desk.models import EventKind, OutboxMessage, Ticket, TicketEvent, utcnow
    from desk.sla.tickets import sweep
    with app.app_context():
        now = utcnow()
        burst, steady, marked, notified = [], [], 0, 0
        for _ in range(runs):
            db.session.execute(sa.update(Ticket).where(Ticket.breached_at.is_not(None))
                               .values(breached_at=None, escalated_at=None))
            db.session.execute(sa.update(Ticket).where(Ticket.first_response_breached_at.is_not(None))
                               .values(first_response_breached_at=None))
            db.session.execute(sa.delete(TicketEvent).where(TicketEvent.kind.in_(
                [EventKind.SLA_BREACHED, EventKind.SLA_ESCALATED, EventKind.SLA_FIRST_RESPONSE])))
            db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.reason.in_(
                ["sla_breach", "sla_first_response"])))
            db.session.commit()
            db.session.remove()
            started = time.perf_counter()
            result = sweep(db.session, now=now)
            burst.append(time.perf_counter() - started)
            assert result.recomputed == 0, "the timed sweep recomputed due times"
            marked, notified = result.breached + result.first_response, result.notified
            db.session.remove()
            started = time.perf_counter()
            again = sweep(db.session, now=now)
            steady.append(time.perf_counter() - started)
            assert again.breached == 0, "the second sweep marked tickets again"
            db.session.remove()
    return {
        "burst": {"marked": marked, "notifications": notified, "median_s": round(statistics.median(burst), 3),
                  "max_s": round(max(burst), 3), "runs": runs, "target_s": SWEEP_TARGET_S,
                  "pass": max(burst) < SWEEP_TARGET_S},
        "steady": {"median_ms": round(statistics.median(steady) * 1000, 2), "max_ms": round(max(steady) * 1000, 2),
                   "runs": runs, "pass": max(steady) < SWEEP_TARGET_S},
    }


def _recompute(app, runs: int) -> dict:
    """After a calendar or target change: every open ticket's due times recomputed, a bounded
    share per sweep (RECOMPUTE_BUDGET_S). Times each share (what the recompute adds to a sweep;
    the breaches the new due times cause are the burst case's business) until it is done."""
    from desk.extensions import db
    from desk.models import utcnow
    from desk.sla.service import load_policy, working_time
    from desk.sla.tickets import RECOMPUTE_BUDGET_S, refresh_if_policy_changed
    shares, needed, changed = [], [], 0
    with app.app_context():
        for _ in range(runs):
            row = working_time(db.session)
            if row not in db.session:
                db.session.add(row)
            row.applied_policy = row.recomputing_policy = row.recompute_cursor = None
            db.session.commit()
            db.session.remove()
            count, total = 0, 0
            while True:
                started = time.perf_counter()
                result = refresh_if_policy_changed(db.session, load_policy(db.session), utcnow(),
                                                   budget_s=RECOMPUTE_BUDGET_S)
                shares.append(time.perf_counter() - started)
                db.session.remove()
                count, total = count + 1, total + result.changed
                if result.done:
                    break
            needed.append(count)
            changed = max(changed, total)
    return {"open_tickets_changed_first_run": changed, "sweeps_to_finish": needed,
            "share_median_s": round(statistics.median(shares), 2), "share_max_s": round(max(shares), 2),
            "target_s": SWEEP_TARGET_S, "pass": max(shares) < SWEEP_TARGET_S}


def _queue(app, runs: int) -> dict:
    import re
    more = re.compile(r'id="load-more".*?hx-get="([^"]+)"', re.S)
    browser = Browser(app, BENCH_EMAIL, BENCH_PASSWORD)
    first = browser.get("/tickets?view=all&sort=due&dir=asc", htmx=True).get_data(as_text=True)
    next_url = more.search(first).group(1).replace("&amp;", "&")
    cases = {
        "page sorted by due (full page)": ("/tickets?view=all&sort=due&dir=asc", False),
        "sorted by due (htmx)": ("/tickets?view=all&sort=due&dir=asc", True),
        "sorted by due, latest first (htmx)": ("/tickets?view=all&sort=due", True),
        "next page by cursor (htmx)": (next_url, True),
        "open view sorted by due (htmx)": ("/tickets?sort=due&dir=asc", True),
        "overdue view (htmx)": ("/tickets?view=overdue", True),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(runs + 3):
        for name, (url, htmx) in cases.items():
            started = time.perf_counter()
            response = browser.get(url, htmx=htmx)
            response.get_data()
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (name, response.status_code)
            if round_ >= 3:
                times[name].append(elapsed)
    return {name: {"median_ms": round(statistics.median(t), 2), "p95_ms": round(_p95(t), 2), "runs": len(t),
                   "target_ms": QUEUE_TARGET_MS, "pass": _p95(t) < QUEUE_TARGET_MS} for name, t in times.items()}


def run(kind: str, args) -> dict:
    cache = ROOT / "instance" / "bench"
    app, info = prepare(kind, args.tickets, cache)
    url, instance = _copy(kind, app, cache)
    copy = build.make_app(url, instance)
    from flask_migrate import upgrade
    with copy.app_context():
        upgrade()
    result = {"database": kind, "build": info}
    result["queue_data"] = _spread(copy, args.overdue, all_open=False)
    result["queue"] = _queue(copy, args.runs)
    result["sweep_data"] = _spread(copy, args.overdue, all_open=True)
    result["sweep"] = _sweeps(copy, args.sweep_runs)
    result["recompute"] = _recompute(copy, args.sweep_runs)
    from desk.extensions import db
    with copy.app_context():
        db.session.remove()
        db.engine.dispose()
    if kind == "postgres":
        build._pg_admin(f'DROP DATABASE IF EXISTS "{COPY_DATABASE}" WITH (FORCE)')
    else:
        shutil.rmtree(instance, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--overdue", type=float, default=0.01, help="share of tickets newly past due")
    parser.add_argument("--runs", type=int, default=30, help="requests per queue case")
    parser.add_argument("--sweep-runs", type=int, default=3)
    args = parser.parse_args(argv)
    results = [run(kind, args) for kind in (("sqlite", "postgres") if args.db == "both" else (args.db,))]
    print(json.dumps(results, indent=2, ensure_ascii=False))
    ok = all(r["sweep"]["burst"]["pass"] and r["sweep"]["steady"]["pass"] and r["recompute"]["pass"]
             and all(c["pass"] for c in r["queue"].values())
             for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
