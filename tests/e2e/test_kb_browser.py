"""The knowledge base (issue 20, point 4) in a real browser: the portal's help and rights pages
at 360 px in Arabic, the suggestions under a request's subject while it is typed, and the
writers' editor (draft kept on error, published, seen on the portal only once published)."""
from __future__ import annotations

import re

import pytest

from desk.kb.seeds import ensure_seed_articles
from desk.models import KbArticle
from tests.e2e.test_browser import expect

pytestmark = pytest.mark.e2e


def test_the_help_pages_on_a_phone_in_arabic(db, page, screenshots):
    ensure_seed_articles(db.session)
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto("/portal/")
    page.get_by_role("link", name="أدلة الاستخدام وحقوقك").first.click()
    expect(page).to_have_url(re.compile(r"/portal/help$"))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", name="حقوق المستفيد", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="اللائحة الأساسية للجمعية")).to_have_count(0)  # internal
    page.screenshot(path=str(screenshots / "kb-portal-help-360.png"), full_page=True)
    page.get_by_role("link", name="سياسة تسوية الشكاوى والخلافات").click()
    expect(page.get_by_role("heading", name="خطوات المعالجة")).to_be_visible()
    expect(page.locator("article ol li").first).to_contain_text("رقم مرجعي")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing wider than the phone
    page.screenshot(path=str(screenshots / "kb-portal-article-360.png"), full_page=True)
    page.get_by_role("link", name="أدلة الاستخدام وحقوقك").first.click()
    page.fill("#help-q", "اسبوعين")  # the policy's two weeks, typed without the hamza
    page.locator("form[role=search] button").click()
    expect(page.get_by_role("link", name="أسئلة شائعة")).to_be_visible()


def test_suggestions_appear_under_the_subject_and_never_block_sending(db, page, screenshots):
    ensure_seed_articles(db.session)
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto("/portal/new?kind=inquiry")
    page.locator("#subject").press_sequentially("متى يصل الرد على طلب الدعم")
    suggestion = page.locator("#kb-suggestions").get_by_role("link", name="أسئلة شائعة")
    expect(suggestion).to_be_visible()
    expect(suggestion).to_have_attribute("href", re.compile(r"/portal/help/\d+$"))
    suggestion.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "kb-portal-suggestions-360.png"), full_page=False)
    # The form goes on: the rest typed and sent as always.
    page.fill("#name", "سعاد")
    page.fill("#phone", "0501234567")
    page.fill("#body", "أريد معرفة موعد الرد")
    page.locator("form.portal-card button.btn-lg").click()
    expect(page).to_have_url(re.compile(r"/portal/(received|t)/"))


@pytest.mark.parametrize("width", [360, 1280])
def test_the_editor_keeps_a_draft_until_published(db, page, login, people, new_page, screenshots, width):
    page.set_viewport_size({"width": width, "height": 900})
    login(page, people.admin)
    page.goto("/kb/new")
    page.fill("#title_en", "Opening hours")
    page.fill("#body_ar", "- من الأحد إلى الخميس\n- من الثامنة صباحًا")
    page.get_by_role("button", name="حفظ المسودة").click()
    expect(page.locator("#title_ar-msg")).to_be_visible()  # the Arabic title is required
    expect(page.locator("#body_ar")).to_have_value("- من الأحد إلى الخميس\n- من الثامنة صباحًا")
    page.fill("#title_ar", "مواعيد الدوام")
    page.screenshot(path=str(screenshots / f"kb-editor-{width}.png"), full_page=True)
    page.get_by_role("button", name="حفظ المسودة").click()
    expect(page.get_by_role("heading", name="مواعيد الدوام")).to_be_visible()
    expect(page.locator("article li")).to_have_count(2)
    article = db.session.query(KbArticle).one()
    visitor = new_page(viewport={"width": width, "height": 900})
    assert visitor.goto(f"/portal/help/{article.id}").status == 404  # a draft is not public
    page.get_by_role("button", name="نشر").click()
    expect(page.get_by_text("نُشرت بوصفها النسخة ١.")).to_be_visible()
    visitor.goto(f"/portal/help/{article.id}")
    expect(visitor.get_by_role("heading", name="مواعيد الدوام")).to_be_visible()
    page.screenshot(path=str(screenshots / f"kb-article-staff-{width}.png"), full_page=True)


def test_the_help_pages_in_english_read_left_to_right(db, page, screenshots):
    ensure_seed_articles(db.session)
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto("/portal/help")
    page.locator("button[name=locale][value=en]").click()
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.get_by_role("heading", name="Your rights", exact=True)).to_be_visible()
    page.get_by_role("link", name="The complaints and disputes policy").click()
    expect(page.locator("article")).to_have_attribute("dir", "ltr")
    expect(page.get_by_role("heading", name="The handling steps")).to_be_visible()
    page.screenshot(path=str(screenshots / "kb-portal-article-en-360.png"), full_page=True)
