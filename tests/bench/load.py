"""``python -m tests.bench.load``: tickets per second through the portal and the staff intake
together, the desk under gunicorn on PostgreSQL, one worker killed every 10 s; then proof from
the database that nothing was lost or duplicated.

What runs (issue 14, "Measured"):

- The harness drops and creates its own PostgreSQL database (``--database-url``, default
  ``…/desk_bench_load``; never ``test``), brings it up with ``flask db upgrade`` and loads the
  demo (``flask desk demo``: departments, routing rules, users, 300 tickets).
- For each run, gunicorn serves ``wsgi:app`` (``DESK_ENV=production``) on 127.0.0.1 and a free
  port, ``--workers 4`` sync workers by default: the README's production command. Sync because
  a SIGKILL then takes exactly the one request its worker was serving (a gthread worker takes
  all its threads' requests with it), and because the work is CPU-bound on this machine's two
  cores, where threads would only add GIL contention; ``--threads N`` measures gthread instead.
  The rate limits stay on (their cost is part of a request) with ceilings no client reaches.
- ``--clients`` threads (8: half portal visitors, half intake staff) work for ``--duration``
  seconds (60), each in a closed loop. A portal visitor is new every time (no cookies): it opens
  /portal/new, submits it (multipart, CSRF token, honeypot left empty, its own mobile number)
  and opens the confirmation page the 303 points to. Intake staff sign in once (demo users),
  then open /tickets/new, submit a complaint with a new beneficiary (its own mobile number) and
  open the ticket page the 302 points to. Every subject carries a marker unique to the request.
- Every ``--kill-every`` seconds (10) one gunicorn worker, chosen at random, gets SIGKILL;
  gunicorn starts another.
- Every creating POST is recorded: accepted (the redirect naming a reference), refused (4xx),
  error (5xx) or failed (the connection broke or timed out: a killed worker). Afterwards the
  database is read: each accepted request must have made exactly one ticket carrying its
  marker and the reference the client got; no ticket may exist for a refused request or for
  no request at all; a request in flight when its worker was killed may have made its ticket
  or not (both are counted). See ``account``.

The figures are tickets accepted per second within the window (median of ``--runs`` runs) and
the p50/p95 latency of the creating POST per kind. The clients run on the same machine as the
server and the database, and other people's tests may be running too: the figures are a floor.
Writes Markdown and JSON to ``bench-results/``; exits 1 when anything was lost or duplicated.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import count
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa

from desk.cli import DEMO_PASSWORD, DEMO_USERS
from desk.models import Role
from tests.bench.outbox import free_port

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = os.environ.get("DESK_BENCH_LOAD_DATABASE_URL",
                             "postgresql+psycopg://postgres@127.0.0.1:5432/desk_bench_load")
NEVER = {"test", "postgres", "template0", "template1"}  # `test`: the test suite empties it
UNLIMITED = "1000000 per minute"  # the portal's and the sign-in's limits, far above what 8 clients send
STAFF = tuple(email for email, _, roles, _ in DEMO_USERS if Role.STAFF in roles)  # the demo's intake staff
PORTAL_KINDS = ("complaint", "inquiry", "suggestion")
PHONE_PREFIX = "057"  # a Saudi mobile prefix the demo generator never uses (desk.demo.generator.MOBILE_PREFIX)
KILL_MARGIN = 0.05  # s: a request that broke this close to a kill is counted as in flight at it

CSRF = re.compile(r'name="csrf[-_]token" (?:content|value)="([^"]+)"')
DONE = {"portal": re.compile(r"^/portal/received/([A-Z]+-\d+-\d+)$"), "intake": re.compile(r"^/tickets/([A-Z]+-\d+-\d+)$")}
MARKER = re.compile(r"\[(L[0-9a-f]{6}-[pi]\d+-\d+)\]")
FEEDBACK = re.compile(r'class="invalid-feedback[^"]*">([^<]+)<')


@dataclass
class Attempt:
    """One creating POST and what came of it."""

    kind: str              # portal | intake
    marker: str
    started: float         # seconds since the run's start
    ended: float
    outcome: str           # accepted | refused | error | failed
    status: int | None = None
    reference: str | None = None
    detail: str = ""       # the exception's class for a failure, the first field message for a refusal


@dataclass
class Page:
    """One GET of a flow (the form, the confirmation or ticket page): only its outcome is kept."""

    kind: str
    started: float
    ended: float
    ok: bool
    detail: str = ""


@dataclass
class Kill:
    at: float
    pid: int


# Accounting: the pure part, tested in tests/test_bench_load.py ------------------------------

def at_a_kill(started: float, ended: float, kills: list[float], margin: float = KILL_MARGIN) -> bool:
    return any(started - margin <= k <= ended + margin for k in kills)


def account(attempts: list[Attempt], rows: list[tuple[str, str]], kills: list[float],
            pages: Sequence[Page] = ()) -> dict:
    """Requests against tickets. ``rows``: (marker, reference) of every ticket carrying the
    run's tag. ``ok`` is false when anything was lost, duplicated, misnumbered or made by no
    accepted (or possibly-committed) request."""
    found: dict[str, list[str]] = {}
    for marker, reference in rows:
        found.setdefault(marker, []).append(reference)
    made = {a.marker for a in attempts}
    out: Counter[str] = Counter()
    problems: dict[str, list[str]] = {}

    def problem(name: str, marker: str) -> None:
        out[name] += 1
        problems.setdefault(name, [])
        if len(problems[name]) < 10:
            problems[name].append(marker)

    for a in attempts:
        refs = found.get(a.marker, [])
        if a.outcome == "accepted":
            out["accepted"] += 1
            if not refs:
                problem("lost", a.marker)
            elif len(refs) == 1 and refs[0] == a.reference:
                out["accepted_found_once"] += 1
            elif len(refs) == 1:
                problem("wrong_reference", a.marker)
        elif a.outcome in ("refused", "error"):
            out[a.outcome] += 1
            if refs:
                problem("ticket_for_refused", a.marker)
        else:  # failed: no answer; the ticket may or may not have been committed
            where = "in_flight" if at_a_kill(a.started, a.ended, kills) else "failed_not_at_kill"
            out[f"{where}_{'with' if refs else 'without'}_ticket"] += 1
    for marker, refs in found.items():
        if len(refs) > 1:
            problem("duplicated", marker)
        if marker not in made:
            problem("ticket_without_request", marker)
    caught = [k for k in kills if any(at_a_kill(x.started, x.ended, [k]) for x in [*attempts, *pages] if
                                      (x.outcome == "failed" if isinstance(x, Attempt) else not x.ok))]
    out["kills"] = len(kills)
    out["kills_catching_a_request"] = len(caught)
    out["pages_failed_at_kill"] = sum(1 for p in pages if not p.ok and at_a_kill(p.started, p.ended, kills))
    out["pages_failed_not_at_kill"] = sum(1 for p in pages if not p.ok and not at_a_kill(p.started, p.ended, kills))
    bad = ("lost", "duplicated", "wrong_reference", "ticket_for_refused", "ticket_without_request")
    return {"counts": dict(out), "problems": problems, "ok": not any(out[name] for name in bad)}


def percentile(values: list[float], p: float) -> float:
    """Nearest rank, as the other harnesses report p95."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


def check_database(url: str) -> sa.engine.URL:
    """The harness drops and creates this database: only a PostgreSQL one of its own."""
    parsed = sa.engine.make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise ValueError("the load benchmark runs on PostgreSQL (several gunicorn workers, one database)")
    name = parsed.database or ""
    if name in NEVER or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a database this harness may drop and create: {name!r}")
    return parsed


# The server -------------------------------------------------------------------------------

def workers_of(master: int) -> list[int]:
    """The pids whose parent is ``master`` (Linux /proc): gunicorn's workers."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == master:
            pids.append(int(entry))
    return pids


def cpu_seconds(master: int) -> float:
    """CPU time of gunicorn: the master, its live workers, and the workers it has reaped (killed
    ones included, with what they spent booting). PostgreSQL's own work is not in it."""
    def fields(pid: int) -> list[str]:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2:].split()
    ticks = os.sysconf("SC_CLK_TCK")
    own = fields(master)
    total = sum(int(x) for x in own[11:15])  # utime, stime, cutime, cstime
    for pid in workers_of(master):
        try:
            total += sum(int(x) for x in fields(pid)[11:13])
        except OSError:  # gone meanwhile: counted in cutime once reaped
            pass
    return total / ticks


class Server:
    """gunicorn in its own session (so its whole group can be stopped), output in a log file."""

    def __init__(self, env: dict, port: int, workers: int, threads: int, log: Path):
        self.port, self.workers, self.log_path = port, workers, log
        args = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                "--timeout", "30", "--graceful-timeout", "10", "--log-level", "info"]
        if threads > 1:
            args += ["--worker-class", "gthread", "--threads", str(threads)]
        self.log = log.open("ab")
        self.process = subprocess.Popen([*args, "wsgi:app"], cwd=ROOT, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.process.returncode}):\n{self.tail()}")
            try:
                if (httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=5).status_code == 200
                        and len(workers_of(self.process.pid)) == self.workers):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within {seconds:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (gunicorn stops its workers gracefully), then SIGKILL to the group if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


# The clients ------------------------------------------------------------------------------

@dataclass
class Run:
    tag: str
    base: str
    duration: float
    timeout: float
    phones: count
    stop: threading.Event = field(default_factory=threading.Event)
    go: threading.Event = field(default_factory=threading.Event)
    t0: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)
    setup_errors: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    ready: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    def clock(self) -> float:
        return time.monotonic() - self.t0

    def running(self) -> bool:
        return not self.stop.is_set() and self.clock() < self.duration

    def phone(self) -> str:
        return f"{PHONE_PREFIX}{next(self.phones):07d}"  # itertools.count: one number per request

    def get(self, http: httpx.Client, kind: str, url: str) -> httpx.Response | None:
        started = self.clock()
        try:
            response = http.get(url)
        except httpx.HTTPError as error:
            self.pages.append(Page(kind, started, self.clock(), False, type(error).__name__))
            return None
        ok = response.status_code == 200
        self.pages.append(Page(kind, started, self.clock(), ok, "" if ok else str(response.status_code)))
        return response if ok else None

    def post(self, http: httpx.Client, kind: str, marker: str, url: str, **body) -> Attempt:
        started = self.clock()
        try:
            response = http.post(url, **body)
        except httpx.HTTPError as error:
            attempt = Attempt(kind, marker, started, self.clock(), "failed", detail=type(error).__name__)
        else:
            ended, status = self.clock(), response.status_code
            done = DONE[kind].match(urlsplit(response.headers.get("location", "")).path)
            if status in (302, 303) and done:
                attempt = Attempt(kind, marker, started, ended, "accepted", status, done.group(1))
            elif 400 <= status < 500:
                why = FEEDBACK.search(response.text)
                attempt = Attempt(kind, marker, started, ended, "refused", status,
                                  detail=why.group(1).strip() if why else "")
            else:
                attempt = Attempt(kind, marker, started, ended, "error", status, detail=response.text[:200])
        self.attempts.append(attempt)  # list.append is atomic under the GIL: the threads share the lists
        return attempt


def token(response: httpx.Response) -> str:
    found = CSRF.search(response.text)
    if not found:
        raise RuntimeError(f"no CSRF token on {response.request.url}")
    return found.group(1)


def portal_client(run: Run, index: int) -> None:
    rng = random.Random(f"{run.tag}-p{index}")
    with httpx.Client(base_url=run.base, timeout=run.timeout) as http:
        run.ready.release()
        run.go.wait()
        seq = 0
        while run.running():
            seq += 1
            http.cookies.clear()  # a new visitor every time
            form = run.get(http, "portal", "/portal/new")
            if form is None:
                continue
            marker = f"{run.tag}-p{index}-{seq}"
            data = {"csrf_token": token(form), "kind": rng.choice(PORTAL_KINDS), "leave_empty": "",
                    "name": rng.choice(["نورة محمد العتيبي", "عبدالله سعد القحطاني", "فاطمة علي الزهراني"]),
                    "phone": run.phone(), "email": "", "national_id": "",
                    "subject": f"تأخر صرف السلة الغذائية لهذا الشهر [{marker}]",
                    "body": "تقدمت بطلب منذ شهرين ولم يصلني أي رد حتى الآن، أرجو متابعة الطلب."}
            # As a browser sends the form: multipart, with the empty file input.
            files = {"files": ("", b"", "application/octet-stream")}
            attempt = run.post(http, "portal", marker, "/portal/new", data=data, files=files)
            if attempt.outcome == "accepted":
                run.get(http, "portal", f"/portal/received/{attempt.reference}")


def intake_client(run: Run, index: int) -> None:
    email = STAFF[index % len(STAFF)]
    with httpx.Client(base_url=run.base, timeout=run.timeout) as http:
        try:
            login = http.get("/login")
            signed = http.post("/login", data={"csrf_token": token(login), "email": email, "password": DEMO_PASSWORD})
            if signed.status_code != 302:
                raise RuntimeError(f"sign-in as {email}: HTTP {signed.status_code}")
        except (httpx.HTTPError, RuntimeError) as error:
            run.setup_errors.append(f"intake {index}: {error}")
            return
        finally:
            run.ready.release()
        run.go.wait()
        seq = 0
        while run.running():
            seq += 1
            form = run.get(http, "intake", "/tickets/new")
            if form is None:
                continue
            marker = f"{run.tag}-i{index}-{seq}"
            data = {"csrf_token": token(form), "kind": "complaint", "channel": "phone", "platform": "",
                    "channel_ref": "", "priority": "2", "department_id": "", "category_id": "",
                    "subject": f"شكوى من تأخر الرد على الطلب [{marker}]",
                    "body": "اتصل المستفيد يفيد بتأخر الرد على طلبه المقدم منذ شهر.",
                    "beneficiary_q": "", "beneficiary_id": "", "b_name": "خالد عبدالرحمن الدوسري",
                    "b_national_id": "", "b_phone": run.phone(), "b_email": "", "b_city": "الرياض"}
            attempt = run.post(http, "intake", marker, "/tickets/new", data=data)
            if attempt.outcome == "accepted":
                run.get(http, "intake", f"/tickets/{attempt.reference}")


def guarded(client, run: Run, index: int) -> None:
    """A client that stops on a bug of the harness says so, instead of passing for a quiet one."""
    try:
        client(run, index)
    except Exception as error:
        run.crashes.append(f"{threading.current_thread().name}: {error!r}")


def killer(run: Run, master: int, every: float, rng: random.Random) -> None:
    k = 1
    while k * every < run.duration and not run.stop.wait(max(0.0, k * every - run.clock())):
        pids = workers_of(master)  # only gunicorn's children, by pid
        if pids:
            pid = rng.choice(pids)
            at = run.clock()
            try:
                os.kill(pid, signal.SIGKILL)
                run.kills.append(Kill(at, pid))
            except ProcessLookupError:  # it died meanwhile: none of ours is killed this time
                pass
        k += 1


# One run ------------------------------------------------------------------------------------

def summarise(run: Run, rows: list[tuple[str, str]], no_created_event: int) -> dict:
    accounting = account(run.attempts, rows, [k.at for k in run.kills], run.pages)
    accounting["counts"]["tickets_without_created_event"] = no_created_event
    accounting["ok"] = accounting["ok"] and no_created_event == 0
    kinds = {}
    for kind in ("portal", "intake"):
        mine = [a for a in run.attempts if a.kind == kind]
        accepted = [a for a in mine if a.outcome == "accepted"]
        in_window = [a for a in accepted if a.ended <= run.duration]
        ms = [(a.ended - a.started) * 1000 for a in accepted]
        kinds[kind] = {
            "posts": len(mine), "accepted": len(accepted), "accepted_in_window": len(in_window),
            "per_second": round(len(in_window) / run.duration, 2),
            "p50_ms": round(percentile(ms, 50), 1), "p95_ms": round(percentile(ms, 95), 1),
            "max_ms": round(max(ms), 1) if ms else None,
            "refused": dict(Counter(str(a.status) for a in mine if a.outcome == "refused")),
            "refused_why": dict(Counter(a.detail for a in mine if a.outcome == "refused").most_common(3)),
            "errors": dict(Counter(str(a.status) for a in mine if a.outcome == "error")),
            "failed": dict(Counter(a.detail for a in mine if a.outcome == "failed")),
            "pages": len([p for p in run.pages if p.kind == kind]),
        }
    total = sum(k["accepted_in_window"] for k in kinds.values())
    return {"tag": run.tag, "duration_s": run.duration, "tickets_per_second": round(total / run.duration, 2),
            "kinds": kinds, "kills": [asdict(k) for k in run.kills], "accounting": accounting}


def one_run(number: int, args, env: dict, url: sa.engine.URL, phones: count, instance: Path) -> dict:
    port = free_port()
    env = {**env, "DESK_BASE_URL": f"http://127.0.0.1:{port}"}
    tag = f"L{secrets.token_hex(3)}"
    run = Run(tag=tag, base=f"http://127.0.0.1:{port}", duration=args.duration, timeout=args.timeout, phones=phones)
    portal_n = (args.clients + 1) // 2
    server = Server(env, port, args.workers, args.threads, instance / f"gunicorn-run{number}.log")
    threads: list[threading.Thread] = []
    try:
        server.wait_ready()
        threads = [threading.Thread(target=guarded, args=(portal_client, run, i), daemon=True, name=f"portal-{i}")
                   for i in range(portal_n)]
        threads += [threading.Thread(target=guarded, args=(intake_client, run, i), daemon=True, name=f"intake-{i}")
                    for i in range(args.clients - portal_n)]
        for t in threads:
            t.start()
        for _ in threads:
            if not run.ready.acquire(timeout=60):
                raise SystemExit("a client did not get ready within 60 s")
        if run.setup_errors:
            raise SystemExit("clients could not start: " + "; ".join(run.setup_errors))
        load_start, cpu_start = os.getloadavg(), time.process_time()
        server_start = cpu_seconds(server.process.pid)
        run.t0 = time.monotonic()
        run.go.set()
        if args.kill_every > 0:
            kill_thread = threading.Thread(target=killer, args=(run, server.process.pid, args.kill_every,
                                                                random.Random(tag)), daemon=True)
            kill_thread.start()
            threads.append(kill_thread)
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(0.5)  # in slices: Ctrl-C gets through
            if run.clock() > args.duration + 3 * args.timeout + 10:
                raise SystemExit("clients did not stop")
            print(f"\r  run {number}: {run.clock():5.1f} s, {sum(a.outcome == 'accepted' for a in run.attempts)} "
                  f"accepted, {len(run.kills)} killed", end="", flush=True)
        print()
        if run.crashes:
            raise SystemExit("clients stopped on an error: " + "; ".join(run.crashes))
        elapsed = run.clock()
        cpu, load_end = time.process_time() - cpu_start, os.getloadavg()
        server_cpu = cpu_seconds(server.process.pid) - server_start
        alive = len(workers_of(server.process.pid))
    finally:
        run.stop.set()
        run.go.set()
        for t in threads:
            t.join(args.timeout + 5)
        server.stop()
    log = server.log_path.read_text(errors="replace")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text(
                "SELECT t.subject, t.reference, EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.id"
                " AND e.kind = 'created') FROM tickets t WHERE t.subject LIKE :tag"), {"tag": f"%[{tag}-%"}).all()
    finally:
        engine.dispose()
    rows = [(m.group(1), reference) for subject, reference, _ in found if (m := MARKER.search(subject))]
    result = summarise(run, rows, sum(1 for *_, created in found if not created))
    accepted = sum(k["accepted"] for k in result["kinds"].values())
    result.update({"run": number, "elapsed_s": round(elapsed, 1), "client_cpu_s": round(cpu, 1),
                   "server_cpu_s": round(server_cpu, 1),
                   "server_cpu_ms_per_ticket": round(1000 * server_cpu / accepted, 1) if accepted else None,
                   "loadavg_start": " ".join(f"{x:.2f}" for x in load_start),
                   "loadavg_end": " ".join(f"{x:.2f}" for x in load_end),
                   "workers_alive_at_end": alive, "tracebacks_in_server_log": log.count("Traceback (most recent"),
                   "workers_killed_in_log": log.count("was sent SIGKILL")})
    return result


# The report ---------------------------------------------------------------------------------

ROWS = [  # (label, counts key): what the database says about the requests
    ("accepted requests", "accepted"),
    ("… each found once, with the reference its client got", "accepted_found_once"),
    ("**lost** (accepted, no ticket)", "lost"),
    ("**duplicated** (one marker on two tickets or more)", "duplicated"),
    ("**wrong reference** (the ticket's differs from the redirect's)", "wrong_reference"),
    ("**ticket for a refused or 5xx request**", "ticket_for_refused"),
    ("**ticket no request made**", "ticket_without_request"),
    ("**ticket without its \"created\" event**", "tickets_without_created_event"),
    ("refused (4xx)", "refused"),
    ("server error (5xx)", "error"),
    ("workers killed", "kills"),
    ("… of which caught a request in flight", "kills_catching_a_request"),
    ("ticket POSTs in flight at a kill: ticket committed", "in_flight_with_ticket"),
    ("ticket POSTs in flight at a kill: no ticket", "in_flight_without_ticket"),
    ("page GETs in flight at a kill (form, confirmation, ticket page)", "pages_failed_at_kill"),
    ("failed, not at a kill: POSTs with / without a ticket", None),
    ("failed, not at a kill: page GETs", "pages_failed_not_at_kill"),
]


def markdown(result: dict) -> str:
    m, s = result["machine"], result["settings"]
    runs = result["runs"]
    kind = "sync" if s["threads"] <= 1 else f"gthread ×{s['threads']} threads"
    out = [f"# Desk under load: portal + intake, {s['clients']} clients, {s['duration']:.0f} s, "
           f"a worker killed every {s['kill_every']:g} s", "",
           f"- {m['date']} · nproc {m['nproc']} ({m['cpu']}) · Python {m['python']} · PostgreSQL {m['postgres']}",
           f"- gunicorn {s['workers']} {kind} workers on "
           f"127.0.0.1, DESK_ENV=production, rate limits on ({s['ratelimit_storage']}) with unreachable ceilings",
           "- clients: threads in one process on the same machine; a portal visitor opens the form, submits, "
           "opens the confirmation; staff open the form, submit, open the ticket",
           "- other developers' tests and benchmarks share the machine and the PostgreSQL server: a floor", "",
           "| run | tickets/s | portal/s | intake/s | portal POST p50 / p95 ms | intake POST p50 / p95 ms "
           "| kills | load 1-min start → end | gunicorn CPU s (ms a ticket) | harness CPU s |",
           "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
    for r in runs:
        p, i = r["kinds"]["portal"], r["kinds"]["intake"]
        out.append(f"| {r['run']} | {r['tickets_per_second']:.1f} | {p['per_second']:.1f} | {i['per_second']:.1f} "
                   f"| {p['p50_ms']:.0f} / {p['p95_ms']:.0f} | {i['p50_ms']:.0f} / {i['p95_ms']:.0f} "
                   f"| {len(r['kills'])} | {r['loadavg_start'].split()[0]} → {r['loadavg_end'].split()[0]} "
                   f"| {r['server_cpu_s']:.0f} ({r['server_cpu_ms_per_ticket']}) | {r['client_cpu_s']:.1f} |")
    med = {kind: {key: statistics.median(r["kinds"][kind][key] for r in runs)
                  for key in ("per_second", "p50_ms", "p95_ms")} for kind in ("portal", "intake")}
    out += ["", f"**Median over {len(runs)} run(s): {result['median_tickets_per_second']:.1f} tickets/s** "
            f"(accepted within the window ÷ {s['duration']:.0f} s): portal {med['portal']['per_second']:.1f}/s, "
            f"POST p50 {med['portal']['p50_ms']:.0f} ms, p95 {med['portal']['p95_ms']:.0f} ms; intake "
            f"{med['intake']['per_second']:.1f}/s, POST p50 {med['intake']['p50_ms']:.0f} ms, "
            f"p95 {med['intake']['p95_ms']:.0f} ms (medians of the runs' figures).", "",
            "| what the database says | " + " | ".join(f"run {r['run']}" for r in runs) + " |",
            "|---|" + "---:|" * len(runs)]
    for label, key in ROWS:
        if key is None:
            cells = [f"{r['accounting']['counts'].get('failed_not_at_kill_with_ticket', 0)} / "
                     f"{r['accounting']['counts'].get('failed_not_at_kill_without_ticket', 0)}" for r in runs]
        else:
            cells = [str(r["accounting"]["counts"].get(key, 0)) for r in runs]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("| **verdict** | " + " | ".join("nothing lost or duplicated" if r["accounting"]["ok"] else "**FAIL**"
                                              for r in runs) + " |")
    extra = []
    for r in runs:
        for kind, k in r["kinds"].items():
            for name in ("refused", "errors", "failed"):
                if k[name]:
                    extra.append(f"- run {r['run']}, {kind}, {name}: {k[name]}"
                                 + (f" — {k['refused_why']}" if name == "refused" and k["refused_why"] else ""))
        if r["tracebacks_in_server_log"]:
            extra.append(f"- run {r['run']}: {r['tracebacks_in_server_log']} traceback(s) in the server log")
        for name, markers in r["accounting"]["problems"].items():
            extra.append(f"- run {r['run']}, {name}: {', '.join(markers)}")
    if extra:
        out += ["", *extra]
    return "\n".join(out) + "\n"


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "")
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "date": datetime.now().isoformat(timespec="seconds")}


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM too: the finally blocks stop gunicorn and the clients


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="half portal visitors, half intake staff")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load per run")
    parser.add_argument("--kill-every", type=float, default=10, help="SIGKILL a worker this often (0: never)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="over 1: gthread workers with this many threads")
    parser.add_argument("--timeout", type=float, default=30, help="each request's client timeout, seconds")
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="PostgreSQL database the harness drops, creates and fills (never `test`); "
                             "default $DESK_BENCH_LOAD_DATABASE_URL or …/desk_bench_load")
    parser.add_argument("--ratelimit-storage", default="memory://",
                        help="DESK_RATELIMIT_STORAGE_URL of the server (redis://127.0.0.1:6379/0 as production)")
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results")
    args = parser.parse_args(argv)
    try:
        url = check_database(args.database_url)
    except ValueError as error:
        parser.error(str(error))
    if args.clients < 2 or args.duration <= 0 or args.runs < 1 or args.workers < 1:
        parser.error("at least 2 clients, 1 run, 1 worker and a positive duration")
    signal.signal(signal.SIGTERM, _interrupt)

    instance = Path(tempfile.mkdtemp(prefix="desk-load-bench-"))
    env = {**os.environ, "DESK_ENV": "production", "DESK_SECRET_KEY": secrets.token_urlsafe(32),
           "DESK_BASE_URL": "http://127.0.0.1:5000", "DESK_DATABASE_URL": url.render_as_string(hide_password=False),
           "DESK_INSTANCE_PATH": str(instance), "DESK_SECURE_COOKIES": "0",  # plain HTTP on loopback
           "DESK_RATELIMIT_STORAGE_URL": args.ratelimit_storage,
           "DESK_RATELIMIT_KEY_PREFIX": f"desk-load-bench-{os.getpid()}",
           **{name: UNLIMITED for name in ("DESK_PORTAL_SUBMIT_LIMIT", "DESK_PORTAL_PHONE_LIMIT",
                                           "DESK_PORTAL_TRACK_LIMIT", "DESK_LOGIN_LIMIT")}}
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = url.database
    result: dict = {"machine": machine(), "settings": {
        "clients": args.clients, "duration": args.duration, "kill_every": args.kill_every, "workers": args.workers,
        "threads": args.threads, "ratelimit_storage": args.ratelimit_storage, "database": name}, "runs": []}
    try:
        print(f"== database {name}: drop, create, flask db upgrade, flask desk demo", flush=True)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            result["machine"]["postgres"] = conn.scalar(sa.text("SHOW server_version"))
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        for command in (["db", "upgrade"], ["desk", "demo"]):
            done = subprocess.run([*flask, *command], cwd=ROOT, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"flask {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
        phones = count(1)
        for number in range(1, args.runs + 1):
            print(f"== run {number}/{args.runs}: {args.clients} clients, {args.duration:.0f} s, gunicorn "
                  f"{args.workers} workers, a kill every {args.kill_every:g} s", flush=True)
            measured = one_run(number, args, env, url, phones, instance)
            result["runs"].append(measured)
            c = measured["accounting"]["counts"]
            print(f"  {measured['tickets_per_second']:.1f} tickets/s; accepted {c.get('accepted', 0)}, lost "
                  f"{c.get('lost', 0)}, duplicated {c.get('duplicated', 0)}, in flight at a kill "
                  f"{c.get('in_flight_with_ticket', 0)} with a ticket / {c.get('in_flight_without_ticket', 0)} "
                  f"without; load {measured['loadavg_start']} → {measured['loadavg_end']}", flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted: gunicorn and the clients are stopped", file=sys.stderr)
        return 130
    finally:
        if not args.keep_database:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(instance, ignore_errors=True)
    result["median_tickets_per_second"] = statistics.median(r["tickets_per_second"] for r in result["runs"])
    report = markdown(result)
    print("\n" + report)
    args.output.mkdir(parents=True, exist_ok=True)
    stem = args.output / f"load-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    stem.with_suffix(".md").write_text(report)
    print(f"Wrote {stem}.json and .md")
    return 0 if all(r["accounting"]["ok"] for r in result["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
