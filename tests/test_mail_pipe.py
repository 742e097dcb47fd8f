"""``flask desk import-mail`` (issue 15, point 7): one message on standard input, through the
same pipeline as fetch-mail, with the exit codes an MTA's pipe transport understands."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from desk.channels import service
from desk.models import ChannelState, InboundMessage, QuarantinedMail, QuarantineState
from tests.test_mail_gate import email, tickets
from tests.test_mail_quarantine import HOSTILE

ROOT = Path(__file__).resolve().parent.parent
BOXES = json.dumps([{"name": "care", "host": "127.0.0.1", "user": "care@example.org", "kind": "complaint",
                     "department": "AID"}])


def flask(*args, stdin: bytes, **env) -> subprocess.CompletedProcess:
    """The real command, as the mail server runs it (the test database comes from the environment)."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "desk", *args], input=stdin,
                          capture_output=True, cwd=ROOT, env={**os.environ, **env}, timeout=120, check=False)


@pytest.fixture
def run(app):
    """``run(raw, *args)``: the command in this process (its result: exit_code, output)."""
    def invoke(raw: bytes, *args, **config):
        saved = {key: app.config[key] for key in config}
        app.config.update(config)
        try:
            return app.test_cli_runner().invoke(args=["desk", "import-mail", *args], input=raw)
        finally:
            app.config.update(saved)
    return invoke


def test_a_message_piped_by_the_mail_server_becomes_a_ticket(db, people):
    db.session.commit()  # (people, committed for the other process)
    done = flask("import-mail", "--channel", "care", stdin=email().as_bytes(), DESK_MAILBOXES=BOXES)
    assert done.returncode == 0, done.stderr
    (ticket,) = tickets(db)
    assert done.stdout.decode().strip() == f"ticket {ticket.reference}"
    assert ticket.kind == "complaint" and ticket.department_id == people.aid.id  # the mailbox's settings
    assert db.session.get(ChannelState, "email:care").received == 1


def test_the_database_unreachable_exits_75_so_the_mail_server_keeps_the_message(db, people):
    done = flask("import-mail", stdin=email().as_bytes(),
                 DESK_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/nowhere", DESK_DB_CONNECT_TIMEOUT="2")
    assert done.returncode == 75, (done.stdout, done.stderr)
    assert b"try again later" in done.stderr
    assert tickets(db) == []


@pytest.mark.parametrize("raw, said", [
    (HOSTILE, "quarantined"),
    (email(X_Loop="desk@example.org").as_bytes(), "ignored"),
])
def test_quarantined_and_ignored_messages_exit_0(db, people, run, raw, said):
    result = run(raw)
    assert result.exit_code == 0 and result.output.startswith(said), result.output
    assert tickets(db) == []
    assert run(raw).output.startswith("duplicate")


@pytest.mark.parametrize("raw", [b"", b"\x00\x01\x02binary", b"just a line of text\n", b"%PDF-1.4\n..."])
def test_what_is_not_a_message_exits_65(db, people, run, raw):
    result = run(raw)
    assert result.exit_code == 65
    assert db.session.scalar(select(InboundMessage)) is None


def test_an_unknown_mailbox_exits_75(db, people, run):
    assert run(email().as_bytes(), "--channel", "nowhere").exit_code == 75
    assert tickets(db) == []


def test_a_database_lost_halfway_exits_75_and_is_not_counted_as_a_failure(db, people, run, monkeypatch):
    def lost(*args, **kwargs):
        raise OperationalError("INSERT …", {}, Exception("server closed the connection unexpectedly"))
    monkeypatch.setattr(service, "take", lost)
    assert run(email().as_bytes()).exit_code == 75
    assert db.session.scalar(select(QuarantinedMail)) is None


def test_a_message_that_always_fails_exits_75_then_is_quarantined(db, people, run, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a bug")
    monkeypatch.setattr(service, "take", broken)
    raw = email().as_bytes()
    codes = [run(raw, DESK_MAIL_MAX_ATTEMPTS=3).exit_code for _ in range(3)]
    assert codes == [75, 75, 0]
    (row,) = db.session.scalars(select(QuarantinedMail))
    assert row.state == QuarantineState.HELD and row.attempts == 3
