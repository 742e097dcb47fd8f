"""Two-factor sign-in in a real browser, on a phone's width in Arabic: a supervisor whose role
requires it signs in, is taken to the enrolment (QR code and key), confirms a code, sees the
recovery codes once, reaches the desk; next time the code is asked after the password."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from playwright.sync_api import expect

from desk.accounts import twofactor
from desk.models import TwoFactorRole
from desk.transaction import commit
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def test_enrol_at_sign_in_then_sign_in_with_the_code(new_page, db, people, monkeypatch, screenshots, sign_out):
    db.session.add(TwoFactorRole(role="supervisor"))
    commit(db.session)
    now = {"t": datetime(2026, 12, 3, 9, 0, 0, tzinfo=UTC)}  # the codes' clock, moved by the test
    monkeypatch.setattr(twofactor, "utcnow", lambda: now["t"])

    page = new_page(viewport={"width": 360, "height": 740}, locale="ar-SA")
    page.goto("/login")
    page.fill("#email", people.supervisor.email)
    page.fill("#password", PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/login/enrol$"))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator(".desk-qr svg")).to_be_visible()
    box = page.locator(".desk-qr svg").bounding_box()
    assert box and box["width"] >= 150 and box["x"] >= 0 and box["x"] + box["width"] <= 360  # whole, on the screen
    page.screenshot(path=str(screenshots / "two-factor-enrol-ar-360.png"), full_page=True)

    page.locator("details summary").click()  # "cannot scan?": the key, typed by hand into the app
    secret = page.locator(".desk-secret").inner_text().replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).at(now["t"]))
    page.locator("form button[type=submit]").click()
    codes = page.locator(".desk-recovery-codes code")
    expect(codes).to_have_count(10)
    page.screenshot(path=str(screenshots / "two-factor-recovery-codes-ar-360.png"), full_page=True)
    page.locator("a.btn-primary").click()
    expect(page).to_have_url(re.compile(r"/tickets$"))

    sign_out(page)
    page.fill("#email", people.supervisor.email)
    page.fill("#password", PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.fill("#code", pyotp.TOTP(secret).at(now["t"]))  # the code already used: refused
    page.locator("form button[type=submit]").click()
    expect(page.locator("#code-msg")).to_be_visible()
    page.screenshot(path=str(screenshots / "two-factor-code-ar-360.png"), full_page=True)
    now["t"] += timedelta(seconds=30)
    page.fill("#code", pyotp.TOTP(secret).at(now["t"]))
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/tickets$"))


def test_an_htmx_request_after_signing_out_elsewhere_says_so_in_place(new_page, login, people, screenshots,
                                                                      sign_out):
    """The same session in two tabs' worth of browsers: signed out in one, the other's next htmx
    request shows the message in #flashes (the page stays), never the sign-in page in a panel."""
    first = new_page(viewport={"width": 360, "height": 740}, locale="ar-SA")
    login(first, people.staff)
    second = new_page(viewport={"width": 360, "height": 740}, locale="ar-SA")
    second.context.add_cookies(first.context.cookies())
    second.goto("/tickets")
    sign_out(second)

    results = first.locator("#queue-results")
    expect(results).to_be_visible()
    first.evaluate("htmx.ajax('GET', '/tickets/poll', {target: '#queue-results', swap: 'outerHTML'})")
    message = first.locator("#flashes .desk-error-fragment")
    expect(message).to_be_visible()
    expect(message.locator("a[href^='/login?next=']")).to_be_visible()
    expect(results).to_be_visible()  # the queue is still there, not replaced by the sign-in form
    assert first.locator("#queue-results form[action='/login']").count() == 0
    first.screenshot(path=str(screenshots / "signed-out-htmx-ar-360.png"))
