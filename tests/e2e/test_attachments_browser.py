"""Attaching a document on the ticket page in a real browser: htmx posts the multipart form
(with the CSRF header from desk.js) and swaps the panel and the timeline in place."""
from __future__ import annotations

import pytest

from tests.e2e.test_browser import assert_same_page, expect, set_marker

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_attach_a_document_in_place_and_a_refusal_by_the_field(page, login, people, make_ticket, app,
                                                                tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    reference = make_ticket().reference
    login(page, people.focal)
    page.goto(f"/tickets/{reference}")
    set_marker(page)
    panel = page.locator("#ticket-attachments")
    panel.locator("#attachment-file").set_input_files(
        files=[{"name": "نص.pdf", "mimeType": "application/pdf", "buffer": b"<html>not a pdf</html>"}])
    panel.locator("#attachment-description").fill("حكم نهائي")
    panel.locator("button[type=submit]").click()
    expect(page.locator("#ticket-attachments .invalid-feedback")).to_be_visible()
    expect(page.locator("#attachment-description")).to_have_value("حكم نهائي")

    page.locator("#attachment-file").set_input_files(
        files=[{"name": "إقرار الجمعية.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.locator("#ticket-attachments button[type=submit]").click()
    expect(page.locator("#ticket-attachments .alert-success")).to_be_visible()
    expect(page.locator("#ticket-attachments a[download]")).to_have_text("إقرار الجمعية.pdf")
    expect(page.locator("#ticket-timeline .desk-event-attachment")).to_have_count(1)
    expect(page.locator("#attachment-description")).to_have_value("")
    assert_same_page(page)

    with page.expect_download() as info:
        page.locator("#ticket-attachments a[download]").click()
    download = info.value
    assert download.suggested_filename == "إقرار الجمعية.pdf"
    assert open(download.path(), "rb").read() == PDF
