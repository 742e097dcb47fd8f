"""Keyboard shortcuts (issue 18, point 9) in a real browser at 1280 and 360 px: j / k move a
visibly marked current row, / goes to the search box, o opens the row; on the ticket r and n
open the compose box as a reply or a note, s only opens the resolve form, t takes the ticket;
? lists the shortcuts in a dialog, in Arabic. Nothing happens while typing or with a modifier."""
from __future__ import annotations

import pytest

from desk.extensions import db as _db
from desk.models import Ticket
from tests.e2e.test_browser import expect, queue_refs, settled

pytestmark = pytest.mark.e2e

CURRENT = "tr.desk-row-current"


def _blur(page):
    page.evaluate("document.activeElement && document.activeElement.blur()")


@pytest.mark.parametrize("width,height", [(1280, 800), (360, 740)])
def test_the_queue_by_keyboard(page, login, people, make_ticket, screenshots, width, height):
    for _ in range(3):
        make_ticket()
    page.set_viewport_size({"width": width, "height": height})
    login(page, people.staff)
    refs = queue_refs(page)
    expect(refs).to_have_count(3)
    settled(page)
    newest, middle = refs.nth(0).inner_text(), refs.nth(1).inner_text()
    # Not typing anywhere, as a person about to use the keys is (CI once found the focus left in
    # a field by the page's loading, and the shortcut rightly ignored while typing).
    page.evaluate("document.activeElement && document.activeElement.blur()")

    page.keyboard.press("j")
    expect(page.locator(CURRENT)).to_have_count(1)
    expect(page.locator(f"{CURRENT} a.desk-ref")).to_have_text(newest)
    expect(page.locator(f"{CURRENT} a.desk-ref")).to_be_focused()
    page.keyboard.press("j")
    expect(page.locator(f"{CURRENT} a.desk-ref")).to_have_text(middle)
    outline = page.locator(CURRENT).evaluate("row => getComputedStyle(row).outlineStyle")
    assert outline == "solid"  # the current row is visible, not only focused
    page.screenshot(path=str(screenshots / f"keyboard-queue-{width}.png"), full_page=width < 1000)
    page.keyboard.press("k")
    expect(page.locator(f"{CURRENT} a.desk-ref")).to_have_text(newest)
    page.keyboard.press("Alt+j")  # with a modifier: not a shortcut
    expect(page.locator(f"{CURRENT} a.desk-ref")).to_have_text(newest)

    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("jk")  # typing in a field: letters, not moves
    expect(page.locator("#q")).to_have_value("jk")
    page.fill("#q", "")
    expect(refs).to_have_count(3)
    settled(page)
    page.locator(f"#queue-rows a.desk-ref:text-is('{middle}')").focus()  # a row chosen by other means
    _blur(page)
    page.keyboard.press("o")
    expect(page).to_have_url(f"{page.url.split('/tickets')[0]}/tickets/{middle}")


@pytest.mark.parametrize("width,height", [(1280, 800), (360, 740)])
def test_the_ticket_by_keyboard(app, page, login, people, make_ticket, screenshots, width, height):
    ticket = make_ticket(department_id=people.social.id)
    page.set_viewport_size({"width": width, "height": height})
    login(page, people.focal)
    page.goto(f"/tickets/{ticket.reference}")

    page.keyboard.press("r")
    expect(page.locator("#body")).to_be_focused()
    expect(page.locator("#vis-reply")).to_be_checked()
    _blur(page)
    page.keyboard.press("n")
    expect(page.locator("#vis-note")).to_be_checked()
    expect(page.locator("#body")).to_be_focused()
    _blur(page)

    page.keyboard.press("s")  # opens the form, never resolves
    expect(page.locator("#action-resolve")).to_have_attribute("open", "")
    expect(page.locator("#action-resolve-action_taken")).to_be_focused()
    page.keyboard.type("تم التواصل t")  # "t" typed in a field does not take the ticket
    expect(page.locator("#action-resolve-action_taken")).to_have_value("تم التواصل t")
    with app.app_context():
        assert _db.session.get(Ticket, ticket.id).status == ticket.status and _db.session.get(Ticket, ticket.id).assignee_id is None
    _blur(page)

    page.keyboard.press("Shift+Slash")  # "?"
    dialog = page.locator("#desk-shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("اختصارات لوحة المفاتيح")
    expect(dialog).to_contain_text("فتح نموذج إنهاء المعالجة")
    page.screenshot(path=str(screenshots / f"keyboard-help-{width}.png"))
    page.keyboard.press("t")  # the dialog is open: no shortcut
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.keyboard.press("t")
    expect(page.locator("#ticket-actions")).to_contain_text("أُسند الطلب إليك.")
    with app.app_context():
        assert _db.session.get(Ticket, ticket.id).assignee_id == people.focal.id
