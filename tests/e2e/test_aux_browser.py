"""Issue 20, point 9 on a phone (360 px, Arabic): tapping an auxiliary service on the visitor
counter (htmx swaps the counter; a new token each time, so each tap counts once), the
staff-readiness item of the survey, and the training log's form (refused with the message by
the field and the input kept, then recorded)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from desk.models import AuxServiceTap, ItemCode, Site, SurveyAnswer, TrainingEntry
from desk.survey import service
from tests.e2e.test_browser import expect
from tests.e2e.test_survey_browser import PHONE, _fits

pytestmark = pytest.mark.e2e


@pytest.fixture
def site(db):
    row = Site(name_ar="المقر الرئيسي", name_en="Main office", position=1, active=True)
    db.session.add(row)
    db.session.commit()
    return row


def test_tap_an_auxiliary_service_at_phone_width(new_page, login, db, people, site, screenshots):
    copying, call, _form = service.aux_services(db.session)
    db.session.commit()
    page = new_page(**PHONE)
    login(page, people.staff)
    page.goto("/visitors")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    button = page.locator(f".desk-aux-tap[value='{copying.id}']")
    expect(button).to_contain_text("تصوير المستندات")
    button.click()
    expect(page.locator(f".desk-aux-count[data-service='{copying.id}']")).to_have_text("١")
    expect(page.locator("#visitor-counter [role=status]")).to_contain_text("تصوير المستندات")
    page.locator(f".desk-aux-tap[value='{copying.id}']").click()  # a second person's copy: a new form
    expect(page.locator(f".desk-aux-count[data-service='{copying.id}']")).to_have_text("٢")
    page.locator(f".desk-aux-tap[value='{call.id}']").click()
    expect(page.locator(f".desk-aux-count[data-service='{call.id}']")).to_have_text("١")
    _fits(page)
    page.screenshot(path=str(screenshots / "aux-services-360.png"), full_page=True)
    page.locator("button[name=tap_id]", has_text="آخر خدمة").click()  # undo the call
    expect(page.locator(f".desk-aux-count[data-service='{call.id}']")).to_have_text("٠")
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AuxServiceTap)) == 2
    page.reload()
    expect(page.locator("#aux-service-table")).to_contain_text("٢")


def test_the_readiness_item_at_phone_width(new_page, login, db, people, site, screenshots):
    service.items(db.session)
    item = service.save_item(db.session, people.admin, service.ItemData(
        "التأكد من تهيئة علاقات المستفيدين وموظفي الخدمة لاستقبال المستفيدين", "Staff ready", 8, True,
        ItemCode.STAFF_READINESS.value))
    page = new_page(**PHONE)
    login(page, people.supervisor)
    page.goto("/survey")
    page.locator(f"button[name=site_id][value='{site.id}']").click()
    expect(page).to_have_url(re.compile(r"/survey/\d+$"))
    page.locator(f"label[for='state-{item.id}-ok']").click()
    expect(page.locator(f"#saved-{item.id}")).not_to_be_empty()
    page.locator(f"label[for='staffed-{item.id}-yes']").click()
    page.locator(f"label[for='on-duty-{item.id}-{people.staff.id}']").click()
    expect(page.locator(f"#saved-{item.id}")).to_contain_text("حُفظ")
    _fits(page)
    page.locator(f"#item-{item.id}").screenshot(path=str(screenshots / "readiness-360.png"))
    db.session.expire_all()
    answer = db.session.scalar(select(SurveyAnswer).where(SurveyAnswer.item_id == item.id))
    assert answer.readiness == {"staffed": "yes", "on_duty": [{"user_id": people.staff.id, "name": "سارة"}]}


def test_the_training_log_form_at_phone_width(new_page, login, db, people, screenshots):
    page = new_page(**PHONE)
    login(page, people.supervisor)
    page.goto("/training")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.select_option("#user_id", str(people.staff.id))
    page.fill("#course", "مهارات التواصل مع المستفيدين")
    page.fill("#day", "٢٠٢٦-١٠-٠١")
    page.fill("#hours", "١٫٥")
    page.locator("#training-form button.btn-primary").click()  # the provider is missing
    expect(page.locator("#provider-msg")).to_be_visible()
    expect(page.locator("#course")).to_have_value("مهارات التواصل مع المستفيدين")
    expect(page.locator("#hours")).to_have_value("١٫٥")
    _fits(page)
    page.screenshot(path=str(screenshots / "training-refused-360.png"), full_page=True)
    page.fill("#provider", "المركز الوطني لتنمية القطاع غير الربحي")
    page.locator("#training-form button.btn-primary").click()
    expect(page.locator("#training-entries")).to_contain_text("مهارات التواصل مع المستفيدين")
    expect(page.locator("#table-training")).to_contain_text("١٫٥")
    _fits(page)
    page.screenshot(path=str(screenshots / "training-360.png"), full_page=True)
    db.session.expire_all()
    entry = db.session.scalar(select(TrainingEntry))
    assert (entry.user_id, entry.centihours, entry.day.isoformat()) == (people.staff.id, 150, "2026-10-01")
