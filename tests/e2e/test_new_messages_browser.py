"""New messages stand out (issue 18, point 6) in a real browser: the focal point sees the worded
badge in the workspace, opens the ticket, and back in the queue the flag is gone."""
from __future__ import annotations

import pytest

from desk.models import Ticket
from desk.portal import service as portal
from tests.e2e.test_browser import expect, queue_refs

pytestmark = pytest.mark.e2e

NEW_MESSAGE = "رسالة جديدة"


def test_a_new_message_is_flagged_and_clears_when_the_ticket_is_opened(
        app, db, page, login, people, make_ticket, screenshots):
    written = make_ticket(department_id=people.social.id)
    make_ticket(department_id=people.social.id)
    ticket = db.session.get(Ticket, written.id)
    portal.reply(db.session, ticket, "هل وصلت أوراقي؟", [], reopen_days=14,
                 directory=app.config["DESK_ATTACHMENT_DIR"], max_bytes=1_000_000)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, people.focal)
    expect(queue_refs(page)).to_have_count(2)
    flagged = page.locator("tr.desk-row-unread")
    expect(flagged).to_have_count(1)
    expect(flagged.locator(".desk-ref")).to_have_text(written.reference)
    expect(flagged.locator(".desk-unread")).to_have_text(NEW_MESSAGE)
    expect(page.locator("#workspace-unread")).to_have_text("١")
    page.screenshot(path=str(screenshots / "new-message-390.png"), full_page=True)

    flagged.locator(".desk-ref").click()
    expect(page).to_have_url(f"{page.url.split('/tickets')[0]}/tickets/{written.reference}")
    page.go_back()
    page.reload()
    expect(queue_refs(page)).to_have_count(2)
    expect(page.locator("tr.desk-row-unread")).to_have_count(0)
    expect(page.locator(".desk-unread")).to_have_count(0)
    expect(page.locator("#workspace-unread")).to_have_text("٠")
