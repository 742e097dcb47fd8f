"""A WhatsApp file that could not be fetched, on the ticket page in a real browser (issue 22,
point 3): listed with its reason and a Try again button, in Arabic (RTL) and on a phone."""
from __future__ import annotations

import pytest

from desk.models import ChannelState, MediaJob, MediaStatus, utcnow
from tests.e2e.test_browser import expect

pytestmark = pytest.mark.e2e


def test_a_file_that_could_not_be_fetched_is_shown_and_tried_again(page, new_page, login, people, make_ticket, db,
                                                                    screenshots):
    ticket = make_ticket()
    now = utcnow()
    failed = MediaJob(ticket_id=ticket.id, channel="whatsapp", message_key="wamid.1", media_id="m1",
                      filename="صورة الإيصال.jpg", status=MediaStatus.FAILED, attempts=4, next_attempt_at=now,
                      last_error="the Graph API answered 404", created_at=now, done_at=now)
    waiting = MediaJob(ticket_id=ticket.id, channel="whatsapp", message_key="wamid.2", media_id="m2",
                       filename="whatsapp-document", status=MediaStatus.PENDING, attempts=1, next_attempt_at=now,
                       last_error="the Graph API could not be reached: ConnectTimeout", created_at=now)
    db.session.add_all([failed, waiting])
    db.session.add(ChannelState(name="whatsapp", errors=0, waiting=0, received=3, refused=2, last_refused_at=now,
                                last_refusal="nested deeper than 16"))
    db.session.commit()

    login(page, people.staff)
    page.goto(f"/tickets/{ticket.reference}")
    panel = page.locator("#ticket-media")
    expect(panel).to_be_visible()
    expect(panel.locator(f"#media-{failed.id} button[type=submit]")).to_be_visible()
    expect(panel.locator(f"#media-{waiting.id} button")).to_have_count(0)
    assert page.locator("html").get_attribute("dir") == "rtl"
    panel.screenshot(path=str(screenshots / "media-panel-ar.png"))

    phone = new_page(viewport={"width": 390, "height": 844})
    login(phone, people.staff)
    phone.goto(f"/tickets/{ticket.reference}")
    phone.locator("#ticket-media").scroll_into_view_if_needed()
    phone.screenshot(path=str(screenshots / "media-panel-390.png"), full_page=False)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"

    panel.locator(f"#media-{failed.id} button[type=submit]").click()
    expect(page.locator(".alert").first).to_be_visible()
    expect(page.locator(f"#media-{failed.id} button")).to_have_count(0)
    db.session.expire_all()
    assert db.session.get(MediaJob, failed.id).status == MediaStatus.PENDING

    admin = new_page()
    login(admin, people.admin)
    admin.goto("/admin/channels")
    expect(admin.locator("#channel-health")).to_contain_text("nested deeper than 16")
    admin.screenshot(path=str(screenshots / "channels-health-ar.png"), full_page=True)
