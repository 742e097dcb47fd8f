"""Tags (issue 18, point 4) in a real browser, Arabic, at 360 and 1280 px: a tag added inline
on the ticket page shows at once with its timeline line, is taken off again, and the queue
shows it on the row and filters by it."""
from __future__ import annotations

import pytest

from desk.tags import service as tags
from tests.e2e.conftest import show_filters
from tests.e2e.test_browser import expect, queue_refs

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [360, 1280])
def test_a_tag_is_added_inline_shown_in_the_queue_and_filtered_by(db, new_page, login, people, make_ticket,
                                                                   screenshots, width):
    tagged, other = make_ticket(), make_ticket()
    tags.add(db.session, people.staff, other, "مكرر")
    page = new_page(viewport={"width": width, "height": 800})
    login(page, people.focal)
    page.goto(f"/tickets/{tagged.reference}")
    page.fill("#tag-name", "أيتام")
    page.locator("#ticket-tags button[type=submit]", has_text="إضافة").click()
    badge = page.locator("#ticket-tags .desk-tag", has_text="أيتام")
    expect(badge).to_be_visible()
    expect(page.locator("#ticket-timeline")).to_contain_text("أُضيف وسم")
    expect(page.locator("#tag-name")).to_have_value("")
    page.screenshot(path=str(screenshots / f"tags-ticket-{width}.png"), full_page=True)

    page.goto("/tickets")
    expect(queue_refs(page)).to_have_count(2)
    row = page.locator("tr.desk-row", has=page.locator(f"a:text-is('{tagged.reference}')"))
    expect(row.locator(".desk-tag")).to_have_text("أيتام")
    show_filters(page)
    page.select_option("#f-tag", label="أيتام")
    expect(queue_refs(page)).to_have_count(1)
    expect(queue_refs(page).first).to_have_text(tagged.reference)
    assert "tag=" in page.url
    page.screenshot(path=str(screenshots / f"tags-queue-{width}.png"), full_page=True)

    page.goto(f"/tickets/{tagged.reference}")
    page.get_by_label("إزالة الوسم أيتام").click()
    expect(page.locator("#ticket-tags .desk-tag")).to_have_count(0)
    expect(page.locator("#ticket-timeline")).to_contain_text("أُزيل وسم")
