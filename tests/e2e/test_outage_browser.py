"""The database or the disk failing under an htmx form (issue 14), in a real browser: the page
says "not saved" in #flashes (static/js/desk.js shows the 503 instead of the generic failure),
the form keeps what was typed, and once the fault is gone the same form saves it."""
from __future__ import annotations

from sqlalchemy import select

from desk.models import Ticket, TicketEvent
from tests.e2e.test_browser import assert_same_page, expect, set_marker, settled
from tests.test_outage import full_at_commit, refused

STILL_IN_FORM = "ما زال في النموذج"


def test_a_note_typed_while_the_database_is_down_stays_in_the_form(app, page, login, people, make_ticket, db):
    reference = make_ticket().reference
    login(page, people.staff)
    page.goto(f"/tickets/{reference}")
    set_marker(page)
    note = "اتصلت بالمستفيد وأبلغته بموعد الزيارة"
    compose = page.locator("#ticket-compose")
    compose.locator("#body").fill(note)
    with refused(app, db):
        compose.get_by_role("button", name="حفظ", exact=True).click()
        expect(page.locator("#flashes")).to_contain_text(STILL_IN_FORM)
        settled(page)
    expect(page.locator("#body")).to_have_value(note)  # nothing typed lost
    assert_same_page(page)

    compose.get_by_role("button", name="حفظ", exact=True).click()  # the database is back
    expect(page.locator("#ticket-timeline")).to_contain_text(note)
    settled(page)
    try:
        assert db.session.scalar(select(TicketEvent.id).where(TicketEvent.kind == "note")) is not None
    finally:
        db.session.rollback()


def test_a_priority_the_full_disk_refused_comes_back_to_save_again(app, page, login, people, make_ticket, db,
                                                                   monkeypatch):
    ticket = make_ticket()
    login(page, people.staff)
    page.goto(f"/tickets/{ticket.reference}")
    set_marker(page)
    with monkeypatch.context() as patch:
        full_at_commit(app, patch)
        page.select_option("#change-priority", "3")
        expect(page.locator("#flashes")).to_contain_text(STILL_IN_FORM)
        expect(page.locator("#ticket-props")).to_contain_text("إعادة الحفظ")
        settled(page)
    expect(page.locator("#change-priority")).to_have_value("3")  # the choice kept, to save again
    assert_same_page(page)

    page.locator("#ticket-props").get_by_role("button", name="إعادة الحفظ").click()
    expect(page.locator("#ticket-props")).not_to_contain_text("إعادة الحفظ")
    settled(page)
    try:
        assert db.session.scalar(select(Ticket.priority).where(Ticket.id == ticket.id)) == 3
    finally:
        db.session.rollback()
