"""A submission is taken once, in a real browser: the visitor presses "Send", the desk is slow
to answer, they press it again. The browser sends the form a second time (and drops the first
navigation); both requests reach the threaded server and race to record it. One request is
made, and the page shows its confirmation with the private link."""
from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from desk.models import Ticket
from desk.portal import service

pytestmark = pytest.mark.e2e


def test_send_pressed_again_while_the_desk_is_slow_makes_one_request(new_page, db, people, monkeypatch):
    real_submit = service.submit
    first_in, second_in = threading.Event(), threading.Event()
    calls = []
    lock = threading.Lock()

    def slow_first(*args, **kwargs):
        """The first request waits here until the second one arrives; then both go on."""
        with lock:
            calls.append(kwargs.get("once"))
            first = len(calls) == 1
        if first:
            first_in.set()
            assert second_in.wait(timeout=30), "the second request never came"
        else:
            second_in.set()
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(service, "submit", slow_first)
    page = new_page(viewport={"width": 360, "height": 740}, locale="ar-SA")
    page.goto("/portal/new?kind=complaint")
    page.fill("#name", "سارة العتيبي")
    page.fill("#phone", "0551234567")
    page.fill("#subject", "تأخر صرف السلة الغذائية")
    page.fill("#body", "لم تصلني السلة الغذائية لهذا الشهر")
    send = page.locator("form button.btn-lg")
    send.scroll_into_view_if_needed()
    box = send.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # The mouse itself: a locator's click waits for the page's pending navigation first.
    page.mouse.click(x, y)
    assert first_in.wait(timeout=30), "the first request never reached the desk"
    page.mouse.click(x, y)  # nothing seems to happen: pressed again

    expect(page.locator(".portal-reference")).to_be_visible()
    reference = page.locator(".portal-reference").inner_text().strip()
    expect(page.locator(".portal-link a")).to_contain_text(f"/portal/t/{reference}/")
    assert len(calls) == 2 and calls[0] is not None and calls[0] == calls[1]  # the same form, twice
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
    assert db.session.scalar(select(Ticket.reference)) == reference
