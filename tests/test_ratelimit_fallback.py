"""Redis is an accelerator, not a single point of failure (issue 14): with the rate-limit store
down, sign-in and the portal still work and are still limited (each process on its own), /healthz
says "degraded", and one warning is logged, not one per request; when the store answers again the
limits are shared between processes again.

The store is a redis-server of the test's own (tests/redisserver.py), killed and started again on
its port. The desk runs as two processes (two gunicorn workers, say), each driven over its stdin,
on the suite's database (SQLite or PostgreSQL)."""
from __future__ import annotations

import json
import logging
import os
import select
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from desk.ratelimits import StoreWatch, storage_options
from tests.conftest import PASSWORD
from tests.redisserver import RedisServer, require_redis_server

ROOT = Path(__file__).resolve().parent.parent
IP = "192.0.2.44"
PHONE = "0551234567"

# One desk process: the app, a test client per request (no cookies carried over), and every
# record of WARNING or above kept, to be read back with {"do": "logs"}.
DRIVER = r'''
import json, logging, sys
from desk import create_app

class Kept(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append({"logger": record.name, "level": record.levelname, "message": record.getMessage(),
                             "traceback": record.exc_info is not None})

kept = Kept()
logging.getLogger().addHandler(kept)
app = create_app({"WTF_CSRF_ENABLED": False})
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    step = json.loads(line)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = step.get("ip", "192.0.2.44")
    if step["do"] == "logs":
        answer = {"logs": kept.records}
    elif step["do"] == "get":
        response = client.get(step["path"])
        answer = {"status": response.status_code, "json": response.get_json(silent=True)}
    else:
        response = client.post(step["path"], data=step["data"])
        answer = {"status": response.status_code}
    print(json.dumps(answer), flush=True)
'''


class Desk:
    """One desk process, as a gunicorn worker would be, on the rate-limit store at ``url``."""

    def __init__(self, name: str, url: str, prefix: str, tmp_path: Path, timeout: float = 10) -> None:
        env = {**os.environ,
               "DESK_RATELIMIT_STORAGE_URL": url, "DESK_RATELIMIT_KEY_PREFIX": prefix,
               # A killed server refuses at once: the timeout only matters for the hanging store.
               "DESK_RATELIMIT_TIMEOUT": str(timeout),
               # Per hour: no window may end while the test runs on a busy machine.
               "DESK_LOGIN_LIMIT": "3 per hour", "DESK_PORTAL_SUBMIT_LIMIT": "3 per hour",
               "DESK_PORTAL_PHONE_LIMIT": "100 per hour"}
        self.name = name
        self.log = tmp_path / f"{name}.stderr"
        self._stderr = self.log.open("w")
        self.process = subprocess.Popen([sys.executable, "-c", DRIVER], env=env, cwd=ROOT, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        assert self._answer() == {"ready": True}

    def _answer(self) -> dict:
        assert self.process.stdout is not None
        # A guard against a hang (a request stuck on the store), far above any busy machine's time.
        ready, _, _ = select.select([self.process.stdout], [], [], 600)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self._stderr.flush()
            pytest.fail(f"desk process {self.name} gave no answer:\n{self.log.read_text()[-3000:]}")
        return json.loads(line)

    def ask(self, **step) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(step) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def sign_in(self, email: str) -> int:
        return self.ask(do="post", path="/login", data={"email": email, "password": PASSWORD})["status"]

    def submit(self) -> int:
        return self.ask(do="post", path="/portal/new", data={
            "kind": "complaint", "name": "سارة العتيبي", "phone": PHONE, "subject": "تأخر صرف السلة الغذائية",
            "body": "لم تصلني السلة الغذائية لهذا الشهر"})["status"]

    def health(self) -> tuple[int, dict]:
        answer = self.ask(do="get", path="/healthz")
        return answer["status"], answer["json"]

    def logs(self) -> list[dict]:
        return self.ask(do="logs")["logs"]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


def until_counting_in_the_store(desk: Desk) -> dict:
    """Ask /healthz until the process counts in the store again. Any request lets Flask-Limiter
    ask the store whether it is back: 1, 2, 4 … 32 s after it last asked."""
    for _ in range(1500):  # a guard against a process that never goes back, not a timing
        status, body = desk.health()
        if body["rate_limits"] == "ok":
            return body
        time.sleep(0.1)
    pytest.fail(f"desk process {desk.name} still counts in memory: {body}")


@pytest.fixture
def processes(tmp_path):
    started: list[Desk] = []

    def start(name: str, url: str, prefix: str, **kwargs) -> Desk:
        started.append(Desk(name, url, prefix, tmp_path, **kwargs))
        return started[-1]

    yield start
    for desk in started:
        desk.close()


@pytest.fixture
def redis_server():
    require_redis_server()
    server = RedisServer().start()
    yield server
    server.stop()


def _personal(records: list[dict], *values: str) -> list[dict]:
    return [r for r in records if any(v in r["message"] for v in values)]


def test_with_redis_down_sign_in_and_the_portal_work_limited_per_process_and_shared_again_when_it_returns(
        app, people, redis_server, processes):
    email = people.staff.email
    prefix = f"desk-test-{uuid.uuid4().hex[:8]}"
    a = processes("a", redis_server.url, prefix)
    b = processes("b", redis_server.url, prefix)

    # Redis up: every component ok; both processes have a connection to it in their pools.
    assert a.health() == (200, {"status": "ok", "database": "ok", "rate_limits": "ok"})
    assert [a.sign_in(email), b.sign_in(email)] == [302, 302]

    redis_server.kill()

    # Signing in still works, and is still limited: 3 per hour, counted in this process's memory.
    assert [a.sign_in(email) for _ in range(4)] == [302, 302, 302, 429]
    # So is the portal (its limit is spent after the request: counted in memory as well).
    assert [a.submit() for _ in range(4)] == [303, 303, 303, 429]
    assert a.health() == (200, {"status": "degraded", "database": "ok", "rate_limits": "memory fallback"})
    # The other process has its own allowance meanwhile: weaker limits, never none.
    assert [b.sign_in(email) for _ in range(4)] == [302, 302, 302, 429]
    assert b.submit() == 303
    assert b.health() == (200, {"status": "degraded", "database": "ok", "rate_limits": "memory fallback"})

    # One warning per process for all those requests, from the desk, naming the error's class
    # only; none of Flask-Limiter's own reports or tracebacks; no email address or phone number.
    for desk in (a, b):
        records = desk.logs()
        assert [(r["logger"], r["level"]) for r in records] == [("desk.ratelimits", "WARNING")], records
        assert "unreachable (ConnectionError)" in records[0]["message"]
        assert not records[0]["traceback"]
        assert not _personal(records, email, PHONE, PHONE[1:])

    redis_server.start()  # the same port, empty (nothing was saved)

    for desk in (a, b):
        assert until_counting_in_the_store(desk) == {"status": "ok", "database": "ok", "rate_limits": "ok"}
    # Shared again: both processes spend one allowance of 3.
    assert [a.sign_in(email), a.sign_in(email), b.sign_in(email), b.sign_in(email)] == [302, 302, 302, 429]
    assert [a.submit(), b.submit(), a.submit(), b.submit()] == [303, 303, 303, 429]
    assert len(a.logs()) == 1 and len(b.logs()) == 1  # nothing more was logged


def test_a_store_that_hangs_costs_its_timeout_not_the_sign_in(app, people, processes):
    """A store that accepts connections and never answers (a hung Redis, a half-open network):
    each request would wait on it for ever without the client's timeouts."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)  # the kernel completes the connections; nobody ever reads them
        url = f"redis://127.0.0.1:{hung.getsockname()[1]}/0"
        desk = processes("hung", url, f"desk-test-{uuid.uuid4().hex[:8]}", timeout=0.5)
        assert [desk.sign_in(people.staff.email) for _ in range(4)] == [302, 302, 302, 429]
        assert desk.health() == (200, {"status": "degraded", "database": "ok", "rate_limits": "memory fallback"})
        records = desk.logs()
        assert [(r["logger"], r["level"]) for r in records] == [("desk.ratelimits", "WARNING")], records
        assert "unreachable (TimeoutError)" in records[0]["message"]


def test_the_warning_is_repeated_at_most_once_a_minute(caplog):
    now = [1000.0]
    watch = StoreWatch(clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="desk.ratelimits"):
        for at, error in ((0, "ConnectionError"), (1, "ConnectionError"), (59.9, "TimeoutError"),
                          (60, "ConnectionError"), (90, "ConnectionError"), (125, "ConnectionError")):
            now[0] = 1000.0 + at
            watch.failed(error)
        watch.observe(True)
        watch.observe(False)  # counting in the store again: said once, as information
        watch.observe(False)
    said = [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records]
    assert said == [("WARNING", "Rate-limit store unreachable (ConnectionError)")] * 3 + [
        ("INFO", "Rate-limit store answers again")]


def test_the_store_client_gives_up_quickly_and_every_store_reports_its_errors_alike():
    redis = storage_options("redis://10.0.0.5:6379/0", 1.5)
    assert redis["wrap_exceptions"] is True
    assert redis["socket_connect_timeout"] == redis["socket_timeout"] == 1.5
    assert redis["retry"].get_retries() == 1
    assert storage_options("memory://", 1.5) == {"wrap_exceptions": True}
