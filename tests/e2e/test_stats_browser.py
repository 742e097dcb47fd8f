"""The statistics dashboard in a real browser: the period typed in Arabic-Indic digits updates
the figures in place (htmx) and puts the period in the URL, under the strict CSP; a wrong
period shows its message beside the field; the page at 360 px and the report in print."""
from __future__ import annotations

import re

import pytest

from tests.e2e.test_browser import assert_same_page, expect, set_marker, settled
from tests.test_stats import fixture  # noqa: F401  (the hand-computed January 2026)

pytestmark = pytest.mark.e2e


def test_period_form_updates_in_place(new_page, login, people, fixture, screenshots):  # noqa: F811
    page = login(new_page(viewport={"width": 1280, "height": 900}), people.supervisor)
    page.goto("/stats?preset=this_month")
    set_marker(page)
    page.fill("#start", "٢٠٢٦-٠١-٠١")
    page.fill("#end", "٢٠٢٦-٠١-٣١")
    page.locator("#stats-range button").click()
    settled(page)
    expect(page).to_have_url(re.compile(r"start=%D9%A2|start=٢|start=2026"))
    # All departments together: 4 received (T1, T2, T3, T6 of the fixture).
    expect(page.locator("#table-departments tfoot td").first).to_have_text(re.compile("^(٤|4)$"))
    expect(page.locator("#h-channels + .row svg")).to_be_visible()
    assert_same_page(page)

    page.fill("#end", "2025-12-01")
    page.locator("#stats-range button").click()
    settled(page)
    expect(page.locator("#end-msg")).to_be_visible()
    expect(page.locator("#start")).to_have_value("2026-01-01")
    assert_same_page(page)
    page.screenshot(path=str(screenshots / "stats-error.png"))


def test_mobile_and_print(new_page, login, people, fixture, screenshots):  # noqa: F811
    page = login(new_page(viewport={"width": 360, "height": 800}), people.supervisor)
    page.goto("/stats?start=2026-01-01&end=2026-01-31")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshots / "stats-360.png"), full_page=True)
    page.goto("/stats/report?start=2026-01-01&end=2026-01-31")
    page.emulate_media(media="print")
    expect(page.locator("nav.desk-nav")).to_be_hidden()
    expect(page.locator("#stats-report")).to_be_visible()
    page.pdf(path=str(screenshots / "stats-report.pdf"), format="A4")
