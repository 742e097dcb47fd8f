"""``python -m tests.bench.http`` (``make bench-http``): the staff's pages as users get them,
over HTTP from a keep-alive client to gunicorn with production settings on loopback.

For each database it builds (or reuses) the benchmark database of tests/bench/build.py,
starts gunicorn (``--workers``, sync, DESK_ENV=production, plain-HTTP cookies), signs in
through the real login form, and runs every case in interleaved rounds at each concurrency
(1 and 4 by default: that many clients, each its own signed-in keep-alive connection). Beside
the pages it measures the floor, ``/healthz`` and a static file, so every page reads as a
multiple of what the server costs for nothing. With DESK_BENCH_TIMING=1 each response says
where its time went (desk/timing.py): SQL statements and their time, template rendering,
the whole request inside the app; the rest of the client's time is gunicorn, the network and
the client. Reported: p50/p95, requests per second, ×floor, those parts (medians), and the
workers' memory (RSS) at the end. Figures are the benchmark's, never the tests' assertions.
"""
from __future__ import annotations

import argparse
import html
import json
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from tests.bench.__main__ import CSRF, FOCAL_EMAIL, MID_WORD, MORE, POLL, ROOT, machine
from tests.bench.build import BENCH_EMAIL, BENCH_PASSWORD, bench_user_id, database_url, prepare, remove_bench_rows

SUPERVISOR_EMAIL = "supervisor@demo.desk.sa"
ENGLISH_WORD = "rent"
TIMING = re.compile(r'sql;dur=([\d.]+);desc="(\d+)", tpl;dur=([\d.]+), app;dur=([\d.]+)')


def _p(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class Client:
    """One user's keep-alive connection, signed in through the login form."""

    def __init__(self, base: str, email: str | None = None, password: str = ""):
        self.http = httpx.Client(base_url=base, http1=True, timeout=60, follow_redirects=False)
        self.csrf = ""
        if email:
            token = CSRF.search(self.http.get("/login").text).group(1)
            response = self.http.post("/login", data={"email": email, "password": password, "csrf_token": token})
            assert response.status_code == 302, f"sign-in as {email}: HTTP {response.status_code}"
            self.csrf = CSRF.search(self.http.get("/tickets").text).group(1)

    def request(self, method: str, url: str, data: dict | None = None, htmx: bool = False) -> httpx.Response:
        headers = {"HX-Request": "true"} if htmx else {}
        if method == "POST":
            return self.http.post(url, data={**(data or {}), "csrf_token": self.csrf}, headers=headers)
        return self.http.get(url, headers=headers)


@dataclass
class Case:
    name: str
    who: str                                   # "anonymous", "staff", "focal" or "supervisor"
    make: Callable[[random.Random], tuple[str, str, dict | None]]  # (method, url, form)
    htmx: bool = False
    expect: int = 200
    floor: bool = False
    after: Callable[[str], None] | None = None
    samples: dict[int, list[dict]] = field(default_factory=dict)      # concurrency → per request
    walls: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # (requests, seconds)


def _timing(response: httpx.Response) -> dict:
    found = TIMING.search(response.headers.get("server-timing", ""))
    if not found:
        return {}
    sql, statements, tpl, app = found.groups()
    return {"sql_ms": float(sql), "statements": int(statements), "tpl_ms": float(tpl), "app_ms": float(app)}


def cases(refs: list[str], state: dict[str, str]) -> list[Case]:
    def fixed(url: str) -> Callable[[random.Random], tuple[str, str, dict | None]]:
        return lambda rng: ("GET", url, None)

    def links(text: str) -> None:  # the fragment hands the refresh and load-more cases their URLs
        state["poll"] = html.unescape(POLL.search(text).group(1))
        state["more"] = html.unescape(MORE.search(text).group(1))

    def create(rng: random.Random) -> tuple[str, str, dict | None]:
        i = rng.randrange(10**7)
        return "POST", "/tickets/new", {
            "kind": "complaint", "channel": "phone", "priority": "2", "department_id": "",
            "subject": f"تأخر صرف السلة الغذائية (قياس {i})", "body": "لم تصل السلة الغذائية لهذا الشهر رغم المراجعة.",
            "b_name": rng.choice(["عبدالله سعد", "نورة محمد", "فهد العتيبي"]),
            "b_phone": f"05{rng.choice('0345689')}{rng.randrange(10**7):07d}"}

    return [
        Case("floor: /healthz", "anonymous", fixed("/healthz"), floor=True),
        Case("floor: static file (desk.css)", "anonymous", fixed("/static/css/desk.css"), floor=True),
        Case("queue first page, full", "staff", fixed("/tickets")),
        Case("queue first page, htmx rows", "staff", fixed("/tickets"), htmx=True, after=links),
        Case("filtered: phone + complaint, htmx", "staff", fixed("/tickets?channel=phone&kind=complaint"), htmx=True),
        Case("department view, focal point, htmx", "focal", fixed("/tickets?view=department"), htmx=True),
        Case(f"search: Arabic word ({MID_WORD}), htmx", "staff", fixed(f"/tickets?view=all&q={MID_WORD}"), htmx=True),
        Case(f"search: English word ({ENGLISH_WORD}), htmx", "staff", fixed(f"/tickets?view=all&q={ENGLISH_WORD}"),
             htmx=True),
        Case("ticket page (random ticket)", "staff", lambda rng: ("GET", f"/tickets/{rng.choice(refs)}", None)),
        Case("unchanged 30 s refresh (204)", "staff", lambda rng: ("GET", state["poll"], None), htmx=True, expect=204),
        Case("load more (second page), htmx", "staff", lambda rng: ("GET", state["more"], None), htmx=True),
        Case("statistics, last 12 months", "supervisor", fixed("/stats?preset=last_12_months")),
        # Last in each round: it changes the queue's token; the next round's rows fetch a new one.
        Case("create a ticket (form POST, 302)", "staff", create, expect=302),
    ]


def _start_gunicorn(kind: str, cache: Path, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DESK_ENV": "production", "DESK_SECRET_KEY": "bench-secret-key-" + "x" * 32,
           "DESK_BASE_URL": f"http://127.0.0.1:{port}", "DESK_SECURE_COOKIES": "0",
           "DESK_DATABASE_URL": database_url(kind, cache), "DESK_INSTANCE_PATH": str(cache),
           "DESK_BENCH_TIMING": "1", "DESK_RATELIMIT_ENABLED": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def _workers_rss_mb(master: int) -> list[float]:
    """The resident memory of each worker (children of the gunicorn master), in MB."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master) and "VmRSS" in fields:
            found.append(round(int(fields["VmRSS"].split()[0]) / 1024, 1))
    return sorted(found)


def _run_case(case: Case, clients: list[Client], per_client: int, rng: random.Random, lock: threading.Lock) -> None:
    """``per_client`` requests from each client at once (one thread per client)."""
    concurrency = len(clients)
    errors: list[str] = []

    def work(client: Client, seed: int) -> None:
        local = random.Random(seed)
        for _ in range(per_client):
            method, url, data = case.make(local)
            started = time.perf_counter()
            response = client.request(method, url, data, case.htmx)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != case.expect:
                errors.append(f"{case.name}: HTTP {response.status_code}, expected {case.expect}: {url}")
                return
            with lock:
                case.samples.setdefault(concurrency, []).append({"ms": elapsed, **_timing(response)})
            if case.after:
                case.after(response.text)

    threads = [threading.Thread(target=work, args=(client, rng.randrange(10**9))) for client in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    case.walls.setdefault(concurrency, []).append((per_client * concurrency, time.perf_counter() - started))
    if errors:
        raise SystemExit(errors[0])


def summary(case: Case, concurrency: int, floor_p50: float | None) -> dict:
    rows = case.samples.get(concurrency, [])
    ms = [r["ms"] for r in rows]
    timed = [r for r in rows if "app_ms" in r]
    requests = sum(n for n, _ in case.walls.get(concurrency, []))
    seconds = sum(s for _, s in case.walls.get(concurrency, []))
    out = {"case": case.name, "concurrency": concurrency, "requests": len(ms),
           "p50_ms": round(statistics.median(ms), 2), "p95_ms": round(_p(ms, 0.95), 2),
           "rps": round(requests / seconds, 1) if seconds else None}
    if floor_p50:
        out["x_floor"] = round(out["p50_ms"] / floor_p50, 1)
    if timed:
        for key in ("sql_ms", "tpl_ms", "app_ms"):
            out[key] = round(statistics.median(r[key] for r in timed), 2)
        out["statements"] = int(statistics.median(r["statements"] for r in timed))
    return out


def run_database(kind: str, args) -> dict:
    print(f"\n== {kind}", flush=True)
    app, build = prepare(kind, args.tickets, args.cache, rebuild=args.rebuild)
    from desk.extensions import db
    rng = random.Random(2026)
    with app.app_context():
        top = db.session.scalar(sa.text("SELECT max(id) FROM tickets"))
        ids = sorted(rng.sample(range(1, top + 1), min(500, top)))
        refs = list(db.session.scalars(sa.text("SELECT reference FROM tickets WHERE id IN :ids")
                                       .bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids}))
        version = db.session.scalar(sa.text("SELECT sqlite_version()" if kind == "sqlite" else "SHOW server_version"))
        db.session.remove()
        db.engine.dispose()
    server = _start_gunicorn(kind, args.cache, args.port, args.workers)
    base = f"http://127.0.0.1:{args.port}"
    from desk.cli import DEMO_PASSWORD
    state: dict[str, str] = {}
    all_cases = cases(refs, state)
    lock = threading.Lock()
    try:
        people = {"staff": (BENCH_EMAIL, BENCH_PASSWORD), "focal": (FOCAL_EMAIL, DEMO_PASSWORD),
                  "supervisor": (SUPERVISOR_EMAIL, DEMO_PASSWORD), "anonymous": (None, "")}
        for concurrency in args.concurrency:
            clients = {who: [Client(base, email, password) for _ in range(concurrency)]
                       for who, (email, password) in people.items()}
            for round_no in range(args.warmup + args.rounds):
                for case in all_cases:
                    _run_case(case, clients[case.who], args.per_round if round_no >= args.warmup else 1, rng, lock)
                if round_no < args.warmup:  # warm-up requests are not figures
                    for case in all_cases:
                        case.samples.pop(concurrency, None)
                        case.walls.pop(concurrency, None)
                print(f"\r  concurrency {concurrency}: round {round_no + 1}/{args.warmup + args.rounds}",
                      end="", flush=True)
            print()
            for group in clients.values():
                for client in group:
                    client.http.close()
        rss = _workers_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        uid = bench_user_id(app)
        if uid is not None:
            remove_bench_rows(app, uid)
    results = []
    for concurrency in args.concurrency:
        floor = next(c for c in all_cases if c.name.startswith("floor: /healthz"))
        floor_p50 = statistics.median(r["ms"] for r in floor.samples[concurrency])
        results += [summary(case, concurrency, floor_p50) for case in all_cases]
    return {"database": kind, "version": version, "tickets": args.tickets, "build": build,
            "workers": args.workers, "rss_mb": rss, "cases": results}


def markdown(result: dict) -> str:
    m = result["machine"]
    out = [f"# Desk over HTTP, {result['tickets']:,} tickets", "",
           f"- {m['date']} · nproc {m['nproc']} ({m['cpu']}) · Python {m['python']}",
           f"- load average (1/5/15 min) at start {m['loadavg_start']}, at end {m.get('loadavg_end', '?')}",
           f"- gunicorn sync workers, DESK_ENV=production, loopback, keep-alive clients; "
           f"{result['rounds']} rounds × {result['per_round']} requests per client per case, interleaved",
           "- ×floor: the page's p50 over /healthz's p50 at the same concurrency; sql/tpl/app: medians of the "
           "Server-Timing parts (DESK_BENCH_TIMING), the rest of p50 is gunicorn, the network and the client"]
    for db_result in result["databases"]:
        b = db_result["build"]
        built = (f"reused (built {b.get('built_at', '?')})" if b.get("reused")
                 else f"built in {b['total_s']} s (generator {b['generate_s']} s)")
        out += ["", f"## {db_result['database']} {db_result['version']}: {db_result['tickets']:,} tickets, {built}; "
                f"{db_result['workers']} workers, RSS at the end {', '.join(f'{x} MB' for x in db_result['rss_mb'])}", "",
                "| case | clients | p50 ms | p95 ms | ×floor | req/s | SQL statements | SQL ms | template ms | app ms |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in db_result["cases"]:
            out.append(f"| {r['case']} | {r['concurrency']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} "
                       f"| {r.get('x_floor', '')} | {r['rps'] or ''} | {r.get('statements', '')} "
                       f"| {r.get('sql_ms', '')} | {r.get('tpl_ms', '')} | {r.get('app_ms', '')} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.http", description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=10, help="requests per client per case in a round")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results")
    parser.add_argument("--cache", type=Path, default=ROOT / "instance" / "bench")
    parser.add_argument("--rebuild", action="store_true", help="build the databases again even if reusable")
    args = parser.parse_args(argv)
    args.cache = args.cache.resolve()
    result = {"tickets": args.tickets, "rounds": args.rounds, "per_round": args.per_round,
              "machine": machine(), "databases": []}
    for kind in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
        result["databases"].append(run_database(kind, args))
    result["machine"]["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report = markdown(result)
    print("\n" + report)
    args.output.mkdir(parents=True, exist_ok=True)
    name = f"http-{args.tickets}-{'-'.join(d['database'] for d in result['databases'])}-" \
           f"{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    (args.output / f"{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    (args.output / f"{name}.md").write_text(report)
    print(f"Wrote {args.output / name}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
