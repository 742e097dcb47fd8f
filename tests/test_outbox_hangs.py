"""Leases that know each channel's timeout (issue 22, point 6): a provider that takes the
request and never answers is cut off by the worker's own timeout (the Graph API's, the SMS
gateway's), and the outcome is written while the worker still holds the lease at its shortest
allowed length (desk.settings.LEASE_TIMEOUTS × the channel's timeout): a second worker starting
while the provider hangs finds nothing to take, so the message cannot go out twice."""
from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy.orm import Session

from desk.models import OutboxStatus, utcnow
from desk.notify.outbox import deliver
from desk.settings import LEASE_TIMEOUTS, SettingsError
from tests.test_outbox import SimulatedClock, outbox_settings, row
from tests.test_outbox_truth import queue


class HangingProvider:
    """An HTTP provider on loopback that reads each POST, calls ``during()`` and then never
    answers: it waits until the client hangs up (``hung_up``) or the test ends."""

    def __init__(self, during):
        self.during = during
        self.posts = 0
        self.hung_up = threading.Event()
        self.stopping = threading.Event()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                provider.posts += 1
                provider.during()
                self.connection.settimeout(30)
                try:
                    if self.rfile.read(1) == b"":  # the client closed the connection: its timeout
                        provider.hung_up.set()
                except OSError:
                    provider.hung_up.set()
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def channel_settings(channel: str, url: str, timeout: float) -> dict:
    if channel == "whatsapp":
        return {"DESK_WHATSAPP_PHONE_ID": "109876543210", "DESK_WHATSAPP_TOKEN": "graph-token",
                "DESK_WHATSAPP_TEMPLATE": "ticket_update", "DESK_GRAPH_API_URL": url, "DESK_GRAPH_TIMEOUT": timeout}
    return {"DESK_SMS_URL": f"{url}/send", "DESK_SMS_TIMEOUT": timeout}


@pytest.mark.parametrize("channel, to", [("whatsapp", "+966501234567"), ("sms", "+966501234567")])
def test_a_provider_that_hangs_is_cut_off_within_the_lease_and_nothing_goes_twice(db, monkeypatch, channel, to):
    timeout = 0.5
    clock = SimulatedClock(utcnow())
    monkeypatch.setattr("desk.notify.outbox.utcnow", clock)
    engine, others = db.engine, []

    def during():
        clock.advance(timedelta(seconds=timeout))  # the time the worker's timeout will take
        with Session(engine) as b_session:  # another worker, while the first still waits
            others.append(deliver(b_session, settings))

    provider = HangingProvider(during)
    try:
        lease = timedelta(seconds=LEASE_TIMEOUTS[channel] * timeout)  # the shortest the desk allows
        settings = outbox_settings(25, timeout=0.1, lease=lease, channels=channel_settings(channel, provider.url, timeout))
        start = clock()
        mid = queue(db, channel=channel, to=to, now=start)
        result = deliver(db.session, settings)
        assert (result.claimed, result.retried, result.sent, result.skipped) == (1, 1, 0, 0)
        assert others and all(o.claimed == 0 for o in others), "the lease ran out while the provider hung"
        message = row(db.session, mid)
        assert (message.status, message.attempts, message.locked_until) == (OutboxStatus.PENDING, 1, None)
        written_at = message.next_attempt_at - timedelta(minutes=1)  # the first backoff
        assert written_at < start + settings.lease
        assert provider.hung_up.wait(timeout=30)  # the worker's timeout ended it, not the provider
    finally:
        provider.stop()


@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
def test_a_lease_shorter_than_a_slow_send_on_the_channel_is_refused(channel):
    timeout = 2.0
    settings = channel_settings(channel, "http://127.0.0.1:9", timeout)
    with pytest.raises(SettingsError, match=channel):
        outbox_settings(25, timeout=0.1, lease=timedelta(seconds=LEASE_TIMEOUTS[channel] * timeout - 1), channels=settings)
    assert outbox_settings(25, timeout=0.1, lease=timedelta(seconds=LEASE_TIMEOUTS[channel] * timeout), channels=settings)
