"""One reply rule on every channel (issue 22, point 4): a WhatsApp message after resolution
follows the reopen window and the linked follow-up of email and the portal
(desk.portal.service.reply); reactions and system messages never make a ticket; outside the
24-hour window the template carries the reference and the private portal link (tested in
test_channels_whatsapp)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from desk.models import EventKind, InboundMessage, InboundOutcome, MediaJob, Status, Ticket, TicketEvent, utcnow
from tests import test_channels_whatsapp as whatsapp_tests
from tests.test_channels_whatsapp import all_tickets, text_message

graph, hook = whatsapp_tests.graph, whatsapp_tests.hook  # the fake Graph API and the signed poster (fixtures)


def replies(db, ticket) -> list[str]:
    return list(db.session.scalars(select(TicketEvent.body).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.BENEFICIARY_REPLY).order_by(TicketEvent.id)))


def resolve(db, ticket, days_ago: float, status: str = Status.RESOLVED) -> None:
    ticket.status, ticket.resolved_at = status, utcnow() - timedelta(days=days_ago)
    ticket.version += 1
    db.session.commit()


@pytest.mark.parametrize("days_ago, reopened", [(3, True), (40, False)])
def test_a_message_after_resolution_follows_the_reopen_rule(db, people, graph, hook, days_ago, reopened):
    hook(text_message())
    (ticket,) = all_tickets(db)
    resolve(db, ticket, days_ago)
    answer = hook(text_message(body="لم تحل المشكلة", wamid="wamid.in.2"))
    assert answer.get_json()["replies"] == 1
    found = all_tickets(db)
    if reopened:
        assert len(found) == 1 and found[0].status == Status.OPEN
        assert replies(db, found[0])[-1] == "لم تحل المشكلة"
    else:
        old, new = found
        assert old.status == Status.RESOLVED and new.meta["follows"] == old.reference
        assert new.channel == "social" and new.meta["whatsapp"]["phone"] == old.meta["whatsapp"]["phone"]
        assert replies(db, new) == ["لم تحل المشكلة"]
        linked = db.session.scalars(select(TicketEvent.reason).where(TicketEvent.kind == EventKind.LINKED)).all()
        assert sorted(linked) == sorted([f"follows:{old.id}", f"followed_by:{new.id}"])
        # the next message joins the follow-up, not the resolved ticket
        hook(text_message(body="وأيضاً", wamid="wamid.in.3"))
        assert len(all_tickets(db)) == 2 and replies(db, new) == ["لم تحل المشكلة", "وأيضاً"]


def test_a_message_on_a_ticket_closed_without_resolution_opens_a_linked_follow_up(db, people, graph, hook):
    hook(text_message())
    (ticket,) = all_tickets(db)
    ticket.status, ticket.version = Status.CLOSED, ticket.version + 1
    db.session.commit()
    hook(text_message(body="مرة أخرى", wamid="wamid.in.2"))
    old, new = all_tickets(db)
    assert old.status == Status.CLOSED and new.meta["follows"] == old.reference


def test_media_sent_after_the_window_go_to_the_follow_up(db, people, graph, hook):
    hook(text_message())
    (ticket,) = all_tickets(db)
    resolve(db, ticket, 40)
    payload = text_message(wamid="wamid.img")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update({"type": "document", "document": {"id": "doc1", "filename": "فاتورة.pdf"}})
    del message["text"]
    hook(payload)
    old, new = all_tickets(db)
    (job,) = db.session.scalars(select(MediaJob))
    assert job.ticket_id == new.id


@pytest.mark.parametrize("kind, part", [
    ("reaction", {"message_id": "wamid.out.1", "emoji": "👍"}),
    ("system", {"body": "User changed number", "type": "user_changed_number"}),
    ("request_welcome", None),
])
def test_reactions_and_system_messages_never_make_a_ticket_or_a_reply(db, people, graph, hook, kind, part):
    def not_a_message(wamid):
        payload = text_message(wamid=wamid)
        message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
        del message["text"]
        message["type"] = kind
        if part is not None:
            message[kind] = part
        return payload

    answer = hook(not_a_message("wamid.r.1"))
    assert answer.status_code == 200 and answer.get_json()["ignored"] == 1
    assert all_tickets(db) == []
    hook(text_message())
    (ticket,) = all_tickets(db)
    before = replies(db, ticket)
    assert hook(not_a_message("wamid.r.2")).get_json()["ignored"] == 1
    assert hook(not_a_message("wamid.r.2")).get_json()["duplicates"] == 1  # a replay: recorded once
    assert replies(db, ticket) == before and len(all_tickets(db)) == 1
    recorded = db.session.scalars(select(InboundMessage.outcome).where(InboundMessage.key.like("wamid.r.%"))).all()
    assert sorted(recorded) == [InboundOutcome.IGNORED, InboundOutcome.IGNORED]


def test_a_different_number_never_joins_someone_elses_ticket(db, people, graph, hook):
    hook(text_message())
    hook(text_message(body="رسالة من رقم آخر", wamid="wamid.other", sender="966509999999"))
    first, second = all_tickets(db)
    assert second.meta["whatsapp"]["phone"] != first.meta["whatsapp"]["phone"]
    assert "رسالة من رقم آخر" not in replies(db, first)
    assert db.session.scalar(select(Ticket).where(Ticket.id == first.id)).status != Status.CLOSED


# Point 5: documents on WhatsApp replies --------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _whatsapp_ticket_with_document(app, db, people, hook):
    import io

    from desk.attachments.service import Upload, add
    hook(text_message())
    (ticket,) = all_tickets(db)
    document = add(db.session, people.staff, ticket, Upload(io.BytesIO(PDF), "خطاب الموافقة.pdf"),
                   directory=app.config["DESK_ATTACHMENT_DIR"], max_bytes=10 * 1024 * 1024)
    return ticket, document


def test_documents_ticked_on_a_whatsapp_reply_go_as_media_messages(app, db, people, en, graph, hook, as_user):
    from desk.models import OutboxMessage
    from desk.notify.outbox import OutboxSettings, deliver
    ticket, document = _whatsapp_ticket_with_document(app, db, people, hook)
    page = as_user(people.staff)
    shown = page.get(f"/tickets/{ticket.reference}").text
    assert f'name="send_files" value="{document.id}"' in shown and "(by WhatsApp)" in shown
    sent = page.post(f"/tickets/{ticket.reference}/comments", {
        "body": "مرفق خطاب الموافقة", "visibility": "reply", "version": ticket.version, "send_files": [document.id]})
    assert sent.status_code in (200, 302)
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "reply").order_by(OutboxMessage.id)).all()
    assert [r.channel for r in rows] == ["whatsapp", "whatsapp"] and rows[1].meta["document"]["filename"] == "خطاب الموافقة.pdf"

    assert deliver(db.session, OutboxSettings.from_config(app.config)).sent == 2
    text, media = graph.sent
    # the reply's words stay on the desk (issue 16, point 7): the reference, the status and the link go
    assert text["type"] == "text" and ticket.reference in text["text"]["body"]
    assert "مرفق خطاب الموافقة" not in text["text"]["body"] and "/portal/o/" in text["text"]["body"]
    (upload,) = graph.uploads
    assert PDF in upload["body"] and upload["auth"] == "Bearer graph-token"
    assert media["type"] == "document" and media["document"] == {"id": "media.up.1", "filename": "خطاب الموافقة.pdf"}
    assert media["to"] == text["to"]


def test_a_document_outside_the_24_hour_window_fails_and_is_said(app, db, people, graph, hook, monkeypatch):
    from desk.models import OutboxMessage, OutboxStatus
    from desk.notify.outbox import OutboxSettings, deliver
    from desk.tickets.service import add_comment
    monkeypatch.setitem(app.config, "DESK_WHATSAPP_TEMPLATE", "ticket_update")
    ticket, document = _whatsapp_ticket_with_document(app, db, people, hook)
    db.session.execute(InboundMessage.__table__.update().values(received_at=utcnow() - timedelta(hours=25)))
    db.session.commit()
    add_comment(db.session, people.staff, ticket, "مرفق", public=True, expected_version=ticket.version,
                send_files=[document.id])
    result = deliver(db.session, OutboxSettings.from_config(app.config))
    assert (result.sent, result.failed) == (1, 1)  # the template goes; the document cannot
    assert graph.uploads == []
    db.session.expire_all()
    failed = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)).one()
    assert failed.failure == "document_window" and failed.meta["document"]
    told = db.session.scalars(select(TicketEvent.reason).where(TicketEvent.kind == EventKind.UNDELIVERED)).all()
    assert told == ["undelivered:document_window"]
