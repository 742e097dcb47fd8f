"""``python -m tests.bench.outbox --messages 2000``: outbox delivery throughput.

Queues N messages, then runs the worker (``desk.notify.outbox.run``, as ``flask desk worker
--once`` does) against a local SMTP server (aiosmtpd on loopback, in its own process) until
all are sent; the
figure is messages per second, the median of ``--runs`` runs. Real SMTP over TCP, one
connection per batch, one commit per message's outcome.

SQLite by default (a fresh file in a temporary directory); ``--database-url`` measures
another database, which must be one of its own (its outbox table is emptied), never ``test``.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    """aiosmtpd in its own process, as a real mail server would be (not sharing our GIL),
    accepting and discarding every message."""
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                               "-c", "aiosmtpd.handlers.Sink"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100).startswith(b"220"):
                    return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("the local SMTP server did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=50, help="messages claimed per batch (DESK_OUTBOX_BATCH)")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    args = parser.parse_args(argv)
    if args.database_url.rstrip("/").endswith("/test"):
        parser.error("never the shared `test` database")

    instance = tempfile.mkdtemp(prefix="desk-outbox-bench-")
    os.environ.update(DESK_ENV="testing", DESK_SECRET_KEY="bench-secret-key", DESK_INSTANCE_PATH=instance,
                      DESK_DATABASE_URL=args.database_url or f"sqlite:///{instance}/bench.db")

    from flask_migrate import upgrade
    from sqlalchemy import delete, func, insert, select

    from desk import create_app
    from desk.extensions import db
    from desk.models import OutboxMessage, OutboxStatus, utcnow
    from desk.notify.outbox import OutboxSettings, run

    app = create_app({"RATELIMIT_ENABLED": False})
    port = free_port()
    server = start_server(port)
    rates: list[float] = []
    try:
        with app.app_context():
            upgrade()
            base = OutboxSettings.from_config(app.config)
            settings = replace(base, batch=args.batch,
                               mail=replace(base.mail, host="127.0.0.1", port=port, tls="none", user=""))
            body = ("وُجِّه الطلب C-1447-000123 إلى إدارتك: البحث الاجتماعي.\n\n"
                    "الرقم المرجعي: C-1447-000123\nالموضوع: تأخر صرف السلة الغذائية لهذا الشهر\n"
                    "الإدارة: البحث الاجتماعي\n\nفتح الطلب: http://127.0.0.1:5000/tickets/C-1447-000123\n")
            for n in range(1, args.runs + 1):
                db.session.execute(delete(OutboxMessage))
                now = utcnow()
                db.session.execute(insert(OutboxMessage), [
                    {"channel": "email", "to_address": f"focal{i % 50}@example.org", "reason": "routed",
                     "subject": f"[C-1447-{i:06d}] وُجِّه إلى إدارتك: تأخر صرف السلة الغذائية",
                     "body_text": body, "status": "pending", "attempts": 0, "next_attempt_at": now,
                     "created_at": now}
                    for i in range(args.messages)
                ])
                db.session.commit()
                started = time.perf_counter()
                total = run(db.session, settings, once=True)
                elapsed = time.perf_counter() - started
                sent = db.session.scalar(select(func.count()).where(OutboxMessage.status == OutboxStatus.SENT))
                assert total.sent == args.messages == sent, (total, sent)
                rates.append(args.messages / elapsed)
                print(f"run {n}: {args.messages} messages in {elapsed:.2f} s = {rates[-1]:.0f} messages/s",
                      flush=True)
            db.session.execute(delete(OutboxMessage))
            db.session.commit()
            dialect = db.engine.dialect.name
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"outbox delivery throughput ({dialect}, batch {args.batch}, local aiosmtpd): "
          f"median {statistics.median(rates):.0f} messages/s over {len(rates)} runs of {args.messages}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
