"""``python -m tests.bench.mail --database-url postgresql+psycopg://…/OWN_DB``: email intake throughput.

A mixed corpus of ``--messages`` emails (Arabic text, HTML, a PDF attachment on one in five,
replies threading on earlier ones, auto-replies and forged headers among them) is taken in:

1. through ``import-mail``'s pipeline in this process (``desk.channels.pipe.import_one``, what
   each ``flask desk import-mail`` run does once its interpreter is up);
2. through ``flask --app wsgi desk import-mail`` as a mail server runs it, one process per
   message, for ``--processes`` messages (the interpreter's start dominates);
3. through ``fetch-mail`` from a real IMAP server (Dovecot on loopback, tests/mailserver.py);
4. one ``--large-mb`` MB message (a PDF attachment), with the peak memory Python allocated
   while taking it in (tracemalloc).

Figures are messages per second, the median of ``--runs`` runs (the tables are emptied between
runs). The database must be one of its own (its tables are emptied), never ``test``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
TEXT = "لم تصلني السلة الغذائية هذا الشهر، وقد راجعت الجمعية مرتين دون رد. أرجو المتابعة وإفادتي بموعد الصرف."


def corpus(n: int) -> list[bytes]:
    """``n`` mixed messages, the same every time."""
    from datetime import UTC, datetime

    messages: list[bytes] = []
    for i in range(n):
        m = EmailMessage()
        sender = f"person{i % 400}@example{i % 7}.net"
        m["From"] = Address(display_name=f"مستفيد {i % 400}", addr_spec=sender)
        m["To"] = "care@example.org"
        m["Subject"] = f"طلب رقم {i}: تأخر صرف السلة الغذائية"
        m["Date"] = format_datetime(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
        m["Message-ID"] = f"<bench-{i}@example.net>"
        kind = i % 20
        if kind == 0:
            m["Auto-Submitted"] = "auto-replied"  # an out-of-office: ignored
        elif kind == 1:
            m.replace_header("From", "a@example.net, b@example.net")  # quarantined
        elif kind in (2, 3) and i >= 40:
            m["In-Reply-To"] = f"<bench-{i - 20}@example.net>"  # the same sender's earlier message: a reply
            m.replace_header("From", Address(display_name=f"مستفيد {(i - 20) % 400}",
                                             addr_spec=f"person{(i - 20) % 400}@example{(i - 20) % 7}.net"))
        body = "\n".join([TEXT] * (1 + i % 5))
        if kind in (4, 5):
            m.set_content(f"<html><body><p>{body}</p><script>x()</script></body></html>", subtype="html")
        else:
            m.set_content(body)
        if i % 5 == 2:
            m.add_attachment(PDF + os.urandom(60_000), maintype="application", subtype="pdf",
                             filename=f"مستند {i}.pdf")
        messages.append(m.as_bytes())
    return messages


def large(mb: float) -> bytes:
    m = EmailMessage()
    m["From"] = "Ahmad <ahmad@example.net>"
    m["To"] = "care@example.org"
    m["Subject"] = "ملف كبير"
    m["Message-ID"] = "<bench-large@example.net>"
    m.set_content("مرفق ملف كبير")
    m.add_attachment(PDF + b"0" * int(mb * 1024 * 1024 * 3 / 4), maintype="application", subtype="pdf",
                     filename="large.pdf")  # base64 makes the message about ``mb`` MB
    return m.as_bytes()


def empty(db) -> None:
    from desk.models import Base
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in ("users", "user_roles", "roles", "departments", "alembic_version"):
                conn.execute(table.delete())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=50, help="messages taken by one process each")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--large-mb", type=float, default=50)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    args = parser.parse_args(argv)
    if args.database_url.rstrip("/").endswith("/test"):
        parser.error("never the shared `test` database")

    instance = tempfile.mkdtemp(prefix="desk-mail-bench-")
    env = dict(DESK_ENV="testing", DESK_SECRET_KEY="bench-secret-key", DESK_INSTANCE_PATH=instance,
               DESK_DATABASE_URL=args.database_url or f"sqlite:///{instance}/bench.db",
               DESK_ATTACHMENT_DIR=f"{instance}/attachments", DESK_MAIL_FROM="desk@example.org",
               DESK_MAIL_MAX_MB=str(args.large_mb + 10))
    os.environ.update(env)

    from flask_migrate import upgrade

    from desk import create_app
    from desk.channels import imap, pipe, service
    from desk.channels.inbound import Storage
    from desk.extensions import db
    from desk.notify.mail import MailSettings
    from tests.mailserver import Dovecot

    app = create_app({"RATELIMIT_ENABLED": False})
    messages = corpus(args.messages)
    size = sum(map(len, messages)) / len(messages) / 1024
    print(f"{len(messages)} messages, {size:.0f} KB on average, on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}")
    mailbox = service.Mailbox("care", acknowledge=True, address="care@example.org")
    results: dict[str, list[float]] = {"import-mail (pipeline)": [], "import-mail (one process each)": [],
                                       "fetch-mail (IMAP)": []}
    dovecot = Dovecot().start()
    try:
        with app.app_context():
            upgrade()
            for _ in range(args.runs):
                empty(db)
                started = time.perf_counter()
                outcomes: dict[str, int] = {}
                for raw in messages:
                    code, said = pipe.import_one(db.session, raw, mailbox, app.config)
                    assert code == 0, said
                    outcomes[said.split(" ")[0]] = outcomes.get(said.split(" ")[0], 0) + 1
                results["import-mail (pipeline)"].append(len(messages) / (time.perf_counter() - started))
                print("  import-mail:", outcomes)

                empty(db)
                started = time.perf_counter()
                for raw in messages[:args.processes]:
                    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "desk", "import-mail"],
                                          input=raw, capture_output=True, cwd=ROOT, env={**os.environ, **env}, check=False)
                    assert done.returncode == 0, done.stderr
                results["import-mail (one process each)"].append(args.processes / (time.perf_counter() - started))

                empty(db)
                user = dovecot.user()
                for raw in messages:
                    dovecot.deliver(user, raw)
                box = imap.MailboxSettings(name="care", host="127.0.0.1", port=dovecot.port, tls="none",
                                           user=user, password="secret", acknowledge=True)
                storage = Storage.from_config(db.session, app.config)
                gate = pipe.Gate.from_config(app.config, {box.address})
                started = time.perf_counter()
                fetched = imap.fetch_mailbox(db.session, box, storage, MailSettings.from_config(app.config),
                                             set(gate.own_addresses), batch=len(messages), gate=gate,
                                             max_bytes=int(app.config["DESK_MAIL_MAX_MB"] * 1024 * 1024))
                results["fetch-mail (IMAP)"].append(len(messages) / (time.perf_counter() - started))
                print("  fetch-mail:", fetched)

            empty(db)
            raw = large(args.large_mb)
            tracemalloc.start()
            started = time.perf_counter()
            code, said = pipe.import_one(db.session, raw, mailbox, app.config)
            seconds = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert code == 0 and said.startswith("ticket"), said
    finally:
        dovecot.stop()

    for name, rates in results.items():
        print(f"{name}: {statistics.median(rates):.1f} messages/s (median of {len(rates)}: "
              f"{', '.join(f'{r:.1f}' for r in rates)})")
    print(f"largest message: {len(raw) / 1024 / 1024:.1f} MB taken in ({said}) in {seconds:.1f} s, "
          f"peak Python memory {peak / 1024 / 1024:.0f} MB ({peak / len(raw):.1f}× the message)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
