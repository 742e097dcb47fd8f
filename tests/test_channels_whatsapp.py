"""WhatsApp Business (issue 7): the webhook with signed and forged payloads, replays and
out-of-order status updates, and replies through the outbox to a fake Graph API on loopback.
Also the generic signed webhook and the admin's channel health page."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from desk.models import (
    Attachment,
    Channel,
    ChannelState,
    EventKind,
    InboundMessage,
    Kind,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketEvent,
    utcnow,
)
from desk.notify.outbox import deliver
from tests.conftest import Browser
from tests.images import PNG
from tests.test_outbox import outbox_settings

SECRET = "app-secret-for-tests"
PHONE_ID = "109876543210"


class FakeGraph:
    """The Graph API's few calls the desk makes, on 127.0.0.1 and a free port."""

    def __init__(self):
        self.sent: list[dict] = []
        self.uploads: list[dict] = []  # documents uploaded to send (POST /<phone id>/media)
        self.answers: list[tuple[int, dict]] = []  # queued answers to the next POSTs
        self.media: dict[str, tuple[bytes, str]] = {}
        self.urls: dict[str, str] = {}       # a media's URL as the API answers it, when not ours
        self.redirects: dict[str, str] = {}  # /files/<id> answers 302 to this
        self.requests: list[tuple[str, str | None]] = []  # every GET: path and Authorization
        self.hang = threading.Event()        # set: GETs wait until it is cleared (a hanging API)
        self.lock = threading.Lock()
        graph = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                with graph.lock:
                    graph.requests.append((self.path, self.headers.get("Authorization")))
                while graph.hang.is_set() and not graph.stopping.is_set():
                    graph.stopping.wait(0.05)
                if self.headers.get("Authorization") != "Bearer graph-token":
                    return self._json(401, {"error": {"code": 190, "message": "bad token"}})
                parts = self.path.strip("/").split("/")
                if parts[0] == "files" and parts[1] in graph.redirects:
                    self.send_response(302)
                    self.send_header("Location", graph.redirects[parts[1]])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if parts[0] == "files" and parts[1] in graph.media:
                    data = graph.media[parts[1]][0]
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    return self.wfile.write(data)
                if parts[0] in graph.media:
                    return self._json(200, {"url": graph.urls.get(parts[0], f"{graph.url}/files/{parts[0]}"),
                                            "mime_type": graph.media[parts[0]][1], "id": parts[0]})
                return self._json(404, {"error": {"code": 100, "message": "no such media"}})

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path.endswith("/media"):  # an upload (multipart): its id
                    with graph.lock:
                        graph.uploads.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                              "body": raw})
                        return self._json(200, {"id": f"media.up.{len(graph.uploads)}"})
                body = json.loads(raw)
                with graph.lock:
                    graph.sent.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                    status, answer = graph.answers.pop(0) if graph.answers else (
                        200, {"messages": [{"id": f"wamid.{len(graph.sent)}"}]})
                self._json(status, answer)

        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def graph(app, monkeypatch):
    fake = FakeGraph()
    for key, value in {"DESK_WHATSAPP_APP_SECRET": SECRET, "DESK_WHATSAPP_VERIFY_TOKEN": "verify-me",
                       "DESK_WHATSAPP_TOKEN": "graph-token", "DESK_WHATSAPP_PHONE_ID": PHONE_ID,
                       "DESK_GRAPH_API_URL": fake.url, "DESK_GRAPH_TIMEOUT": 5.0, "DESK_WHATSAPP_MEDIA_HOSTS": fake.url,
                       "DESK_INBOUND_SECRET": "inbound-secret"}.items():
        monkeypatch.setitem(app.config, key, value)
    yield fake
    fake.stop()


@pytest.fixture
def hook(app):
    client = Browser(app.test_client())

    def post(payload, secret=SECRET, path="/hooks/whatsapp", header="X-Hub-Signature-256", signature=None):
        raw = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
        if signature is None:
            signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        return client._run(client.client.post, path, data=raw, content_type="application/json",
                           headers={header: signature})
    post.get = lambda path: client._run(client.client.get, path)
    return post


def text_message(body="السلام عليكم، لم تصلني السلة", wamid="wamid.in.1", sender="966501234567", name="أحمد"):
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "966110000000", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": name}, "wa_id": sender}],
        "messages": [{"from": sender, "id": wamid, "timestamp": str(int(utcnow().timestamp())), "type": "text",
                      "text": {"body": body}}]}}]}]}


def statuses(*pairs):
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"phone_number_id": PHONE_ID},
        "statuses": [{"id": wamid, "status": status, "timestamp": "1", "recipient_id": "966501234567",
                      **({"errors": [{"code": 131026, "title": "Message undeliverable"}]} if status == "failed" else {})}
                     for wamid, status in pairs]}}]}]}


def all_tickets(db):
    db.session.expire_all()
    return list(db.session.scalars(select(Ticket).order_by(Ticket.id)))


# The webhook's doors ------------------------------------------------------------------------

def test_the_verification_handshake(db, graph, hook):
    ok = hook.get("/hooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444")
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "1158201444"
    assert hook.get("/hooks/whatsapp?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1").status_code == 403


def test_forged_unsigned_or_unconfigured_calls_are_refused(db, people, graph, hook, app, monkeypatch):
    assert hook(text_message(), secret="not-the-secret").status_code == 403
    assert hook(text_message(), signature="").status_code == 403
    raw = json.dumps(text_message()).encode()
    good = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert hook(raw + b" ", signature=good).status_code == 403  # the body changed after signing
    monkeypatch.setitem(app.config, "DESK_WHATSAPP_APP_SECRET", "")
    assert hook(text_message(), secret="").status_code == 403
    assert all_tickets(db) == []


# Messages in ---------------------------------------------------------------------------------

def test_a_message_opens_a_whatsapp_ticket_and_a_replay_makes_nothing(db, people, graph, hook):
    first = hook(text_message())
    assert first.status_code == 200 and first.get_json()["tickets"] == 1
    replay = hook(text_message())
    assert replay.status_code == 200 and replay.get_json() == {"tickets": 0, "replies": 0, "duplicates": 1, "statuses": 0, "ignored": 0}

    (ticket,) = all_tickets(db)
    assert (ticket.channel, ticket.channel_detail) == (Channel.SOCIAL, "whatsapp")
    assert ticket.meta["contact"] == {"name": "أحمد", "phone": "+966501234567", "email": None}
    assert ticket.body == "السلام عليكم، لم تصلني السلة"
    assert db.session.get(ChannelState, "whatsapp").received == 1


def test_the_next_message_joins_the_numbers_open_ticket(db, people, graph, hook):
    hook(text_message())
    hook(text_message(body="رقم الملف ١٢٣", wamid="wamid.in.2"))
    hook(text_message(body="من رقم آخر", wamid="wamid.in.3", sender="966551112222"))

    first, other = all_tickets(db)
    replies = db.session.scalars(select(TicketEvent.body).where(
        TicketEvent.ticket_id == first.id, TicketEvent.kind == EventKind.BENEFICIARY_REPLY)).all()
    assert replies == ["رقم الملف ١٢٣"]
    assert other.meta["contact"]["phone"] == "+966551112222"


def test_a_registered_beneficiarys_open_whatsapp_ticket_is_joined(db, people, graph, hook, make_ticket):
    from desk.models import SocialPlatform
    staff_ticket = make_ticket(channel=Channel.SOCIAL, channel_detail=SocialPlatform.WHATSAPP)
    phone = staff_ticket.beneficiary.phone
    hook(text_message(wamid="wamid.in.9", sender=phone.lstrip("+")))

    (ticket,) = all_tickets(db)
    assert ticket.id == staff_ticket.id and ticket.meta["whatsapp"]["phone"] == phone


def test_media_are_downloaded_into_attachments(app, db, people, graph, hook):
    graph.media["media-1"] = (PNG, "image/png")
    payload = text_message()
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update({"type": "image", "image": {"id": "media-1", "mime_type": "image/png", "caption": "صورة الإيصال"}})
    del message["text"]
    hook(payload)
    voice = text_message(wamid="wamid.in.2")
    voice["entry"][0]["changes"][0]["value"]["messages"][0].update({"type": "audio", "audio": {"id": "missing"}})
    hook(voice)
    assert not any(path.startswith("/files/") for path, _ in graph.requests)  # not in the webhook call
    from flask import current_app

    from desk.channels.media import MediaSettings, fetch_due
    assert fetch_due(db.session, MediaSettings.from_config(current_app.config)).attached == 1  # the worker

    (ticket,) = all_tickets(db)
    (document,) = db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id))
    assert document.content_type == "image/png" and document.filename.endswith(".png")
    assert ticket.body == "صورة الإيصال"
    notes = db.session.scalars(select(TicketEvent.body).where(TicketEvent.kind == EventKind.BENEFICIARY_REPLY)).all()
    assert len(notes) == 1 and "whatsapp-audio" in notes[0]
    # Meta has no such media (404): given up at once, and said on the ticket
    given_up = db.session.scalars(select(TicketEvent.body).where(TicketEvent.kind == EventKind.NOTE)).all()
    assert len(given_up) == 1 and "File could not be fetched: whatsapp-audio" in given_up[0]


def test_a_call_that_fails_halfway_is_taken_in_once_when_meta_calls_again(db, people, graph, hook, monkeypatch):
    from desk.channels import whatsapp
    payload = text_message()
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"].append({**value["messages"][0], "id": "wamid.in.2", "text": {"body": "الرسالة الثانية"}})
    real, calls = whatsapp.take_message, []

    def second_fails(session, message, *args):
        calls.append(message.id)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real(session, message, *args)

    with monkeypatch.context() as patch:
        patch.setattr(whatsapp, "take_message", second_fails)
        assert hook(payload).status_code == 500
    state = db.session.get(ChannelState, "whatsapp")
    assert state.errors == 1 and "database went away" in state.last_error

    again = hook(payload)  # Meta delivers the call again

    assert again.status_code == 200 and again.get_json()["duplicates"] == 1 and again.get_json()["replies"] == 1
    (ticket,) = all_tickets(db)
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 2
    assert hook(b"not json").status_code == 400


# Replies out, and their statuses --------------------------------------------------------------

def _reply(db, people, ticket, text="تم صرف السلة اليوم"):
    from desk.tickets.service import add_comment
    add_comment(db.session, people.staff, ticket, text, public=True, expected_version=ticket.version)
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "reply")).one()


def _worker(app, port=25, **overrides):
    from dataclasses import replace
    settings = outbox_settings(port, **overrides)
    return replace(settings, channels={k: v for k, v in app.config.items()
                                       if k.startswith(("DESK_WHATSAPP_", "DESK_GRAPH_"))})


def test_a_staff_reply_goes_out_by_whatsapp_and_statuses_only_move_forward(app, db, people, graph, hook):
    hook(text_message())
    (ticket,) = all_tickets(db)
    out = _reply(db, people, ticket)
    assert (out.channel, out.to_address) == ("whatsapp", "+966501234567")

    hook(statuses(("wamid.1", "delivered")))  # before the worker knows the message's id: kept
    result = deliver(db.session, _worker(app))
    assert result.sent == 1
    (sent,) = graph.sent
    assert sent["path"] == f"/{PHONE_ID}/messages" and sent["auth"] == "Bearer graph-token"
    assert sent["to"] == "966501234567" and sent["type"] == "text"
    # The reference, the status in words and the private link; never the reply's text (issue 16, point 7).
    assert "تم صرف السلة اليوم" not in sent["text"]["body"] and ticket.reference in sent["text"]["body"]
    assert "/portal/o/" in sent["text"]["body"]
    db.session.expire_all()
    out = db.session.get(OutboxMessage, out.id)
    assert (out.status, out.external_id, out.delivery_status) == (OutboxStatus.SENT, "wamid.1", "delivered")

    hook(statuses(("wamid.1", "read"), ("wamid.1", "delivered"), ("wamid.1", "sent")))  # out of order
    hook(statuses(("wamid.1", "read")))  # replayed
    db.session.expire_all()
    assert db.session.get(OutboxMessage, out.id).delivery_status == "read"


def test_a_failed_status_is_recorded_with_its_reason(app, db, people, graph, hook):
    hook(text_message())
    out = _reply(db, people, all_tickets(db)[0])
    deliver(db.session, _worker(app))
    hook(statuses(("wamid.1", "failed")))
    db.session.expire_all()
    out = db.session.get(OutboxMessage, out.id)
    assert out.delivery_status == "failed" and "131026" in out.last_error


def test_a_failed_receipt_means_not_delivered_and_is_told(app, db, people, graph, hook):
    """WhatsApp accepted the message, then reported it failed: it is not delivered after all.
    The outbox row says so, the ticket's timeline says so (by the desk, internal), and the
    supervisors' notice counts it; so does a failure reported before the worker knew the id."""
    from desk.notify import undelivered
    hook(text_message())
    ticket = all_tickets(db)[0]
    out = _reply(db, people, ticket)
    deliver(db.session, _worker(app))
    hook(statuses(("wamid.1", "delivered"), ("wamid.1", "failed")))
    db.session.expire_all()
    out = db.session.get(OutboxMessage, out.id)
    assert (out.status, out.delivery_status, out.failure) == (OutboxStatus.FAILED, "failed", "receipt")
    (event,) = db.session.scalars(select(TicketEvent).where(TicketEvent.kind == EventKind.UNDELIVERED)).all()
    assert (event.ticket_id, event.actor_id, event.public, event.new_value) == (ticket.id, None, False, "whatsapp")
    assert event.reason == "undelivered:receipt" and "131026" in event.body
    hook(statuses(("wamid.1", "failed")))  # replayed: told once
    assert db.session.scalar(select(func.count()).where(TicketEvent.kind == EventKind.UNDELIVERED)) == 1

    from desk.tickets.service import add_comment
    ticket = db.session.get(Ticket, ticket.id)
    add_comment(db.session, people.staff, ticket, "والسلة الثانية غدا", public=True, expected_version=ticket.version)
    second = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1)).one()
    hook(statuses(("wamid.2", "failed")))  # before the worker recorded the message's id: kept
    deliver(db.session, _worker(app))
    db.session.expire_all()
    assert db.session.get(OutboxMessage, second.id).status == OutboxStatus.FAILED
    assert db.session.scalar(select(func.count()).where(TicketEvent.kind == EventKind.UNDELIVERED)) == 2
    assert undelivered.notice(db.session).undelivered == 2


def test_outside_the_24_hour_window_the_template_is_sent(app, db, people, graph, hook, monkeypatch):
    hook(text_message())
    db.session.execute(InboundMessage.__table__.update().values(received_at=utcnow() - timedelta(hours=25)))
    db.session.commit()
    ticket = all_tickets(db)[0]
    out = _reply(db, people, ticket)

    assert deliver(db.session, _worker(app)).failed == 1  # no template configured: it cannot go
    db.session.expire_all()
    assert "template" in db.session.get(OutboxMessage, out.id).last_error

    monkeypatch.setitem(app.config, "DESK_WHATSAPP_TEMPLATE", "ticket_update")
    from desk.notify.service import retry_now
    retry_now(db.session, out.id)
    assert deliver(db.session, _worker(app)).sent == 1
    (sent,) = graph.sent
    assert sent["type"] == "template" and sent["template"]["name"] == "ticket_update"
    reference, link = sent["template"]["components"][0]["parameters"]
    assert reference["text"] == ticket.reference
    # and the beneficiary's private portal link, where the reply itself is (issue 22, point 4)
    assert link["text"] == db.session.get(OutboxMessage, out.id).meta["link"]
    assert link["text"].startswith(app.config["DESK_BASE_URL"] + "/portal/")
    assert "تم صرف السلة" not in json.dumps(sent, ensure_ascii=False)


def test_graph_errors_are_retried_and_an_outage_spends_no_attempt(app, db, people, graph, hook):
    hook(text_message())
    out = _reply(db, people, all_tickets(db)[0])
    graph.answers.append((500, {"error": {"code": 2, "message": "temporary"}}))
    assert deliver(db.session, _worker(app)).retried == 1
    db.session.expire_all()
    row = db.session.get(OutboxMessage, out.id)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)

    graph.stop()  # the API is unreachable
    row.next_attempt_at = utcnow()
    db.session.commit()
    assert deliver(db.session, _worker(app)).postponed == 1
    db.session.expire_all()
    row = db.session.get(OutboxMessage, out.id)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)


def test_a_permanent_refusal_fails_the_message(app, db, people, graph, hook):
    hook(text_message())
    out = _reply(db, people, all_tickets(db)[0])
    graph.answers.append((400, {"error": {"code": 131009, "message": "Parameter value is not valid"}}))
    assert deliver(db.session, _worker(app)).failed == 1
    db.session.expire_all()
    assert db.session.get(OutboxMessage, out.id).status == OutboxStatus.FAILED


# The generic webhook ----------------------------------------------------------------------------

def test_the_generic_webhook_opens_a_ticket_once(db, people, graph, hook):
    payload = {"id": "form-77", "kind": "complaint", "subject": "تأخر الموعد", "body": "لم يتصل بي أحد",
               "name": "سعاد", "phone": "0551234567"}
    post = lambda p, secret="inbound-secret": hook(p, secret=secret, path="/hooks/inbound", header="X-Desk-Signature")  # noqa: E731
    first = post(payload)
    assert first.status_code == 201, first.get_data(as_text=True)
    again = post(payload)
    assert again.status_code == 200 and again.get_json()["reference"] == first.get_json()["reference"]
    assert post(payload, secret="forged").status_code == 403
    assert post({"kind": "complaint", "body": "x"}).status_code == 422  # no delivery id
    assert post({"id": "f2", "body": "x", "phone": "not a phone"}).status_code == 422

    (ticket,) = all_tickets(db)
    assert (ticket.channel, ticket.kind) == (Channel.WEBSITE, Kind.COMPLAINT)
    assert ticket.meta["contact"]["phone"] == "+966551234567"


# The admin's health page ----------------------------------------------------------------------

def test_the_admin_sees_each_channels_health(app, db, people, graph, hook, as_user, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_MAILBOXES", json.dumps([{"name": "care", "host": "127.0.0.1", "user": "c@x"}]))
    hook(text_message())
    from desk.channels import inbound
    inbound.failed(db.session, "email:care", "ConnectionRefusedError: [Errno 111] Connection refused")
    page = as_user(people.admin).get("/admin/channels")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Connection refused" in html and "care" in html
    assert as_user(people.staff).get("/admin/channels").status_code == 404
