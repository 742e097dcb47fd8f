"""Bulk actions in the queue (issue 18, point 2) in a real browser, Arabic, at 360 and 1280 px:
shift-click checks a range, the count follows, only the chosen action's fields show, the
summary says what was done and what was refused; "select all loaded"; and the 30-second
refresh, which replaces the rows, keeps what was checked (at the version it was checked at)."""
from __future__ import annotations

import pytest

from desk.models import Priority, Ticket
from desk.tickets import service as tickets
from tests.e2e.test_browser import expect, queue_refs, settled

pytestmark = pytest.mark.e2e

HIGH, URGENT = "عالية", "عاجلة"


def row(page, reference):
    return page.locator("#queue-rows tr.desk-row", has=page.locator(f"a.desk-ref:text-is('{reference}')"))


@pytest.mark.parametrize("width", [360, 1280])
def test_shift_click_a_range_then_change_the_priority(db, new_page, login, people, make_tickets, screenshots, width):
    made = make_tickets(5)
    page = new_page(viewport={"width": width, "height": 800})
    login(page, people.staff)
    expect(queue_refs(page)).to_have_count(5)
    expect(page.locator("#bulk-form")).to_be_hidden()  # closed until a row is checked
    newest_first = [made[i].reference for i in (4, 3, 2, 1, 0)]
    row(page, newest_first[0]).locator("input.desk-pick").click()
    expect(page.locator("#bulk-action")).to_be_visible()
    expect(page.locator("#bulk-priority")).to_be_hidden()  # no action chosen: no action's fields
    row(page, newest_first[3]).locator("input.desk-pick").click(modifiers=["Shift"])
    expect(page.locator("#bulk-count")).to_have_text("٤")
    expect(row(page, newest_first[4]).locator("input.desk-pick")).not_to_be_checked()
    page.select_option("#bulk-action", "priority")
    expect(page.locator("#bulk-priority")).to_be_visible()
    expect(page.locator("#bulk-department")).to_be_hidden()
    page.select_option("#bulk-priority", str(int(Priority.HIGH)))
    page.screenshot(path=str(screenshots / f"bulk-selected-{width}.png"), full_page=True)
    page.locator("#bulk-form button[type=submit]").click()
    expect(page.locator("#bulk-summary")).to_contain_text("تم: ٤")
    expect(row(page, newest_first[0])).to_contain_text(HIGH)  # the rows refreshed at once
    expect(row(page, newest_first[3])).to_contain_text(HIGH)
    expect(page.locator("input.desk-pick:checked")).to_have_count(0)
    expect(page.locator("#bulk-count")).to_have_text("٠")
    page.screenshot(path=str(screenshots / f"bulk-summary-{width}.png"), full_page=True)
    db.session.expire_all()
    assert [db.session.get(Ticket, t.id).priority for t in made] == [2, 3, 3, 3, 3]

    page.locator("#pick-all").click()
    expect(page.locator("input.desk-pick:checked")).to_have_count(5)
    expect(page.locator("#bulk-count")).to_have_text("٥")
    page.locator("#pick-none").click()
    expect(page.locator("input.desk-pick:checked")).to_have_count(0)


def test_the_refresh_keeps_the_selection_and_a_ticket_changed_meanwhile_is_refused(
        app, db, new_page, login, people, make_tickets, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_QUEUE_REFRESH_SECONDS", 1)
    changed, kept, other = make_tickets(3)
    page = new_page(viewport={"width": 1280, "height": 800})
    login(page, people.staff)
    expect(queue_refs(page)).to_have_count(3)
    row(page, changed.reference).locator("input.desk-pick").click()
    row(page, kept.reference).locator("input.desk-pick").click()
    page.evaluate("document.querySelector('#queue-results').dataset.before = '1'")
    # someone else raises one of the checked tickets meanwhile; the refresh shows it
    tickets.change_field(db.session, people.supervisor, db.session.get(Ticket, changed.id), "priority", "4",
                         expected_version=1)
    expect(row(page, changed.reference)).to_contain_text(URGENT)
    expect(page.locator("#queue-results[data-before]")).to_have_count(0)  # the rows were replaced…
    settled(page)
    expect(row(page, changed.reference).locator("input.desk-pick")).to_be_checked()  # …the selection kept
    expect(row(page, kept.reference).locator("input.desk-pick")).to_be_checked()
    expect(row(page, other.reference).locator("input.desk-pick")).not_to_be_checked()
    expect(page.locator("#bulk-count")).to_have_text("٢")

    page.select_option("#bulk-action", "tag")
    page.fill("#bulk-tag", "متابعة")
    page.locator("#bulk-form button[type=submit]").click()
    summary = page.locator("#bulk-summary")
    expect(summary).to_contain_text("تم: ١")
    expect(summary).to_contain_text("رُفض: ١")
    expect(summary.locator(".desk-bulk-refused")).to_contain_text(changed.reference)
    expect(row(page, kept.reference).locator(".desk-tag")).to_have_text("متابعة")
    expect(row(page, changed.reference).locator(".desk-tag")).to_have_count(0)


def test_without_javascript_the_form_posts_and_answers_with_the_summary(db, new_page, login, people, make_tickets):
    made = make_tickets(2)
    page = new_page(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    login(page, people.staff)
    for ticket in made:
        row(page, ticket.reference).locator("input.desk-pick").check()
    page.locator("#queue-bulk > summary").click()
    page.select_option("#bulk-action", "close")
    page.select_option("#bulk-close_as", "duplicate")
    page.fill("#bulk-reason", "مكرر لطلب سابق")
    page.locator("#bulk-form button[type=submit]").click()
    expect(page.locator("#bulk-summary")).to_contain_text("تم: ٢")
    db.session.expire_all()
    assert {db.session.get(Ticket, t.id).status for t in made} == {"closed"}
