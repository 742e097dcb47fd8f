"""Issue 16, points 1 and 7 in a real browser: the portal's privacy notice before the send
button and the consent its documents need (a refusal first, what was typed kept), at phone
width in Arabic; then staff replace the tracking link from the ticket page (htmx) and the old
link is refused."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from desk.models import EventKind, OutboxMessage, Ticket, TicketEvent

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 390, "height": 800}, "locale": "ar-SA"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
KEY_PATH = re.compile(r"/portal/t/[A-Z]-\d{4}-\d{6}/[A-Za-z0-9_\-]+")


def test_the_notice_and_the_consent_for_documents_on_a_phone(new_page, db, people, screenshots, app, tmp_path,
                                                             monkeypatch):
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    page = new_page(**PHONE)
    page.goto("/portal/new?kind=complaint")
    notice = page.locator("section.portal-privacy")
    expect(notice).to_contain_text("حقوقك")
    # The notice is above the send button.
    assert notice.bounding_box()["y"] < page.locator("form button.btn-lg").bounding_box()["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(screenshots / "portal-notice-390.png"), full_page=True)

    page.fill("#name", "سارة العتيبي")
    page.fill("#phone", "0551234567")
    page.fill("#subject", "تقرير طبي للمتابعة")
    page.fill("#body", "مرفق التقرير الطبي لحالة والدتي")
    page.locator("#files").set_input_files(files=[{"name": "تقرير.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.locator("form button.btn-lg").click()
    expect(page.locator("#consent-msg")).to_contain_text("ضع علامة في المربع")  # the message by the tick
    expect(page.locator("#body")).to_have_value("مرفق التقرير الطبي لحالة والدتي")  # nothing typed is lost
    expect(page.locator("#name")).to_have_value("سارة العتيبي")
    page.screenshot(path=str(screenshots / "portal-consent-refused-390.png"), full_page=True)

    page.locator("#files").set_input_files(files=[{"name": "تقرير.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.check("#consent")
    page.locator("form button.btn-lg").click()
    expect(page.locator(".portal-reference")).to_be_visible()
    ticket = db.session.scalars(select(Ticket)).one()
    assert ticket.sensitive_consent_at is not None and ticket.privacy_notice_version == 0

    full = new_page(**PHONE)
    full.goto("/portal/new")
    with full.expect_popup() as opened:
        full.get_by_role("link", name="اقرأ إشعار الخصوصية كاملًا").click()
    expect(opened.value.locator("h1")).to_have_text("إشعار الخصوصية")
    assert opened.value.evaluate("document.documentElement.scrollWidth") <= 390
    opened.value.screenshot(path=str(screenshots / "portal-privacy-390.png"), full_page=True)


def test_the_admin_writes_a_new_version_of_the_notice(new_page, login, db, people, screenshots):
    page = login(new_page(viewport={"width": 390, "height": 900}), people.admin)
    page.goto("/admin/privacy-notice")
    expect(page.locator("#body_ar")).to_contain_text("لماذا نجمع بياناتك")  # the text in force, to edit
    page.fill("#body_en", "")
    page.fill("#body_ar", "تجمع جمعية البر بياناتك لمعالجة طلبك.\n\nمسؤول حماية البيانات: أ. هند")
    page.get_by_role("button", name="الحفظ كنسخة جديدة").click()
    expect(page.locator("#body_en ~ .invalid-feedback, #body_en-group .invalid-feedback").first).to_be_visible()
    expect(page.locator("#body_ar")).to_have_value("تجمع جمعية البر بياناتك لمعالجة طلبك.\n\nمسؤول حماية البيانات: أ. هند")
    page.fill("#body_en", "Al-Birr collects your data to handle your request.\n\nData protection officer: Ms Hind")
    page.get_by_role("button", name="الحفظ كنسخة جديدة").click()
    expect(page.locator(".alert-success")).to_contain_text("النسخة ١")
    page.screenshot(path=str(screenshots / "admin-privacy-notice-390.png"), full_page=True)
    visitor = new_page(**PHONE)
    visitor.goto("/portal/privacy")
    expect(visitor.locator("article.portal-notice")).to_contain_text("مسؤول حماية البيانات: أ. هند")


def test_staff_replace_a_tracking_link_from_the_ticket_page(new_page, login, db, people, screenshots, app,
                                                            monkeypatch):
    monkeypatch.setitem(app.config, "DESK_SMS_URL", "http://127.0.0.1:9/send")  # queued only
    beneficiary = new_page(**PHONE)
    beneficiary.goto("/portal/new?kind=complaint")
    beneficiary.fill("#name", "سارة العتيبي")
    beneficiary.fill("#phone", "0551234567")
    beneficiary.fill("#subject", "تأخر صرف السلة")
    beneficiary.fill("#body", "لم تصلني السلة")
    beneficiary.locator("form button.btn-lg").click()
    expect(beneficiary.locator(".portal-reference")).to_be_visible()
    old_path = KEY_PATH.search(beneficiary.locator(".portal-link a").inner_text()).group(0)
    ticket = db.session.scalars(select(Ticket)).one()

    staff = login(new_page(viewport={"width": 390, "height": 900}), people.staff)
    staff.goto(f"/tickets/{ticket.reference}")
    staff.locator("#action-new-link summary").click()
    staff.locator("#action-new-link button[type=submit]").click()  # no reason: refused by the field
    expect(staff.locator("#action-new-link-reason-error")).to_be_visible()
    staff.fill("#action-new-link-reason", "اطّلع عليه شخص آخر")
    staff.locator("#action-new-link button[type=submit]").click()
    expect(staff.locator("#ticket-actions .alert-success")).to_contain_text("رسالة نصية")
    expect(staff.locator("#ticket-timeline")).to_contain_text("استبدال رابط المتابعة")
    staff.screenshot(path=str(screenshots / "ticket-new-link-390.png"), full_page=True)

    stranger = new_page(**PHONE)
    assert stranger.goto(old_path).status == 404
    beneficiary.goto(f"/portal/t/{ticket.reference}")  # the session opened with the old link ends too
    expect(beneficiary.locator("#reference")).to_be_visible()
    db.session.expire_all()
    sms = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "new_link")).one()
    new_path = KEY_PATH.search(sms.body_text).group(0)
    assert stranger.goto(new_path).status == 200  # redirected to the request's page
    expect(stranger.locator("body")).to_contain_text(ticket.reference)
    assert db.session.scalar(select(TicketEvent.id).where(TicketEvent.kind == EventKind.LINK_REISSUED))
