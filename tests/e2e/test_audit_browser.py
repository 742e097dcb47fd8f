"""The audit screen in a real browser (issue 16, point 3): the admin filters by action and
person (htmx swaps the rows, the URL follows), a wrong date is said by its field with what was
typed kept, the chain's state shows, and the filtered rows export as CSV. Arabic, 390 px."""
from __future__ import annotations

import pytest

from desk import audit
from desk.models import AuditAction
from desk.transaction import commit
from tests.e2e.test_browser import expect

pytestmark = pytest.mark.e2e


def test_filter_the_audit_trail_and_export_it(db, new_page, login, people, screenshots):
    for k in range(3):
        audit.record(db.session, AuditAction.REVEAL, actor=people.staff, record_type="beneficiary", record_id=7,
                     detail={"field": "national_id", "reason": "other", "why": f"مطابقة مع الصك {k}"})
    audit.record(db.session, AuditAction.DOWNLOAD, actor=people.focal, record_type="attachment", record_id=1)
    commit(db.session)
    page = login(new_page(viewport={"width": 390, "height": 844}), people.admin)
    page.goto("/audit")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#audit-chain-state")).to_contain_text("سليم")
    page.select_option("#audit-action", "data.reveal")
    page.select_option("#audit-person", str(people.staff.id))
    page.get_by_role("button", name="تصفية").click()
    expect(page.locator(".desk-audit-row")).to_have_count(3)
    expect(page.locator("#audit-rows")).to_contain_text("مطابقة مع الصك 2")
    expect(page).to_have_url(f"/audit?person={people.staff.id}&record=&action=data.reveal&start=&end=")
    page.locator("#audit-rows").screenshot(path=str(screenshots / "audit-rows-390.png"))
    page.fill("#audit-start", "2026-02-30")
    page.get_by_role("button", name="تصفية").click()
    expect(page.locator("#audit-start-msg")).to_be_visible()
    expect(page.locator("#audit-start")).to_have_value("2026-02-30")
    page.screenshot(path=str(screenshots / "audit-filter-390.png"), full_page=True)
    page.fill("#audit-start", "")
    page.get_by_role("button", name="تصفية").click()
    expect(page.locator(".desk-audit-row")).to_have_count(3)
    with page.expect_download() as info:
        page.locator("#audit-export").click()
    text = open(info.value.path(), encoding="utf-8-sig").read()
    assert text.count("staff@example.org") == 3 and "focal@example.org" not in text
