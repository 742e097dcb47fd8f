"""The beneficiary portal in a real browser, in Arabic at phone width: submit (a refusal first,
with the input kept) → confirmation → track from another device by reference and phone → reply
→ staff resolve → the survey link → the answer. No JavaScript is needed for any of it."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from desk.models import OutboxMessage, SatisfactionResponse, Status, Ticket
from desk.tickets import actions

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 360, "height": 740}, "locale": "ar-SA"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _fits(page) -> None:
    """Nothing wider than the phone's screen (no sideways scrolling)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_submit_track_reply_and_rate_on_a_phone(new_page, db, people, screenshots, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    page = new_page(**PHONE)
    page.goto("/portal/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.get_by_role("link", name=re.compile("شكوى")).first.click()
    expect(page.locator("input[name=kind][value=complaint]")).to_be_checked()

    page.fill("#name", "سارة العتيبي")
    page.fill("#phone", "٠٥٥١٢٣٤٥٦٧")
    page.fill("#body", "لم تصلني السلة الغذائية لهذا الشهر")
    page.locator("form button.btn-lg").click()
    expect(page.locator("#subject ~ .invalid-feedback")).to_be_visible()  # the message by the field
    expect(page.locator("#name")).to_have_value("سارة العتيبي")         # nothing typed is lost
    expect(page.locator("#body")).to_have_value("لم تصلني السلة الغذائية لهذا الشهر")

    page.fill("#subject", "تأخر صرف السلة الغذائية")
    page.locator("#files").set_input_files(files=[{"name": "إيصال.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.check("#consent")  # documents need the consent tick (test_minimum_browser)
    page.locator("form button.btn-lg").click()
    expect(page.locator(".portal-reference")).to_be_visible()
    reference = page.locator(".portal-reference").inner_text().strip()
    assert re.fullmatch(r"C-\d{4}-\d{6}", reference)
    expect(page.locator(".portal-link a")).to_contain_text(f"/portal/t/{reference}/")
    _fits(page)
    page.screenshot(path=str(screenshots / "portal-received-360.png"), full_page=True)

    # Another device: by reference and the phone number (Arabic-Indic digits accepted).
    other = new_page(**PHONE)
    other.goto("/portal/track")
    other.fill("#reference", reference.lower())
    other.fill("#phone", "٠٥٥١٢٣٤٥٦٧")
    other.locator("form button.btn-primary").click()
    expect(other).to_have_url(re.compile(rf"/portal/t/{reference}$"))
    expect(other.locator(".portal-status")).to_be_visible()
    expect(other.get_by_role("link", name="إيصال.pdf")).to_be_visible()
    other.fill("#body", "هل من جديد؟")
    other.locator("form[action$='/reply'] button").click()
    expect(other.locator(".alert-success")).to_be_visible()
    expect(other.locator(".portal-event-mine").last).to_contain_text("هل من جديد؟")
    _fits(other)

    # Staff resolve; the survey link goes out (the beneficiary gave no email: the portal shows it).
    ticket = db.session.scalars(select(Ticket).where(Ticket.reference == reference)).one()
    actions.resolve(db.session, people.staff, ticket, "صُرفت السلة", expected_version=ticket.version)
    assert db.session.get(Ticket, ticket.id).status == Status.RESOLVED
    other.reload()
    other.locator(".portal-survey-call a.btn").click()
    expect(other).to_have_url(re.compile(rf"/portal/t/{reference}/rate$"))
    other.locator("label.portal-choice", has_text="راضٍ جدًا").click()
    other.locator("label.portal-choice", has_text="نعم").click()
    other.fill("#comment", "شكرًا لكم")
    _fits(other)
    other.screenshot(path=str(screenshots / "portal-survey-360.png"), full_page=True)
    other.locator("form button.btn-primary").click()
    expect(other.locator(".alert-success")).to_be_visible()
    expect(other.locator(".portal-survey-call")).to_contain_text("راضٍ جدًا")
    db.session.expire_all()
    answer = db.session.scalars(select(SatisfactionResponse)).one()
    assert (answer.rating, answer.solved, answer.comment) == (5, True, "شكرًا لكم")
    assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.reason == "survey")) is None  # no email given


def test_a_survey_link_from_the_email_opens_the_survey(new_page, db, people, app):
    from desk.portal.service import Submission, submit
    with app.test_request_context():
        done = submit(db.session, Submission(kind="inquiry", subject="مواعيد الصرف", body="متى موعد الصرف؟",
                                             name="خالد", phone="+966551112222", email="k@example.com"),
                      directory=app.config["DESK_ATTACHMENT_DIR"], max_bytes=1024 * 1024)
    ticket = db.session.get(Ticket, done.ticket.id)
    actions.resolve(db.session, people.staff, ticket, "أجيب عن الاستفسار", expected_version=ticket.version)
    body = db.session.scalars(select(OutboxMessage.body_text).where(OutboxMessage.reason == "survey")).one()
    path = re.search(r"(/portal/s/\S+)", body).group(1)
    page = new_page(**PHONE)
    page.goto(path)
    expect(page).to_have_url(re.compile(rf"/portal/t/{ticket.reference}/rate$"))
    expect(page.locator("input[name=rating]")).to_have_count(5)
