"""Issue 20, point 1 in a real browser at 360 px, in Arabic: staff record a supplier as the
requester. Choosing "supplier" shows the organisation's numbers and contact person and hides
the personal ID; a support request from it is refused by the field with nothing typed lost;
recorded as a complaint, the ticket page shows the supplier with its numbers masked."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from desk.models import Beneficiary, Ticket

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 360, "height": 800}, "locale": "ar-SA"}


def test_an_organisations_complaint_is_recorded_at_intake_on_a_phone(new_page, login, db, people, screenshots):
    page = login(new_page(**PHONE), people.staff)
    page.goto("/tickets/new")
    page.select_option("#kind", "support")
    page.select_option("#channel", "letter")
    page.fill("#subject", "تأخر صرف مستحقات التوريد")
    page.get_by_text("لم تجده؟ سجّل مقدّم طلب جديدًا (فردًا أو جهة)").click()
    expect(page.locator("#organisation-wrap")).to_be_hidden()
    expect(page.locator("#b_national_id")).to_be_visible()
    page.select_option("#b_requester_kind", "supplier")
    expect(page.locator("#organisation-wrap")).to_be_visible()
    expect(page.locator("#b_national_id")).to_be_hidden()  # an organisation has no personal ID
    page.fill("#b_name", "مؤسسة النخبة للتوريدات")
    page.fill("#b_commercial_registration", "١٠١٠١٢٣٤٥٦")
    page.fill("#b_contact_name", "خالد العتيبي")
    page.fill("#b_phone", "٠٥٠١٢٣٤٥٦٧")
    page.check("#verified")
    page.check("#attested")
    page.get_by_role("button", name="حفظ الطلب").click()
    expect(page.locator("#b_requester_kind-msg")).to_contain_text("طلب الدعم للأفراد: لا تقدّمه جهة")
    expect(page.locator("#b_commercial_registration")).to_have_value("١٠١٠١٢٣٤٥٦")
    expect(page.locator("#b_contact_name")).to_have_value("خالد العتيبي")
    expect(page.locator("#organisation-wrap")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.locator("#new-beneficiary").screenshot(path=str(screenshots / "stake-intake-refused-360.png"))
    assert db.session.scalar(select(Ticket.id)) is None

    page.select_option("#kind", "complaint")
    page.get_by_role("button", name="حفظ الطلب").click()
    expect(page.locator("#ticket-beneficiary")).to_contain_text("مؤسسة النخبة للتوريدات")
    expect(page.locator("#ticket-beneficiary")).to_contain_text("مورد")
    expect(page.locator("#ticket-beneficiary")).to_contain_text("1•••••••56")
    expect(page.locator("#ticket-beneficiary")).to_contain_text("خالد العتيبي")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.locator("#ticket-beneficiary").screenshot(path=str(screenshots / "stake-ticket-supplier-360.png"))
    db.session.expire_all()
    supplier = db.session.scalars(select(Beneficiary)).one()
    assert (supplier.requester_kind, supplier.commercial_registration, supplier.national_id) == \
        ("supplier", "1010123456", None)
