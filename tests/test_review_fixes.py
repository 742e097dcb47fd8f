"""The browser review's remaining small defects (issue 18, point 10; shared/reviews/2026-12-browser.md)."""
from __future__ import annotations


def test_favicon_answers_and_pages_link_it(browser):
    """p3: /favicon.ico answered 404, a console error on every page."""
    icon = browser.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.data
    login = browser.get("/login").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in login
