"""Email intake (issue 7) against a real IMAP server (Dovecot on loopback, tests/mailserver.py)
and outgoing threading against a real SMTP server (aiosmtpd, tests/test_outbox.py)."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from sqlalchemy import func, select

from desk.channels import imap
from desk.channels.email import html_to_text, parse, strip_quoted
from desk.models import (
    Attachment,
    Beneficiary,
    ChannelState,
    EventKind,
    InboundMessage,
    OutboxMessage,
    Status,
    Ticket,
    TicketEvent,
    utcnow,
)
from desk.notify.mail import MailSettings
from desk.notify.mail import message_id as our_message_id
from desk.notify.outbox import deliver
from tests.mailserver import dovecot  # noqa: F401  (the fixture)
from tests.test_outbox import SmtpServer, free_port, outbox_settings

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def mailbox(dovecot, app):  # noqa: F811
    """A fresh mailbox on the server and the desk's settings to read it."""
    user = dovecot.user()
    config = dict(app.config)
    config["DESK_MAILBOXES"] = json.dumps([{"name": "care", "host": "127.0.0.1", "port": dovecot.port,
                                            "tls": "none", "user": user, "password": "secret"}])
    config["DESK_MAIL_FROM"] = "desk@example.org"
    return user, config


def message(subject="تأخر صرف السلة الغذائية", body="لم تصلني السلة هذا الشهر", sender="ahmad@example.net",
            name="أحمد محمد", **headers) -> EmailMessage:
    m = EmailMessage()
    m["From"] = f"{name} <{sender}>" if name else sender
    m["To"] = "care@example.org"
    m["Subject"] = subject
    m["Date"] = format_datetime(utcnow())
    m["Message-ID"] = headers.pop("message_id", None) or make_msgid(domain="example.net")
    for key, value in headers.items():
        m[key.replace("_", "-")] = value
    m.set_content(body)
    return m


def fetch(db, config, **options):
    results = imap.fetch_all(db.session, config, **options)
    (result,) = results.values()
    if isinstance(result, Exception):
        raise result
    return result


def tickets(db):
    db.session.expire_all()
    return list(db.session.scalars(select(Ticket).order_by(Ticket.id)))


# Parsing (no server) -----------------------------------------------------------------------

def test_html_becomes_plain_text_without_scripts():
    text = html_to_text("<html><head><style>p{}</style></head><body><p>مرحبا <b>بكم</b></p>"
                        "<script>alert(1)</script><div>سطر &amp; آخر</div><img src=x onerror=alert(2)></body></html>")
    assert text == "مرحبا بكم\n\nسطر & آخر"
    assert "<" not in text and "alert" not in text


def test_the_quoted_tail_of_a_reply_is_left_out():
    assert strip_quoted("شكرا، وصلت\n\nOn Sun, 1 Nov 2026 at 10:00, Desk <d@x> wrote:\n> old") == "شكرا، وصلت"
    assert strip_quoted("> only a quote") == "> only a quote"  # nothing of their own: keep everything


def test_a_message_without_message_id_is_keyed_by_its_bytes():
    raw = b"From: a@example.net\r\nSubject: x\r\n\r\nbody\r\n"
    assert parse(raw).key == parse(raw).key and parse(raw).key.startswith("sha256:")
    assert parse(raw + b"more").key != parse(raw).key


# Intake ----------------------------------------------------------------------------------

def test_plain_html_and_arabic_attachments_become_email_tickets(db, people, mailbox, dovecot):  # noqa: F811
    user, config = mailbox
    known = Beneficiary(name="فاطمة علي", email="fatima@example.net", phone="+966500000001")
    known.refresh_search()
    db.session.add(known)
    db.session.commit()

    plain = message(sender="Fatima@Example.net", name="فاطمة")
    html = message(subject="استفسار", body="")
    html.clear_content()
    html.set_content("<p>أريد <b>الاستفسار</b></p><script>steal()</script>", subtype="html")
    with_files = message(subject="مستندات الإيجار", body="مرفق عقد الإيجار")
    with_files.add_attachment(PDF, maintype="application", subtype="pdf", filename="عقد الإيجار.pdf")
    with_files.add_attachment(b"MZ\x90\x00binary", maintype="application", subtype="octet-stream",
                              filename="برنامج.exe")
    for m in (plain, html, with_files):
        dovecot.deliver(user, m.as_bytes())

    result = fetch(db, config)

    assert (result.taken, result.ignored, result.failed) == (3, 0, 0)
    first, second, third = tickets(db)
    assert {t.channel for t in (first, second, third)} == {"email"}
    assert first.beneficiary_id == known.id  # matched by email, whatever its case
    assert first.subject == "تأخر صرف السلة الغذائية" and "لم تصلني السلة" in first.body
    assert first.meta["contact"]["email"] == "fatima@example.net"
    assert second.beneficiary_id is None and second.meta["contact"]["name"] == "أحمد محمد"
    assert second.body == "أريد الاستفسار" and "steal" not in second.body
    (document,) = db.session.scalars(select(Attachment).where(
        Attachment.ticket_id == third.id, Attachment.content_type != "message/rfc822"))
    assert document.filename == "عقد الإيجار.pdf" and document.content_type == "application/pdf"
    assert "برنامج.exe (not an accepted kind of file)" in third.body  # said on the ticket, not attached
    created = db.session.scalars(select(TicketEvent.reason).where(
        TicketEvent.ticket_id == first.id, TicketEvent.kind == EventKind.CREATED)).all()
    assert created == ["email"]
    assert all("$DeskImported" in flags and "\\Seen" in flags for flags in dovecot.flags(user))
    assert fetch(db, config).taken == 0  # flagged: nothing new on the next run
    state = db.session.get(ChannelState, "email:care")
    assert state.last_success_at is not None and state.received == 3 and state.errors == 0


def test_malformed_mime_and_a_20_mb_message_are_taken_in(db, people, mailbox, dovecot):  # noqa: F811
    user, config = mailbox
    broken = (b"From: broken@example.net\r\nSubject: =?utf-8?b?broken?= \xff\xfe\r\n"
              b"Message-ID: <broken@example.net>\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/mixed; boundary=\"never-closed\"\r\n\r\n"
              b"--never-closed\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\n"
              b"\xd9\x86\xd8\xb5 text\r\n--never-closed\r\nContent-Type: application/pdf; name=x.pdf\r\n"
              b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64***\r\n")
    big = message(subject="ملف كبير", body="مرفق ملف كبير")
    big.add_attachment(PDF + b"0" * (20 * 1024 * 1024), maintype="application", subtype="pdf", filename="big.pdf")
    dovecot.deliver(user, broken)
    dovecot.deliver(user, big.as_bytes())

    result = fetch(db, config)

    assert (result.taken, result.failed) == (2, 0)
    malformed, large = tickets(db)
    assert malformed.meta["contact"]["email"] == "broken@example.net"
    assert "text" in malformed.body
    assert large.subject == "ملف كبير" and "big.pdf (too large)" in large.body
    # Nothing of theirs is attached; each message's original is kept whole, as its ticket's .eml document.
    kept = db.session.execute(select(Attachment.content_type, Attachment.size, Attachment.ticket_id)).all()
    assert sorted((c, t) for c, _, t in kept) == [("message/rfc822", malformed.id), ("message/rfc822", large.id)]
    assert max(size for _, size, _ in kept) > 20 * 1024 * 1024


def test_with_move_to_a_message_leaves_the_folder_once_taken_in(db, people, mailbox, dovecot):  # noqa: F811
    user, config = mailbox
    boxes = json.loads(config["DESK_MAILBOXES"])
    boxes[0]["move_to"] = "Desk"
    config["DESK_MAILBOXES"] = json.dumps(boxes)
    conn = dovecot.imap(user)
    assert conn.create("Desk")[0] == "OK"
    conn.logout()
    dovecot.deliver(user, message().as_bytes())

    assert fetch(db, config).taken == 1

    assert dovecot.flags(user) == []  # the inbox is empty
    (moved,) = dovecot.flags(user, "Desk")
    assert "$DeskImported" in moved
    assert len(tickets(db)) == 1


def test_a_message_over_the_size_limit_is_taken_in_by_its_header(db, people, mailbox, dovecot):  # noqa: F811
    user, config = mailbox
    config["DESK_MAIL_MAX_MB"] = 0.01  # about 10 KB
    huge = message(subject="مرفقات كثيرة", body="انظر المرفق")
    huge.add_attachment(PDF + b"0" * 50_000, maintype="application", subtype="pdf", filename="scan.pdf")
    dovecot.deliver(user, huge.as_bytes())

    assert fetch(db, config).taken == 1

    (ticket,) = tickets(db)
    assert ticket.subject == "مرفقات كثيرة" and "read it in the mailbox" in ticket.body
    assert ticket.meta["contact"]["email"] == "ahmad@example.net"


def test_the_same_message_id_twice_makes_one_ticket(db, people, mailbox, dovecot):  # noqa: F811
    user, config = mailbox
    twice = make_msgid(domain="example.net")
    dovecot.deliver(user, message(message_id=twice).as_bytes())
    dovecot.deliver(user, message(message_id=twice, body="نسخة ثانية").as_bytes())

    result = fetch(db, config)

    assert (result.taken, result.duplicates) == (1, 1)
    assert len(tickets(db)) == 1
    assert all("$DeskImported" in flags for flags in dovecot.flags(user))


def test_a_crash_between_commit_and_flag_makes_no_duplicate_and_loses_nothing(db, people, mailbox, dovecot):  # noqa: F811
    user, config = mailbox
    for n in range(3):
        dovecot.deliver(user, message(subject=f"رسالة {n}").as_bytes())
    calls = []

    def crash_after_second(uid):
        calls.append(uid)
        if len(calls) == 2:
            raise OSError("the fetcher died")  # committed, not yet flagged

    with pytest.raises(OSError):
        fetch(db, config, after_commit=crash_after_second)
    assert len(tickets(db)) == 2
    assert sum("$DeskImported" in flags for flags in dovecot.flags(user)) == 1

    result = fetch(db, config)  # the re-run

    assert (result.taken, result.duplicates) == (1, 1)
    assert sorted(t.subject for t in tickets(db)) == ["رسالة 0", "رسالة 1", "رسالة 2"]
    assert all("$DeskImported" in flags for flags in dovecot.flags(user))


def test_auto_replies_bounces_and_our_own_mail_never_make_tickets(db, people, mailbox, dovecot):  # noqa: F811
    user, config = mailbox
    bounce = (b"From: Mail Delivery System <MAILER-DAEMON@example.net>\r\n"
              b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce1@example.net>\r\n"
              b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
              b"--b\r\nContent-Type: text/plain\r\n\r\ndelivery failed\r\n--b\r\n"
              b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; example.net\r\n\r\n--b--\r\n")
    noise = [
        message(Auto_Submitted="auto-replied", subject="Out of office"),
        message(X_Autoreply="yes"),
        message(Precedence="bulk"),
        message(sender="desk@example.org"),  # ours
        message(sender=user),                 # the mailbox itself
    ]
    for m in noise:
        dovecot.deliver(user, m.as_bytes())
    dovecot.deliver(user, bounce)

    result = fetch(db, config)

    assert (result.taken, result.ignored) == (0, 6)
    assert tickets(db) == []
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert db.session.scalar(select(func.count()).where(InboundMessage.outcome == "ignored")) == 6
    assert all("$DeskImported" in flags for flags in dovecot.flags(user))


def test_acknowledgements_are_threaded_and_limited_per_sender(db, people, mailbox, dovecot):  # noqa: F811
    user, config = mailbox
    boxes = json.loads(config["DESK_MAILBOXES"])
    boxes[0]["acknowledge"] = True
    config["DESK_MAILBOXES"] = json.dumps(boxes)
    config["DESK_MAIL_ACK_LIMIT"] = 2
    first = message(subject="طلب 1")
    dovecot.deliver(user, first.as_bytes())
    for n in range(2, 5):
        dovecot.deliver(user, message(subject=f"طلب {n}").as_bytes())

    fetch(db, config)

    acks = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "received")
                              .order_by(OutboxMessage.id)).all()
    assert len(acks) == 2 and len(tickets(db)) == 4
    assert acks[0].to_address == "ahmad@example.net"
    assert acks[0].meta["in_reply_to"] == first["Message-ID"]
    assert acks[0].subject.endswith(f"[{tickets(db)[0].reference}]")  # Arabic: the reference last (RTL in mail clients)


# Threading -----------------------------------------------------------------------------------

def _mail_settings(config) -> MailSettings:
    return MailSettings.from_config(config)


def _one_ticket(db, dovecot, user, config, **kw):  # noqa: F811
    original = message(**kw)
    dovecot.deliver(user, original.as_bytes())
    fetch(db, config)
    (ticket,) = tickets(db)
    return ticket, original


def _replies(db, ticket):
    return db.session.scalars(select(TicketEvent.body).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.BENEFICIARY_REPLY)).all()


def test_a_reply_to_our_message_threads_onto_its_ticket(db, people, mailbox, dovecot):  # noqa: F811
    user, config = mailbox
    ticket, original = _one_ticket(db, dovecot, user, config)
    ours = OutboxMessage(to_address="ahmad@example.net", subject="x", body_text="x", ticket_id=ticket.id,
                         reason="reply", next_attempt_at=utcnow())
    db.session.add(ours)
    db.session.commit()
    sent_id = our_message_id(ours.id, _mail_settings(config))
    dovecot.deliver(user, message(subject="Re: رد", body="شكرا لكم\n\nOn Sun, 1 Nov 2026, Desk wrote:\n> old",
                                  In_Reply_To=sent_id, References=f"{original['Message-ID']} {sent_id}").as_bytes())
    forged = re.sub(r"\.[0-9a-f]{16}@", "." + "0" * 16 + "@", sent_id)  # our form, a wrong signature
    assert forged != sent_id
    dovecot.deliver(user, message(subject="Re: مزور", body="نص", In_Reply_To=forged, References=forged).as_bytes())

    fetch(db, config)

    assert _replies(db, ticket) == ["شكرا لكم"]
    assert len(tickets(db)) == 2  # the forged Message-ID threads nowhere: a new ticket


def test_the_reference_in_the_subject_threads_only_from_the_beneficiarys_address(db, people, mailbox, dovecot):  # noqa: F811
    user, config = mailbox
    ticket, _ = _one_ticket(db, dovecot, user, config)
    dovecot.deliver(user, message(subject=f"بخصوص {ticket.reference}", body="معلومة إضافية").as_bytes())
    dovecot.deliver(user, message(subject=f"بخصوص {ticket.reference}", body="غريب", sender="x@evil.example").as_bytes())

    fetch(db, config)

    assert _replies(db, ticket) == ["معلومة إضافية"]
    assert len(tickets(db)) == 2


@pytest.mark.parametrize("days_ago, reopened", [(3, True), (40, False)])
def test_a_reply_on_a_resolved_ticket_follows_the_reopen_rule(db, people, mailbox, dovecot, days_ago, reopened):  # noqa: F811
    user, config = mailbox
    ticket, original = _one_ticket(db, dovecot, user, config)
    ticket.status, ticket.resolved_at = Status.RESOLVED, utcnow() - timedelta(days=days_ago)
    ticket.version += 1
    db.session.commit()
    dovecot.deliver(user, message(subject="Re: الطلب", body="لم تحل المشكلة",
                                  In_Reply_To=original["Message-ID"]).as_bytes())

    fetch(db, config)

    all_tickets = tickets(db)
    if reopened:
        assert len(all_tickets) == 1 and all_tickets[0].status == Status.OPEN
        assert _replies(db, ticket) == ["لم تحل المشكلة"]
    else:
        old, new = all_tickets
        assert old.status == Status.RESOLVED and new.channel == "email"
        assert new.meta["follows"] == old.reference and _replies(db, new) == ["لم تحل المشكلة"]


# Outgoing --------------------------------------------------------------------------------------

def test_a_public_reply_goes_back_by_email_threaded_on_their_last_message(db, people, mailbox, dovecot):  # noqa: F811
    from desk.tickets.service import add_comment

    user, config = mailbox
    ticket, original = _one_ticket(db, dovecot, user, config, subject="شكوى من التأخير")
    second = message(subject=f"Re: {ticket.reference}", body="إضافة",
                     In_Reply_To=original["Message-ID"], References=original["Message-ID"])
    dovecot.deliver(user, second.as_bytes())
    fetch(db, config)
    ticket = tickets(db)[0]

    add_comment(db.session, people.staff, ticket, "نعتذر عن التأخير، تم الصرف اليوم", public=True,
                expected_version=ticket.version)

    (out,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "reply")).all()
    assert out.channel == "email" and out.to_address == "ahmad@example.net"
    server = SmtpServer(free_port()).start()
    try:
        result = deliver(db.session, outbox_settings(server.port))
        db.session.expire_all()
        # The reply, and the intake staff's notice that the beneficiary wrote (the ticket is unrouted).
        assert result.sent == 2, db.session.get(OutboxMessage, out.id).last_error
        (sent,) = [m for m in server.handler.messages if "ahmad@example.net" in str(m["To"])]
    finally:
        server.stop()
    assert sent["In-Reply-To"] == second["Message-ID"]
    assert sent["References"].split() == [original["Message-ID"], second["Message-ID"]]
    assert sent["Message-ID"].startswith(f"<desk.outbox.{out.id}.")
    assert ticket.reference in sent["Subject"] and "رد" in sent["Subject"]  # Arabic, RFC 2047 encoded
    assert sent["To"].addresses[0].display_name == "أحمد محمد"
    assert sent["To"].addresses[0].addr_spec == "ahmad@example.net"
    raw_headers = sent.as_bytes().split(b"\n\n", 1)[0]
    assert b"=?utf-8?" in raw_headers.lower() and "أحمد".encode() not in raw_headers
    assert "نعتذر عن التأخير" in sent.get_content()


# The command ---------------------------------------------------------------------------------

def test_fetch_mail_command_once_and_a_wrong_password_is_recorded(app, db, people, mailbox, dovecot):  # noqa: F811
    user, config = mailbox
    dovecot.deliver(user, message().as_bytes())
    runner = app.test_cli_runner()
    saved = app.config["DESK_MAILBOXES"]
    app.config["DESK_MAILBOXES"] = config["DESK_MAILBOXES"]
    try:
        result = runner.invoke(args=["desk", "fetch-mail", "--once"])
        assert result.exit_code == 0, result.output
        assert "care: 1 taken in" in result.output
        wrong = json.loads(config["DESK_MAILBOXES"])
        wrong[0]["password"] = "wrong"
        app.config["DESK_MAILBOXES"] = json.dumps(wrong)
        result = runner.invoke(args=["desk", "fetch-mail", "--once"])
        assert "care: failed" in result.output
    finally:
        app.config["DESK_MAILBOXES"] = saved
    db.session.expire_all()
    state = db.session.get(ChannelState, "email:care")
    assert state.errors == 1 and "authentication" in state.last_error.lower()
    assert len(tickets(db)) == 1


def test_mailbox_settings_are_checked():
    from desk.settings import SettingsError
    with pytest.raises(SettingsError):
        imap.mailboxes("{not json")
    with pytest.raises(SettingsError):
        imap.mailboxes(json.dumps([{"host": "x"}]))
    (box,) = imap.mailboxes(json.dumps([{"host": "imap.example.org", "user": "care@example.org", "tls": "starttls"}]))
    assert (box.port, box.folder, box.name, box.kind) == (143, "INBOX", "care@example.org", "inquiry")


def test_a_long_message_goes_out_with_crlf_line_ends(db):
    """smtplib sends bytes as they are: bare LFs made a long message one line of more than
    1000 octets, refused by a strict server ("500 Line too long")."""
    queued = OutboxMessage(to_address="ahmad@example.net", subject="[C-1447-000001] رد على طلبك",
                           body_text="نص طويل جدا " * 400, reason="reply", next_attempt_at=utcnow())
    db.session.add(queued)
    db.session.commit()
    server = SmtpServer(free_port()).start()
    try:
        assert deliver(db.session, outbox_settings(server.port)).sent == 1
        (sent,) = server.handler.messages
    finally:
        server.stop()
    assert sent.get_content().strip() == ("نص طويل جدا " * 400).strip()


def _ticket_with_document(db, people, make_ticket, name="خطاب الموافقة.pdf"):
    import io

    from flask import current_app

    from desk.attachments.service import Upload, add
    ticket = make_ticket()
    ticket.meta = {**ticket.meta, "contact": {"name": "أحمد", "email": "ahmad@example.net"}}
    db.session.commit()
    document = add(db.session, people.staff, ticket, Upload(io.BytesIO(PDF), name),
                   directory=current_app.config["DESK_ATTACHMENT_DIR"], max_bytes=10 * 1024 * 1024)
    return ticket, document


def test_documents_chosen_on_a_public_reply_go_with_the_email(db, people, make_ticket, as_user, app):
    ticket, document = _ticket_with_document(db, people, make_ticket)
    page = as_user(people.staff)
    shown = page.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert f'name="send_files" value="{document.id}"' in shown

    sent = page.post(f"/tickets/{ticket.reference}/comments", {
        "body": "مرفق خطاب الموافقة", "visibility": "reply", "version": ticket.version, "send_files": [document.id]})
    assert sent.status_code in (200, 302), sent.get_data(as_text=True)[:500]

    db.session.expire_all()
    (out,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "reply")).all()
    server = SmtpServer(free_port()).start()
    try:
        from dataclasses import replace
        settings = outbox_settings(server.port)
        settings = replace(settings, mail=replace(settings.mail, attachment_dir=app.config["DESK_ATTACHMENT_DIR"]))
        assert deliver(db.session, settings).failed == 0
        (received,) = [m for m in server.handler.messages if m["To"].addresses[0].addr_spec == "ahmad@example.net"]
    finally:
        server.stop()
    (part,) = list(received.iter_attachments())
    assert part.get_filename() == "خطاب الموافقة.pdf" and part.get_content_type() == "application/pdf"
    assert part.get_content() == PDF
    assert "مرفق خطاب الموافقة" in received.get_body(("plain",)).get_content()


def test_a_document_of_another_ticket_cannot_be_sent(db, people, make_ticket, as_user):
    ticket, _ = _ticket_with_document(db, people, make_ticket)
    _, elsewhere = _ticket_with_document(db, people, make_ticket, name="other.pdf")
    refused = as_user(people.staff).post(f"/tickets/{ticket.reference}/comments", {
        "body": "رد", "visibility": "reply", "version": ticket.version, "send_files": [elsewhere.id]})
    assert refused.status_code == 422
    fieldset = refused.get_data(as_text=True).split('id="reply-documents"', 1)[1].split("</fieldset>", 1)[0]
    assert "invalid-feedback" in fieldset
    assert db.session.scalar(select(func.count()).where(OutboxMessage.reason == "reply")) == 0


def test_only_the_beneficiary_writes_as_the_beneficiary(db, people, mailbox, dovecot):  # noqa: F811
    """A staff member answering a notification email, or someone copied in on the beneficiary's
    mail, is never posted on the ticket as the beneficiary's public reply (review B2)."""
    user, config = mailbox
    ticket, original = _one_ticket(db, dovecot, user, config)
    notice = OutboxMessage(to_address=people.focal.email, to_user_id=people.focal.id, subject="x", body_text="x",
                           ticket_id=ticket.id, reason="routed", next_attempt_at=utcnow())
    db.session.add(notice)
    db.session.commit()
    notice_id = our_message_id(notice.id, _mail_settings(config))
    dovecot.deliver(user, message(subject="Re: إشعار", body="سأتابعه غدًا", sender=people.focal.email,
                                  In_Reply_To=notice_id, References=notice_id).as_bytes())
    dovecot.deliver(user, message(subject="Re: شكوى", body="أنا نسخة فقط", sender="cc@example.org",
                                  In_Reply_To=original["Message-ID"], References=original["Message-ID"]).as_bytes())
    fetch(db, config)
    assert _replies(db, ticket) == []  # neither became the beneficiary's words on this ticket


def test_a_message_that_always_fails_is_held_in_the_quarantine_not_retried_forever(db, people, mailbox, dovecot, monkeypatch):  # noqa: F811
    from desk.channels import service
    from desk.models import QuarantinedMail, QuarantineState

    def broken(*args, **kwargs):
        raise RuntimeError("cannot take it")
    monkeypatch.setattr(service, "take", broken)
    user, config = mailbox
    config["DESK_MAIL_MAX_ATTEMPTS"] = 2
    dovecot.deliver(user, message().as_bytes())

    first = fetch(db, config)
    assert (first.failed, first.quarantined) == (1, 0)
    assert not any("$DeskImported" in flags for flags in dovecot.flags(user))  # left for the next run
    second = fetch(db, config)
    assert (second.failed, second.quarantined) == (0, 1)
    assert all("$DeskImported" in flags for flags in dovecot.flags(user))  # held: the server may forget it
    (held,) = db.session.scalars(select(QuarantinedMail))
    assert held.state == QuarantineState.HELD and held.attempts == 2 and tickets(db) == []
    assert fetch(db, config).failed == 0


def test_a_database_lost_during_a_fetch_counts_nothing_against_the_message(db, people, mailbox, dovecot, monkeypatch):  # noqa: F811
    from sqlalchemy.exc import OperationalError

    from desk.channels import service
    from desk.models import QuarantinedMail

    def lost(*args, **kwargs):
        raise OperationalError("INSERT …", {}, Exception("server closed the connection unexpectedly"))
    monkeypatch.setattr(service, "take", lost)
    user, config = mailbox
    dovecot.deliver(user, message().as_bytes())
    with pytest.raises(OperationalError):
        fetch(db, config)
    assert not any("$DeskImported" in flags for flags in dovecot.flags(user))
    assert db.session.scalar(select(func.count()).select_from(QuarantinedMail)) == 0
    monkeypatch.undo()
    assert fetch(db, config).taken == 1
