"""The browser review's small defects fixed (issue 18, point 10), in a real browser."""
from __future__ import annotations

import pytest

from tests.conftest import VALID_NID
from tests.e2e.test_browser import expect

pytestmark = pytest.mark.e2e


def test_the_id_typed_in_the_lookup_fills_the_new_beneficiary(page, login, people):
    """m7: an ID the lookup did not find is carried into "record a new beneficiary"."""
    login(page, people.staff)
    page.goto("/tickets/new")
    page.fill("#beneficiary_q", VALID_NID.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")))
    expect(page.locator("#beneficiary-carry")).to_have_count(1)
    expect(page.locator("#b_national_id")).to_have_value("")  # nothing new until asked for
    page.locator("#new-beneficiary summary").click()
    expect(page.locator("#b_national_id")).to_have_value(VALID_NID)


def test_file_inputs_speak_the_pages_language(page, login, people, make_ticket, tmp_path, screenshots):
    """p1: native file inputs said "Choose File / No file chosen" in the Arabic UI."""
    reference = make_ticket().reference
    login(page, people.staff)
    page.goto(f"/tickets/{reference}")
    box = page.locator("#attachment-file + .desk-file")
    expect(box.locator(".desk-file-button")).to_have_text("اختر ملفًا")
    expect(box.locator(".desk-file-name")).to_have_text("لم يُختر ملف")
    document = tmp_path / "تقرير.pdf"
    document.write_bytes(b"%PDF-1.4\n%%EOF\n")
    with page.expect_file_chooser() as chooser:
        box.locator(".desk-file-button").click()
    chooser.value.set_files(str(document))
    expect(box.locator(".desk-file-name")).to_have_text("تقرير.pdf")
    box.locator("xpath=ancestor::form[1]").screenshot(path=str(screenshots / "file-input-ar.png"))
