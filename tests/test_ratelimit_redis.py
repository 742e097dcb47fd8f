"""With DESK_RATELIMIT_STORAGE_URL pointing at Redis, the portal's limits are shared by every
desk process (several gunicorn instances count together): two processes, one limit.

Needs Redis on 127.0.0.1:6379: skipped without it on a workstation, a failure under CI
(``CI=true``), where .ci/run starts one."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest

REDIS = ("127.0.0.1", 6379)

SCRIPT = r'''
import sys
from flask_migrate import upgrade
from desk import create_app
# Per hour, not per minute: the window opens at the first attempt, and the second process
# (starting Python and the migrations) may come more than a minute later on a busy machine.
app = create_app({"DESK_PORTAL_TRACK_LIMIT": "3 per hour"})
with app.app_context():
    upgrade()
client = app.test_client()
client.environ_base["REMOTE_ADDR"] = "192.0.2.99"
app.config["WTF_CSRF_ENABLED"] = False
codes = [client.post("/portal/track", data={"reference": "C-1448-000001", "phone": "0551234567"}).status_code
         for _ in range(int(sys.argv[1]))]
print(" ".join(map(str, codes)))
'''


def _redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_two_processes_share_one_limit_through_redis(tmp_path):
    if not _redis_up():
        message = f"Redis is not reachable on {REDIS[0]}:{REDIS[1]}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: the shared rate-limit test is required)", pytrace=False)
        pytest.skip(message)
    prefix = f"desk-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DESK_ENV": "testing", "DESK_SECRET_KEY": "x", "DESK_INSTANCE_PATH": str(tmp_path),
           "DESK_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}", "DESK_RATELIMIT_KEY_PREFIX": prefix,
           "DESK_RATELIMIT_STORAGE_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0"}

    def run(n: int) -> list[int]:
        done = subprocess.run([sys.executable, "-c", SCRIPT, str(n)], env=env, capture_output=True, text=True,
                              timeout=600)  # a guard against a hang, far above any busy machine's time
        assert done.returncode == 0, done.stderr[-2000:]
        return [int(c) for c in done.stdout.split()]

    assert run(2) == [422, 422]          # unknown reference: refused, counted
    assert run(2) == [422, 429]          # another process: the third attempt is the last allowed
