"""Messages to many (issue 20, point 6; R27, R38): the group and its count computed in one place,
each person once, opt-outs honoured, the messages through the outbox in batches and in each
person's language, the aid delay marked on every ticket, all or nothing, and a form sent twice
sending once."""
from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from desk.broadcasts import optout, service
from desk.errors import NotFound, ValidationFailed
from desk.models import (
    Association,
    AuditEntry,
    Broadcast,
    BroadcastOptOut,
    EventKind,
    FormSubmission,
    OutboxMessage,
    Status,
    Ticket,
    TicketEvent,
    utcnow,
)
from desk.notify import outbox
from desk.notify import service as notify_service
from desk.portal import links
from desk.sla.service import HIJRI, format_day
from desk.submissions import Kind as FormKind
from desk.submissions import bind
from desk.text import to_arabic_digits, today_riyadh
from tests.conftest import close_as_done, count

TEXT_AR = "السلام عليكم {name}، بخصوص طلبكم {reference}: للتواصل {phone}، البوابة {link}"
TEXT_EN = "Dear {name}, about your request {reference}."
BROADCAST_ROWS = OutboxMessage.broadcast_id.is_not(None)  # not the receipts the intake queued


def with_email(db, ticket, email, locale=None):
    """The ticket's beneficiary gets an email address (and the ticket a language)."""
    ticket.beneficiary.email = email
    if locale:
        ticket.meta = {**(ticket.meta or {}), "locale": locale}
    db.session.commit()
    return ticket


def draft(**fields):
    values = dict(audience="open", body_ar=TEXT_AR, body_en=TEXT_EN)
    values.update(fields)
    return service.Draft(**values)


def checked(db, **fields):
    return service.check(db.session, draft(**fields))


@pytest.fixture
def group(db, people, make_ticket):
    """Open tickets of SOCIAL: two of one person (both by email), one in English, one with a
    phone only (no SMS gateway: no address), one of a person who opted out, one anonymous;
    and a closed one and one of AID, outside the group."""
    first = with_email(db, make_ticket(), "one@example.org")
    second = make_ticket(beneficiary_id=first.beneficiary_id)
    english = with_email(db, make_ticket(), "Two@Example.org", locale="en")
    phone_only = make_ticket()
    out = with_email(db, make_ticket(), "out@example.org")
    anonymous = make_ticket(anonymous=True, new_beneficiary=None, channel="website")
    closed = with_email(db, make_ticket(), "closed@example.org")
    db.session.execute(Ticket.__table__.update().where(Ticket.id == closed.id).values(status=Status.CLOSED.value))
    aid = with_email(db, make_ticket(department_id=people.aid.id), "aid@example.org")
    optout.stop(db.session, ["OUT@example.org"], None, "portal")
    db.session.add(Association(id=1, name_ar="جمعية البر", name_en="Al-Birr", phone="0112345678"))
    db.session.commit()
    return dict(first=first, second=second, english=english, phone_only=phone_only, out=out, anonymous=anonymous,
                closed=closed, aid=aid)


def test_the_count_is_each_person_once_with_those_left_out(db, people, group):
    found = service.reach(db.session, checked(db, department_id=people.social.id))
    assert sorted(r.address for r in found.recipients) == ["Two@Example.org", "one@example.org"]
    assert found.by_channel == {"email": 2}
    assert (found.no_address, found.opted_out) == (2, 1)  # the phone-only person and the anonymous ticket
    # the person with two tickets is written once, about the latest
    assert [r.ticket.id for r in found.recipients if r.address == "one@example.org"] == [group["second"].id]
    assert group["closed"].id not in found.ticket_ids and group["aid"].id not in found.ticket_ids


def test_an_opted_out_beneficiary_is_left_out_by_any_of_their_addresses(db, people, group):
    optout.stop_ticket(db.session, group["first"])  # from the portal: their record is remembered
    group["second"].beneficiary.email = "another@example.org"
    db.session.commit()
    found = service.reach(db.session, checked(db, department_id=people.social.id))
    assert [r.address for r in found.recipients] == ["Two@Example.org"]
    assert found.opted_out == 2
    # a service message about their own request still goes
    assert notify_service.notify_beneficiary(db.session, "reply", group["first"], note="جواب") is not None


def test_pasted_references_accept_arabic_digits_and_list_the_invalid_back(db, people, group):
    first = group["first"].reference
    found, invalid = service.parse_references(db.session, f"{to_arabic_digits(first)}\n{group['english'].reference.lower()},"
                                                          " C-1447-999999  xyz")
    assert found == [first, group["english"].reference]
    assert invalid == ["C-1447-999999", "xyz"]
    with pytest.raises(ValidationFailed) as refused:
        checked(db, audience="references", references=f"{first} C-1447-999999")
    assert "C-1447-999999" in str(refused.value.errors["references"][0])
    message = checked(db, audience="references", references=f"{first}، {group['closed'].reference}")
    found = service.reach(db.session, message)  # closed or open: the list decides
    assert sorted(r.address for r in found.recipients) == ["closed@example.org", "one@example.org"]


def test_a_kind_in_a_date_range(db, people, group, make_ticket):
    suggestion = with_email(db, make_ticket(kind="suggestion"), "idea@example.org")
    today = today_riyadh()  # the range is of Riyadh's days: from 21:00 UTC on, a day ahead of UTC's
    message = checked(db, audience="kind_range", kind="suggestion",
                      start=to_arabic_digits((today - timedelta(days=1)).isoformat()), end=today.isoformat())
    assert [r.ticket.id for r in service.reach(db.session, message).recipients] == [suggestion.id]
    later = checked(db, audience="kind_range", kind="suggestion", start=(today + timedelta(days=1)).isoformat(),
                    end=(today + timedelta(days=2)).isoformat())
    assert service.reach(db.session, later).recipients == []
    hijri = checked(db, audience="kind_range", kind="suggestion", calendar="hijri", start=to_arabic_digits(
        format_day(today - timedelta(days=1), HIJRI)), end=format_day(today + timedelta(days=1), HIJRI))
    assert (hijri.start, hijri.end) == (today - timedelta(days=1), today + timedelta(days=1))
    assert [r.ticket.id for r in service.reach(db.session, hijri).recipients] == [suggestion.id]
    with pytest.raises(ValidationFailed) as refused:
        checked(db, audience="kind_range", kind="x", start="2025-13-01", end="")
    assert set(refused.value.errors) == {"kind", "start", "end"}


def test_an_unknown_placeholder_and_a_missing_group_are_refused(db, people):
    with pytest.raises(ValidationFailed) as refused:  # no phone in the association's profile yet
        checked(db, department_id=people.social.id)
    assert "هاتف الجمعية" in str(refused.value.errors["body_ar"][0])
    db.session.add(Association(id=1, name_ar="جمعية البر", name_en="Al-Birr", phone="0112345678"))
    db.session.commit()
    checked(db, department_id=people.social.id)
    with pytest.raises(ValidationFailed) as refused:
        checked(db, audience="", body_ar="مرحبا {الاسم}", body_en="")
    assert set(refused.value.errors) == {"audience", "body_ar"}
    with pytest.raises(ValidationFailed) as refused:
        checked(db, department_id=None)
    assert "department_id" in refused.value.errors
    with pytest.raises(ValidationFailed) as refused:
        checked(db, department_id=people.social.id, aid_delay=True, reason=" ")
    assert "reason" in refused.value.errors


def test_send_queues_the_counted_set_in_batches_in_each_language(app, db, people, group):
    app.config["DESK_BROADCAST_PER_MINUTE"] = 1
    message = checked(db, department_id=people.social.id)
    previewed = service.reach(db.session, message)
    now = utcnow()
    broadcast = service.send(db.session, people.supervisor, message, now=now)
    rows = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast.id)
                                   .order_by(OutboxMessage.next_attempt_at)))
    assert sorted(r.to_address for r in rows) == sorted(r.address for r in previewed.recipients)
    assert [r.next_attempt_at - now for r in rows] == [timedelta(0), timedelta(minutes=1)]
    assert (broadcast.queued, broadcast.skipped_no_address, broadcast.skipped_opted_out) == (2, 2, 1)
    by_address = {r.to_address: r for r in rows}
    arabic, english = by_address["one@example.org"], by_address["Two@Example.org"]
    assert group["second"].reference in arabic.body_text and "أحمد محمد" in arabic.body_text
    assert "{" not in arabic.body_text and "/portal" in arabic.body_text and "0112345678" in arabic.body_text
    assert english.body_text.startswith("Dear ") and group["english"].reference in english.body_text
    token = re.search(r"/portal/stop/(\S+)", english.body_text).group(1)
    assert "example" not in _payload(token).lower()  # opaque: the address never travels in the URL
    assert optout.link_address(db.session, app.config["SECRET_KEY"], token) == "two@example.org"
    assert all(r.reason == "broadcast" and r.status == "pending" for r in rows)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "broadcast.sent"))
    assert entry.record_id == str(broadcast.id) and entry.detail["queued"] == 2
    # a second send waits for the first's batches: together they never go faster
    following = service.send(db.session, people.supervisor, checked(db, audience="references",
                                                                    references=group["aid"].reference), now=now)
    (row,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.broadcast_id == following.id))
    assert row.next_attempt_at - now == timedelta(minutes=2)
    db.session.delete(row)
    db.session.commit()
    # the worker takes only what is due: one now, the other a minute later
    settings = outbox.OutboxSettings()
    db.session.execute(OutboxMessage.__table__.delete().where(OutboxMessage.broadcast_id.is_(None)))  # notifications
    db.session.commit()
    assert len(outbox.claim(db.session, settings, now)) == 1
    assert len(outbox.claim(db.session, settings, now + timedelta(minutes=1))) == 1


def test_the_campaigns_page_reads_what_became_of_each_message(db, people, group, as_user):
    broadcast = service.send(db.session, people.admin, checked(db, department_id=people.social.id))
    db.session.execute(OutboxMessage.__table__.update().where(
        OutboxMessage.broadcast_id == broadcast.id, OutboxMessage.to_address == "one@example.org").values(status="failed"))
    db.session.commit()
    sent = service.listing(db.session, people.supervisor)
    assert sent[0].counts == {"failed": 1, "pending": 1}
    page = as_user(people.supervisor).get("/broadcasts")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "البحث الاجتماعي" in html and "Admin" in html
    for someone in (people.staff, people.focal):
        assert as_user(someone).get("/broadcasts").status_code == 404
        with pytest.raises(NotFound):
            service.listing(db.session, someone)


def test_an_aid_delay_marks_every_ticket_and_tells_the_beneficiary(db, people, group, visitor):
    message = checked(db, department_id=people.social.id, aid_delay=True, reason="تأخر وصول الدعم من الجهة المانحة")
    broadcast = service.send(db.session, people.supervisor, message)
    marked = set(db.session.scalars(select(TicketEvent.ticket_id).where(TicketEvent.kind == EventKind.AID_DELAYED)))
    assert marked == {group[k].id for k in ("first", "second", "english", "phone_only", "out", "anonymous")}
    assert broadcast.tickets_marked == len(marked)
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.kind == EventKind.AID_DELAYED).limit(1))
    assert event.public and event.actor_id == people.supervisor.id and "الجهة المانحة" in event.body
    rows = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast.id)))
    assert {r.reason for r in rows} == {"aid_delay"} and all("الجهة المانحة" in r.body_text for r in rows)
    # the portal's tracking page says so, and offers to stop general messages
    browser = visitor()
    link = links.signed_link(group["first"])
    entered = browser.get(link[link.index("/portal"):])
    assert entered.status_code == 303
    page = browser.get(f"/portal/t/{group['first'].reference}").get_data(as_text=True)
    assert "الجهة المانحة" in page and 'id="stop-general"' in page
    assert browser.post(f"/portal/t/{group['first'].reference}/stop", {}).status_code == 303
    assert optout.ticket_opted_out(db.session, group["first"])
    page = browser.get(f"/portal/t/{group['first'].reference}").get_data(as_text=True)
    assert 'id="opted-out"' in page


def test_a_database_fault_half_way_leaves_nothing_queued(db, people, group, monkeypatch):
    from desk.broadcasts import service as module
    real = module.record

    calls = []

    def failing(session, ticket, *args, **kwargs):
        event = real(session, ticket, *args, **kwargs)
        calls.append(ticket.id)
        if len(calls) == 3:  # the broadcast, its outbox rows and two tickets' events are written; no commit comes
            session.flush()
            raise OperationalError("INSERT INTO ticket_events", {}, Exception("server closed the connection"))
        return event
    monkeypatch.setattr(module, "record", failing)
    once = bind(FormKind.BROADCAST, "t" * 32, f"user:{people.supervisor.id}", people.supervisor.id)
    message = checked(db, department_id=people.social.id, aid_delay=True, reason="سبب")
    with pytest.raises(OperationalError):
        service.send(db.session, people.supervisor, message, once=once)
    assert count(db, Broadcast) == count(db, OutboxMessage, BROADCAST_ROWS) == count(db, FormSubmission) == 0
    assert count(db, TicketEvent, TicketEvent.kind == EventKind.AID_DELAYED) == 0
    assert count(db, AuditEntry, AuditEntry.action == "broadcast.sent") == 0
    monkeypatch.setattr(module, "record", real)  # the same form, sent again once the database is back, goes
    assert service.send(db.session, people.supervisor, message, once=once).queued == 2


def _form(**fields):
    values = dict(audience="open", department_id="", category_id="", references="", kind="", start="", end="",
                  body_ar=TEXT_AR, body_en=TEXT_EN, reason="")
    values.update(fields)
    return values


def test_compose_preview_send_and_a_second_click_sends_once(db, people, group, as_user, make_ticket):
    supervisor = as_user(people.supervisor)
    assert supervisor.get("/broadcasts/new").status_code == 200
    form = _form(department_id=str(people.social.id))
    preview = supervisor.post("/broadcasts/new", {**form, "step": "preview"}, htmx=True)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert 'id="broadcast-preview"' in html and count(db, Broadcast) == 0
    token = re.search(r'name="once" value="([^"]+)"', html).group(1)
    previewed = {name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1) for name in ("previewed", "expected")}
    assert previewed["expected"] == "2"
    # the text changed after the preview: counted again, not sent
    changed = supervisor.post("/broadcasts/new", {**form, "body_ar": "نص آخر", "step": "send", "once": token,
                                                  **previewed}, htmx=True)
    assert changed.status_code == 422 and 'id="broadcast-preview"' in changed.get_data(as_text=True)
    # the group changed after the preview (one more person): refused, nothing sent
    extra = with_email(db, make_ticket(), "late@example.org")
    grown = supervisor.post("/broadcasts/new", {**form, "step": "send", "once": token, **previewed}, htmx=True)
    assert grown.status_code == 422 and count(db, Broadcast) == 0
    db.session.delete(db.session.get(Ticket, extra.id))
    db.session.commit()
    first = supervisor.post("/broadcasts/new", {**form, "step": "send", "once": token, **previewed}, htmx=True)
    assert first.status_code == 200 and first.headers["HX-Redirect"].endswith("/broadcasts")
    again = supervisor.post("/broadcasts/new", {**form, "step": "send", "once": token, **previewed}, htmx=True)
    assert again.status_code == 200 and again.headers["HX-Redirect"].endswith("/broadcasts")
    assert count(db, Broadcast) == 1 and count(db, OutboxMessage, BROADCAST_ROWS) == 2


def test_a_refused_form_keeps_what_was_typed(db, people, group, as_user):
    page = as_user(people.supervisor).post("/broadcasts/new", _form(references="C-1447-999999", audience="references",
                                                                     body_ar="نص محفوظ {x}", step="preview"), htmx=True)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "نص محفوظ {x}" in html and "C-1447-999999" in html and "is-invalid" in html
    assert count(db, Broadcast) == 0
    assert as_user(people.focal).post("/broadcasts/new", _form(step="preview"), htmx=True).status_code == 404


def _payload(token: str) -> str:
    """What a token carries, readable by anyone who sees the URL (itsdangerous signs, it does not hide)."""
    head = token.split(".")[0]
    return base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode()


def _sent(db, ticket, address: str) -> None:
    """The outbox's record of a message to many, to ``address`` about ``ticket``."""
    db.session.add(OutboxMessage(channel="email" if "@" in address else "sms", to_address=address, to_user_id=None,
                                 subject="s", body_text="b", ticket_id=ticket.id if ticket else None,
                                 reason="broadcast", status="sent"))
    db.session.commit()


def _emailed(db, people, make_ticket, address: str):
    """A ticket whose beneficiary's email is ``address``, and the outbox's message to many sent to it."""
    ticket = make_ticket(department_id=people.social.id)
    ticket.beneficiary.email = address
    db.session.commit()
    _sent(db, ticket, address)
    return ticket


def test_the_link_in_a_message_opts_its_address_out_after_a_confirmation(app, db, people, visitor, make_ticket):
    ticket = _emailed(db, people, make_ticket, "Someone@Example.org")
    token = optout.token(app.config["SECRET_KEY"], ticket, "Someone@Example.org")
    assert "someone" not in _payload(token).lower() and ticket.beneficiary.phone[1:] not in _payload(token)
    browser = visitor()
    page = browser.get(f"/portal/stop/{token}")
    assert page.status_code == 200 and count(db, BroadcastOptOut) == 0  # following the link changes nothing
    done = browser.post(f"/portal/stop/{token}", {})
    assert done.status_code == 200 and 'id="stop-done"' in done.get_data(as_text=True)
    assert db.session.scalar(select(BroadcastOptOut.address)) == "someone@example.org"
    assert browser.post(f"/portal/stop/{token}", {}).status_code == 200  # twice: still one row
    assert count(db, BroadcastOptOut) == 1
    assert browser.get("/portal/stop/forged").status_code == 404
    # A signed token for an address no message about the ticket went to opens nothing, even the
    # ticket's own (the link is checked against the outbox, not the record).
    other = optout.token(app.config["SECRET_KEY"], ticket, "someone-else@example.org")
    assert browser.get(f"/portal/stop/{other}").status_code == 404
    unsent = optout.token(app.config["SECRET_KEY"], ticket, ticket.beneficiary.phone)
    assert browser.get(f"/portal/stop/{unsent}").status_code == 404


def test_the_link_still_works_after_the_beneficiary_changes_address(app, db, people, visitor, make_ticket):
    ticket = _emailed(db, people, make_ticket, "first@example.org")
    link = optout.token(app.config["SECRET_KEY"], ticket, "first@example.org")
    ticket.beneficiary.email = "second@example.org"  # corrected since the message went
    db.session.commit()
    assert optout.link_address(db.session, app.config["SECRET_KEY"], link) == "first@example.org"
    browser = visitor()
    assert browser.post(f"/portal/stop/{link}", {}).status_code == 200
    assert db.session.scalar(select(BroadcastOptOut.address)) == "first@example.org"


def _erase(db, people, ticket):
    from desk.accounts.service import create_user
    from desk.privacy import service as privacy
    from tests.conftest import PASSWORD
    dpo = create_user(db.session, "dpo@example.org", PASSWORD, "مسؤول البيانات", ["dpo"])
    close_as_done(db, ticket, days_ago=2, action="تم التواصل")
    assert privacy.erase(db.session, dpo, ticket.beneficiary_id, None, "/nonexistent").refused == []


def test_after_an_erasure_neither_link_works(app, db, people, visitor, make_ticket):
    ticket = _emailed(db, people, make_ticket, "gone@example.org")
    link = optout.token(app.config["SECRET_KEY"], ticket, "gone@example.org")
    old = URLSafeSerializer(app.config["SECRET_KEY"], salt=optout.SALT).dumps("gone@example.org")
    browser = visitor()
    assert browser.get(f"/portal/stop/{link}").status_code == 200
    assert browser.get(f"/portal/stop/{old}").status_code == 200
    _erase(db, people, ticket)
    assert browser.get(f"/portal/stop/{link}").status_code == 404
    assert browser.get(f"/portal/stop/{old}").status_code == 404
    assert browser.post(f"/portal/stop/{old}", {}).status_code == 404
    assert count(db, BroadcastOptOut) == 0


def test_a_link_sent_before_tokens_were_opaque_still_opts_out(app, db, visitor):
    _sent(db, None, "Old@Example.org")  # the outbox keeps it as it was written
    old = URLSafeSerializer(app.config["SECRET_KEY"], salt=optout.SALT).dumps("old@example.org")
    browser = visitor()
    assert browser.get(f"/portal/stop/{old}").status_code == 200
    assert browser.post(f"/portal/stop/{old}", {}).status_code == 200
    assert db.session.scalar(select(BroadcastOptOut.address)) == "old@example.org"


def test_stop_words(db):
    assert optout.is_stop("STOP") and optout.is_stop(" ايقاف ") and optout.is_stop("إيقاف.")
    assert not optout.is_stop("لا تتوقفوا عن مساعدتنا")


def test_a_stop_reply_on_whatsapp_opts_the_number_out_and_opens_no_ticket(app, db, people, monkeypatch):
    from tests.test_channels_whatsapp import SECRET, FakeGraph, text_message
    fake = FakeGraph()
    try:
        for key, value in {"DESK_WHATSAPP_APP_SECRET": SECRET, "DESK_WHATSAPP_TOKEN": "graph-token",
                           "DESK_WHATSAPP_PHONE_ID": "109876543210", "DESK_GRAPH_API_URL": fake.url}.items():
            monkeypatch.setitem(app.config, key, value)
        import hashlib
        import hmac
        import json

        from tests.conftest import Browser
        client = Browser(app.test_client())

        def post(payload):
            raw = json.dumps(payload).encode()
            signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            return client._run(client.client.post, "/hooks/whatsapp", data=raw, content_type="application/json",
                               headers={"X-Hub-Signature-256": signature})

        answer = post(text_message(body="إيقاف", wamid="wamid.stop"))
        assert answer.status_code == 200 and answer.get_json()["ignored"] == 1
        assert count(db, Ticket) == 0
        row = db.session.scalar(select(BroadcastOptOut))
        assert (row.address, row.via) == ("+966501234567", "stop")
        assert post(text_message(body="إيقاف", wamid="wamid.stop")).get_json()["duplicates"] == 1
        assert count(db, BroadcastOptOut) == 1
    finally:
        fake.stop()


def test_each_person_on_the_channel_a_reply_takes(app, db, people, group, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_SMS_URL", "https://sms.example.org/send")  # a gateway: SMS to a mobile
    whatsapp = group["first"]
    whatsapp.meta = {**(whatsapp.meta or {}), "whatsapp": {"phone": "+966501112222"}}
    db.session.commit()
    message = checked(db, department_id=people.social.id)
    found = service.reach(db.session, message)
    # the latest ticket of the person with two decides: the second has no WhatsApp, so email
    assert found.by_channel == {"email": 2, "sms": 1}
    assert found.no_address == 1  # the anonymous request only
    broadcast = service.send(db.session, people.supervisor, checked(db, audience="references",
                                                                   references=whatsapp.reference))
    (row,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast.id))
    assert (row.channel, row.to_address, row.meta["reference"]) == ("whatsapp", "+966501112222", whatsapp.reference)
    assert "إيقاف" in row.body_text and "/portal/stop/" not in row.body_text  # a STOP reply, not a link
    sms = service.send(db.session, people.supervisor, checked(db, audience="references",
                                                             references=group["phone_only"].reference))
    (row,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.broadcast_id == sms.id))
    assert row.channel == "sms" and "/portal/stop/" in row.body_text
