"""The mail quarantine and an unverified message on its ticket, in a real browser (Arabic,
right to left, a 390 px phone): the admin attaches a held message by reference, a wrong
reference is refused by the field with what was typed kept; staff accept an unverified one."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from desk.channels import pipe, service
from desk.channels.inbound import Storage
from desk.models import QuarantinedMail
from desk.notify.mail import MailSettings
from tests.e2e.test_browser import expect
from tests.test_mail_gate import FAILED, OURS, email
from tests.test_mail_quarantine import HOSTILE

pytestmark = pytest.mark.e2e


def _receive(db, app, raw, **settings):
    config = {**app.config, **settings}
    box = service.Mailbox("care", address="care@example.org")
    return pipe.receive(db.session, raw, box, Storage.from_config(db.session, config), MailSettings.from_config(config),
                        pipe.Gate.from_config(config))


@pytest.mark.parametrize("width", [1280, 390])
def test_attach_a_held_message_by_reference(new_page, login, people, make_ticket, app, db, screenshots, width,
                                            tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    ticket = make_ticket()
    assert _receive(db, app, HOSTILE).outcome == "quarantined"
    row = db.session.scalar(select(QuarantinedMail))
    page = new_page(viewport={"width": width, "height": 900})
    login(page, people.admin)
    page.goto("/admin/mail-quarantine")
    card = page.locator(f"#held-{row.id}")
    expect(card).to_be_visible()
    card.locator("details summary").click()
    page.screenshot(path=str(screenshots / f"mail-quarantine-{width}.png"), full_page=True)
    card.locator("input[name=reference]").fill("C-1448-999999")
    card.locator("form[action$='/attach'] button").click()
    expect(page.locator(f"#reference-{row.id}-error")).to_be_visible()
    expect(page.locator(f"#reference-{row.id}")).to_have_value("C-1448-999999")
    page.screenshot(path=str(screenshots / f"mail-quarantine-refused-{width}.png"), full_page=True)
    page.locator(f"#reference-{row.id}").fill(ticket.reference)
    page.locator(f"#held-{row.id} form[action$='/attach'] button").click()
    expect(page.locator("#quarantine-empty")).to_be_visible()
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # nothing wider than the phone


def test_staff_accept_an_unverified_message_on_its_ticket(page, login, people, app, db, screenshots,
                                                          tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    first = _receive(db, app, email().as_bytes()).ticket
    forged = email(subject=f"بخصوص {first.reference}", body="أرجو تحويل المبلغ إلى حسابي الجديد",
                   Authentication_Results=FAILED)
    assert _receive(db, app, forged.as_bytes(), DESK_MAIL_AUTHSERV_ID=OURS).outcome == "unverified"
    login(page, people.staff)
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"/tickets/{first.reference}")
    panel = page.locator("#unverified-mail")
    expect(panel).to_be_visible()
    panel.locator("details summary").click()
    page.screenshot(path=str(screenshots / "mail-unverified-390.png"), full_page=True)
    panel.locator("form[action$='/accept'] button").click()
    expect(page.locator("#unverified-mail")).to_have_count(0)
    expect(page.locator("#ticket-timeline")).to_contain_text("أرجو تحويل المبلغ")
