"""The ticket page puts the work first (issue 18, point 7), in a real browser: at 1280×800 what
the beneficiary wrote and the Actions panel lie wholly above the fold; on a 360 px phone the page
opens with them; the timeline's order is the person's choice and survives a reload."""
from __future__ import annotations

import pytest

from tests.e2e.test_browser import expect, settled

pytestmark = pytest.mark.e2e

BODY = "لم تصل السلة الغذائية لهذا الشهر، وراجعت المكتب مرتين دون رد. " * 3
NEWEST_FIRST, OLDEST_FIRST = "عرض الأحدث أولًا", "عرض الأقدم أولًا"


def _box(page, selector):
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box


def test_the_request_and_the_actions_are_above_the_fold_at_1280(page, login, people, make_ticket, screenshots):
    ticket = make_ticket(body=BODY, department_id=people.social.id)
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, people.focal)
    page.goto(f"/tickets/{ticket.reference}")
    expect(page.locator("#ticket-request")).to_contain_text(BODY.strip())
    for selector in ("#ticket-request", "#ticket-actions"):
        box = _box(page, selector)
        assert box["y"] >= 0 and box["y"] + box["height"] <= 800, (selector, box)
    expect(page.locator("#ticket-actions")).to_contain_text("استلام الطلب")
    page.screenshot(path=str(screenshots / "ticket-work-first-1280.png"))


def test_a_phone_opens_with_the_request_then_the_actions_and_the_order_is_remembered(
        db, page, login, people, make_ticket, screenshots):
    ticket = make_ticket(body=BODY, department_id=people.social.id)
    page.set_viewport_size({"width": 360, "height": 740})
    login(page, people.focal)
    page.goto(f"/tickets/{ticket.reference}")
    request, actions, props = (_box(page, s) for s in ("#ticket-request", "#ticket-actions", "#ticket-props"))
    assert request["y"] < 740 and request["y"] + request["height"] <= actions["y"] < props["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshots / "ticket-work-first-360.png"), full_page=True)

    page.get_by_role("button", name="استلام الطلب (إسناده إليّ)").click()  # an event after the creation
    settled(page)
    ids = lambda: page.locator("#ticket-timeline .desk-event").evaluate_all("els => els.map(e => e.id)")  # noqa: E731
    expect(page.locator("#ticket-actions")).to_contain_text("أُسند الطلب إليك.")
    oldest = ids()
    assert len(oldest) >= 2
    page.get_by_role("button", name=NEWEST_FIRST).click()
    settled(page)
    expect(page.get_by_role("button", name=OLDEST_FIRST)).to_be_visible()
    assert ids() == oldest[::-1]
    page.reload()  # remembered: the next visit reads newest first
    expect(page.get_by_role("button", name=OLDEST_FIRST)).to_be_visible()
    assert ids() == oldest[::-1]
