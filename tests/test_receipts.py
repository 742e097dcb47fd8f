"""Issue 20, point 2: every ticket recorded by staff sends the requester a receipt (reference,
private tracking link, expected date) through the outbox, in their language, by email and SMS,
unless staff untick it with a reason; and a printable receipt for walk-in visitors."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from desk.intake.service import IntakeData, create_ticket
from desk.models import EventKind, OutboxMessage, Ticket, TicketEvent
from desk.notify import service as notify_service

KEY_LINK = re.compile(r"http://[^\s\"<]+/portal/t/[A-Z]-[0-9]{4}-[0-9]{6}/[A-Za-z0-9_\-]+")
SIGNED_LINK = re.compile(r"http://[^\s\"<]+/portal/o/[A-Za-z0-9_\-.]+")


def _form(**overrides):
    data = {
        "kind": "complaint", "channel": "visit", "subject": "تأخر صرف المساعدة الشهرية", "body": "تفاصيل سرية عن الحالة",
        "priority": "2", "department_id": "", "b_name": "عبدالله سعد", "b_phone": "0501234567",
        "b_email": "abdullah@example.org", "receipt_offered": "1", "send_receipt": "y", "locale": "ar",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def sms_gateway(app):
    app.config["DESK_SMS_URL"] = "http://127.0.0.1:9/sms"
    yield
    app.config.pop("DESK_SMS_URL", None)


def _receipt_event(db, ticket):
    return db.session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.RECEIPT)).one()


def test_a_visit_gets_its_receipt_by_email_and_sms_with_the_tracking_link(as_user, people, db, sms_gateway, visitor,
                                                                        targets):
    response = as_user(people.staff).post("/tickets/new", _form())
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert ticket.access_key_hash is not None and ticket.meta["locale"] == "ar"
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "received")).all()
    email = next(r for r in rows if r.channel == "email")
    sms = next(r for r in rows if r.channel == "sms")
    assert email.to_address == "abdullah@example.org" and sms.to_address == "+966501234567"
    assert ticket.reference in email.subject and "استلمنا طلبك" in email.subject
    assert KEY_LINK.search(email.body_text) and "التاريخ المتوقع" in email.body_text
    # issue 16's rule: by phone, only the reference, the status in words and the link.
    assert ticket.reference in sms.body_text and KEY_LINK.search(sms.body_text)
    assert "تأخر صرف" not in sms.body_text and "سرية" not in sms.body_text and "عبدالله" not in sms.body_text
    event = _receipt_event(db, ticket)
    assert (event.actor_id, event.new_value, event.reason) == (people.staff.id, "email", None)
    # The link in the receipt opens the request on the portal.
    link = KEY_LINK.search(email.body_text).group()
    opened = visitor().client.get(link.split("http://localhost", 1)[-1].replace("http://desk.test", ""))
    assert opened.status_code in (302, 303)


def test_the_receipt_is_written_in_the_language_the_requester_used(as_user, people, db, targets):
    assert as_user(people.staff).post("/tickets/new", _form(locale="en")).status_code == 302
    email = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "received")).one()
    assert "We received your request" in email.subject and "Expected date" in email.body_text
    assert "استلمنا" not in email.body_text


def test_unticking_the_receipt_needs_a_reason_and_keeps_what_was_typed(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(send_receipt=None))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "no_receipt_reason-msg" in html and "تأخر صرف المساعدة الشهرية" in html
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_unticked_with_a_reason_sends_nothing_and_says_why_on_the_timeline(as_user, people, db):
    staff = as_user(people.staff)
    response = staff.post("/tickets/new", _form(send_receipt=None, no_receipt_reason="رفض المراجع استلام رسائل"))
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.reason == "received")) == 0
    event = _receipt_event(db, ticket)
    assert (event.reason, event.body, event.new_value) == ("no_receipt", "رفض المراجع استلام رسائل", None)
    page = staff.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "رفض المراجع استلام رسائل" in page and "لم يُرسل باختيار الموظف" in page


def test_a_requester_with_no_email_or_mobile_gets_a_receipt_event_saying_so(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(b_phone="", b_email="", b_landline="0112345678"))
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert _receipt_event(db, ticket).reason == "no_contact"
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.reason == "received")) == 0


def test_an_older_form_without_the_box_still_sends_the_receipt(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(receipt_offered=None, send_receipt=None))
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.reason == "received")) == 1


def test_a_receipt_that_cannot_be_queued_leaves_no_ticket(db, people, monkeypatch):
    """The receipt is in the ticket's transaction: if queuing it fails, nothing is written."""
    def broken(*args, **kwargs):
        raise RuntimeError("outbox table unavailable")
    monkeypatch.setattr(notify_service, "notify_beneficiary", broken)
    from desk.beneficiaries.service import NewBeneficiary
    data = IntakeData(kind="complaint", channel="phone", subject="موضوع", new_beneficiary=NewBeneficiary(
        name="سعد", phone="+966501112233", email="saad@example.org"))
    with pytest.raises(RuntimeError):
        create_ticket(db.session, people.staff, data)
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert db.session.scalar(select(func.count(TicketEvent.id))) == 0


# The printable receipt -------------------------------------------------------------------

def test_the_printable_receipt_has_the_association_both_dates_and_a_working_link(as_user, people, db, visitor):
    staff = as_user(people.staff)
    staff.post("/tickets/new", _form())
    ticket = db.session.scalar(select(Ticket))
    assert f'/tickets/{ticket.reference}/receipt' in staff.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    response = staff.get(f"/tickets/{ticket.reference}/receipt")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'dir="rtl"' in html and "إيصال استلام طلب" in html and ticket.reference in html
    assert "هـ" in html and re.search(r"[٠-٩0-9]{4}م|20\d\d|٢٠", html)  # Hijri and Gregorian
    assert 'class="receipt-association"' in html and "receipt.css" in html and "receipt-80mm.css" not in html
    assert "عبدالله سعد" in html and "0501234567" not in html and "+966501234567" not in html
    link = SIGNED_LINK.search(html).group()
    opened = visitor().client.get("/portal/o/" + link.rsplit("/portal/o/", 1)[1])
    assert opened.status_code in (302, 303)
    slip = staff.get(f"/tickets/{ticket.reference}/receipt?width=80mm&lang=en").get_data(as_text=True)
    assert "receipt-80mm.css" in slip and 'dir="ltr"' in slip and "Receipt of a request" in slip


def test_the_printable_receipt_is_refused_to_whoever_may_not_see_the_ticket(as_user, people, db, make_ticket):
    ticket = make_ticket(department_id=people.social.id)
    assert as_user(people.other_focal).get(f"/tickets/{ticket.reference}/receipt").status_code == 404
    assert as_user(people.focal).get(f"/tickets/{ticket.reference}/receipt").status_code == 200


def test_replacing_the_link_ends_the_printed_one(as_user, people, db, make_ticket, visitor):
    ticket = make_ticket()
    html = as_user(people.staff).get(f"/tickets/{ticket.reference}/receipt").get_data(as_text=True)
    token = SIGNED_LINK.search(html).group().rsplit("/portal/o/", 1)[1]
    from desk.tickets.actions import new_link
    new_link(db.session, people.supervisor, ticket, "ضاع الإيصال")
    assert visitor().client.get("/portal/o/" + token).status_code == 404
