"""Saved replies (issue 18, point 1) in a real browser, in Arabic at 360 and 1280 px: the
picker in the reply box found by typing, driven by the keyboard (arrows, Enter, Escape) and by
the mouse, inserting the reply filled in for the ticket, editable before sending; the use is
counted on send; the keepers' screen refuses an unknown placeholder by its field."""
from __future__ import annotations

import pytest

from desk.models import SavedReply
from desk.replies import service
from tests.e2e.conftest import open_menu
from tests.e2e.test_browser import expect

pytestmark = pytest.mark.e2e


def keep(db, actor, title, body, department=None):
    return service.save(db.session, actor, service.ReplyData(
        title=title, body_ar=body, body_en="", department_id=department.id if department else None))


@pytest.mark.parametrize("width", [360, 1280])
def test_the_picker_inserts_a_filled_reply_by_keyboard_and_mouse(db, page, login, people, make_ticket, screenshots,
                                                                 width):
    received = keep(db, people.admin, "استلام الطلب", "السلام عليكم {name}، استلمنا طلبكم رقم {reference}.")
    keep(db, people.focal, "استكمال المستندات", "نرجو إرسال صورة الهوية لإكمال طلبكم {reference}.",
         department=people.social)
    keep(db, people.other_focal, "للمساعدات فقط", "نص لا يظهر هنا", department=people.aid)
    ticket = make_ticket(department_id=people.social.id)
    page.set_viewport_size({"width": width, "height": 800})
    login(page, people.focal)
    page.goto(f"/tickets/{ticket.reference}")
    search = page.get_by_role("combobox", name="إدراج رد جاهز")
    listbox = page.get_by_role("listbox")
    search.click()
    expect(search).to_have_attribute("aria-expanded", "true")
    expect(listbox.get_by_role("option")).to_have_count(2)  # the desk's and this department's, not AID's
    search.press_sequentially("استلام")
    expect(listbox.get_by_role("option")).to_have_count(1)
    search.press("ArrowDown")
    option = listbox.get_by_role("option", name="استلام الطلب")
    expect(option).to_have_attribute("aria-selected", "true")
    expect(search).to_have_attribute("aria-activedescendant", f"reply-option-{received.id}")
    page.screenshot(path=str(screenshots / f"saved-replies-picker-{width}.png"), full_page=False)
    search.press("Enter")
    body = page.locator("#body")
    expected = f"السلام عليكم {ticket.beneficiary.name}، استلمنا طلبكم رقم {ticket.reference}."
    expect(body).to_have_value(expected)
    expect(body).to_be_focused()
    expect(page.locator("#vis-reply")).to_be_checked()
    expect(listbox).to_be_hidden()

    # Escape closes the list without inserting; the mouse inserts at the cursor.
    search.click()
    search.press_sequentially("المستندات")
    expect(listbox.get_by_role("option")).to_have_count(1)
    search.press("Escape")
    expect(listbox).to_be_hidden()
    expect(search).to_have_attribute("aria-expanded", "false")
    expect(body).to_have_value(expected)
    body.press("End")
    body.press("Enter")
    search.click()
    listbox.get_by_role("option", name="استكمال المستندات").click()
    expect(body).to_have_value(expected + "\nنرجو إرسال صورة الهوية لإكمال طلبكم " + ticket.reference + ".")
    body.press("End")
    body.press_sequentially(" شكرا لكم")  # edited before sending
    page.screenshot(path=str(screenshots / f"saved-replies-inserted-{width}.png"), full_page=False)
    assert db.session.get(SavedReply, received.id).use_count == 0  # inserting is not using
    page.locator("#ticket-compose button[type=submit]").click()
    expect(page.locator("#ticket-timeline")).to_contain_text("شكرا لكم")
    db.session.expire_all()
    assert {r.title: r.use_count for r in db.session.query(SavedReply)} == {
        "استلام الطلب": 1, "استكمال المستندات": 1, "للمساعدات فقط": 0}


@pytest.mark.parametrize("width", [360, 1280])
def test_the_keepers_screen_refuses_an_unknown_placeholder_by_its_field(db, page, login, people, screenshots, width):
    page.set_viewport_size({"width": width, "height": 800})
    login(page, people.focal)
    open_menu(page)  # on a phone the navigation is behind the menu button
    expect(page.get_by_role("link", name="الردود الجاهزة")).to_have_count(1)  # in the navigation
    page.goto("/replies")
    page.get_by_role("link", name="رد جاهز جديد").click()
    page.get_by_label("العنوان").fill("موعد الصرف")
    page.get_by_label("النص العربي").fill("موعد الصرف {الموعد}")
    page.get_by_role("button", name="حفظ").first.click()
    message = page.locator("#body_ar-msg")
    expect(message).to_contain_text("{الموعد}")
    expect(page.get_by_label("النص العربي")).to_have_value("موعد الصرف {الموعد}")
    page.screenshot(path=str(screenshots / f"saved-replies-refused-{width}.png"), full_page=True)
    page.get_by_label("النص العربي").fill("موعد الصرف {expected_date}")
    page.get_by_role("button", name="حفظ").first.click()
    expect(page.locator("#saved-replies")).to_contain_text("موعد الصرف")
    page.screenshot(path=str(screenshots / f"saved-replies-list-{width}.png"), full_page=True)
    assert db.session.query(SavedReply).one().department_id == people.social.id
