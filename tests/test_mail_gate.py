"""Mail that can be trusted (issue 15): strict headers, no loops, exactly once without a
Message-ID, nothing cut or dropped, verified senders, through desk.channels.pipe.receive (the
pipeline IMAP and ``import-mail`` share; tests/test_channels_email.py drives it over IMAP)."""
from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from sqlalchemy import func, select

from desk.channels import pipe, service
from desk.channels.email import parse
from desk.channels.inbound import Storage
from desk.channels.mailgate import Unsafe, fingerprint, read, sender, valid_address
from desk.models import (
    Attachment,
    EventKind,
    InboundMessage,
    OutboxMessage,
    OutboxStatus,
    QuarantinedMail,
    QuarantineState,
    Status,
    Ticket,
    TicketEvent,
    utcnow,
)
from desk.notify.mail import DeliveryError, MailSettings, SmtpSender, build

BOX = service.Mailbox("care", acknowledge=True, address="care@example.org")


def email(subject="تأخر صرف السلة الغذائية", body="لم تصلني السلة هذا الشهر", sender="ahmad@example.net",
          name="أحمد محمد", message_id=True, **headers) -> EmailMessage:
    m = EmailMessage()
    m["From"] = Address(display_name=name, addr_spec=sender) if name else sender
    m["To"] = "care@example.org"
    m["Subject"] = subject
    m["Date"] = format_datetime(utcnow())
    if message_id:
        m["Message-ID"] = make_msgid(domain="example.net")
    for key, value in headers.items():
        m[key.replace("_", "-")] = value
    m.set_content(body)
    return m


@pytest.fixture
def receive(app, db):
    """``receive(raw, **settings)``: one message through the pipeline, as the mailbox "care"."""
    def run(raw: bytes, mailbox=BOX, **settings):
        config = {**app.config, "DESK_MAIL_FROM": "desk@example.org", **settings}
        return pipe.receive(db.session, raw, mailbox, Storage.from_config(db.session, config),
                            MailSettings.from_config(config), pipe.Gate.from_config(config, {mailbox.address}))
    return run


def tickets(db):
    db.session.expire_all()
    return list(db.session.scalars(select(Ticket).order_by(Ticket.id)))


def replies(db, ticket):
    return db.session.scalars(select(TicketEvent.body).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.BENEFICIARY_REPLY)).all()


def outbox(db):
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


@pytest.fixture
def known_ticket(db, receive):
    """A ticket the beneficiary ahmad@example.net opened by email (acknowledged)."""
    taken = receive(email().as_bytes())
    assert taken.outcome == "ticket"
    return taken.ticket


# 1. Headers parsed strictly -------------------------------------------------------------------

FORGED = [
    # an encoded display name carrying a line break and a second From
    pytest.param(b"From: =?utf-8?q?Ahmad=0D=0AFrom:_ahmad@example.net?= <x@evil.example>\r\n", id="crlf-in-name"),
    pytest.param(b"From: =?utf-8?b?YWhtYWRAZXhhbXBsZS5uZXQKeEBldmlsLmV4YW1wbGU=?=\r\n", id="lf-in-address"),
    pytest.param(b"From: ahmad@example.net, x@evil.example\r\n", id="two-addresses"),
    pytest.param(b"From: ahmad@example.net\r\nFrom: x@evil.example\r\n", id="two-from-headers"),
    pytest.param(b"From: not an address\r\n", id="no-address"),
    pytest.param(b"From: =?utf-8?q?A?= <ahmad\x00@example.net>\r\n", id="nul"),
    pytest.param(b"", id="no-from"),
    pytest.param(b"From: ahmad@example.net\r\nReply-To: =?utf-8?q?a=0Ab?= <x@evil.example>\r\n", id="crlf-reply-to"),
]


@pytest.mark.parametrize("header", FORGED)
def test_a_sender_that_does_not_parse_strictly_is_quarantined_never_guessed(db, people, receive, known_ticket, header):
    raw = header + (f"To: care@example.org\r\nSubject: بخصوص {known_ticket.reference}\r\n"
           f"Message-ID: <forged@evil.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "أرجو إرسال الرد إلى عنواني الجديد\r\n").encode()
    sent_before = outbox(db)

    taken = receive(raw)

    assert taken.outcome == "quarantined" and taken.ticket is None
    assert replies(db, known_ticket) == [] and len(tickets(db)) == 1
    assert outbox(db) == sent_before  # no acknowledgement to an injected address
    (held,) = db.session.scalars(select(QuarantinedMail))
    assert held.state == QuarantineState.HELD and held.reason and held.raw == raw
    assert held.subject == f"بخصوص {known_ticket.reference}"
    assert "\n" not in held.sender and "\r" not in held.sender
    assert receive(raw).outcome == "duplicate"  # delivered again: held once


def test_the_sender_comes_from_the_address_not_the_display_name(db, people, receive):
    unquoted = email(name="", sender="x@evil.example")
    unquoted.replace_header("From", "ahmad@example.net <x@evil.example>")  # an "@" in an unquoted name
    assert receive(unquoted.as_bytes()).outcome == "quarantined"
    taken = receive(email(name="ahmad@example.net", sender="x@evil.example").as_bytes())
    assert taken.ticket.meta["contact"]["email"] == "x@evil.example"
    assert taken.ticket.meta["contact"]["name"] == "ahmad@example.net"


def test_an_arabic_name_in_rfc_2047_is_read_and_the_address_validated():
    author = sender(read(b"From: =?utf-8?b?2KPYrdmF2K8g2YXYrdmF2K8=?= <Ahmad@Example.NET>\r\n\r\n"))
    assert (author.name, author.email) == ("أحمد محمد", "ahmad@example.net")
    with pytest.raises(Unsafe):
        sender(read(b"From: ahmad@localhost\r\n\r\n"))
    assert valid_address("Ahmad@Example.net") == "ahmad@example.net"
    for bad in ("a@b.org\r\nBcc: x@evil.example", "a@b.org, c@d.org", "nobody", "<a@b.org>x", ""):
        assert valid_address(bad) is None


def test_the_desk_never_writes_to_an_address_that_is_not_one_valid_address():
    with pytest.raises(DeliveryError) as refused:  # refused before any connection is made
        SmtpSender(MailSettings(port=1)).send("ahmad@example.net\r\nBcc: x@evil.example", b"x")
    assert refused.value.permanent and refused.value.cause == "address"


# 3. No loops, no storms -------------------------------------------------------------------------

AUTOMATIC = [
    {"X_Loop": "helpdesk@other.example"},
    {"X_Loop": "desk@example.org"},
    {"X_Auto_Response_Suppress": "All"},
    {"X_Auto_Response_Suppress": "OOF, AutoReply"},
    {"Auto_Submitted": "auto-replied"},
    {"Auto_Submitted": "auto-generated; owner-email=x@example.net"},
    {"Precedence": "bulk"},
    {"Precedence": "junk"},
    {"Precedence": "list"},
    {"List_Id": "<news.example.net>"},
    {"List_Unsubscribe": "<mailto:leave@example.net>"},
    {"Return_Path": "<>"},
]


@pytest.mark.parametrize("headers", AUTOMATIC, ids=lambda h: "-".join(f"{k}={v}" for k, v in h.items())[:40])
def test_automatic_mail_never_makes_a_ticket_nor_an_acknowledgement(db, people, receive, headers):
    taken = receive(email(**headers).as_bytes())
    assert taken.outcome == "ignored" and taken.reason
    assert tickets(db) == [] and outbox(db) == 0
    assert db.session.scalar(select(InboundMessage.outcome)) == "ignored"


def test_auto_submitted_no_is_a_person(db, people, receive):
    assert receive(email(Auto_Submitted="no").as_bytes()).outcome == "ticket"


def dsn(recipient: str, subject: str = "Undelivered Mail Returned to Sender") -> bytes:
    return (f"From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\nTo: desk@example.org\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{make_msgid()[1:-1]}>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. Your message could not be delivered.\r\n"
            "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
            f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
            "Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n"
            "--b--\r\n").encode()


def test_a_bounce_of_our_acknowledgement_is_said_on_its_ticket(db, people, receive, known_ticket):
    (ack,) = db.session.scalars(select(OutboxMessage))
    ack.status, ack.sent_at = OutboxStatus.SENT, utcnow()
    db.session.commit()

    taken = receive(dsn("Ahmad@example.net"))

    assert taken.outcome == "ignored" and taken.reason == "delivery report (bounce)"
    assert len(tickets(db)) == 1 and outbox(db) == 1  # no ticket, no answer to the mail system
    db.session.expire_all()
    assert db.session.get(OutboxMessage, ack.id).status == OutboxStatus.FAILED
    (note,) = db.session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == known_ticket.id, TicketEvent.kind == EventKind.UNDELIVERED))
    assert note.reason == "undelivered:bounce"


def test_a_bounce_for_an_address_we_never_wrote_to_changes_nothing(db, people, receive, known_ticket):
    assert receive(dsn("someone@example.com")).outcome == "ignored"
    assert db.session.scalar(select(func.count()).select_from(TicketEvent).where(
        TicketEvent.kind == EventKind.UNDELIVERED)) == 0


def test_what_the_desk_sends_carries_our_x_loop_and_says_when_it_is_automatic(db, people, receive, known_ticket):
    (ack,) = db.session.scalars(select(OutboxMessage))
    settings = MailSettings(mail_from="desk@example.org", secret="s")
    built = build(ack, settings)
    assert built["X-Loop"] == "desk@example.org" and built["Auto-Submitted"] == "auto-replied"
    ack.meta = {**(ack.meta or {}), "auto_submitted": None}  # a staff member's reply, say
    assert build(ack, settings)["Auto-Submitted"] == "auto-generated"
    # and our own acknowledgement, come back, is recognised by its X-Loop
    assert parse(build(ack, settings).as_bytes()).noise.startswith("x-loop")


# 4. Exactly once, even without a Message-ID ------------------------------------------------

def test_a_message_without_message_id_delivered_again_is_recognised(db, people, receive):
    raw = email(message_id=False).as_bytes()
    again = (b"Received: from mx2.example.org by mx.example.org; Fri, 4 Dec 2026 10:00:00 +0000\r\n"
             b"Delivered-To: care@example.org\r\nX-Original-To: care@example.org\r\n"
             b"Return-Path: <ahmad@example.net>\r\n" + raw.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n"))
    assert fingerprint(raw) == fingerprint(again)

    assert receive(raw).outcome == "ticket"
    assert receive(again).outcome == "duplicate"
    assert len(tickets(db)) == 1


def test_the_fingerprint_still_tells_different_messages_apart():
    raw = email(message_id=False).as_bytes()
    assert fingerprint(raw) != fingerprint(raw.replace("السلة".encode(), "الكسوة".encode()))
    assert fingerprint(raw) != fingerprint(raw.replace(b"Subject:", b"Subject: Re:"))


# 5. Nothing cut, nothing dropped -----------------------------------------------------------

def originals(db, ticket):
    return db.session.scalars(select(Attachment).where(
        Attachment.ticket_id == ticket.id, Attachment.content_type == "message/rfc822")).all()


def test_a_long_message_is_cut_only_with_a_notice_and_its_original_is_kept(db, people, receive, as_user, app):
    body = "\n".join(f"السطر {n}: لم تصلني السلة الغذائية هذا الشهر ولا الشهر الذي قبله" for n in range(1, 2001))
    assert len(body) > 60_000
    raw = email(body=body).as_bytes()

    ticket = receive(raw).ticket

    (kept,) = originals(db, ticket)
    assert kept.filename.endswith(".eml") and kept.size == len(raw) and not kept.from_beneficiary
    assert "السطر 1:" in ticket.body and "السطر 2000:" not in ticket.body
    assert len(ticket.body) <= 20_000 and ticket.body.endswith(f"{kept.filename}]")
    assert "The text is longer than shown here" in ticket.body
    response = as_user(people.staff).get(f"/tickets/{ticket.reference}/attachments/{kept.id}")
    assert response.status_code == 200 and response.data == raw  # whole, byte for byte
    assert response.headers["Content-Disposition"].startswith("attachment")  # downloaded, never rendered
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_a_short_message_is_shown_whole_with_its_original(db, people, receive):
    ticket = receive(email().as_bytes()).ticket
    assert ticket.body == "لم تصلني السلة هذا الشهر" and len(originals(db, ticket)) == 1


def test_a_long_reply_is_cut_with_a_notice_and_kept_on_the_ticket(db, people, receive, known_ticket):
    body = "معلومة إضافية " * 1000
    taken = receive(email(subject=f"بخصوص {known_ticket.reference}", body=body).as_bytes())
    assert taken.outcome == "reply" and taken.ticket.id == known_ticket.id
    (reply,) = replies(db, known_ticket)
    assert reply.startswith("معلومة إضافية") and "The text is longer than shown here" in reply
    assert len(originals(db, known_ticket)) == 2  # the first message's and the reply's


def test_a_multipart_without_its_boundary_keeps_its_raw_text(db, people, receive):
    raw = (b"From: ahmad@example.net\r\nTo: care@example.org\r\nSubject: no boundary\r\n"
           b"Message-ID: <nb@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n"
           b"--zzz\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + "لم تصلني السلة".encode() + b"\r\n--zzz--\r\n")
    ticket = receive(raw).ticket
    assert "لم تصلني السلة" in ticket.body


def test_a_message_that_always_fails_goes_to_the_quarantine_after_n_attempts(db, people, app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the attachment directory is full")
    monkeypatch.setattr(service, "take", broken)
    raw = email().as_bytes()
    gate = pipe.Gate(max_attempts=3)
    held = []
    for _ in range(3):
        try:
            pipe.receive(db.session, raw, BOX, Storage.from_config(db.session, app.config),
                         MailSettings.from_config(app.config), gate)
        except RuntimeError as error:
            held.append(pipe.attempt_failed(db.session, raw, BOX, gate, error))
    assert held == [False, False, True]
    (row,) = db.session.scalars(select(QuarantinedMail))
    assert row.state == QuarantineState.HELD and row.attempts == 3 and "RuntimeError" in row.reason
    assert "attachment directory is full" in row.last_error and row.raw == raw
    monkeypatch.undo()
    outcome = pipe.receive(db.session, raw, BOX, Storage.from_config(db.session, app.config),
                           MailSettings.from_config(app.config), gate)
    assert outcome.outcome == "duplicate"  # held: a person decides now, not the next delivery


def test_a_message_that_failed_once_and_then_goes_through_leaves_nothing_in_the_quarantine(db, people, app, monkeypatch):
    real = service.take
    calls = []

    def once_broken(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("busy")
        return real(*args, **kwargs)
    monkeypatch.setattr(service, "take", once_broken)
    raw, gate = email().as_bytes(), pipe.Gate(max_attempts=3)
    storage, mail = Storage.from_config(db.session, app.config), MailSettings.from_config(app.config)
    with pytest.raises(RuntimeError):
        pipe.receive(db.session, raw, BOX, storage, mail, gate)
    assert pipe.attempt_failed(db.session, raw, BOX, gate, RuntimeError("busy")) is False
    assert pipe.receive(db.session, raw, BOX, storage, mail, gate).outcome == "ticket"
    assert db.session.scalar(select(func.count()).select_from(QuarantinedMail)) == 0


# 2. Who really sent it -----------------------------------------------------------------------

OURS = "mx.assoc.example"
FAILED = f"{OURS}; spf=fail smtp.mailfrom=evil.example; dkim=none; dmarc=fail (p=reject) header.from=example.net"
PASSED = f"{OURS}; spf=pass smtp.mailfrom=ahmad@example.net; dkim=pass header.d=example.net; dmarc=pass header.from=example.net"


def resolved(db, ticket, days_ago=3):
    from datetime import timedelta
    ticket.status, ticket.resolved_at = Status.RESOLVED, utcnow() - timedelta(days=days_ago)
    ticket.version += 1
    db.session.commit()


def test_a_forged_beneficiary_failing_dmarc_never_joins_nor_reopens_their_ticket(db, people, receive, known_ticket):
    resolved(db, known_ticket)
    forged = email(subject=f"بخصوص {known_ticket.reference}", body="أرجو تحويل المبلغ إلى حسابي الجديد",
                   Authentication_Results=FAILED)

    taken = receive(forged.as_bytes(), DESK_MAIL_AUTHSERV_ID=OURS)

    assert taken.outcome == "unverified" and taken.ticket.id == known_ticket.id and taken.reason == "DMARC failed"
    db.session.expire_all()
    assert known_ticket.status == Status.RESOLVED and replies(db, known_ticket) == []
    (waiting,) = db.session.scalars(select(QuarantinedMail))
    assert waiting.state == QuarantineState.UNVERIFIED and waiting.ticket_id == known_ticket.id
    assert len(tickets(db)) == 1


def test_an_unverified_reply_by_thread_alone_waits_too(db, app, people, receive, known_ticket):
    (ack,) = db.session.scalars(select(OutboxMessage))
    from desk.notify.mail import message_id as our_message_id
    signed = our_message_id(ack.id, MailSettings.from_config({**app.config, "DESK_MAIL_FROM": "desk@example.org"}))
    reply = email(subject="Re: طلبكم", body="شكرا", In_Reply_To=signed, Authentication_Results=FAILED)
    assert receive(reply.as_bytes(), DESK_MAIL_AUTHSERV_ID=OURS).outcome == "unverified"
    verified_reply = email(subject="Re: طلبكم", body="شكرا لكم", In_Reply_To=signed, Authentication_Results=PASSED)
    taken = receive(verified_reply.as_bytes(), DESK_MAIL_AUTHSERV_ID=OURS, DESK_MAIL_REQUIRE_AUTH=True)
    assert taken.outcome == "reply" and replies(db, known_ticket) == ["شكرا لكم"]  # our signed ids still thread
    assert db.session.scalar(select(InboundMessage.verified).where(InboundMessage.outcome == "reply")) is True


def test_results_from_anyone_but_our_server_are_ignored(db, people, receive, known_ticket):
    claimed = PASSED.replace(OURS, "mx.evil.example")
    forged = email(subject=f"بخصوص {known_ticket.reference}", Authentication_Results=claimed)
    taken = receive(forged.as_bytes(), DESK_MAIL_AUTHSERV_ID=OURS, DESK_MAIL_REQUIRE_AUTH=True)
    assert taken.outcome == "unverified" and taken.reason == "no authentication result from our server"


def test_an_unverified_sender_may_open_a_ticket_but_gets_no_acknowledgement(db, people, receive):
    taken = receive(email(sender="new@example.com", Authentication_Results=FAILED.replace("example.net", "example.com"))
                    .as_bytes(), DESK_MAIL_AUTHSERV_ID=OURS)
    assert taken.outcome == "ticket" and outbox(db) == 0
    assert db.session.scalar(select(InboundMessage.verified)) is False


def test_a_ticket_opened_by_an_unverified_sender_says_so(db, people, receive, as_user):
    unverified = receive(email(Authentication_Results=FAILED).as_bytes(), DESK_MAIL_AUTHSERV_ID=OURS).ticket
    verified_one = receive(email(subject="آخر", Authentication_Results=PASSED).as_bytes(), DESK_MAIL_AUTHSERV_ID=OURS).ticket
    staff = as_user(people.staff)
    assert 'id="opened-unverified"' in staff.get(f"/tickets/{unverified.reference}").text
    assert 'id="opened-unverified"' not in staff.get(f"/tickets/{verified_one.reference}").text


def test_dkim_passing_for_another_domain_does_not_verify(db, people, receive, known_ticket):
    other = f"{OURS}; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=evil.example; dmarc=none"
    forged = email(subject=f"بخصوص {known_ticket.reference}", Authentication_Results=other)
    assert receive(forged.as_bytes(), DESK_MAIL_AUTHSERV_ID=OURS, DESK_MAIL_REQUIRE_AUTH=True).outcome == "unverified"


def test_staff_accept_or_reject_an_unverified_message_on_the_ticket(db, people, receive, known_ticket, as_user):
    resolved(db, known_ticket)
    for body in ("الرسالة الأولى", "الرسالة الثانية"):
        receive(email(subject=f"بخصوص {known_ticket.reference}", body=body, Authentication_Results=FAILED).as_bytes(),
                DESK_MAIL_AUTHSERV_ID=OURS)
    first, second = db.session.scalars(select(QuarantinedMail).order_by(QuarantinedMail.id))
    staff = as_user(people.staff)
    page = staff.get(f"/tickets/{known_ticket.reference}")
    assert "الرسالة الأولى" in page.text
    assert f'id="unverified-{first.id}"' in page.text and f'id="unverified-{second.id}"' in page.text

    assert staff.post(f"/tickets/{known_ticket.reference}/unverified-mail/{first.id}/accept").status_code == 302
    assert staff.post(f"/tickets/{known_ticket.reference}/unverified-mail/{second.id}/reject").status_code == 302

    db.session.expire_all()
    assert replies(db, known_ticket) == ["الرسالة الأولى"] and known_ticket.status == Status.OPEN  # the reopen rule
    assert (first.state, second.state) == (QuarantineState.ATTACHED, QuarantineState.DISCARDED)
    assert first.decided_by_id == second.decided_by_id == people.staff.id and first.decided_at is not None
    assert second.raw == b""
    notes = db.session.scalars(select(TicketEvent.body).where(
        TicketEvent.ticket_id == known_ticket.id, TicketEvent.kind == EventKind.NOTE)).all()
    assert any("unverified sender was rejected" in n for n in notes)
    assert staff.post(f"/tickets/{known_ticket.reference}/unverified-mail/{first.id}/accept").status_code == 404


def test_only_those_who_answer_on_the_ticket_decide(db, people, receive, known_ticket, as_user):
    receive(email(subject=f"بخصوص {known_ticket.reference}", Authentication_Results=FAILED).as_bytes(),
            DESK_MAIL_AUTHSERV_ID=OURS)
    row = db.session.scalar(select(QuarantinedMail))
    outsider = as_user(people.other_focal)  # a focal point of another department
    assert outsider.post(f"/tickets/{known_ticket.reference}/unverified-mail/{row.id}/accept").status_code == 404
    db.session.expire_all()
    assert row.state == QuarantineState.UNVERIFIED


def test_the_original_is_never_offered_nor_sent_with_a_reply(db, people, receive, as_user):
    from desk.channels.outgoing import documents_to_send
    from desk.errors import ValidationFailed
    ticket = receive(email().as_bytes()).ticket
    (kept,) = originals(db, ticket)
    page = as_user(people.staff).get(f"/tickets/{ticket.reference}")
    assert f'id="send-file-{kept.id}"' not in page.text
    with pytest.raises(ValidationFailed):
        documents_to_send(db.session, ticket, [kept.id])
