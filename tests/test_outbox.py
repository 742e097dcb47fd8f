"""The outbox and its worker, against a real SMTP server (aiosmtpd on loopback): a message
goes out once, a server that is down loses nothing, a 5xx fails for good, two workers on
PostgreSQL never send the same message twice; and the admin page that lists and retries."""
from __future__ import annotations

import email
import os
import socket
import threading
from datetime import timedelta
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from desk.models import OutboxMessage, OutboxStatus, utcnow
from desk.notify import outbox as outbox_module
from desk.notify.mail import MailSettings, message_id
from desk.notify.outbox import OutboxSettings, backoff, claim, deliver, run
from desk.settings import SettingsError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """An aiosmtpd handler that keeps every message it accepts, and can refuse some."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: dict[str, str] = {}   # recipient address -> SMTP reply to RCPT
        self.on_data = None                # called with each accepted message, before the reply
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        with self.lock:
            self.messages.append(message)
        if self.on_data is not None:
            self.on_data(message)
        return "250 Message accepted for delivery"

    def ids(self) -> list[str]:
        with self.lock:
            return [m["Message-ID"] for m in self.messages]


class SmtpServer:
    def __init__(self, port: int):
        self.port = port
        self.handler = Recorder()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


def outbox_settings(port: int, timeout: float = 5, **overrides) -> OutboxSettings:
    mail = MailSettings(host="127.0.0.1", port=port, mail_from="desk@example.org", from_name="جمعية البر",
                        timeout=timeout, secret="test-secret-key")
    return OutboxSettings(mail=mail, **overrides)


def queue(session, n: int = 1, to: str = "focal@example.org", now=None) -> list[int]:
    now = now or utcnow()
    messages = [OutboxMessage(to_address=to, subject=f"[C-1447-{i:06d}] وُجِّه إلى إدارتك", body_text="نص الرسالة\n",
                              reason="routed", next_attempt_at=now, created_at=now) for i in range(n)]
    session.add_all(messages)
    session.commit()
    return [m.id for m in messages]


def row(session, message_id: int) -> OutboxMessage:
    session.expire_all()
    return session.get(OutboxMessage, message_id)


# Delivery --------------------------------------------------------------------------------

def test_a_message_is_sent_exactly_once(db, smtp):
    session, settings = db.session, outbox_settings(smtp.port)
    (mid,) = queue(session)
    first = deliver(session, settings)
    second = deliver(session, settings)
    assert (first.claimed, first.sent, second.claimed) == (1, 1, 0)
    assert len(smtp.handler.messages) == 1
    sent = smtp.handler.messages[0]
    assert sent["Message-ID"] == message_id(mid, settings.mail)
    assert sent["Subject"] == "[C-1447-000000] وُجِّه إلى إدارتك"
    assert sent["To"] == "focal@example.org"
    assert sent["Auto-Submitted"] == "auto-generated"
    assert sent.get_content().strip() == "نص الرسالة"
    message = row(session, mid)
    assert message.status == OutboxStatus.SENT and message.sent_at is not None
    assert message.attempts == 1 and message.locked_until is None and message.last_error is None


def test_message_id_is_stable_and_signed():
    a, b = outbox_settings(25).mail, outbox_settings(25).mail
    assert message_id(7, a) == message_id(7, b)
    assert message_id(7, a) != message_id(8, a)
    assert message_id(7, a).endswith("@example.org>")
    other = OutboxSettings(mail=MailSettings(mail_from="desk@example.org", secret="another"))
    assert message_id(7, a) != message_id(7, other.mail)


def test_with_the_server_down_nothing_is_lost_and_no_attempt_is_spent(db):
    session = db.session
    port = free_port()  # nobody listens here yet
    settings = outbox_settings(port)
    now = utcnow()
    (mid,) = queue(session, now=now)

    result = deliver(session, settings, now=now)
    assert (result.claimed, result.postponed, result.retried, result.sent) == (1, 1, 0, 0)
    message = row(session, mid)
    assert message.status == OutboxStatus.PENDING and message.attempts == 0  # the server's fault, not the message's
    assert message.next_attempt_at == now + timedelta(minutes=1)
    assert "Connection" in message.last_error or "refused" in message.last_error.lower()

    assert deliver(session, settings, now=now + timedelta(seconds=30)).claimed == 0  # not due yet

    later = now + timedelta(minutes=1)
    deliver(session, settings, now=later)
    message = row(session, mid)
    assert message.status == OutboxStatus.PENDING and message.attempts == 0
    assert message.next_attempt_at == later + timedelta(minutes=2)  # the wait doubles

    server = SmtpServer(port).start()
    try:
        result = deliver(session, settings, now=later + timedelta(minutes=2))
        assert result.sent == 1
        assert deliver(session, settings, now=later + timedelta(hours=1)).claimed == 0
        assert server.handler.ids() == [message_id(mid, settings.mail)]
    finally:
        server.stop()
    message = row(session, mid)
    assert message.status == OutboxStatus.SENT and message.attempts == 1 and message.last_error is None


def test_a_three_day_outage_fails_nothing_and_the_message_goes_out_once(db):
    session = db.session
    port = free_port()
    settings = outbox_settings(port)  # 8 attempts
    start = utcnow()
    (mid,) = queue(session, now=start)
    now, waits = start, []
    while now < start + timedelta(days=3):
        result = deliver(session, settings, now=now)
        assert (result.claimed, result.postponed, result.failed) == (1, 1, 0)
        message = row(session, mid)
        assert message.status == OutboxStatus.PENDING and message.attempts == 0
        waits.append(message.next_attempt_at - now)
        now = message.next_attempt_at
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)] and waits == sorted(waits)
    assert max(waits) == outbox_module.OUTAGE_CAP  # a server back up is noticed within half an hour
    assert len(waits) < 3 * 24 * 2 + 10

    server = SmtpServer(port).start()
    try:
        assert deliver(session, settings, now=now).sent == 1
        assert deliver(session, settings, now=now + timedelta(days=1)).claimed == 0
        assert server.handler.ids() == [message_id(mid, settings.mail)]
    finally:
        server.stop()
    message = row(session, mid)
    assert message.status == OutboxStatus.SENT and message.attempts == 1


def one_shot_server(port: int) -> threading.Thread:
    """A mail server that greets one client, answers EHLO, then hangs up on MAIL FROM and is
    gone (its listening socket closed): a server that dies in the middle of a delivery."""
    listener = socket.create_server(("127.0.0.1", port))

    def serve():
        connection, _ = listener.accept()
        listener.close()
        with connection:
            connection.sendall(b"220 mail.example.org ESMTP\r\n")
            connection.recv(1000)  # EHLO
            connection.sendall(b"250 mail.example.org\r\n")
            connection.recv(1000)  # MAIL FROM: hang up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_server_that_hangs_up_and_is_gone_costs_no_attempt(db):
    session, port = db.session, free_port()
    settings, now = outbox_settings(port), utcnow()
    ids = queue(session, 3, now=now)
    server = one_shot_server(port)
    result = deliver(session, settings, now=now)
    server.join(timeout=5)
    assert (result.claimed, result.postponed, result.retried, result.failed, result.sent) == (3, 3, 0, 0, 0)
    for mid in ids:
        message = row(session, mid)
        assert message.status == OutboxStatus.PENDING and message.attempts == 0
        assert message.next_attempt_at == now + timedelta(minutes=1)


def test_a_server_that_hangs_up_on_one_message_counts_it_and_sends_the_rest(db, smtp):
    session, settings = db.session, outbox_settings(smtp.port)
    smtp.handler.refuse = {"flaky@example.org": "421 4.3.2 Service shutting down, closing channel"}
    (flaky,) = queue(session, to="flaky@example.org")
    (fine,) = queue(session, to="fine@example.org")
    result = deliver(session, settings)
    assert (result.retried, result.sent, result.postponed) == (1, 1, 0)
    message = row(session, flaky)
    assert message.status == OutboxStatus.PENDING and message.attempts == 1 and "421" in message.last_error
    assert row(session, fine).status == OutboxStatus.SENT
    assert [m["To"] for m in smtp.handler.messages] == ["fine@example.org"]


def test_a_5xx_rejection_fails_at_once_and_a_4xx_is_retried(db, smtp):
    session, settings = db.session, outbox_settings(smtp.port)
    smtp.handler.refuse = {"gone@example.org": "550 5.1.1 No such user",
                           "busy@example.org": "451 4.3.0 Try again later"}
    (gone,) = queue(session, to="gone@example.org")
    (busy,) = queue(session, to="busy@example.org")
    (fine,) = queue(session, to="fine@example.org")
    result = deliver(session, settings)
    assert (result.sent, result.failed, result.retried) == (1, 1, 1)
    gone_row, busy_row = row(session, gone), row(session, busy)
    assert gone_row.status == OutboxStatus.FAILED and gone_row.attempts == 1 and "550" in gone_row.last_error
    assert busy_row.status == OutboxStatus.PENDING and "451" in busy_row.last_error
    assert row(session, fine).status == OutboxStatus.SENT
    assert [m["To"] for m in smtp.handler.messages] == ["fine@example.org"]


def test_a_temporary_failure_is_retried_for_the_window_not_a_few_attempts(db, smtp):
    """A 4xx is this message's temporary failure: tried again with backoff for the whole
    retry window (here 6 h), far more than the eight attempts that used to fail it, and only
    then failed, with why."""
    window = timedelta(hours=6)
    session, settings = db.session, outbox_settings(smtp.port, retry_window=window)
    smtp.handler.refuse = {"busy@example.org": "451 4.3.0 Try again later"}  # this message's own failure
    start = utcnow()
    (mid,) = queue(session, to="busy@example.org", now=start)
    now, waits = start, []
    while True:
        result = deliver(session, settings, now=now)
        assert result.claimed == 1
        message = row(session, mid)
        if message.status == OutboxStatus.FAILED:
            break
        assert (result.retried, message.status, message.failing_since) == (1, OutboxStatus.PENDING, start)
        waits.append(message.next_attempt_at - now)
        now = message.next_attempt_at
    assert now - start >= window and message.attempts == len(waits) + 1 > 8
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)] and max(waits) == outbox_module.BACKOFF_CAP
    assert (message.failure, message.failed_at) == ("expired", now)
    assert "451" in message.last_error and "6 h" in message.last_error
    assert smtp.handler.messages == []


def test_backoff_doubles_and_is_capped():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(10) == backoff(50) == timedelta(hours=1)


def test_a_dead_workers_lease_expires_and_the_message_goes_out_once(db, smtp):
    session, settings = db.session, outbox_settings(smtp.port)
    now = utcnow()
    (mid,) = queue(session, now=now)
    claimed = claim(session, settings, now)  # a worker claims, then dies before sending
    assert [c.id for c in claimed] == [mid] and row(session, mid).status == OutboxStatus.SENDING
    assert deliver(session, settings, now=now + timedelta(minutes=1)).claimed == 0  # the lease still holds
    assert deliver(session, settings, now=now + settings.lease + timedelta(seconds=1)).sent == 1
    assert len(smtp.handler.messages) == 1
    assert row(session, mid).attempts == 2


class SimulatedClock:
    """The worker's clock (``desk.notify.outbox.utcnow``), moved on by the test."""

    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def test_a_batch_that_outlives_its_lease_never_sends_a_message_twice(db, smtp, monkeypatch):
    """Worker A claims three messages; the server takes just over half a lease per message, so
    the third message's lease runs out while A still waits on the second. Worker B, starting
    then, takes the third. A renews a lease running short before each send, and skips a
    message whose lease is no longer its own: every message goes out exactly once."""
    session, settings = db.session, outbox_settings(smtp.port)
    clock = SimulatedClock(utcnow())
    monkeypatch.setattr("desk.notify.outbox.utcnow", clock)
    ids = queue(session, 3, now=clock())
    other = SmtpServer(free_port()).start()  # B's connection to the same mail service
    engine, results = db.engine, {}

    def slow_server(message) -> None:
        clock.advance(settings.lease / 2 + timedelta(seconds=1))
        if len(smtp.handler.messages) == 2 and "B" not in results:  # A waits for the reply to its 2nd
            try:
                with Session(engine) as b_session:
                    results["B"] = deliver(b_session, outbox_settings(other.port))
            except Exception as error:  # pragma: no cover - reported below
                results["B error"] = error

    smtp.handler.on_data = slow_server
    try:
        results["A"] = deliver(session, settings)
    finally:
        other.stop()
    assert "B error" not in results, results
    sent = smtp.handler.ids() + other.handler.ids()
    assert sorted(sent) == sorted(message_id(i, settings.mail) for i in ids), "a message was sent twice"
    assert (results["B"].claimed, results["B"].sent) == (1, 1)
    assert (results["A"].claimed, results["A"].sent, results["A"].skipped) == (3, 2, 1)
    assert [row(session, i).status for i in ids] == [OutboxStatus.SENT] * 3
    assert [row(session, i).attempts for i in ids] == [1, 1, 2]


def test_the_lease_must_outlast_a_slow_send():
    with pytest.raises(SettingsError, match="DESK_OUTBOX_LEASE_SECONDS"):
        outbox_settings(25, lease=timedelta(seconds=20))  # the server may take 5 s for each of several replies
    assert outbox_settings(25, lease=timedelta(seconds=30)).lease == timedelta(seconds=30)


def test_a_message_whose_worker_keeps_dying_fails_instead_of_looping(db, smtp):
    session, settings = db.session, outbox_settings(smtp.port, max_stalls=2)
    now = utcnow()
    (mid,) = queue(session, now=now)
    for death in range(2):  # claimed, then the worker dies while sending, twice
        assert claim(session, settings, now + death * settings.lease * 2)
    result = deliver(session, settings, now=now + settings.lease * 5)
    assert (result.claimed, result.failed, result.sent) == (1, 1, 0)
    message = row(session, mid)
    assert message.status == OutboxStatus.FAILED and "worker" in message.last_error
    assert (message.stalls, message.failure) == (2, "stalled")
    assert smtp.handler.messages == []


def test_a_message_that_cannot_be_written_fails_and_the_rest_go_out(db, smtp):
    session, settings = db.session, outbox_settings(smtp.port)
    (bad,) = queue(session, to="a@example.org\r\nBcc: spy@example.org")
    (good,) = queue(session)
    result = deliver(session, settings)
    assert (result.failed, result.sent) == (1, 1)
    assert row(session, bad).status == OutboxStatus.FAILED and row(session, good).status == OutboxStatus.SENT
    assert [m["To"] for m in smtp.handler.messages] == ["focal@example.org"]


def test_the_worker_loop_delivers_batch_after_batch(db, smtp):
    session, settings = db.session, outbox_settings(smtp.port, batch=4)
    queue(session, 10)
    total = run(session, settings, once=True)
    assert (total.claimed, total.sent) == (10, 10)
    assert len(set(smtp.handler.ids())) == 10


def test_the_worker_command_once(app, db, smtp):
    queue(db.session, 3)
    old = dict(app.config)
    app.config.update(DESK_SMTP_HOST="127.0.0.1", DESK_SMTP_PORT=smtp.port, DESK_MAIL_FROM="desk@example.org")
    try:
        result = app.test_cli_runner().invoke(args=["desk", "worker", "--once"])
    finally:
        app.config.update(old)
    assert result.exit_code == 0, result.output
    assert "sent 3" in result.output
    assert len(smtp.handler.messages) == 3


needs_postgresql = pytest.mark.skipif(
    not os.environ.get("DESK_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="concurrent workers need PostgreSQL (FOR UPDATE SKIP LOCKED); SQLite runs one worker. "
           "Set DESK_TEST_DATABASE_URL to a PostgreSQL database to run this.")


@needs_postgresql
def test_a_claim_skips_the_rows_another_worker_holds(db):
    engine, settings = db.engine, outbox_settings(25)
    ids = queue(db.session, 5)
    db.session.close()
    with Session(engine) as first, Session(engine) as second:
        held = first.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id).limit(3).with_for_update()).all()
        second.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting instead of skipping fails, not hangs
        taken = [c.id for c in claim(second, settings, utcnow())]
        first.rollback()
    assert sorted(taken) == sorted(set(ids) - set(held))


@needs_postgresql
def test_concurrent_claims_never_overlap(db):
    engine, settings = db.engine, outbox_settings(25, batch=5)
    ids = queue(db.session, 200)
    db.session.close()
    barrier = threading.Barrier(4)
    taken: list[list[int]] = [[] for _ in range(4)]
    errors: list = []

    def worker(n: int) -> None:
        try:
            with Session(engine) as session:
                while True:
                    barrier.wait(timeout=30)  # every round, all four claim at the same moment
                    got = [c.id for c in claim(session, settings, utcnow())]
                    taken[n].extend(got)
                    barrier.wait(timeout=30)
                    if sum(len(t) for t in taken) >= len(ids):
                        return
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    everything = [i for t in taken for i in t]
    assert sorted(everything) == sorted(ids), "a message was claimed twice, or not at all"


@needs_postgresql
def test_two_workers_on_postgresql_never_send_the_same_message_twice(db, smtp):
    """Each worker talks to its own mail server. A's first message is held until B has sent
    one, so both deliver a share however the threads are scheduled on a busy machine."""
    engine = db.engine
    other = SmtpServer(free_port()).start()
    servers = {"A": smtp, "B": other}
    settings = {"A": outbox_settings(smtp.port, timeout=120, lease=timedelta(minutes=12), batch=10),
                "B": outbox_settings(other.port, batch=10)}  # A's client waits out the hold below
    ids = queue(db.session, 300)
    db.session.close()
    totals: dict = {}
    errors: list = []
    b_sent = threading.Event()
    other.handler.on_data = lambda message: b_sent.set()
    smtp.handler.on_data = lambda message: b_sent.wait(timeout=60)  # returns at once after B's first

    def worker(name):
        try:
            with Session(engine) as session:
                totals[name] = run(session, settings[name], once=True)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(name,)) for name in servers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    finally:
        other.stop()
    assert not errors, errors
    sent_ids = smtp.handler.ids() + other.handler.ids()
    assert len(sent_ids) == len(set(sent_ids)) == 300
    assert set(sent_ids) == {message_id(i, settings["A"].mail) for i in ids}
    assert sorted(totals) == ["A", "B"] and all(t.sent > 0 for t in totals.values()), \
        "both workers should have delivered a share"
    assert (totals["A"].sent, totals["B"].sent) == (len(smtp.handler.ids()), len(other.handler.ids()))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).where(OutboxMessage.status == OutboxStatus.SENT)) == 300


# The admin page ------------------------------------------------------------------------------

@pytest.fixture
def outbox_rows(db, people, make_ticket):
    ticket = make_ticket()
    now = utcnow()
    rows = {
        "pending": OutboxMessage(to_address="a@example.org", subject="s1", body_text="b", reason="routed",
                                 ticket_id=ticket.id, attempts=2, next_attempt_at=now + timedelta(minutes=4),
                                 last_error="ConnectionRefusedError: refused"),
        "failed": OutboxMessage(to_address="b@example.org", subject="s2", body_text="b", reason="assigned",
                                status=OutboxStatus.FAILED, attempts=8, last_error="550 5.1.1 No such user"),
        "sent": OutboxMessage(to_address="c@example.org", subject="s3", body_text="b", reason="resolved",
                              status=OutboxStatus.SENT, attempts=1, sent_at=now),
    }
    db.session.add_all(rows.values())
    db.session.commit()
    return {key: m.id for key, m in rows.items()} | {"reference": ticket.reference}


def test_outbox_page_is_for_admins_only(as_user, people, outbox_rows, browser):
    for user in (people.staff, people.focal, people.supervisor):
        b = as_user(user)
        assert b.get("/admin/outbox").status_code == 404
        assert b.get("/admin/outbox", htmx=True).status_code == 404
        assert b.post(f"/admin/outbox/{outbox_rows['failed']}/retry").status_code == 404
    assert browser.get("/admin/outbox").status_code == 302  # anonymous: sign in first


def test_outbox_page_lists_what_needs_attention(as_user, people, outbox_rows):
    b = as_user(people.admin)
    page = b.get("/admin/outbox")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert f'id="outbox-{outbox_rows["pending"]}"' in html and f'id="outbox-{outbox_rows["failed"]}"' in html
    assert f'id="outbox-{outbox_rows["sent"]}"' not in html
    assert outbox_rows["reference"] in html and "550 5.1.1 No such user" in html
    assert 'href="/admin/outbox"' in b.get("/tickets").get_data(as_text=True)  # the nav link

    sent = b.get("/admin/outbox?show=sent", htmx=True)
    fragment = sent.get_data(as_text=True)
    assert sent.status_code == 200 and "<html" not in fragment and fragment.lstrip().startswith("<div id=\"outbox-list\"")
    assert f'id="outbox-{outbox_rows["sent"]}"' in fragment and f'id="outbox-{outbox_rows["failed"]}"' not in fragment


def test_retry_now_with_htmx_swaps_the_row(as_user, people, outbox_rows, db):
    b = as_user(people.admin)
    failed = outbox_rows["failed"]
    assert b.post(f"/admin/outbox/{failed}/retry", htmx=True, csrf=False).status_code == 400
    assert row(db.session, failed).status == OutboxStatus.FAILED

    response = b.post(f"/admin/outbox/{failed}/retry", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<tr id="outbox-{failed}"')
    message = row(db.session, failed)
    assert message.status == OutboxStatus.PENDING and message.attempts == 0
    assert message.next_attempt_at <= utcnow()

    sent = b.post(f"/admin/outbox/{outbox_rows['sent']}/retry", htmx=True)
    assert sent.status_code == 409 and row(db.session, outbox_rows["sent"]).status == OutboxStatus.SENT
    assert b.post("/admin/outbox/999999/retry", htmx=True).status_code == 404


def test_retry_now_without_javascript(as_user, people, outbox_rows, db):
    b = as_user(people.admin)
    assert b.post(f"/admin/outbox/{outbox_rows['failed']}/retry", csrf=False).status_code == 400
    response = b.post(f"/admin/outbox/{outbox_rows['failed']}/retry")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/outbox")
    assert row(db.session, outbox_rows["failed"]).status == OutboxStatus.PENDING
    assert b.get("/admin/outbox").status_code == 200
