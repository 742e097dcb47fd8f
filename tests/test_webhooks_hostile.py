"""Webhooks that hold (issue 22, point 1): hostile bodies, correctly signed, are refused with
400 (413 for the size) and store nothing but a count on the channel health page; the log says
where a body failed, never what it held."""
from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from desk.channels import payloads
from desk.models import ChannelState, InboundMessage, Ticket
from tests import test_channels_whatsapp as whatsapp_tests
from tests.test_channels_whatsapp import text_message

graph, hook = whatsapp_tests.graph, whatsapp_tests.hook  # the fake Graph API and the signed poster (fixtures)

MARK = "SECRET-CONTENT-7431"  # a value in the hostile bodies that must never reach the log


def stored(db):
    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(Ticket)),
            db.session.scalar(select(func.count()).select_from(InboundMessage)))


def refusals(db, channel="whatsapp"):
    db.session.expire_all()
    state = db.session.get(ChannelState, channel)
    return state.refused if state else 0


def with_message(**fields):
    payload = text_message()
    payload["entry"][0]["changes"][0]["value"]["messages"][0].update(fields)
    return payload


HOSTILE = {
    "deep nesting": ("[" * 1000 + "]" * 1000).encode(),
    "deep nesting in a field we do not read": json.dumps(
        with_message(extra=json.loads("[" * 200 + json.dumps(MARK) + "]" * 200))).encode(),
    "a huge array": json.dumps({"object": "whatsapp_business_account",
                                "entry": [{"id": MARK} for _ in range(5000)]}).encode(),
    "too many messages": json.dumps(with_message()).replace(
        '"messages": [', '"messages": [' + ",".join([json.dumps({"id": "x", "from": "1"})] * 101) + ",").encode(),
    "a number where a string is expected": json.dumps(with_message(text={"body": 12345})).encode(),
    "a list where an object is expected": json.dumps(with_message(text=[MARK])).encode(),
    "an object where a list is expected": json.dumps({"object": "x", "entry": {"id": MARK}}).encode(),
    "a string where the entries are": json.dumps({"object": "x", "entry": MARK}).encode(),
    "a message without its id": json.dumps(with_message(id=None)).encode(),
    "a string too long": json.dumps(with_message(text={"body": MARK * 1000})).encode(),
    "a duplicate key": b'{"object": "whatsapp_business_account", "entry": [], "entry": [{"id": "' + MARK.encode() + b'"}]}',
    "invalid UTF-8": b'{"object": "\xff\xfe' + MARK.encode() + b'", "entry": []}',
    "not JSON": b"{" + MARK.encode(),
    "a JSON string, not an object": json.dumps(MARK).encode(),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_signed_body_is_refused_with_400_and_stores_nothing(db, people, graph, hook, caplog, name):
    caplog.set_level(logging.INFO)
    answer = hook(HOSTILE[name])
    assert answer.status_code == 400, name
    assert stored(db) == (0, 0)
    assert refusals(db) == 1
    assert MARK not in caplog.text and MARK not in json.dumps(answer.get_json())
    assert MARK not in (db.session.get(ChannelState, "whatsapp").last_refusal or "")


def test_unknown_fields_are_ignored_and_the_message_taken_in(db, people, graph, hook):
    payload = with_message(new_field_from_meta={"anything": [1, 2, 3]})
    payload["entry"][0]["changes"][0]["value"]["brand_new"] = "ok"
    payload["unexpected"] = True
    answer = hook(payload)
    assert answer.status_code == 200 and answer.get_json()["tickets"] == 1
    assert refusals(db) == 0


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(app, db, people, graph, hook, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_WEBHOOK_MAX_KB", 256)
    big = text_message(body="ا" * 1_000_000)  # a signed 2 MB body
    answer = hook(big)
    assert answer.status_code == 413
    assert stored(db) == (0, 0) and refusals(db) == 1
    assert hook(text_message()).status_code == 200  # a normal one still goes in


def test_a_chunked_body_without_its_length_is_cut_at_the_limit(app, db, people, graph, monkeypatch):
    import io

    from tests.conftest import Browser
    monkeypatch.setitem(app.config, "DESK_WEBHOOK_MAX_KB", 1)
    client = Browser(app.test_client())
    body = io.BytesIO(json.dumps(text_message(body="x" * 5000)).encode())
    answer = client._run(client.client.post, "/hooks/whatsapp", input_stream=body,
                         headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked",
                                  "X-Hub-Signature-256": "sha256=00"},
                         environ_overrides={"wsgi.input_terminated": True})  # as gunicorn says of a chunked body
    assert answer.status_code == 413
    assert stored(db) == (0, 0)


def test_the_generic_webhook_refuses_hostile_bodies_too(db, people, graph, hook):
    for raw in (HOSTILE["deep nesting"], HOSTILE["a duplicate key"], HOSTILE["invalid UTF-8"]):
        answer = hook(raw, secret="inbound-secret", path="/hooks/inbound", header="X-Desk-Signature")
        assert answer.status_code == 400
    assert stored(db) == (0, 0) and refusals(db, "inbound") == 3


def test_the_health_page_counts_the_refused_calls(app, db, people, graph, hook, as_user):
    hook(HOSTILE["not JSON"])
    page = as_user(people.admin).get("/admin/channels")
    assert page.status_code == 200
    assert "not JSON" in page.text
    assert 'id="channel-media"' in page.text


def test_depth_counts_brackets_outside_strings_only():
    assert payloads.depth(b'{"a": [[1]]}') == 3
    assert payloads.depth(b'{"a": "[[[[[[\\"[[["}') == 1
    assert payloads.depth(b"[" * 50 + b"]" * 50) == 50


def test_a_sender_that_is_not_a_whatsapp_number_is_refused(db, people, graph, hook):
    for sender in ("", "+966501234567", "96650123456789012345678", "9665O1234567"):
        assert hook(with_message(**{"from": sender})).status_code == 400, sender
    assert stored(db) == (0, 0)


def test_a_database_that_fails_while_counting_still_answers_400(db, people, graph, hook, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def down(session):
        raise OperationalError("COMMIT", {}, Exception("the database went away"))

    monkeypatch.setattr(payloads, "commit", down)
    assert hook(HOSTILE["not JSON"]).status_code == 400
    assert stored(db) == (0, 0)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab"\\[]{}س', max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(alphabet='k"[{\\', max_size=3), children,
                                                                      max_size=3),
    max_leaves=30)


def nesting(value) -> int:
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in value.values()), default=0)
    return 0


@given(json_values, st.booleans())
def test_the_depth_scan_agrees_with_the_parsed_nesting(value, ascii_only):
    assert payloads.depth(json.dumps(value, ensure_ascii=ascii_only).encode()) == nesting(value)
