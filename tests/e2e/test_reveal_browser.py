"""Revealing a national ID in a real browser (issue 16, point 2): on the ticket page the masked
number's "إظهار" opens the reason in place (htmx), a missing reason is said by the field, and
the full number shows once a reason is given; the reveal is in the record's access log.
Arabic, right to left, at 390 px."""
from __future__ import annotations

import pytest

from desk.beneficiaries.service import NewBeneficiary
from desk.models import RoleGrant
from desk.transaction import commit
from tests.conftest import VALID_NID
from tests.e2e.test_browser import expect

pytestmark = pytest.mark.e2e


def test_reveal_a_national_id_with_a_reason(db, new_page, login, people, make_ticket, screenshots):
    ticket = make_ticket(new_beneficiary=NewBeneficiary(name="هند سالم القحطاني", national_id=VALID_NID,
                                                        phone="+966501234567"))
    db.session.add(RoleGrant(role="staff", permission="reveal.national_id"))
    commit(db.session)
    page = login(new_page(viewport={"width": 390, "height": 844}), people.staff)
    page.goto(f"/tickets/{ticket.reference}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    box = page.locator(f"#reveal-national_id-{ticket.beneficiary_id}")
    expect(box).to_contain_text("1•••••••08")
    expect(page.locator(f"#reveal-phone-{ticket.beneficiary_id}")).not_to_contain_text("إظهار")  # not granted
    box.get_by_role("link", name="إظهار").click()
    reason = page.locator("#reveal-national_id-reason")
    expect(reason).to_have_value("verification")  # not verified yet: proposed
    reason.select_option("other")
    page.get_by_role("button", name="أظهر الرقم كاملًا").click()
    expect(page.locator("#reveal-national_id-why-msg")).to_contain_text("اكتب سبب حاجتك")
    page.fill("#reveal-national_id-why", "مطابقة مع صك الإعالة")
    page.locator("#ticket-beneficiary").screenshot(path=str(screenshots / "reveal-reason-390.png"))
    page.get_by_role("button", name="أظهر الرقم كاملًا").click()
    expect(page.locator(".desk-revealed")).to_have_text(VALID_NID)
    page.locator("#ticket-beneficiary").screenshot(path=str(screenshots / "reveal-shown-390.png"))

    page.goto(f"/tickets/{ticket.reference}")  # shown once: masked again on the next visit
    expect(box).to_contain_text("1•••••••08")

    admin = login(new_page(), people.admin)
    admin.goto(f"/beneficiaries/{ticket.beneficiary_id}")
    expect(admin.locator("#access-log")).to_contain_text("مطابقة مع صك الإعالة")
    expect(admin.locator("#access-log")).to_contain_text(ticket.reference)
