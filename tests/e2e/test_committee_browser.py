"""The research committee in a real browser: staff refer a support request, a committee
member records the decision (refused without reasons, then accepted), the focal point records
the service delivered; all in place (htmx), under the strict CSP. The printable notice."""
from __future__ import annotations

import pytest

from desk.accounts.service import create_user
from desk.beneficiaries.service import NewBeneficiary
from desk.models import Kind
from tests.conftest import PASSWORD
from tests.e2e.test_browser import assert_same_page, expect, set_marker, settled

pytestmark = pytest.mark.e2e


@pytest.fixture
def support_ticket(db, people, make_ticket):
    return make_ticket(kind=Kind.SUPPORT, attested=True, verified=True,
                       new_beneficiary=NewBeneficiary(name="خالد عبدالله", national_id="1000000008",
                                                      phone="+966500000999"))


def test_refer_decide_deliver(new_page, login, db, people, support_ticket, screenshots):
    committee = create_user(db.session, "committee@example.org", PASSWORD, "سلمان", ["committee"])
    reference = support_ticket.reference

    staff = login(new_page(), people.staff)
    staff.goto(f"/tickets/{reference}")
    expect(staff.locator("#ticket-committee .desk-committee-expected")).to_be_visible()
    set_marker(staff)
    staff.locator("#committee-refer-submit").click()
    expect(staff.locator("#ticket-committee .alert-success")).to_be_visible()
    expect(staff.locator("#ticket-header .desk-status-awaiting_committee")).to_be_visible()
    expect(staff.locator("#ticket-timeline .desk-event-committee_referred")).to_have_count(1)
    expect(staff.locator("#action-resolve")).to_have_count(0)
    assert_same_page(staff)

    member = login(new_page(), committee)
    member.goto("/committee")
    member.locator(f"a.desk-ref:text('{reference}')").click()
    set_marker(member)
    member.locator("#committee-decision-accepted").check()
    member.fill("#committee-decide-service", "سلة غذائية شهرية")
    member.locator("#committee-decide-submit").click()
    expect(member.locator("#committee-decide-reasons-error")).to_be_visible()
    expect(member.locator("#committee-decide-service")).to_have_value("سلة غذائية شهرية")
    settled(member)
    member.fill("#committee-decide-reasons", "الأسرة مستحقة حسب دراسة الحالة")
    member.locator("#committee-decide-submit").click()
    expect(member.locator("#ticket-committee .desk-committee-decision")).to_contain_text("الأسرة مستحقة")
    expect(member.locator("#ticket-timeline .desk-event-committee_decision.desk-public")).to_have_count(1)
    assert_same_page(member)

    focal = login(new_page(), people.focal)
    focal.goto(f"/tickets/{reference}")
    set_marker(focal)
    focal.fill("#committee-deliver-note", "سُلّمت السلة للأسرة")
    focal.locator("#committee-deliver-submit").click()
    expect(focal.locator("#ticket-timeline .desk-event-service_delivered")).to_contain_text("سُلّمت السلة")
    expect(focal.locator("#committee-deliver-submit")).to_have_count(0)
    assert_same_page(focal)

    focal.goto(f"/tickets/{reference}/committee-notice")
    expect(focal.locator(".desk-notice-expected")).to_be_visible()
    focal.screenshot(path=str(screenshots / "committee-notice.png"), full_page=True)
    focal.emulate_media(media="print")
    expect(focal.locator(".desk-notice-actions")).to_be_hidden()
