"""Control characters pasted into the desk (issue 14), in a real browser: an htmx form comes back
with the message by the field and the text kept; a refused htmx search says why in the page's
messages (static/js/desk.js), in place, with the search box as typed."""
from __future__ import annotations

import re

from sqlalchemy import select

from desk.models import TicketEvent
from tests.e2e.test_browser import assert_same_page, expect, set_marker, settled

ARABIC_REFUSAL = "رموز تحكّم"


def test_a_pasted_control_character_is_explained_in_place(page, login, people, make_ticket, db):
    reference = make_ticket(subject="انقطاع الكهرباء عن منزل الأسرة").reference
    login(page, people.staff)
    page.goto(f"/tickets/{reference}")
    set_marker(page)

    note = "اتصلت بالمستفيد\vووعدته بالرد"  # a vertical tab, as a PDF's text can carry
    compose = page.locator("#ticket-compose")
    compose.locator("#body").fill(note)
    page.check("#vis-note")
    compose.get_by_role("button", name="حفظ", exact=True).click()
    expect(compose).to_contain_text(ARABIC_REFUSAL)
    expect(page.locator("#body")).to_have_value("اتصلت بالمستفيدووعدته بالرد")  # kept, without it
    settled(page)
    assert_same_page(page)
    try:
        assert db.session.scalar(select(TicketEvent).where(TicketEvent.kind == "note")) is None
    finally:
        db.session.rollback()

    page.goto("/tickets")
    set_marker(page)
    page.fill("#q", "الكهرباء\f")  # a form feed in the search box
    expect(page.locator("#flashes")).to_contain_text(ARABIC_REFUSAL)
    expect(page.locator("#q")).to_have_value("الكهرباء\f")
    expect(page).to_have_url(re.compile(r"/tickets$"))  # the refused search is not in the history
    settled(page)
    assert_same_page(page)
