"""The focal point's workspace and the ticket actions in a real browser: forms that open in
place, the status list leading to the resolve form, a returned ticket leaving the focal
point's sight. (Helpers and fixtures: tests/e2e/test_browser.py and conftest.py.)"""
from __future__ import annotations

import pytest

from tests.e2e.test_browser import assert_same_page, expect, queue_refs, set_marker, settled

pytestmark = pytest.mark.e2e

RESOLVED = "تمت المعالجة"          # Status: resolved
WAITING = "بانتظار المستفيد"  # Status: waiting on the beneficiary


def test_focal_point_lands_in_the_workspace_and_takes_a_ticket(page, login, people, make_ticket):
    mine = make_ticket(department_id=people.social.id).reference
    make_ticket(department_id=people.aid.id)
    login(page, people.focal)
    expect(page.locator("#workspace-counts")).to_be_visible()
    expect(page.locator("#workspace-new")).to_have_text("١")
    expect(queue_refs(page)).to_have_count(1)
    expect(queue_refs(page)).to_have_text(mine)

    page.goto(f"/tickets/{mine}")
    set_marker(page)
    page.locator("#action-take").click()
    expect(page.locator("#ticket-actions .alert-success")).to_be_visible()
    expect(page.locator("#change-assignee")).to_have_value(str(people.focal.id))
    expect(page.locator("#action-take")).to_have_count(0)
    assert_same_page(page)

    # A reply typed after one's own take is saved, not refused as someone else's change (QA).
    page.fill("#body", "نعمل على طلبك وسنعود إليك")
    page.locator("#vis-reply").check()
    page.locator("#ticket-compose button[type=submit]").click()
    expect(page.locator("#ticket-timeline .desk-event-reply")).to_contain_text("نعمل على طلبك")
    expect(page.locator("#ticket-compose .alert-danger")).to_have_count(0)
    assert_same_page(page)


def test_status_list_opens_the_resolve_form_in_place(page, login, people, make_ticket):
    reference = make_ticket(department_id=people.social.id).reference
    login(page, people.focal)
    page.goto(f"/tickets/{reference}")
    set_marker(page)
    expect(page.locator("#action-resolve")).not_to_have_attribute("open", "")

    page.select_option("#change-status", "resolved")
    expect(page.locator("#action-resolve")).to_have_attribute("open", "")
    expect(page.locator("#ticket-header .desk-status")).not_to_have_text(RESOLVED)
    settled(page)

    # submitting without the action taken is refused by the field
    page.locator("#action-resolve button[type=submit]").click()
    expect(page.locator("#action-resolve-action_taken-error")).to_be_visible()
    settled(page)
    page.fill("#action-resolve-action_taken", "صُرفت السلة الغذائية للأسرة")
    page.locator("#action-resolve button[type=submit]").click()
    expect(page.locator("#ticket-header .desk-status")).to_have_text(RESOLVED)
    expect(page.locator("#ticket-timeline .desk-event-resolved")).to_contain_text("صُرفت السلة الغذائية للأسرة")
    assert_same_page(page)


def test_ask_for_information_then_return_to_the_shared_queue(page, login, people, make_ticket):
    reference = make_ticket(department_id=people.social.id).reference
    login(page, people.focal)
    page.goto(f"/tickets/{reference}")

    page.locator("#action-request-info summary").click()
    page.fill("#action-request-info-message", "نرجو إرسال صورة بطاقة الهوية")
    page.locator("#action-request-info button[type=submit]").click()
    expect(page.locator("#ticket-header .desk-status")).to_have_text(WAITING)
    settled(page)

    page.locator("#action-return summary").click()
    page.fill("#action-return-reason", "ليست من اختصاص الإدارة")
    page.locator("#action-return button[type=submit]").click()
    # the ticket left their department: htmx takes them to their workspace, with the message
    expect(page).to_have_url(f"{page.url.split('/tickets')[0]}/tickets")
    expect(page.locator("#flashes .alert-success")).to_be_visible()
    expect(queue_refs(page)).to_have_count(0)


def test_department_list_of_a_routed_ticket_opens_the_transfer_form(page, login, people, make_ticket):
    """Re-routing needs a reason: choosing another department in the properties opens the
    transfer form with that department chosen; the transfer is done only when sent with a reason."""
    reference = make_ticket(department_id=people.social.id).reference
    login(page, people.staff)
    page.goto(f"/tickets/{reference}")
    set_marker(page)
    page.select_option("#change-department", str(people.aid.id))
    expect(page.locator("#action-transfer")).to_have_attribute("open", "")
    expect(page.locator("#action-transfer-department")).to_have_value(str(people.aid.id))
    expect(page.locator("#ticket-timeline .desk-event-transferred")).to_have_count(0)
    settled(page)
    page.fill("#action-transfer-reason", "من اختصاص المساعدات")
    page.locator("#action-transfer button[type=submit]").click()
    expect(page.locator("#ticket-timeline .desk-event-transferred")).to_contain_text("من اختصاص المساعدات")
    expect(page.locator("#change-department")).to_have_value(str(people.aid.id))
    assert_same_page(page)


def test_closing_unresolved_is_for_intake_staff_the_focal_point_resolves(page, login, people, make_ticket):
    reference = make_ticket(department_id=people.social.id).reference
    login(page, people.focal)
    page.goto(f"/tickets/{reference}")
    expect(page.locator("#change-status option[value=closed]")).to_have_count(0)
    expect(page.locator("#change-status option[value=resolved]")).to_have_count(1)
