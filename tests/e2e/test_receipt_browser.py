"""Issue 20, point 2 in a real browser at phone width, in Arabic: staff record a visit, untick
the receipt without a reason (refused by the field, nothing typed lost), then send it; the
ticket page's "print receipt" opens the printable receipt (RTL, Hijri and Gregorian, the
association's name, the tracking link) that fits 390 px and prints without its buttons."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from desk.models import EventKind, OutboxMessage, Ticket, TicketEvent

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 390, "height": 900}, "locale": "ar-SA"}


def test_a_visit_gets_a_receipt_and_a_printable_one(new_page, login, db, people, screenshots):
    page = login(new_page(**PHONE), people.staff)
    page.goto("/tickets/new")
    page.select_option("#kind", "complaint")
    page.select_option("#channel", "visit")
    page.fill("#subject", "تأخر صرف السلة الغذائية")
    page.fill("#body", "حضر المراجع إلى مقر الجمعية")
    page.get_by_text("لم تجده؟ سجّل مقدّم طلب جديدًا (فردًا أو جهة)").click()
    page.fill("#b_name", "منيرة الحربي")
    page.fill("#b_phone", "0551234567")
    page.fill("#b_email", "munira@example.org")
    expect(page.locator("#send_receipt")).to_be_checked()
    page.uncheck("#send_receipt")
    page.get_by_role("button", name="حفظ الطلب").click()
    expect(page.locator("#no_receipt_reason-msg")).to_contain_text("اكتب سبب عدم إرسال الإيصال")
    expect(page.locator("#subject")).to_have_value("تأخر صرف السلة الغذائية")
    expect(page.locator("#b_email")).to_have_value("munira@example.org")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#receipt-fieldset").screenshot(path=str(screenshots / "intake-receipt-refused-390.png"))
    assert db.session.scalar(select(Ticket.id)) is None

    page.check("#send_receipt")
    page.get_by_role("button", name="حفظ الطلب").click()
    expect(page.locator("#ticket-header .desk-ref")).to_be_visible()
    expect(page.locator("#ticket-timeline")).to_contain_text("إيصال الاستلام")
    db.session.expire_all()
    ticket = db.session.scalars(select(Ticket)).one()
    assert db.session.scalar(select(OutboxMessage.to_address).where(OutboxMessage.reason == "received")) \
        == "munira@example.org"
    assert db.session.scalar(select(TicketEvent.new_value).where(TicketEvent.kind == EventKind.RECEIPT)) == "email"

    with page.expect_popup() as opened:
        page.get_by_role("link", name="طباعة الإيصال").click()
    receipt = opened.value
    expect(receipt.locator("html")).to_have_attribute("dir", "rtl")
    expect(receipt.locator("h1")).to_have_text("إيصال استلام طلب")
    expect(receipt.locator(".receipt-reference strong")).to_have_text(ticket.reference)
    expect(receipt.locator(".receipt-association")).not_to_be_empty()
    expect(receipt.locator(".receipt-facts")).to_contain_text("هـ")  # Hijri, beside the Gregorian date
    expect(receipt.locator(".receipt-link")).to_contain_text("/portal/o/")
    assert receipt.evaluate("document.documentElement.scrollWidth") <= 390
    receipt.screenshot(path=str(screenshots / "receipt-390.png"), full_page=True)
    receipt.emulate_media(media="print")
    expect(receipt.locator(".receipt-tools")).to_be_hidden()
    receipt.screenshot(path=str(screenshots / "receipt-print-390.png"), full_page=True)
    link = re.search(r"/portal/o/\S+", receipt.locator(".receipt-link").inner_text()).group(0)
    visitor = new_page(**PHONE)
    assert visitor.goto(link).status == 200  # the printed link opens the request
    expect(visitor.locator("body")).to_contain_text(ticket.reference)
