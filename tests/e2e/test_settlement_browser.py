"""Issue 20, point 7 in a real browser at phone width, in Arabic: a focal point records an
attempt at amicable settlement on a dispute (htmx): a refusal first (the reason by the field,
what was typed kept), then the attempt is saved and shows in the panel and on the timeline."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from desk.models import Kind, SettlementAttempt

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 390, "height": 900}, "locale": "ar-SA"}


def test_a_focal_point_records_a_settlement_attempt_on_a_phone(new_page, login, db, people, make_ticket, screenshots):
    dispute = make_ticket(kind=Kind.DISPUTE, department_id=people.social.id)
    page = login(new_page(**PHONE), people.focal)
    page.goto(f"/tickets/{dispute.reference}")
    panel = page.locator("#ticket-settlement")
    expect(panel).to_contain_text("التسوية الودية")
    panel.locator("summary").click()
    page.fill("#settlement-attempted_on", "2026-11-30")
    page.fill("#settlement-parties", "المستفيد ومسؤول البرامج")
    page.check("#settlement-outcome-referred")
    page.click("#settlement-attempt-submit")  # referred, but to whom? refused by the field
    expect(page.locator("#settlement-referred_to-error")).to_contain_text("اكتب الجهة")
    expect(page.locator("#settlement-parties")).to_have_value("المستفيد ومسؤول البرامج")
    expect(page.locator("#settlement-outcome-referred")).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#ticket-settlement").screenshot(path=str(screenshots / "settlement-refused-390.png"))
    page.fill("#settlement-referred_to", "لجنة إصلاح ذات البين")
    page.fill("#settlement-agreement_ref", "اتفاقية تقديم الخدمة ٤٥/١٤٤٨")
    page.click("#settlement-attempt-submit")
    expect(panel.locator(".alert-success")).to_contain_text("سُجّلت محاولة التسوية الودية")
    expect(panel.locator(".desk-settlement")).to_contain_text("لجنة إصلاح ذات البين")
    expect(page.locator("#ticket-timeline")).to_contain_text("محاولة تسوية ودية")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#ticket-settlement").screenshot(path=str(screenshots / "settlement-390.png"))
    db.session.expire_all()
    attempt = db.session.scalars(select(SettlementAttempt)).one()
    assert (attempt.outcome, attempt.referred_to, attempt.agreement_ref) == (
        "referred", "لجنة إصلاح ذات البين", "اتفاقية تقديم الخدمة ٤٥/١٤٤٨")
