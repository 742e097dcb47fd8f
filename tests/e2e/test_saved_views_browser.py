"""Personal and shared views (issue 18, point 5) in a real browser, at 1280 and 360 px: set a
filter, save it under a name (a missing name is answered by the field, the filters kept), land
on the view with its chip current and its count; a supervisor shares one with the whole desk
and a focal point sees it counted over their own department only."""
from __future__ import annotations

import re

import pytest

from desk.models import Channel
from tests.e2e.conftest import show_filters
from tests.e2e.test_browser import expect, queue_refs, settled

pytestmark = pytest.mark.e2e

NAME_MISSING = "اكتب اسمًا للعرض."


@pytest.mark.parametrize("width,height", [(1280, 800), (360, 740)])
def test_save_the_current_filters_as_a_personal_view(page, login, people, make_ticket, screenshots, width, height):
    for _ in range(3):
        make_ticket(channel=Channel.PHONE)
    make_ticket(channel=Channel.EMAIL)
    page.set_viewport_size({"width": width, "height": height})
    login(page, people.staff)
    show_filters(page)
    page.select_option("#f-channel", "phone")
    expect(page).to_have_url(re.compile(r"[?&]channel=phone(&|$)"))
    expect(queue_refs(page)).to_have_count(3)
    settled(page)

    page.get_by_text("حفظ هذا العرض").click()
    page.get_by_role("button", name="حفظ العرض").click()  # no name yet
    expect(page.locator("#save-view-name-error")).to_have_text(NAME_MISSING)
    expect(page.locator("#save-view-name")).to_have_attribute("aria-invalid", "true")
    page.fill("#save-view-name", "مكالمات الهاتف")
    page.get_by_role("button", name="حفظ العرض").click()

    chip = page.locator(".desk-saved-view", has_text="مكالمات الهاتف")
    expect(chip).to_have_attribute("aria-current", "page")
    expect(chip.locator(".badge")).to_have_text("٣")
    expect(page.locator("#flashes")).to_contain_text("حُفظ العرض.")
    expect(page.locator("#f-channel")).to_have_value("phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(screenshots / f"saved-views-{width}.png"), full_page=width < 1000)

    # Another filter: the chip is no longer the current view; opening it brings its filters back.
    show_filters(page)
    page.select_option("#f-channel", "")
    expect(queue_refs(page)).to_have_count(4)
    expect(chip).not_to_have_attribute("aria-current", "page")
    chip.click()
    expect(page.locator("#f-channel")).to_have_value("phone")
    expect(queue_refs(page)).to_have_count(3)


@pytest.mark.parametrize("width", [1280, 360])
def test_a_desk_view_shared_by_a_supervisor_counts_what_the_focal_point_may_see(
        new_page, login, people, make_ticket, width):
    make_ticket(channel=Channel.PHONE, department_id=people.social.id)
    make_ticket(channel=Channel.PHONE, department_id=people.aid.id)
    supervisor = new_page(viewport={"width": width, "height": 800})
    login(supervisor, people.supervisor)
    show_filters(supervisor)
    supervisor.select_option("#f-channel", "phone")
    expect(queue_refs(supervisor)).to_have_count(2)
    settled(supervisor)
    supervisor.get_by_text("حفظ هذا العرض").click()
    supervisor.fill("#save-view-name", "الهاتف للجميع")
    supervisor.get_by_label("جميع العاملين في المكتب").check()
    supervisor.get_by_role("button", name="حفظ العرض").click()
    expect(supervisor.locator(".desk-saved-view", has_text="الهاتف للجميع").locator(".badge")).to_have_text("٢")

    focal = new_page(viewport={"width": width, "height": 800})
    login(focal, people.focal)
    chip = focal.locator(".desk-saved-view", has_text="الهاتف للجميع")
    expect(chip.locator(".badge")).to_have_text("١")
    chip.click()
    expect(queue_refs(focal)).to_have_count(1)
