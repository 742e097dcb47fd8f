"""SMS through an HTTP gateway (desk.channels.sms): what is queued for a beneficiary's mobile,
and the worker's delivery against a fake gateway on loopback (sent, refused, gateway down)."""
from __future__ import annotations

import json
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from desk.models import OutboxMessage, OutboxStatus, Ticket
from desk.notify.outbox import deliver
from tests.conftest import Browser
from tests.test_outbox import outbox_settings


class FakeGateway:
    def __init__(self):
        self.received: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.received.append({"auth": self.headers.get("Authorization"), **body})
                status, answer = gateway.answers.pop(0) if gateway.answers else (200, {"id": f"sms-{len(gateway.received)}"})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(app, monkeypatch):
    fake = FakeGateway()
    for key, value in {"DESK_SMS_URL": fake.url, "DESK_SMS_TOKEN": "sms-token", "DESK_SMS_SENDER": "ALBIRR",
                       "DESK_SMS_TIMEOUT": 5.0}.items():
        monkeypatch.setitem(app.config, key, value)
    yield fake
    fake.stop()


def _submit(app, **fields):
    browser = Browser(app.test_client())
    browser.refresh_token("/portal/new")
    data = {"kind": "complaint", "name": "فاطمة", "phone": "0551112233", "subject": "تأخر المساعدة",
            "body": "لم تصلني المساعدة", **fields}
    response = browser.post("/portal/new", data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:300]


def _worker(app):
    return replace(outbox_settings(25), channels={k: v for k, v in app.config.items() if k.startswith("DESK_SMS_")})


def test_without_email_the_confirmation_goes_by_sms_with_the_link(app, db, people, gateway):
    _submit(app)
    (sms,) = db.session.scalars(select(OutboxMessage)).all()
    assert (sms.channel, sms.to_address, sms.reason) == ("sms", "+966551112233", "received")
    assert "/portal/t/" in sms.body_text and len(sms.body_text) < 400
    result = deliver(db.session, _worker(app))
    assert result.sent == 1
    (sent,) = gateway.received
    assert sent["auth"] == "Bearer sms-token" and sent["to"] == "+966551112233" and sent["from"] == "ALBIRR"
    assert sent["reference"] == db.session.scalars(select(Ticket.reference)).one()
    db.session.expire_all()
    assert (db.session.get(OutboxMessage, sms.id).status, db.session.get(OutboxMessage, sms.id).external_id) == (
        OutboxStatus.SENT, "sms-1")


def test_with_email_the_confirmation_goes_both_ways_and_the_rest_by_email_only(app, db, people, gateway):
    from desk.tickets import actions
    _submit(app, email="f@example.com")
    assert sorted(m.channel for m in db.session.scalars(select(OutboxMessage))) == ["email", "sms"]
    ticket = db.session.scalars(select(Ticket)).one()
    actions.resolve(db.session, people.staff, ticket, "صُرفت", expected_version=ticket.version)
    assert [m.channel for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "survey"))] == ["email"]


def test_no_gateway_no_sms(app, db, people):
    _submit(app)
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_a_refusal_fails_the_message_and_a_gateway_down_loses_nothing(app, db, people, gateway):
    _submit(app)
    _submit(app, phone="0551112244")
    gateway.answers = [(400, {"error": "bad number"})]
    gateway.answers.append((503, {"error": "maintenance"}))
    result = deliver(db.session, _worker(app))
    assert (result.failed, result.postponed) == (1, 1)
    db.session.expire_all()
    statuses = sorted(m.status for m in db.session.scalars(select(OutboxMessage)))
    assert statuses == [OutboxStatus.FAILED, OutboxStatus.PENDING]
    assert all(m.attempts <= 1 for m in db.session.scalars(select(OutboxMessage)))


def test_an_accepted_message_with_an_odd_answer_is_sent_once_and_the_batch_goes_on(app, db, people, gateway):
    """A gateway answering 200 with a body that is not an object (["ok"]) still accepted the
    message: it is sent, not retried (the reviewer's B1), and the next message goes out too."""
    _submit(app)
    _submit(app, phone="0551112255")
    gateway.answers = [(200, ["ok"])]
    result = deliver(db.session, _worker(app))
    assert result.sent == 2 and len(gateway.received) == 2
    db.session.expire_all()
    assert [m.status for m in db.session.scalars(select(OutboxMessage))] == [OutboxStatus.SENT, OutboxStatus.SENT]
    assert gateway.received[0]["id"].startswith("desk-outbox-")
