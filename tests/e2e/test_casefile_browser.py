"""The case file and registration (issue 20, points 3 and 5) in a real browser at phone width, in
Arabic: the printable case file (RTL, both calendars, the attestation with its signature lines,
no buttons when printed); the signed scan attached on the ticket records the attestation in
place; the registration panel beside the ticket refuses "registered" without the documents,
keeps what was typed, and moves on once the document is attached."""
from __future__ import annotations

import pytest

from desk.casefile import service
from desk.models import Kind
from tests.e2e.test_browser import expect

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 360, "height": 800}, "locale": "ar-SA"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def attachments_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))


def test_the_case_file_prints_on_a_phone_in_arabic(new_page, login, db, people, make_ticket, screenshots):
    ticket = make_ticket()
    page = login(new_page(**PHONE), people.staff)
    page.goto(f"/tickets/{ticket.reference}")
    with page.expect_popup() as opened:
        page.get_by_role("link", name="طباعة ملف الحالة للتوقيع").click()
    casefile = opened.value
    expect(casefile.locator("html")).to_have_attribute("dir", "rtl")
    expect(casefile.locator("h1")).to_have_text("ملف الحالة")
    expect(casefile.locator(".receipt-reference strong")).to_have_text(ticket.reference)
    expect(casefile.locator(".casefile-printed")).to_contain_text("هـ")
    expect(casefile.locator(".casefile-printed")).to_contain_text("الموافق")
    expect(casefile.locator(".casefile-attestation")).to_contain_text("مسؤول مسؤولية مباشرة")
    expect(casefile.locator(".casefile-sign dt")).to_have_text(["اسم مقدم الطلب", "التوقيع", "التاريخ"])
    assert ticket.beneficiary.phone not in casefile.content()  # masked
    assert casefile.evaluate("document.documentElement.scrollWidth") <= 360
    casefile.screenshot(path=str(screenshots / "casefile-ar-360.png"), full_page=True)
    casefile.emulate_media(media="print")
    expect(casefile.locator(".receipt-tools")).to_be_hidden()


def test_the_signed_scan_is_attached_and_records_the_attestation(new_page, login, db, people, make_ticket,
                                                                 attachments_dir, screenshots):
    service.set_requirement(db.session, people.admin, Kind.COMPLAINT, "signed", [])
    ticket = make_ticket()
    page = login(new_page(**PHONE), people.staff)
    page.goto(f"/tickets/{ticket.reference}")
    expect(page.locator("#ticket-props .desk-attestation-rule")).to_contain_text("الإقرار الموقّع مرفقًا")
    panel = page.locator("#ticket-attachments")
    panel.locator("#attachment-file").set_input_files(
        files=[{"name": "إقرار موقع.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    panel.locator("#attachment-document-type").select_option("signed_attestation")
    panel.locator("button[type=submit]").click()
    expect(page.locator("#ticket-attachments .alert-success")).to_be_visible()
    expect(page.locator("#ticket-attachments .desk-document-type")).to_have_text("إقرار موقّع")
    expect(page.locator("#ticket-timeline")).to_contain_text("أُرفق الإقرار الموقّع")
    expect(page.locator("#ticket-props a[download]")).to_have_text("إقرار موقّع")  # the Handling panel, swapped out of band
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.locator("#ticket-attachments").screenshot(path=str(screenshots / "casefile-signed-scan-ar-360.png"))
    db.session.expire_all()
    assert ticket.attested


def test_the_registration_panel_beside_the_ticket_on_a_phone(new_page, login, db, people, make_ticket,
                                                             attachments_dir, screenshots):
    service.set_requirement(db.session, people.admin, Kind.COMPLAINT, "none", ["income_proof"])
    ticket = make_ticket()
    page = login(new_page(**PHONE), people.staff)
    page.goto(f"/tickets/{ticket.reference}")
    panel = page.locator(f"#registration-{ticket.beneficiary_id}")
    expect(panel).to_contain_text("إثبات الدخل")
    expect(panel.locator(".desk-checklist-item")).to_contain_text("ناقص")
    panel.locator("select[name=state]").select_option("registered")
    panel.locator("input[name=file_number]").fill("١٤٤٧/٢٣")
    panel.locator("button[type=submit]").click()
    expect(panel.locator(".alert-warning")).to_contain_text("المستندات غير مكتملة")  # staff: no override field
    expect(panel.locator("input[name=file_number]")).to_have_value("١٤٤٧/٢٣")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    panel.screenshot(path=str(screenshots / "casefile-registration-refused-ar-360.png"))

    page.locator("#attachment-file").set_input_files(
        files=[{"name": "راتب.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.locator("#attachment-document-type").select_option("income_proof")
    page.locator("#ticket-attachments button[type=submit]").click()
    expect(page.locator("#ticket-attachments .alert-success")).to_be_visible()
    page.reload()
    panel = page.locator(f"#registration-{ticket.beneficiary_id}")
    expect(panel.locator(".desk-checklist-item a")).to_have_text("إثبات الدخل")
    panel.locator("select[name=state]").select_option("registered")
    panel.locator("input[name=file_number]").fill("١٤٤٧/٢٣")
    panel.locator("button[type=submit]").click()
    expect(panel.locator(".alert-success")).to_have_text("حُفظ التسجيل.")
    expect(panel.locator(".desk-registration-state")).to_have_text("مسجَّل")
    expect(panel).to_contain_text("1447/23")
    panel.screenshot(path=str(screenshots / "casefile-registration-ar-360.png"))

    page.goto(f"/beneficiaries/{ticket.beneficiary_id}")  # the same panel on the beneficiary's record
    panel = page.locator(f"#registration-{ticket.beneficiary_id}")
    expect(panel.locator(".desk-registration-state")).to_have_text("مسجَّل")
    panel.locator("summary").click()
    expect(panel.locator("details li")).to_contain_text(people.staff.name)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshots / "casefile-beneficiary-ar-360.png"), full_page=True)


def test_the_admin_sets_the_requirements_on_a_phone(new_page, login, db, people, screenshots):
    page = login(new_page(**PHONE), people.admin)
    page.goto("/admin/requirements")
    card = page.locator("#kind-support")
    card.locator("select[name=attestation]").select_option("signed")
    card.locator("#documents-support-family_record").check()
    card.locator("#documents-support-lease").check()
    card.locator("button[type=submit]").click()
    expect(page.locator(".alert-success, [role=status]").first).to_be_visible()
    card = page.locator("#kind-support")
    expect(card.locator("select[name=attestation]")).to_have_value("signed")
    expect(card.locator("#documents-support-lease")).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    card.screenshot(path=str(screenshots / "casefile-requirements-ar-360.png"))
    db.session.expire_all()
    assert service.requirement(db.session, Kind.SUPPORT).documents == ["family_record", "lease"]
