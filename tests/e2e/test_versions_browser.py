"""One person's own changes never come back as "another user modified this ticket" (M1 in
the browser review): every htmx answer that changes the ticket moves every version the page
holds — the compose box, the Handling panel, the Actions panel, the committee and claim
panels. A change made in another browser is still refused."""
from __future__ import annotations

import pytest

from tests.e2e.test_browser import assert_same_page, expect, set_marker, settled

pytestmark = pytest.mark.e2e

RESOLVED = "تمت المعالجة"  # Status: resolved
CONFLICT = "عدّل مستخدم آخر هذا الطلب"


def test_reply_then_take_then_resolve_without_a_false_conflict(page, login, people, make_ticket):
    reference = make_ticket(department_id=people.social.id).reference
    login(page, people.focal)
    page.goto(f"/tickets/{reference}")
    set_marker(page)

    page.fill("#body", "وصلنا طلبك ونعمل عليه")
    page.locator("#vis-reply").check()
    page.locator("#ticket-compose button[type=submit]").click()
    expect(page.locator("#ticket-timeline .desk-event-reply")).to_contain_text("وصلنا طلبك")
    settled(page)

    page.locator("#action-take").click()
    expect(page.locator("#ticket-actions .alert-success")).to_be_visible()
    expect(page.locator(".desk-conflict")).to_have_count(0)
    settled(page)

    page.select_option("#change-priority", "3")  # a change in the Handling panel, then an action
    expect(page.locator("#ticket-header")).to_contain_text("عالية")
    settled(page)

    page.locator("#action-resolve summary").click()
    page.fill("#action-resolve-action_taken", "صُرفت المساعدة")
    page.locator("#action-resolve button[type=submit]").click()
    expect(page.locator("#ticket-header .desk-status")).to_have_text(RESOLVED)
    expect(page.locator(".desk-conflict")).to_have_count(0)
    assert_same_page(page)


def test_a_change_from_another_browser_is_still_refused(new_page, login, people, make_ticket):
    reference = make_ticket(department_id=people.social.id).reference
    a, b = login(new_page(), people.focal), login(new_page(), people.staff)
    a.goto(f"/tickets/{reference}")
    b.goto(f"/tickets/{reference}")

    b.select_option("#change-priority", "4")  # B changes the ticket; A's page does not know
    expect(b.locator("#ticket-header")).to_contain_text("عاجلة")

    a.locator("#action-resolve summary").click()
    a.fill("#action-resolve-action_taken", "تم التواصل مع المستفيد")
    a.locator("#action-resolve button[type=submit]").click()
    conflict = a.locator("#ticket-actions .desk-conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text(CONFLICT)
    expect(a.locator("#action-resolve-action_taken")).to_have_value("تم التواصل مع المستفيد")  # kept
    expect(a.locator("#ticket-header .desk-status")).not_to_have_text(RESOLVED)

    # Having read it, A resolves: the page now holds the version A has seen.
    settled(a)
    a.locator("#action-resolve button[type=submit]").click()
    expect(a.locator("#ticket-header .desk-status")).to_have_text(RESOLVED)
