"""The outbox tells the truth (issue 14, point 7), against real servers on loopback: a mail
server that answers 421, one that hangs, one that answers 550; an HTTP provider (the Graph API,
an SMS gateway) answering 429 with Retry-After. A message that finally fails is said on its
ticket's timeline and counted in the supervisors' notice in the desk; the ticket page shows
where each message stands."""
from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.channels.http import retry_after
from desk.models import EventKind, OutboxMessage, OutboxStatus, Ticket, TicketEvent, utcnow
from desk.notify import undelivered
from desk.notify.mail import suggested_wait
from desk.notify.outbox import OutboxSettings, deliver
from tests.test_outbox import SimulatedClock, SmtpServer, free_port, outbox_settings, row

# Servers of our own ----------------------------------------------------------------------------


class ScriptedSmtp:
    """A mail server on 127.0.0.1 and a free port, for as many connections as come, each served
    on its own thread by ``converse(connection, lines)`` until it returns. It never closes a
    connection first unless the script does: ``closed_by_client`` counts the connections the
    client ended while the script still waited on it."""

    def __init__(self, converse):
        self.converse = converse
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.closed_by_client = 0
        self.hung_up = threading.Event()  # set when the client ends a connection the script still waits on
        self.connections = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:  # the accept timed out (checks stopping), or the listener is closed
                continue
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._one, args=(connection,), daemon=True).start()

    def _one(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as lines:
            if self.converse(connection, lines) == "closed by the client":
                with self.lock:
                    self.closed_by_client += 1
                self.hung_up.set()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)
        self.listener.close()


def wait_for_the_client(lines) -> str:
    """Say nothing more: wait until the client hangs up (reads nothing more: its timeout)."""
    while lines.readline():
        pass
    return "closed by the client"


def dialogue(connection, lines, *, greeting=b"220 mail.example.org ESMTP", after_data=None) -> str:
    """A plain SMTP conversation; ``after_data()`` runs when the message has come in, and what
    it returns (or "250") is the reply; returning None hangs instead."""
    connection.sendall(greeting + b"\r\n")
    if not greeting.startswith(b"220"):
        return "refused"
    while True:
        line = lines.readline()
        if not line:
            return "closed"
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            connection.sendall(b"250 mail.example.org\r\n")
        elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            connection.sendall(b"250 OK\r\n")
        elif verb == b"DATA":
            connection.sendall(b"354 go ahead\r\n")
            while lines.readline() not in (b".\r\n", b""):
                pass
            reply = after_data() if after_data else b"250 accepted"
            if reply is None:
                return wait_for_the_client(lines)
            connection.sendall(reply + b"\r\n")
        elif verb == b"QUIT":
            connection.sendall(b"221 bye\r\n")
            return "quit"
        else:
            connection.sendall(b"502 not implemented\r\n")


@pytest.fixture
def smtp():
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def servers():
    started: list = []
    yield started
    for server in started:
        server.stop()


class FakeProvider:
    """An HTTP provider on 127.0.0.1 and a free port: each POST gets the next queued answer
    (status, JSON body, headers), or 200 with a message id."""

    def __init__(self):
        self.received: list[dict] = []
        self.answers: list[tuple[int, dict, dict]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                provider.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                status, body, headers = provider.answers.pop(0) if provider.answers else (
                    200, {"id": f"sms-{len(provider.received)}",
                          "messages": [{"id": f"wamid.{len(provider.received)}"}]}, {})
                data = json.dumps(body).encode()
                self.send_response_only(status)  # our own Date header, when the answer gives one
                for name, value in {"Content-Type": "application/json", "Content-Length": str(len(data)),
                                    **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider():
    fake = FakeProvider()
    yield fake
    fake.stop()


def queue(db, ticket=None, *, channel="email", to="beneficiary@example.org", now=None, user=None) -> int:
    now = now or utcnow()
    message = OutboxMessage(channel=channel, to_address=to, subject="[C-1447-000001] رد على طلبك", body_text="نص",
                            reason="reply", ticket_id=ticket.id if ticket is not None else None,
                            to_user_id=user.id if user is not None else None, meta={"reference": "C-1447-000001"},
                            next_attempt_at=now, created_at=now)
    db.session.add(message)
    db.session.commit()
    return message.id


def undelivered_events(db, ticket) -> list[TicketEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.UNDELIVERED).order_by(TicketEvent.id)))


# SMTP: 421, a hang, 550 ------------------------------------------------------------------------

def test_a_421_greeting_waits_as_long_as_the_server_asks_and_spends_nothing(db, servers):
    server = ScriptedSmtp(lambda c, lines: dialogue(
        c, lines, greeting=b"421 4.7.0 mail.example.org busy, try again in 10 minutes"))
    servers.append(server)
    settings, now = outbox_settings(server.port), utcnow()
    first, second = queue(db, now=now), queue(db, now=now, to="other@example.org")
    result = deliver(db.session, settings, now=now)
    assert (result.postponed, result.retried, result.failed) == (2, 0, 0)
    for mid in (first, second):
        message = row(db.session, mid)
        assert (message.status, message.attempts, message.failing_since) == (OutboxStatus.PENDING, 0, None)
        assert message.next_attempt_at == now + timedelta(minutes=10)  # not the usual first minute
        assert "421" in message.last_error
    assert deliver(db.session, settings, now=now + timedelta(minutes=9)).claimed == 0


def test_a_421_on_one_message_is_a_temporary_failure_with_its_wait_and_never_a_quick_failure(db, smtp):
    """The server answers again after its 421 to one recipient: that message is tried again
    after the wait it asked for, for the whole retry window, however many attempts it takes."""
    smtp.handler.refuse = {"busy@example.org": "421 4.7.0 Too many messages, try again in 15 minutes"}
    settings, start = outbox_settings(smtp.port), utcnow()
    mid, now = queue(db, now=start, to="busy@example.org"), start
    for attempt in range(1, 13):  # more than the eight attempts that used to fail it
        result = deliver(db.session, settings, now=now)
        assert (result.retried, result.failed) == (1, 0), attempt
        message = row(db.session, mid)
        assert (message.status, message.attempts, message.failing_since) == (OutboxStatus.PENDING, attempt, start)
        backoff = min(timedelta(minutes=2 ** (attempt - 1)), timedelta(hours=1))
        assert message.next_attempt_at - now == max(timedelta(minutes=15), backoff), attempt
        now = message.next_attempt_at
    assert now - start > timedelta(hours=5) and "421" in message.last_error


def test_a_server_that_hangs_is_cut_off_by_the_workers_timeout_within_the_lease(db, servers, monkeypatch):
    """The server takes the message and never answers. The worker's timeout (0.5 s) ends the
    wait, not the server: the server sees the client hang up. On the worker's clock (moved on
    by the server as the timeout passes) the outcome is written before the lease, at its
    shortest allowed (6 × the timeout), runs out, and a second worker starting while the
    server hangs finds nothing to take: the message cannot go out twice."""
    timeout = 0.5
    clock = SimulatedClock(utcnow())
    monkeypatch.setattr("desk.notify.outbox.utcnow", clock)
    engine, others = db.engine, []

    def hang():
        clock.advance(timedelta(seconds=timeout))  # the time the worker's timeout will take
        with Session(engine) as b_session:  # another worker, while the first still waits
            others.append(deliver(b_session, settings))
        return None

    server = ScriptedSmtp(lambda c, lines: dialogue(c, lines, after_data=hang))
    servers.append(server)
    settings = outbox_settings(server.port, timeout=timeout, lease=timedelta(seconds=6 * timeout))
    start = clock()
    mid = queue(db, now=start)
    result = deliver(db.session, settings)
    assert (result.claimed, result.retried, result.skipped, result.failed) == (1, 1, 0, 0)
    assert [o.claimed for o in others] == [0], "the lease ran out while the server hung"
    message = row(db.session, mid)
    assert (message.status, message.attempts, message.locked_until) == (OutboxStatus.PENDING, 1, None)
    assert "timed out" in message.last_error
    written_at = message.next_attempt_at - timedelta(minutes=1)  # the first backoff
    assert written_at == start + timedelta(seconds=timeout) < start + settings.lease
    assert message.failing_since == written_at
    assert server.hung_up.wait(timeout=30)  # the worker's timeout ended it, not the server (which never does)


def test_a_server_that_never_greets_is_an_outage(db, servers):
    server = ScriptedSmtp(lambda connection, lines: wait_for_the_client(lines))
    servers.append(server)
    settings, now = outbox_settings(server.port, timeout=0.5), utcnow()
    mid = queue(db, now=now)
    result = deliver(db.session, settings, now=now)
    assert (result.postponed, result.retried) == (1, 0)
    message = row(db.session, mid)
    assert (message.status, message.attempts, message.failing_since) == (OutboxStatus.PENDING, 0, None)
    assert server.hung_up.wait(timeout=30)


def test_a_550_fails_at_once_and_the_ticket_and_the_supervisors_are_told(db, en, smtp, make_ticket, as_user):
    people = en
    ticket = make_ticket()
    smtp.handler.refuse = {"gone@example.org": "550 5.1.1 No such user here"}
    version = ticket.version
    mid = queue(db, ticket, to="gone@example.org")
    result = deliver(db.session, outbox_settings(smtp.port))
    assert (result.failed, result.retried) == (1, 0)
    message = row(db.session, mid)
    assert (message.status, message.failure, message.attempts) == (OutboxStatus.FAILED, "recipient", 1)
    assert message.failed_at is not None and message.handled_at is None

    (event,) = undelivered_events(db, ticket)
    assert (event.actor_id, event.public, event.new_value, event.old_value) == (None, False, "email", None)
    assert event.reason == "undelivered:recipient" and "550 5.1.1 No such user here" in event.body
    assert event.created_at == message.failed_at
    assert db.session.get(Ticket, ticket.id).version == version  # nobody's open form is refused for it

    page = as_user(people.staff).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    line = page[page.index(f'id="event-{event.id}"'):]
    line = line[:line.index("</li>")]
    assert "System" in line and "Message not delivered" in line and "Email to the beneficiary" in line
    assert "The address or number was refused" in line and "550 5.1.1" in line and "Internal" in line

    # The supervisors' notice, in the desk.
    supervisor = as_user(people.supervisor)
    nav = supervisor.get("/tickets").get_data(as_text=True)
    assert 'id="nav-undelivered"' in nav and 'id="nav-undelivered-count">1<' in nav
    listing = supervisor.get("/undelivered").get_data(as_text=True)
    assert f'id="undelivered-{mid}"' in listing and ticket.reference in listing
    assert "The address or number was refused" in listing and "g•••••@example.org" in listing
    assert "gone@example.org" not in listing.replace("550 5.1.1", "")  # the address itself is masked
    for other in (people.staff, people.focal):
        browser = as_user(other)
        assert 'id="nav-undelivered"' not in browser.get("/tickets").get_data(as_text=True)
        assert browser.get("/undelivered").status_code == 404
        assert browser.post(f"/undelivered/{mid}/handled").status_code == 404

    handled = supervisor.post(f"/undelivered/{mid}/handled", htmx=True)
    html = handled.get_data(as_text=True)
    assert handled.status_code == 200 and html.lstrip().startswith(f'<tr id="undelivered-{mid}"')
    assert 'id="nav-undelivered" hidden hx-swap-oob="true"' in html  # the count goes, out of band
    message = row(db.session, mid)
    assert (message.handled_by_id, message.status) == (people.supervisor.id, OutboxStatus.FAILED)
    assert 'id="nav-undelivered-count"' not in supervisor.get("/tickets").get_data(as_text=True)
    assert f'id="undelivered-{mid}"' not in supervisor.get("/undelivered").get_data(as_text=True)
    done = supervisor.get("/undelivered?show=handled", htmx=True).get_data(as_text=True)
    assert f'id="undelivered-{mid}"' in done and people.supervisor.name in done
    assert supervisor.post(f"/undelivered/{mid}/handled", htmx=True).status_code == 409
    assert supervisor.post(f"/undelivered/{mid}/handled", csrf=False).status_code == 400
    assert supervisor.post("/undelivered/999999/handled", htmx=True).status_code == 404


def test_an_admins_retry_that_fails_again_is_told_again(db, en, smtp, make_ticket, as_user):
    from desk.notify.service import retry_now
    ticket = make_ticket()
    smtp.handler.refuse = {"gone@example.org": "550 5.1.1 No such user here"}
    mid = queue(db, ticket, to="gone@example.org")
    deliver(db.session, outbox_settings(smtp.port))
    undelivered.mark_handled(db.session, en.supervisor, mid)
    retried = retry_now(db.session, mid)
    assert (retried.status, retried.attempts, retried.failure, retried.failed_at) == (OutboxStatus.PENDING, 0, None, None)
    assert undelivered.notice(db.session).undelivered == 0
    deliver(db.session, outbox_settings(smtp.port))
    message = row(db.session, mid)
    assert (message.status, message.handled_at) == (OutboxStatus.FAILED, None)
    assert len(undelivered_events(db, ticket)) == 2
    assert undelivered.notice(db.session).undelivered == 1


def test_a_failure_while_someone_saves_the_ticket_is_still_told(db, people, smtp, make_ticket, monkeypatch):
    """The note bumps no version, but it writes the ticket (updated_at) under its version: a
    person saving the same ticket between our read and our commit (played here by a write of
    the version in the same transaction) makes the worker read it again, not lose the note."""
    from sqlalchemy import update

    from desk.notify import outbox
    ticket = make_ticket()
    smtp.handler.refuse = {"gone@example.org": "550 5.1.1 No such user here"}
    mid = queue(db, ticket, to="gone@example.org")
    real, calls = undelivered.tell, []

    def meanwhile(session, **kwargs):
        event = real(session, **kwargs)
        if not calls:
            with session.no_autoflush:  # the other person's write lands before ours is flushed
                session.execute(update(Ticket).where(Ticket.id == kwargs["ticket_id"])
                                .values(version=Ticket.version + 1).execution_options(synchronize_session=False))
        calls.append(kwargs["ticket_id"])
        return event

    monkeypatch.setattr(outbox.undelivered, "tell", meanwhile)
    assert deliver(db.session, outbox_settings(smtp.port)).failed == 1
    assert calls == [ticket.id, ticket.id]
    assert len(undelivered_events(db, ticket)) == 1 and row(db.session, mid).status == OutboxStatus.FAILED


def test_a_message_about_no_ticket_is_still_in_the_notice(db, people, smtp, as_user):
    smtp.handler.refuse = {people.focal.email: "550 5.1.1 No such user here"}
    mid = queue(db, to=people.focal.email, user=people.focal)
    assert deliver(db.session, outbox_settings(smtp.port)).failed == 1
    listing = as_user(people.admin).get("/undelivered").get_data(as_text=True)
    assert f'id="undelivered-{mid}"' in listing and people.focal.name in listing


# HTTP: 429 with Retry-After --------------------------------------------------------------------

def _whatsapp(provider, **overrides) -> OutboxSettings:
    return outbox_settings(25, channels={
        "DESK_WHATSAPP_PHONE_ID": "109876543210", "DESK_WHATSAPP_TOKEN": "graph-token",
        "DESK_WHATSAPP_TEMPLATE": "ticket_update", "DESK_GRAPH_API_URL": provider.url, "DESK_GRAPH_TIMEOUT": 5.0},
        **overrides)


def _sms(provider, **overrides) -> OutboxSettings:
    return outbox_settings(25, channels={"DESK_SMS_URL": f"{provider.url}/send", "DESK_SMS_TIMEOUT": 5.0}, **overrides)


def test_a_429_from_the_graph_api_is_not_retried_before_its_retry_after(db, provider):
    now = utcnow()
    first = queue(db, channel="whatsapp", to="+966501234567", now=now)
    second = queue(db, channel="whatsapp", to="+966501234568", now=now)
    provider.answers.append((429, {"error": {"code": 130429, "message": "Rate limit hit"}}, {"Retry-After": "120"}))
    result = deliver(db.session, _whatsapp(provider), now=now)
    assert (result.postponed, result.retried, result.sent) == (2, 0, 0)
    assert len(provider.received) == 1  # the API said to wait: the rest of the batch waits with it
    for mid in (first, second):
        message = row(db.session, mid)
        assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
        assert message.next_attempt_at == now + timedelta(seconds=120) and "429" in message.last_error

    assert deliver(db.session, _whatsapp(provider), now=now + timedelta(seconds=119)).claimed == 0
    assert len(provider.received) == 1
    assert deliver(db.session, _whatsapp(provider), now=now + timedelta(seconds=120)).sent == 2
    assert [row(db.session, mid).status for mid in (first, second)] == [OutboxStatus.SENT] * 2


def test_a_429_from_the_sms_gateway_with_a_date_waits_until_that_date(db, provider):
    now = utcnow()
    served = now.replace(microsecond=0) - timedelta(minutes=7)  # the gateway's clock is 7 minutes behind ours
    mid = queue(db, channel="sms", to="+966501234567", now=now)
    provider.answers.append((429, {"error": "slow down"}, {
        "Date": format_datetime(served, usegmt=True),
        "Retry-After": format_datetime(served + timedelta(seconds=300), usegmt=True)}))
    assert deliver(db.session, _sms(provider), now=now).postponed == 1
    message = row(db.session, mid)
    assert message.next_attempt_at == now + timedelta(seconds=300)  # its 300 s, whatever its clock says
    assert deliver(db.session, _sms(provider), now=now + timedelta(seconds=299)).claimed == 0
    assert deliver(db.session, _sms(provider), now=now + timedelta(seconds=300)).sent == 1


def test_a_500_with_retry_after_is_this_messages_failure_and_waits(db, provider):
    now = utcnow()
    mid = queue(db, channel="sms", to="+966501234567", now=now)
    provider.answers.append((500, {"error": "oops"}, {"Retry-After": "600"}))
    assert deliver(db.session, _sms(provider), now=now).retried == 1
    message = row(db.session, mid)
    assert (message.status, message.attempts, message.failing_since) == (OutboxStatus.PENDING, 1, now)
    assert message.next_attempt_at == now + timedelta(minutes=10)  # not the first backoff's minute


def test_an_absurd_retry_after_is_held_to_the_retry_window(db, provider):
    now = utcnow()
    mid = queue(db, channel="sms", to="+966501234567", now=now)
    provider.answers.append((503, {}, {"Retry-After": "Fri, 31 Dec 2100 23:59:59 GMT"}))
    settings = _sms(provider, retry_window=timedelta(hours=24))
    assert deliver(db.session, settings, now=now).postponed == 1
    assert row(db.session, mid).next_attempt_at == now + timedelta(hours=24)


def test_http_refusals_are_permanent_and_told_on_the_ticket(db, people, make_ticket, provider):
    ticket = make_ticket()
    mid = queue(db, ticket, channel="sms", to="+966501234567")
    provider.answers.append((400, {"error": "bad number"}, {}))
    assert deliver(db.session, _sms(provider)).failed == 1
    message = row(db.session, mid)
    assert (message.status, message.failure) == (OutboxStatus.FAILED, "refused")
    (event,) = undelivered_events(db, ticket)
    assert (event.new_value, event.reason) == ("sms", "undelivered:refused") and "400" in event.body


def test_the_outside_window_refusal_says_why_in_plain_words(db, people, make_ticket, provider):
    ticket = make_ticket()
    queue(db, ticket, channel="whatsapp", to="+966501234567")
    settings = outbox_settings(25, channels={
        "DESK_WHATSAPP_PHONE_ID": "109876543210", "DESK_WHATSAPP_TOKEN": "graph-token",
        "DESK_GRAPH_API_URL": provider.url, "DESK_GRAPH_TIMEOUT": 5.0})  # no template
    assert deliver(db.session, settings).failed == 1
    (event,) = undelivered_events(db, ticket)
    assert event.reason == "undelivered:window"


def test_retry_after_and_suggested_waits_are_read():
    now = utcnow()

    def answer(**headers):
        return httpx.Response(429, headers=headers)

    assert retry_after(answer(**{"Retry-After": "120"}), now) == timedelta(seconds=120)
    when = now.replace(microsecond=0) + timedelta(minutes=5)
    assert retry_after(answer(**{"Retry-After": format_datetime(when, usegmt=True)}), now) == when - now
    assert retry_after(answer(**{"Retry-After": format_datetime(now - timedelta(hours=1), usegmt=True)}),
                       now) == timedelta(0)
    assert retry_after(answer(**{"Retry-After": "soon"}), now) is None
    assert retry_after(answer(), now) is None
    assert suggested_wait("4.7.1 Greylisted, please try again in 5 minutes") == timedelta(minutes=5)
    assert suggested_wait("Try again after 90 seconds") == timedelta(seconds=90)
    assert suggested_wait("4.3.2 Service shutting down") is None


# What the supervisors and the ticket page see ------------------------------------------------

def test_messages_waiting_for_long_are_in_the_notice_too(db, en, as_user):
    """An outage never fails a message, and email may be what is down: a message still waiting
    after an hour shows in the desk, with what its last attempt met."""
    long_ago = utcnow() - timedelta(hours=3)
    mid = queue(db, now=long_ago)
    message = db.session.get(OutboxMessage, mid)
    message.last_error = "ConnectionRefusedError: [Errno 111] Connection refused"
    db.session.commit()
    queue(db)  # a fresh one is not late
    assert undelivered.notice(db.session) == undelivered.Notice(undelivered=0, delayed=1)
    supervisor = as_user(en.supervisor)
    nav = supervisor.get("/tickets").get_data(as_text=True)
    assert 'id="nav-delayed-count">1<' in nav and 'id="nav-undelivered-count"' not in nav
    listing = supervisor.get("/undelivered").get_data(as_text=True)
    assert 'id="delayed-email"' in listing and "Connection refused" in listing


def test_the_notice_counts_at_most_a_hundred(db):
    now = utcnow()
    db.session.add_all([OutboxMessage(to_address=f"a{i}@example.org", subject="s", body_text="b", reason="routed",
                                      status=OutboxStatus.FAILED, failed_at=now, next_attempt_at=now)
                        for i in range(undelivered.NOTICE_CAP + 5)])
    db.session.commit()
    assert undelivered.notice(db.session).undelivered == undelivered.NOTICE_CAP


def test_the_ticket_page_shows_each_messages_state(db, en, make_ticket, as_user):
    ticket = make_ticket()
    now = utcnow()
    states = {
        "queued": {},
        "retrying": {"attempts": 2, "last_error": "451 try later", "next_attempt_at": now + timedelta(minutes=4)},
        "sent": {"status": OutboxStatus.SENT, "sent_at": now},
        "delivered": {"status": OutboxStatus.SENT, "sent_at": now, "channel": "whatsapp", "to_address": "+966501234567",
                      "delivery_status": "delivered"},
        "read": {"status": OutboxStatus.SENT, "sent_at": now, "channel": "whatsapp", "to_address": "+966501234567",
                 "delivery_status": "read"},
        "failed": {"status": OutboxStatus.FAILED, "failed_at": now, "failure": "recipient", "channel": "sms",
                   "to_address": "+966501234567"},
    }
    ids = {}
    for name, values in states.items():
        message = OutboxMessage(**{"to_address": "fatima@example.org", "subject": f"[{ticket.reference}] {name}",
                                   "body_text": "b", "reason": "reply", "ticket_id": ticket.id,
                                   "next_attempt_at": now, **values})
        db.session.add(message)
        db.session.flush()
        ids[name] = message.id
    staff_mail = OutboxMessage(to_address=en.focal.email, to_user_id=en.focal.id, subject="routed", body_text="b",
                               reason="routed", ticket_id=ticket.id, status=OutboxStatus.SENT, sent_at=now)
    db.session.add(staff_mail)
    db.session.commit()

    page = as_user(en.focal).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    labels = {"queued": "Queued", "retrying": "Being retried", "sent": "Sent", "delivered": "Delivered",
              "read": "Read", "failed": "Not delivered"}
    for name, mid in ids.items():
        item = page[page.index(f'id="message-{mid}"'):]
        item = item[:item.index("</li>")]
        assert f">{labels[name]}</span>" in item, (name, item)
    failed = page[page.index(f'id="message-{ids["failed"]}"'):]
    assert "The address or number was refused" in failed[:failed.index("</li>")]
    assert "f•••••@example.org" in page and "fatima@example.org" not in page  # the beneficiary's address masked
    assert "+966501234567" not in page and "567" in page
    mine = page[page.index(f'id="message-{staff_mail.id}"'):]
    assert en.focal.name in mine[:mine.index("</li>")]
