"""The mail quarantine a person can act on (issue 15, point 6): the admin's screen, its
actions (take as a ticket, attach by reference, discard), each recorded with who and when,
nothing rendered as HTML, and the counts on the channel health page."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from desk.models import AuditEntry, EventKind, QuarantinedMail, QuarantineState, Ticket, TicketEvent
from tests.test_mail_gate import email, receive, replies, tickets  # noqa: F401  (receive: the fixture)

HOSTILE = (b"From: =?utf-8?q?<script>alert(1)</script>=0D=0AFrom:_x?= <x@evil.example>\r\n"
           b"To: care@example.org\r\nSubject: =?utf-8?q?<img_src=3Dx_onerror=3Dalert(2)>?=\r\n"
           b"Message-ID: <hostile@evil.example>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           b"<p>\xd9\x84\xd9\x85 \xd8\xaa\xd8\xb5\xd9\x84\xd9\x86\xd9\x8a \xd8\xa7\xd9\x84\xd8\xb3\xd9\x84\xd8\xa9</p>"
           b"<script>alert(3)</script><a href=\"javascript:alert(4)\">x</a>\r\n")


@pytest.fixture
def held(db, people, receive):  # noqa: F811
    assert receive(HOSTILE).outcome == "quarantined"
    return db.session.scalar(select(QuarantinedMail))


def decisions(db):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == "mail.decided").order_by(AuditEntry.id)).all()


def test_the_screen_shows_each_message_and_renders_nothing_of_it(db, people, held, as_user):
    page = as_user(people.admin).get("/admin/mail-quarantine")
    assert page.status_code == 200
    assert f'id="held-{held.id}"' in page.text
    assert "<script>alert" not in page.text and "<img src=x" not in page.text and "javascript:alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text  # the sender as written, escaped
    assert "لم تصلني السلة" in page.text  # its text, read from the HTML, shown as plain text
    assert "From header cannot be read" in page.text  # the reason


def test_only_admins_see_the_quarantine_and_act_on_it(db, people, held, as_user):
    staff = as_user(people.staff)
    assert staff.get("/admin/mail-quarantine").status_code == 404
    for action in ("take", "discard"):
        assert staff.post(f"/admin/mail-quarantine/{held.id}/{action}").status_code == 404
    db.session.expire_all()
    assert held.state == QuarantineState.HELD and tickets(db) == []


def test_take_it_as_a_new_ticket(db, people, held, as_user):
    admin = as_user(people.admin)
    assert admin.post(f"/admin/mail-quarantine/{held.id}/take").status_code == 302
    (ticket,) = tickets(db)
    assert ticket.channel == "email" and "لم تصلني السلة" in ticket.body
    assert ticket.meta["contact"]["email"] == ""  # its sender was never trusted: no address to write to
    db.session.expire_all()
    assert (held.state, held.ticket_id, held.decided_by_id) == (QuarantineState.TAKEN, ticket.id, people.admin.id)
    (decision,) = decisions(db)
    assert decision.actor_id == people.admin.id and decision.detail["decision"] == "taken"
    kept = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                        TicketEvent.kind == EventKind.ATTACHMENT)).all()
    assert len(kept) == 1  # the original, kept with it
    assert admin.post(f"/admin/mail-quarantine/{held.id}/take").status_code == 404  # decided once
    assert len(tickets(db)) == 1


def test_attach_it_to_a_ticket_chosen_by_reference(db, people, held, as_user, make_ticket):
    ticket = make_ticket()
    admin = as_user(people.admin)
    wrong = admin.post(f"/admin/mail-quarantine/{held.id}/attach", data={"reference": "C-1448-999999"})
    assert wrong.status_code == 422 and 'value="C-1448-999999"' in wrong.text and "is-invalid" in wrong.text
    arabic_digits = ticket.reference.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert admin.post(f"/admin/mail-quarantine/{held.id}/attach", data={"reference": arabic_digits}).status_code == 302
    db.session.expire_all()
    assert replies(db, ticket) and "لم تصلني السلة" in replies(db, ticket)[0]
    assert (held.state, held.ticket_id) == (QuarantineState.ATTACHED, ticket.id)
    assert [d.detail["decision"] for d in decisions(db)] == ["attached"]


def test_discard_it(db, people, held, as_user):
    assert as_user(people.admin).post(f"/admin/mail-quarantine/{held.id}/discard").status_code == 302
    db.session.expire_all()
    assert held.state == QuarantineState.DISCARDED and held.raw == b"" and held.decided_at is not None
    assert [d.detail["decision"] for d in decisions(db)] == ["discarded"]
    assert db.session.scalar(select(Ticket)) is None
    assert 'id="quarantine-empty"' in as_user(people.admin).get("/admin/mail-quarantine").text


def test_without_the_csrf_token_nothing_happens(db, people, held, as_user):
    response = as_user(people.admin).post(f"/admin/mail-quarantine/{held.id}/discard", csrf=False)
    assert response.status_code == 400
    db.session.expire_all()
    assert held.state == QuarantineState.HELD


def test_the_channel_health_page_counts_the_quarantine(db, people, held, as_user, receive):  # noqa: F811
    receive(email(subject="x", body="y", X_Loop="x").as_bytes())  # ignored: not counted
    page = as_user(people.admin).get("/admin/channels")
    assert 'id="mail-quarantine-counts"' in page.text and "/admin/mail-quarantine" in page.text
    row = page.text.split('id="mail-quarantine-counts"')[1].split("</tr>")[0]
    assert "١" in row or ">1<" in row


def test_a_nul_typed_in_the_forms_is_refused_and_nothing_is_decided(db, people, held, as_user):
    admin = as_user(people.admin)
    refused = admin.post(f"/admin/mail-quarantine/{held.id}/attach", data={"reference": "C-1448\x00-000001"})
    assert refused.status_code == 422 and 'id="reference-' in refused.text
    assert admin.post(f"/admin/mail-quarantine/{held.id}/take", data={"x": "a\x00b"}).status_code == 400
    db.session.expire_all()
    assert held.state == QuarantineState.HELD and tickets(db) == [] and decisions(db) == []
