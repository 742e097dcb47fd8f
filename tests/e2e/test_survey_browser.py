"""Filling the daily field survey on a phone (360 px wide): each answer saves itself as it is
given (htmx, on change), survives a reload, and the survey is submitted once."""
from __future__ import annotations

import re

import pytest

from desk.models import Site, Survey
from desk.survey import service
from tests.e2e.test_browser import expect

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways at 360 px ({width} px wide)"


def test_fill_a_survey_at_phone_width(new_page, login, db, people, screenshots):
    site = Site(name_ar="المقر الرئيسي", name_en="Main office", position=1, active=True)
    db.session.add(site)
    db.session.commit()
    items = service.items(db.session)
    page = new_page(**PHONE)
    login(page, people.supervisor)
    page.goto("/survey")
    _fits(page)
    page.locator(f"button[name=site_id][value='{site.id}']").click()
    expect(page).to_have_url(re.compile(r"/survey/\d+$"))
    _fits(page)

    first = items[0].id
    page.locator(f"label[for='state-{first}-attention']").click()
    expect(page.locator(f"#saved-{first}")).not_to_be_empty()
    page.locator(f"#note-{first}").fill("ازدحام عند المدخل")
    page.locator(f"#note-{first}").blur()  # a note saves on change, as a person leaves the field
    for item in items[1:]:
        page.locator(f"label[for='state-{item.id}-ok']").click()
        expect(page.locator(f"#saved-{item.id}")).not_to_be_empty()
    expect(page.locator(".desk-figures")).to_be_visible()  # item 6's live figures
    _fits(page)
    page.screenshot(path=str(screenshots / "survey-360.png"), full_page=True)

    page.reload()  # the draft was saved item by item
    expect(page.locator(f"#state-{first}-attention")).to_be_checked()
    expect(page.locator(f"#note-{first}")).to_have_value("ازدحام عند المدخل")
    page.locator("button[name=action][value=submit]").click()
    expect(page.locator("#survey-status")).to_have_attribute("data-status", "submitted")
    expect(page.locator("#survey-form textarea")).to_have_count(0)  # read-only once submitted
    _fits(page)
    db.session.expire_all()
    survey = db.session.query(Survey).one()
    assert survey.submitted
    assert service.answers_by_item(survey)[first].note == "ازدحام عند المدخل"
