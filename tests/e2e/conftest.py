"""Browser tests: the session's app served by werkzeug on a free port, driven by
Debian's chromium through Playwright.

Without chromium or Playwright the e2e tests are skipped on a workstation, but under
CI (``CI=true``) that is a failure: the browser tests must not silently stop running."""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
# How long an action or an expect() waits for the page before failing. Both return as soon as
# the page is ready, so a generous limit costs a green run nothing and keeps a busy machine
# (load 8 on 2 cores) from failing a correct page.
TIMEOUT_MS = 30_000


def unavailable(message: str) -> None:
    """Skip on a workstation; fail under CI, where the browser tests must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: the browser tests are required)", pytrace=False)
    pytest.skip(message)


class _QuietHandler(WSGIRequestHandler):
    """No line per request (dozens per test); errors are still logged."""

    def log_request(self, code="-", size="-"):
        pass


@pytest.fixture(scope="session")
def live_server(app):
    """The session ``app`` (tests/conftest.py) on 127.0.0.1 and a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="desk-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    """One headless chromium for the session (Debian's binary, never a downloaded one)."""
    if not os.path.exists(CHROMIUM):
        unavailable(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        unavailable(f"playwright cannot be imported ({error}): pip install -e '.[test]'")
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)  # expect()'s own default is 5 s
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, live_server):
    """``new_page(**context_options)`` → a page in a fresh browser context (own cookies).

    Uncaught JavaScript errors on any page fail the test."""
    contexts, errors = [], []

    def make(**options):
        context = chromium.new_context(base_url=live_server, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def login():
    """``login(page, user)``: sign in through the form, as a person would."""
    from playwright.sync_api import expect

    def sign_in(page, user, password=PASSWORD):
        page.goto("/login")
        page.fill("#email", user.email)
        page.fill("#password", password)
        page.locator("form[action='/login'] button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/(tickets|committee)(\?.*)?$"))  # where each role lands
        # The address changes when the page starts to arrive; its deferred scripts (keys.js,
        # desk.js) run only once it is parsed. A key pressed before is lost (CI at load 8 once
        # pressed "j" on the queue before keys.js listened).
        page.wait_for_load_state()
        return page

    return sign_in


def open_menu(page) -> None:
    """On a phone the header's links are behind the menu button (templates/_nav.html): open it."""
    page.wait_for_load_state()  # desk.js has shown the button (or, from 768 px, opened the menu)
    button = page.locator(".desk-menu-button")
    if button.is_visible() and button.get_attribute("aria-expanded") != "true":
        button.click()


def show_filters(page) -> None:
    """On a phone the queue's filters fold under "Filters" (templates/queue/_filters.html): open
    them. Decided by the viewport (the CSS's 768 px), not by what is visible yet: a page still
    loading shows neither the selects nor the summary."""
    filters = page.locator("#f-channel")
    filters.wait_for(state="attached")
    folded = page.locator(".desk-filter-more")
    if page.viewport_size["width"] < 768 and folded.get_attribute("open") is None:
        folded.locator("> summary").click()
    filters.wait_for(state="visible")


@pytest.fixture
def sign_out():
    """``sign_out(page)``: through the header, where the person's own links are grouped under
    their name (behind the menu button on a phone)."""
    from playwright.sync_api import expect

    def leave(page):
        open_menu(page)
        page.locator(".desk-group-person summary").click()
        page.locator("form[action='/logout'] button").click()
        expect(page).to_have_url(re.compile(r"/login"))

    return leave


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
