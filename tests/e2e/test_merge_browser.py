"""Merging duplicates and "related to" links (issue 18, point 3) in a real browser, in Arabic at
360 and 1280 px: the panel finds the beneficiary's other request, merges the duplicate into it
(the survivor's timeline shows the duplicate's, marked), asks to confirm a merge across
beneficiaries, links and unlinks a related request; the duplicate's tracking link opens the
survivor on the portal."""
from __future__ import annotations

import re

import pytest

from desk.models import Status, Ticket
from desk.portal import tracking
from tests.e2e.test_browser import expect

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [360, 1280])
def test_merge_a_duplicate_and_link_a_related_request(db, page, new_page, login, people, make_ticket, screenshots,
                                                      width):
    original = make_ticket(department_id=people.social.id)
    duplicate = make_ticket(department_id=people.social.id, new_beneficiary=None,
                            beneficiary_id=original.beneficiary_id, subject="السلة لم تصل مرة أخرى")
    stranger = make_ticket(department_id=people.social.id, subject="طلب مستفيد آخر")
    key, db.session.get(Ticket, duplicate.id).access_key_hash = tracking.new_key()
    db.session.commit()
    page.set_viewport_size({"width": width, "height": 800})
    login(page, people.staff)

    # Related: found by reference, linked, shown on both, removed.
    page.goto(f"/tickets/{original.reference}")
    panel = page.locator("#ticket-links")
    panel.get_by_label("البحث عن طلب مكرر أو مرتبط").fill(stranger.reference)
    candidate = panel.locator(f"#candidate-{stranger.reference}")
    expect(candidate).to_be_visible()
    candidate.get_by_role("button", name="ربط كطلب مرتبط").click()
    expect(panel.get_by_role("status")).to_have_text("رُبط الطلبان.")
    expect(panel.locator(".desk-related")).to_contain_text(stranger.reference)
    page.goto(f"/tickets/{stranger.reference}")
    expect(page.locator("#ticket-links .desk-related")).to_contain_text(original.reference)
    page.locator("#ticket-links .desk-related").get_by_role("button", name=re.compile("إلغاء الربط")).click()
    expect(page.locator("#ticket-links .desk-related")).to_have_count(0)

    # Across beneficiaries: asked to confirm, nothing merged until then.
    page.get_by_label("البحث عن طلب مكرر أو مرتبط").fill(original.reference)
    page.locator(f"#candidate-{original.reference}").get_by_role(
        "button", name=f"دمج هذا الطلب في الطلب {original.reference}").click()
    expect(page.locator("#ticket-links [role=alert]")).to_contain_text("ليسا لمستفيد واحد")
    expect(page.get_by_role("button", name="الدمج رغم ذلك")).to_be_visible()
    page.screenshot(path=str(screenshots / f"merge-confirm-{width}.png"), full_page=False)
    db.session.expire_all()
    assert db.session.get(Ticket, stranger.id).status == Status.NEW

    # The duplicate: the beneficiary's other request offered with nothing typed; merged into it.
    page.goto(f"/tickets/{duplicate.reference}")
    page.locator("#ticket-links").get_by_role("button", name="بحث").click()
    page.locator(f"#candidate-{original.reference}").get_by_role(
        "button", name=f"دمج هذا الطلب في الطلب {original.reference}").click()
    expect(page).to_have_url(re.compile(f"/tickets/{original.reference}$"))
    expect(page.locator("#flashes")).to_contain_text(re.compile(
        f"دُمج الطلب \u2066{duplicate.reference}\u2069 في الطلب \u2066{original.reference}\u2069 وأُغلق"))
    expect(page.locator("#ticket-timeline .desk-merged-from").first).to_contain_text(duplicate.reference)
    expect(page.locator("#ticket-timeline")).to_contain_text(f"دُمج الطلب \u2066{duplicate.reference}\u2069 في هذا الطلب")
    expect(page.locator("#ticket-links")).to_contain_text(duplicate.reference)
    page.screenshot(path=str(screenshots / f"merge-survivor-{width}.png"), full_page=True)
    page.goto(f"/tickets/{duplicate.reference}")
    expect(page.locator(".desk-merged-into")).to_contain_text(original.reference)
    expect(page.locator("#ticket-timeline")).to_contain_text(f"طلب مكرر دُمج في الطلب \u2066{original.reference}\u2069")
    db.session.expire_all()
    assert db.session.get(Ticket, duplicate.id).status == Status.CLOSED

    # The beneficiary's link to the duplicate opens the request that goes on.
    beneficiary = new_page()
    beneficiary.set_viewport_size({"width": width, "height": 800})
    beneficiary.goto(f"/portal/t/{duplicate.reference}/{key}")
    expect(beneficiary).to_have_url(re.compile(f"/portal/t/{original.reference}$"))
