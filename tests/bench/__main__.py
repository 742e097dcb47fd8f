"""``python -m tests.bench``: time the desk's requests at scale on SQLite and/or PostgreSQL.

Each case is warmed up, then measured ``--runs`` times in interleaved rounds (one request of
every case per round), so a noisy neighbour slows all cases alike instead of one burst.
Server time is the Flask test client call, in-process: no network, no browser.

After the pages, the routing decision at ``--routing-rules`` active rules (200 by default) is
timed on each database by tests/bench/routing.py and reported with the rest: the figure the
test suite must never assert on.
"""
from __future__ import annotations

import argparse
import gc
import html
import json
import math
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from tests.bench import routing
from tests.bench.build import BENCH_EMAIL, BENCH_PASSWORD, bench_user_id, prepare, remove_bench_rows

ROOT = Path(__file__).resolve().parents[2]
PAGE_TARGET_MS, REFRESH_TARGET_MS = 50.0, 5.0
FOCAL_EMAIL = "social@demo.desk.sa"  # a demo focal point (SOCIAL), from `flask desk demo`
MID_WORD = "الإيجار"  # "rent": in the rent-support subjects and bodies, a few percent of tickets
WARMUP = 3

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
POLL = re.compile(r'id="queue-poll"[^>]*?hx-get="([^"]+)"')
MORE = re.compile(r'id="load-more".*?hx-get="([^"]+)"', re.S)


class Browser:
    """A signed-in test client (CSRF token read from the page, as tests/conftest.py does)."""

    def __init__(self, app, email: str, password: str):
        self.client = app.test_client()
        token = CSRF.search(self.client.get("/login").get_data(as_text=True)).group(1)
        response = self.client.post("/login", data={"email": email, "password": password, "csrf_token": token})
        assert response.status_code == 302, f"sign-in as {email} failed: {response.status_code}"
        self.csrf = CSRF.search(self.client.get("/tickets").get_data(as_text=True)).group(1)

    def get(self, url: str, htmx: bool = False):
        return self.client.get(url, headers={"HX-Request": "true"} if htmx else {})

    def post(self, url: str, data: dict):
        return self.client.post(url, data={**data, "csrf_token": self.csrf})


@dataclass
class Case:
    name: str
    make: Callable[[], Callable]  # prepares one request (untimed) and returns the timed call
    expect: int = 200
    target_ms: float = PAGE_TARGET_MS
    url: str = ""
    after: Callable[[str], None] | None = None  # reads the answer, untimed (e.g. the refresh URL)
    times: list[float] = field(default_factory=list)

    def once(self, record: bool) -> str:
        call = self.make()
        started = time.perf_counter()
        response = call()
        body = response.get_data(as_text=True)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != self.expect:
            raise SystemExit(f"{self.name}: HTTP {response.status_code}, expected {self.expect}\n{body[:400]}")
        if record:
            self.times.append(elapsed)
        if self.after:
            self.after(body)
        return body

    def stats(self) -> dict:
        ordered = sorted(self.times)
        p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
        return {"case": self.name, "url": self.url, "median_ms": round(statistics.median(ordered), 2),
                "p95_ms": round(p95, 2), "min_ms": round(ordered[0], 2), "runs": len(ordered),
                "target_ms": self.target_ms, "pass": p95 < self.target_ms}


def build_cases(app, n: int, seed: int) -> tuple[list[Case], dict]:
    from desk.extensions import db
    rng = random.Random(seed)
    with app.app_context():
        top = db.session.scalar(sa.text("SELECT max(id) FROM tickets"))
        ids = sorted(rng.sample(range(1, top + 1), min(500, top)))
        refs = list(db.session.scalars(sa.text("SELECT reference FROM tickets WHERE id IN :ids")
                                       .bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids}))
        from desk.text import normalize_search
        mid_hits = db.session.scalar(sa.text("SELECT count(*) FROM tickets WHERE search_text LIKE :p"),
                                     {"p": f"%{normalize_search(MID_WORD)}%"})
        db.session.remove()
    staff = Browser(app, BENCH_EMAIL, BENCH_PASSWORD)
    from desk.cli import DEMO_PASSWORD
    focal = Browser(app, FOCAL_EMAIL, DEMO_PASSWORD)
    state: dict[str, str] = {}

    def fixed(browser, url, htmx=False):
        return lambda: (lambda: browser.get(url, htmx))

    def links(text: str) -> None:  # the fragment hands the refresh and load-more cases their URLs
        state["poll"] = html.unescape(POLL.search(text).group(1))
        state["more"] = html.unescape(MORE.search(text).group(1))

    def ticket_page():
        ref = rng.choice(refs)
        return lambda: staff.get(f"/tickets/{ref}")

    def search_reference():
        ref = rng.choice(refs)
        return lambda: staff.get(f"/tickets?view=all&q={ref}", True)

    def create():
        i = rng.randrange(10**7)
        data = {"kind": "complaint", "channel": "phone", "priority": "2", "department_id": "",
                "subject": f"تأخر صرف السلة الغذائية (قياس {i})", "body": "لم تصل السلة الغذائية لهذا الشهر رغم المراجعة.",
                "b_name": rng.choice(["عبدالله سعد", "نورة محمد", "فهد العتيبي"]),
                "b_phone": f"05{rng.choice('0345689')}{rng.randrange(10**7):07d}"}
        return lambda: staff.post("/tickets/new", data)

    pct = 100 * mid_hits / max(1, n)
    cases = [
        Case("queue first page (full)", fixed(staff, "/tickets"), url="GET /tickets"),
        Case("queue first page (HX fragment)", fixed(staff, "/tickets", True), url="GET /tickets [HX]", after=links),
        Case("filtered: phone + complaint (HX)", fixed(staff, "/tickets?channel=phone&kind=complaint", True),
             url="GET /tickets?channel=phone&kind=complaint [HX]"),
        Case("department view, focal point (HX)", fixed(focal, "/tickets?view=department", True),
             url="GET /tickets?view=department [HX, focal SOCIAL]"),
        Case(f"search: mid-frequency word ({pct:.1f}% of tickets)", fixed(staff, f"/tickets?view=all&q={MID_WORD}", True),
             url=f"GET /tickets?view=all&q={MID_WORD} [HX]"),
        Case("search: a reference number (1 hit)", search_reference, url="GET /tickets?view=all&q=<reference> [HX]"),
        Case("ticket page (random ticket)", ticket_page, url="GET /tickets/<reference>"),
        Case("unchanged refresh (204)", lambda: (lambda: staff.get(state["poll"], True)), expect=204,
             target_ms=REFRESH_TARGET_MS, url="GET /tickets/poll?token=…&shown=50 [HX]"),
        Case("load more (second page)", lambda: (lambda: staff.get(state["more"], True)),
             url="GET /tickets/more?cursor=… [HX]"),
        # Last in each round: it changes the token, and the next round's fragment fetches a new one.
        Case("create ticket (POST → 302)", create, expect=302, url="POST /tickets/new"),
    ]
    return cases, {"mid_word": MID_WORD, "mid_word_hits": mid_hits}


def measure(app, tickets: int, runs: int) -> tuple[list[dict], dict, float]:
    """Warm-up rounds, then ``runs`` measured rounds of every case; returns the rows, the search
    words used and the unchanged-refresh / fragment ratio of the medians."""
    cases, search = build_cases(app, tickets, seed=2026)
    try:
        for round_no in range(WARMUP + runs):
            for case in cases:
                case.once(record=round_no >= WARMUP)
            gc.collect()  # a collection between rounds, not inside a timed request
            print(f"\r  round {round_no + 1}/{WARMUP + runs}", end="", flush=True)
        print()
    finally:
        uid = bench_user_id(app)
        if uid is not None:
            remove_bench_rows(app, uid)
    rows = [case.stats() for case in cases]
    by_name = {c.name: r for c, r in zip(cases, rows, strict=True)}
    ratio = by_name["unchanged refresh (204)"]["median_ms"] / by_name["queue first page (HX fragment)"]["median_ms"]
    return rows, search, round(ratio, 3)


def run_database(kind: str, args) -> dict:
    print(f"\n== {kind}", flush=True)
    app, build = prepare(kind, args.tickets, args.cache, rebuild=args.rebuild)
    from desk.extensions import db
    with app.app_context():
        version = db.session.scalar(sa.text("SELECT sqlite_version()" if kind == "sqlite" else "SHOW server_version"))
        db.session.remove()
    rows, search, ratio = measure(app, args.tickets, args.runs)
    return {"database": kind, "version": version, "tickets": args.tickets, "build": build, "search": search,
            "cases": rows, "refresh_to_fragment_ratio": ratio}


def machine() -> dict:
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform(),
            "date": datetime.now().isoformat(timespec="seconds"), "loadavg_start": _load()}


def _load() -> str:
    """The 1/5/15-minute load average: a busy shared machine shows up in the p95 column."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def markdown(result: dict) -> str:
    m = result["machine"]
    out = [f"# Desk benchmark, {result['tickets']:,} tickets", "",
           f"- {m['date']} · nproc {m['nproc']} ({m['cpu']}) · Python {m['python']} · SQLite {m['sqlite']}"
           + (f" · PostgreSQL {result['postgres_version']}" if result.get("postgres_version") else ""),
           f"- load average (1/5/15 min) at start {m['loadavg_start']}, at end {m.get('loadavg_end', '?')}",
           f"- targets: every page p95 < {PAGE_TARGET_MS:.0f} ms; unchanged refresh p95 < {REFRESH_TARGET_MS:.0f} ms",
           "- server time in-process (Flask test client); warm-up rounds excluded; cases interleaved per round"]
    for db_result in result["databases"]:
        b = db_result["build"]
        built = (f"reused (built {b.get('built_at', '?')} in {b.get('total_s', '?')} s)" if b.get("reused")
                 else f"built in {b['total_s']} s (generator {b['generate_s']} s, ANALYZE {b['analyze_s']} s)")
        out += ["", f"## {db_result['database']} {db_result['version']} — {db_result['tickets']:,} tickets, {built}", "",
                "| case | median ms | p95 ms | min ms | runs | target | result |", "|---|---:|---:|---:|---:|---:|---|"]
        for r in db_result["cases"]:
            out.append(f"| {r['case']} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['min_ms']:.1f} | {r['runs']} "
                       f"| < {r['target_ms']:.0f} | {'PASS' if r['pass'] else '**FAIL**'} |")
        out += ["", f"Unchanged refresh / full fragment (medians): {db_result['refresh_to_fragment_ratio']:.3f}"]
    if result.get("routing"):
        first = result["routing"][0]
        out += ["", f"## Routing decision, {first['rules']} active rules ({first['calls']} calls; tests/bench/routing.py)", "",
                "| database | propose() median ms | propose() p95 ms | first_match() alone median ms | first_match() p95 ms "
                "| target | result |", "|---|---:|---:|---:|---:|---:|---|"]
        for r in result["routing"]:
            m = r["first_match"]
            out.append(f"| {r['database']} | {r['median']:.2f} | {r['p95']:.2f} | {m['median']:.3f} | {m['p95']:.3f} "
                       f"| p95 < {r['target_ms']:.0f} | {'PASS' if r['pass'] else '**FAIL**'} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results")
    parser.add_argument("--cache", type=Path, default=ROOT / "instance" / "bench")
    parser.add_argument("--rebuild", action="store_true", help="build the databases again even if reusable")
    parser.add_argument("--routing-rules", type=int, default=200,
                        help="time the routing decision at this many active rules (0: skip)")
    parser.add_argument("--routing-calls", type=int, default=2000)
    args = parser.parse_args(argv)
    args.cache = args.cache.resolve()

    result = {"tickets": args.tickets, "machine": machine(), "databases": []}
    for kind in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
        db_result = run_database(kind, args)
        result["databases"].append(db_result)
        if kind == "postgres":
            result["postgres_version"] = db_result["version"]
    if args.routing_rules > 0:
        print(f"\n== routing decision, {args.routing_rules} active rules", flush=True)
        result["routing"] = []
        for kind in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
            measured = routing.measure("postgresql" if kind == "postgres" else kind, args.routing_rules,
                                       args.routing_calls)
            print("  " + routing.line(measured), flush=True)
            result["routing"].append(measured)
    result["machine"]["loadavg_end"] = _load()
    report = markdown(result)
    print("\n" + report)
    args.output.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"bench-{args.tickets}-{'-'.join(d['database'] for d in result['databases'])}-{stamp}"
    (args.output / f"{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    (args.output / f"{name}.md").write_text(report)
    print(f"Wrote {args.output / name}.json and .md")
    return 0 if (all(r["pass"] for d in result["databases"] for r in d["cases"])
                 and all(r["pass"] for r in result.get("routing", []))) else 1


if __name__ == "__main__":
    sys.exit(main())
