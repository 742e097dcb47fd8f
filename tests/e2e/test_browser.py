"""The desk in a real browser: what a person sees and does, Arabic and RTL first.

Each test signs in through the login form and makes its own data (the tables are emptied
after every test). ``window.__marker`` survives only as long as the page does, so finding
it again after an action proves htmx changed the page in place (no full page load)."""
from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import func, select

try:
    from playwright.sync_api import expect
except ImportError as error:  # the skip-or-fail decision is the same as for a missing chromium
    if os.environ.get("CI") == "true":
        pytest.fail(f"playwright cannot be imported ({error}) (CI=true: the browser tests are required)",
                    pytrace=False)
    pytest.skip(f"playwright cannot be imported ({error})", allow_module_level=True)

from desk.models import Channel, Ticket
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e

QUEUE_HEADING = "قائمة الطلبات المشتركة"          # "Shared queue"
PHONE_CALL = "الاتصالات الهاتفية"                 # Channel: phone
WRONG_LOGIN = "البريد الإلكتروني أو كلمة المرور غير صحيحة."
BAD_NID = "هذا الرقم غير صحيح: تحقّق من الأرقام مرة أخرى."
NOT_SAVED = "لم يُحفظ الطلب."
NID_REQUIRED = "رقم الهوية الوطنية أو الإقامة مطلوب."
CONFLICT = "عدّل مستخدم آخر هذا الطلب أثناء فتحك له، ولم يُحفظ تعديلك."
WAITING = "بانتظار المستفيد"                     # Status: waiting on the beneficiary
HIGH, URGENT = "عالية", "عاجلة"                  # Priorities
REFERENCE = re.compile(r"^C-\d{4}-\d{6}$")


def queue_refs(page):
    return page.locator("#queue-rows tr.desk-row a.desk-ref")


def set_marker(page):
    page.evaluate("window.__marker = 42")


def settled(page):
    """Wait until htmx has finished swapping and processing what it swapped in: a user is
    never faster than that, and an element htmx has not processed yet ignores events. The page
    itself first: its deferred scripts (htmx, keys.js) listen only once it has loaded."""
    page.wait_for_load_state()
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")).to_have_count(0)


def assert_same_page(page):
    assert page.evaluate("window.__marker") == 42, "the page was reloaded (htmx should have swapped in place)"


def count_tickets(db) -> int:
    try:
        return db.session.scalar(select(func.count()).select_from(Ticket))
    finally:
        db.session.rollback()  # no transaction left open beside the live server


# 1. Signing in -----------------------------------------------------------------------

def test_sign_in_arabic_rtl_and_wrong_password(page, people):
    page.goto("/login")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", name="تسجيل الدخول")).to_be_visible()

    page.fill("#email", people.staff.email)
    page.fill("#password", "not-the-password")
    page.get_by_role("button", name="تسجيل الدخول").click()
    message = page.locator("#password-group .invalid-feedback")
    expect(message).to_have_text(WRONG_LOGIN)
    expect(message).to_be_visible()
    expect(page.locator("#password")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email")).to_have_value(people.staff.email)
    expect(page).to_have_url(re.compile(r"/login$"))

    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="تسجيل الدخول").click()
    expect(page).to_have_url(re.compile(r"/tickets$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(QUEUE_HEADING)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator(".desk-user")).to_have_text(people.staff.name)


# 2. Intake: a phone call from a new beneficiary ---------------------------------------

def test_create_ticket_from_phone_with_new_beneficiary(page, login, people, db):
    subject = "تأخر صرف السلة الغذائية لشهر رمضان"
    body = "اتصل المستفيد يفيد بأن السلة الغذائية لم تصل منذ شهرين."
    name = "عبدالله بن سعيد القحطاني"
    login(page, people.staff)
    page.goto("/tickets/new")
    expect(page).to_have_url(re.compile(r"/tickets/new$"))

    # First a run that must fail: a support request needs a valid national ID.
    page.select_option("#kind", "support")
    expect(page.locator("#kind-needs")).to_contain_text(NID_REQUIRED)  # the kind's needs, via htmx
    page.select_option("#channel", "phone")
    page.fill("#subject", subject)
    page.fill("#body", body)
    page.get_by_text("لم تجده؟ سجّل مقدّم طلب جديدًا (فردًا أو جهة)").click()  # open the <details>
    expect(page.locator("#b_name")).to_be_visible()
    page.fill("#b_name", name)
    page.fill("#b_national_id", "1234567890")  # right length, wrong check digit
    page.fill("#b_phone", "٠٥٠١٢٣٤٥٦٧")         # Arabic-Indic digits, as typed on an Arabic keyboard
    page.get_by_role("button", name="حفظ الطلب").click()

    nid_message = page.locator("#b_national_id-group .invalid-feedback", has_text=BAD_NID)
    expect(nid_message).to_be_visible()
    expect(page.locator("#b_national_id")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text(NOT_SAVED)
    expect(page.locator("#subject")).to_have_value(subject)
    expect(page.locator("#body")).to_have_value(body)
    expect(page.locator("#b_name")).to_have_value(name)
    expect(page.locator("#b_phone")).to_have_value("٠٥٠١٢٣٤٥٦٧")
    expect(page).to_have_url(re.compile(r"/tickets/new$"))
    assert count_tickets(db) == 0

    # Corrected: it is a complaint (no national ID needed), so it saves.
    page.select_option("#kind", "complaint")
    expect(page.locator("#kind-needs")).not_to_contain_text(NID_REQUIRED)
    page.fill("#b_national_id", "")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/tickets/new")) as answer:
        page.get_by_role("button", name="حفظ الطلب").click()
    redirect = answer.value.headers.get("hx-redirect", "")
    assert re.fullmatch(r"/tickets/C-\d{4}-\d{6}", redirect), f"HX-Redirect was {redirect!r}"

    expect(page).to_have_url(re.compile(re.escape(redirect) + "$"))
    header = page.locator("#ticket-header")
    expect(header.locator(".desk-ref")).to_have_text(REFERENCE)
    assert header.locator(".desk-ref").inner_text() == redirect.rsplit("/", 1)[1]
    expect(header.get_by_role("heading", level=1)).to_have_text(subject)
    expect(header).to_contain_text(PHONE_CALL)
    beneficiary = page.locator("#ticket-beneficiary")
    expect(beneficiary).to_contain_text(name)
    expect(beneficiary.locator("dd").nth(1)).to_contain_text("567")  # the phone, masked, parsed from ٠٥٠…
    expect(page.locator("#ticket-request")).to_contain_text(body)
    assert count_tickets(db) == 1


# 3. The queue's filters -----------------------------------------------------------------

def test_queue_filter_by_channel_is_in_the_url_and_survives_reload(page, login, people, make_ticket):
    phone = [make_ticket(channel=Channel.PHONE).reference,
             make_ticket(channel=Channel.PHONE).reference,
             make_ticket(channel=Channel.PHONE, subject="انقطاع الكهرباء عن منزل الأسرة").reference]
    make_ticket(channel=Channel.EMAIL)
    make_ticket(channel=Channel.VISIT)
    login(page, people.staff)
    refs = queue_refs(page)
    expect(refs).to_have_count(5)

    set_marker(page)
    page.select_option("#f-channel", "phone")
    expect(page).to_have_url(re.compile(r"[?&]channel=phone(&|$)"))
    expect(refs).to_have_count(3)
    assert sorted(refs.all_inner_texts()) == sorted(phone)
    # One retrying assertion over the live list (not a snapshot of row handles).
    expect(page.locator("#queue-rows tr.desk-row").filter(has_not_text=PHONE_CALL)).to_have_count(0)
    assert_same_page(page)

    page.reload()
    expect(page.locator("#f-channel")).to_have_value("phone")
    expect(refs).to_have_count(3)
    assert sorted(refs.all_inner_texts()) == sorted(phone)

    page.fill("#q", "الكهرباء")
    expect(refs).to_have_count(1)
    expect(refs).to_have_text(phone[2])
    expect(page).to_have_url(re.compile(r"[?&]q=[^&]+"))
    expect(page).to_have_url(re.compile(r"[?&]channel=phone(&|$)"))


# 4. Working on a ticket, in place ---------------------------------------------------------

def test_note_and_status_change_without_page_load(page, login, people, make_ticket):
    reference = make_ticket().reference
    login(page, people.staff)
    page.goto(f"/tickets/{reference}")
    set_marker(page)

    note = "اتصلت بالمستفيد ووعدته بالرد خلال يومين"
    compose = page.locator("#ticket-compose")
    compose.locator("#body").fill(note)
    page.check("#vis-note")
    compose.get_by_role("button", name="حفظ", exact=True).click()
    timeline = page.locator("#ticket-timeline")
    expect(timeline.locator(".desk-event-note")).to_contain_text(note)
    expect(page.locator("#body")).to_have_value("")
    settled(page)

    page.select_option("#change-status", "waiting")
    expect(page.locator("#ticket-header .desk-status")).to_have_text(WAITING)
    expect(page.locator("#change-status")).to_have_value("waiting")
    expect(timeline.locator(".desk-event-status")).to_contain_text(WAITING)
    expect(page.locator(".desk-conflict")).to_have_count(0)
    assert_same_page(page)


# 5. Two people, one ticket ----------------------------------------------------------------

def test_conflict_when_two_people_change_the_same_ticket(new_page, login, people, make_ticket):
    reference = make_ticket().reference
    a, b = login(new_page(), people.staff), login(new_page(), people.supervisor)
    a.goto(f"/tickets/{reference}")
    b.goto(f"/tickets/{reference}")

    a.select_option("#change-priority", "3")  # high
    expect(a.locator("#ticket-header")).to_contain_text(HIGH)
    expect(a.locator(".desk-conflict")).to_have_count(0)

    b.select_option("#change-priority", "4")  # urgent, from a page that still says "normal"
    conflict = b.locator(".desk-conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text(CONFLICT)
    expect(conflict).to_contain_text(HIGH)                    # what the other person changed
    expect(b.locator("#change-priority")).to_have_value("4")   # B's choice is kept
    expect(b.locator("#ticket-header")).to_contain_text(HIGH)  # and the header shows the real state
    expect(b.locator("#ticket-header")).not_to_contain_text(URGENT)

    # B read the conflict and still wants "urgent": saving again works, in place.
    settled(b)
    set_marker(b)
    b.get_by_role("button", name="إعادة الحفظ").click()
    expect(b.locator("#ticket-header")).to_contain_text(URGENT)
    expect(b.locator(".desk-conflict")).to_have_count(0)
    expect(b.locator("#change-priority")).to_have_value("4")
    assert_same_page(b)


# 6. Load more -------------------------------------------------------------------------------

def test_load_more_appends_the_next_page_in_place(page, login, people, make_ticket):
    made = {make_ticket().reference for _ in range(60)}
    login(page, people.staff)
    refs = queue_refs(page)
    expect(refs).to_have_count(50)
    set_marker(page)

    page.locator("#load-more").get_by_role("link", name="عرض المزيد").click()
    expect(refs).to_have_count(60)
    expect(page.locator("#load-more")).to_have_count(0)
    assert set(refs.all_inner_texts()) == made  # every ticket once, none twice
    assert_same_page(page)


# 7. Small screens -------------------------------------------------------------------------

OVERFLOW_JS = """(width) => [...document.querySelectorAll('body *')]
  .filter(e => { const r = e.getBoundingClientRect(); return r.width && (r.right > width + 1 || r.left < -1); })
  .slice(0, 8).map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className} [${Math.round(e.getBoundingClientRect().left)}..${Math.round(e.getBoundingClientRect().right)}]`)"""


def assert_no_horizontal_scroll(page, width):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, (
        f"{page.url}: {scroll_width}px wide at a {width}px viewport; too wide: {page.evaluate(OVERFLOW_JS, width)}")


def test_mobile_width_has_no_horizontal_scroll(new_page, login, people, make_ticket, screenshots):
    make_ticket(channel=Channel.EMAIL)
    make_ticket(channel=Channel.VISIT, subject="طلب زيارة منزلية لتقييم حالة الأسرة واحتياجاتها " * 2)
    reference = make_ticket().reference
    page = login(new_page(viewport={"width": 360, "height": 780}), people.staff)
    pages = {"queue": "/tickets", "ticket": f"/tickets/{reference}", "intake": "/tickets/new"}

    for name, path in pages.items():
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_no_horizontal_scroll(page, 360)
        page.screenshot(path=str(screenshots / f"{name}-360.png"), full_page=True)

    page.set_viewport_size({"width": 1366, "height": 900})
    for name, path in pages.items():
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_no_horizontal_scroll(page, 1366)
        page.screenshot(path=str(screenshots / f"{name}-1366.png"), full_page=True)


# 8. English ------------------------------------------------------------------------------

def test_switch_to_english(page, login, people):
    login(page, people.staff)
    page.get_by_role("button", name="English").click()
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "ltr")
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Shared queue")
    expect(page).to_have_url(re.compile(r"/tickets\??$"))
    expect(page.get_by_role("button", name="العربية")).to_be_visible()
