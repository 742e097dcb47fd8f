"""A Redis server of the test's own: Debian's redis-server started on 127.0.0.1 and a free port,
with nothing saved to disk, killed and started again on the same port when a test needs Redis to
fail and come back (the shared server on 6379 is never touched).

Without redis-server the tests that need it are skipped on a workstation, but under CI
(``CI=true``) that is a failure: .ci/run installs it."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def require_redis_server() -> None:
    if not os.path.exists(REDIS_SERVER):
        message = "redis-server is missing: apt-get install redis-server to run the Redis failure tests"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: the Redis failure tests are required)", pytrace=False)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port: int) -> bool:
    """Whether a Redis answers PING on the port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="desk-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start (or start again, empty) on this server's port."""
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root), "--logfile", str(self.root / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Until it answers: readiness, not a timed assertion. The limit (about two minutes) only
        # stops a hang, far above a start on a busy machine.
        for _ in range(2400):
            if self.process.poll() is not None:
                log = (self.root / "redis.log").read_text() if (self.root / "redis.log").exists() else ""
                raise RuntimeError(f"redis-server exited: {self.process.stderr.read().decode()[:1000]} {log[-1000:]}")
            if answers(self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start answering")

    def kill(self) -> None:
        """Kill the process outright (SIGKILL: no goodbye to its clients) and wait for its end."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=60)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)
