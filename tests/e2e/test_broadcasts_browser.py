"""Messages to many (issue 20, point 6) in a real browser, in Arabic: compose → preview the count
→ send at 360 and 1280 px, a refused form keeping what was typed, the opt-out link's page; and
axe on each new page in Arabic and English at both widths."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from desk.broadcasts import optout
from desk.models import Broadcast, OutboxMessage
from tests.e2e.conftest import open_menu
from tests.e2e.test_accessibility_browser import AXE, LANGS, WIDTHS, _axe_findings, _in_language
from tests.e2e.test_browser import expect

pytestmark = pytest.mark.e2e


@pytest.fixture
def group(db, people, make_ticket):
    """Two open SOCIAL tickets whose beneficiaries gave an email, one with a phone only."""
    tickets = [make_ticket(department_id=people.social.id) for _ in range(3)]
    for n, ticket in enumerate(tickets[:2]):
        ticket.beneficiary.email = f"b{n}@example.org"
    db.session.commit()
    return tickets


def _sent_to_b0(db, ticket) -> None:
    """The outbox's record of a message to b0@example.org about ``ticket``: an opt-out link is
    honoured only for an address the desk wrote to about that ticket."""
    db.session.add(OutboxMessage(channel="email", to_address="b0@example.org", to_user_id=None, subject="s",
                                 body_text="b", ticket_id=ticket.id, reason="broadcast", status="sent"))
    db.session.commit()


@pytest.mark.parametrize("width", [360, 1280])
def test_compose_preview_send(db, page, login, people, group, screenshots, width):
    page.set_viewport_size({"width": width, "height": 800})
    login(page, people.supervisor)
    open_menu(page)
    page.locator(".desk-group-reports summary").click()
    page.get_by_role("link", name="التعاميم").click()
    expect(page).to_have_url(re.compile(r"/broadcasts$"))
    page.get_by_role("link", name="تعميم جديد").click()
    page.get_by_label("المستلمون").select_option("open")
    page.get_by_label("الإدارة").select_option(str(people.social.id))
    page.get_by_label("النص العربي").fill("السلام عليكم {name}، نعتذر عن تأخر صرف السلة {الموعد}")
    page.get_by_role("button", name="معاينة العدد").click()
    expect(page.locator("#body_ar-msg")).to_contain_text("{الموعد}")  # refused by its field, the text kept
    expect(page.get_by_label("النص العربي")).to_have_value("السلام عليكم {name}، نعتذر عن تأخر صرف السلة {الموعد}")
    page.get_by_label("النص العربي").fill("السلام عليكم {name}، نعتذر عن تأخر صرف السلة بخصوص طلبكم {reference}")
    page.get_by_role("button", name="معاينة العدد").click()
    expect(page.locator("#broadcast-people")).to_contain_text("مستفيدَين")
    expect(page.locator("#broadcast-preview")).to_contain_text("البريد الإلكتروني")
    page.screenshot(path=str(screenshots / f"broadcast-preview-{width}.png"), full_page=True)
    assert db.session.scalar(select(Broadcast)) is None  # a preview sends nothing
    page.locator("#broadcast-send").click()
    expect(page).to_have_url(re.compile(r"/broadcasts$"))
    expect(page.locator("#broadcasts .desk-broadcast")).to_have_count(1)
    expect(page.locator("#broadcasts")).to_contain_text("البحث الاجتماعي")
    page.screenshot(path=str(screenshots / f"broadcast-list-{width}.png"), full_page=True)
    db.session.expire_all()
    broadcast = db.session.scalar(select(Broadcast))
    assert (broadcast.queued, broadcast.skipped_no_address) == (2, 1)
    assert len(db.session.scalars(select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast.id)).all()) == 2


def test_the_opt_out_link_asks_then_stops(app, db, page, group, screenshots):
    _sent_to_b0(db, group[0])
    token = optout.token(app.config["SECRET_KEY"], group[0], "b0@example.org")
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"/portal/stop/{token}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.screenshot(path=str(screenshots / "broadcast-stop-360.png"), full_page=True)
    page.get_by_role("button", name="إيقاف الرسائل العامة").click()
    expect(page.locator("#stop-done")).to_be_visible()
    db.session.expire_all()
    assert optout.opted_out(db.session, ["b0@example.org"])[0] == {"b0@example.org"}


def test_the_new_pages_pass_axe(app, chromium, live_server, db, people, group):
    _sent_to_b0(db, group[0])
    token = optout.token(app.config["SECRET_KEY"], group[0], "b0@example.org")
    problems: list[str] = []
    for width in WIDTHS:
        context = chromium.new_context(base_url=live_server, viewport={"width": width, "height": 800})
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        try:
            page.goto("/login")
            page.fill("#email", people.supervisor.email)
            page.fill("#password", "correct-horse-battery")
            page.locator("form[action='/login'] button[type=submit]").click()
            expect(page).to_have_url(re.compile(r"/tickets"))
            for lang in LANGS:
                _in_language(page, lang)
                page.goto("/broadcasts")
                problems += [f"campaigns {lang}-{width}: {p}" for p in _axe_findings(page)]
                page.goto("/broadcasts/new")
                problems += [f"compose {lang}-{width}: {p}" for p in _axe_findings(page)]
                page.locator("#audience").select_option("open")
                page.locator("#department_id").select_option(str(people.social.id))
                page.locator("#body_ar").fill("السلام عليكم {name}")
                page.locator("button[name=step][value=preview]").click()
                expect(page.locator("#broadcast-preview")).to_be_visible()
                page.mouse.move(1, 799)  # the clicked button's hover colours fade out (a CSS transition)
                expect(page.locator("button[name=step][value=preview]")).to_have_css("background-color",
                                                                                     "rgba(0, 0, 0, 0)")
                problems += [f"preview {lang}-{width}: {p}" for p in _axe_findings(page)]
                page.locator("#body_ar").fill("")
                page.locator("button[name=step][value=preview]").last.click()
                expect(page.locator("#body_ar-msg")).to_be_visible()
                problems += [f"compose refused {lang}-{width}: {p}" for p in _axe_findings(page)]
                page.goto(f"/portal/stop/{token}")
                problems += [f"opt-out link {lang}-{width}: {p}" for p in _axe_findings(page)]
        finally:
            context.close()
    assert not problems, "\n".join(problems)


def test_an_aid_delay_is_told_and_shown_on_the_portal(db, new_page, login, people, group, screenshots):
    from desk.portal import links
    staff = new_page(viewport={"width": 360, "height": 800})
    login(staff, people.supervisor)
    staff.goto("/broadcasts/new")
    staff.get_by_label("المستلمون").select_option("references")
    expect(staff.get_by_label("الإدارة")).to_be_hidden()  # only the chosen group's fields
    staff.get_by_label("أرقام الطلبات").fill(group[0].reference)
    staff.get_by_label("النص العربي").fill("السلام عليكم {name}، نعتذر عن تأخر صرف المساعدات.")
    expect(staff.get_by_label("سبب التأخر")).to_be_hidden()
    staff.locator("#aid_delay").check()
    staff.get_by_label("سبب التأخر").fill("تأخر وصول الدعم من الجهة المانحة")
    staff.get_by_role("button", name="معاينة العدد").click()
    expect(staff.locator("#broadcast-preview")).to_contain_text("يُسجَّل التأخر على طلب واحد")
    staff.locator("#broadcast-send").click()
    expect(staff.locator("#broadcasts")).to_contain_text("تأخر المساعدات")

    visitor = new_page(viewport={"width": 360, "height": 800})
    link = links.signed_link(group[0])
    visitor.goto(link[link.index("/portal"):])
    expect(visitor.locator(".portal-timeline")).to_contain_text("تأخرت المساعدات بسبب خارج عن إرادة الجمعية")
    expect(visitor.locator(".portal-timeline")).to_contain_text("الجهة المانحة")
    visitor.locator("#general-messages").scroll_into_view_if_needed()
    visitor.screenshot(path=str(screenshots / "broadcast-portal-aid-delay-360.png"), full_page=True)
    visitor.locator("#stop-general").click()
    expect(visitor.locator("#opted-out")).to_be_visible()
