"""The header on a phone and on a wide screen (issue 18, point 8; review M3 and m11).

Below 768 px the header is one line with a menu button (a real <button aria-expanded>, a
<details> without JavaScript); supervisors and admins get their links grouped, what is needed
every day staying in the line; the queue's first ticket card is whole on a 360×740 screen."""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import open_menu
from tests.e2e.test_browser import expect

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
WIDE = {"viewport": {"width": 1280, "height": 800}}
ONE_LINE = 64  # px: the brand, the language and the menu button side by side


def nav_height(page) -> float:
    box = page.locator("nav.desk-nav").bounding_box()
    assert box
    return box["height"]


def switch_to_english(page):
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_phone_header_is_one_line_and_the_first_card_is_whole(new_page, login, people, make_ticket, screenshots,
                                                            lang):
    for _ in range(3):
        reference = make_ticket().reference
    page = login(new_page(**PHONE), people.supervisor)  # the longest navigation
    if lang == "en":
        switch_to_english(page)
    button = page.get_by_role("button", name="القائمة" if lang == "ar" else "Menu")
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "false")
    assert nav_height(page) <= ONE_LINE
    links = page.locator("#desk-menu .desk-links")
    expect(links).to_be_hidden()

    card = page.locator("#queue-rows tr.desk-row").first
    expect(card).to_contain_text(reference)  # the newest ticket first
    box = card.bounding_box()
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= 740, f"first card at {box}: not whole on the screen"
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    page.screenshot(path=str(screenshots / f"header-queue-{lang}-360.png"))

    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(links).to_be_visible()
    # the supervisor's daily work is one tap away: in the open menu, not inside a group
    survey = "المسح الميداني" if lang == "ar" else "Field survey"
    counter = "حصر المراجعين" if lang == "ar" else "Visitor counter"
    for name in (survey, counter):
        expect(links.locator(":scope > li > a", has_text=name)).to_be_visible()
    page.screenshot(path=str(screenshots / f"header-menu-{lang}-360.png"))
    links.locator(":scope > li > a", has_text=counter).click()
    expect(page).to_have_url(re.compile(r"/visitors$"))
    expect(page.get_by_role("button", name="القائمة" if lang == "ar" else "Menu")).to_have_attribute(
        "aria-expanded", "false")  # a new page starts with the menu closed


def test_phone_menu_without_javascript(new_page, login, people):
    page = login(new_page(java_script_enabled=False, **PHONE), people.staff)
    expect(page.locator(".desk-menu-button")).to_be_hidden()
    summary = page.locator(".desk-menu-summary")
    expect(summary).to_be_visible()
    assert nav_height(page) <= ONE_LINE
    new_ticket = page.locator("#desk-menu .desk-links").get_by_role("link", name="طلب جديد")
    expect(new_ticket).to_be_hidden()
    summary.click()
    new_ticket.click()
    expect(page).to_have_url(re.compile(r"/tickets/new$"))


def test_staff_links_are_flat_and_sign_out_is_under_the_name(new_page, login, people, sign_out):
    page = login(new_page(**PHONE), people.staff)
    open_menu(page)
    assert page.locator(".desk-group-reports, .desk-group-admin").count() == 0  # only for supervisors and admins
    for name in ("طلب جديد", "المتابعة", "حصر المراجعين"):
        expect(page.locator("#desk-menu .desk-links > li > a", has_text=name)).to_be_visible()
    sign_out(page)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_wide_header_is_one_line_with_grouped_dropdowns(new_page, login, people, screenshots, lang):
    page = login(new_page(**WIDE), people.supervisor)
    if lang == "en":
        switch_to_english(page)
    expect(page.locator(".desk-menu-button")).to_be_hidden()
    expect(page.locator(".desk-menu-summary")).to_be_hidden()
    expect(page.locator("#desk-menu .desk-links")).to_be_visible()
    assert nav_height(page) <= ONE_LINE, "the supervisor's navigation wraps at 1280 px (review m11)"
    current = page.locator("#desk-menu a[aria-current=page]")
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("href", "/tickets")

    reports = page.locator(".desk-group-reports")
    statistics = reports.get_by_role("link", name="الإحصاءات" if lang == "ar" else "Statistics")
    expect(statistics).to_be_hidden()
    reports.locator("summary").click()
    expect(statistics).to_be_visible()
    page.screenshot(path=str(screenshots / f"header-reports-{lang}-1280.png"))
    page.keyboard.press("Escape")  # closes the dropdown, focus back on its summary
    expect(statistics).to_be_hidden()
    expect(reports.locator("summary")).to_be_focused()
    reports.locator("summary").click()
    page.locator("h1").click()  # a click elsewhere closes it too
    expect(statistics).to_be_hidden()
    reports.locator("summary").click()
    statistics.click()
    expect(page).to_have_url(re.compile(r"/stats"))


def test_admin_gets_the_administration_group(new_page, login, people):
    page = login(new_page(**WIDE), people.admin)
    admin = page.locator(".desk-group-admin")
    admin.locator("summary").click()
    admin.get_by_role("link", name="المستخدمون").click()
    expect(page).to_have_url(re.compile(r"/admin/users"))
    expect(page.locator(".desk-group-admin a[aria-current=page]")).to_have_count(1)
