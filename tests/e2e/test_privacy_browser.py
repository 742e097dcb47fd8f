"""A beneficiary's copy of their data, in a real browser: found from the beneficiaries' search,
exported from their record page as a zip download, and the request shown as recorded; the
erasure page states the legal hold. Arabic, right to left, also at 360 px."""
from __future__ import annotations

import io
import zipfile

import pytest

from desk.beneficiaries.service import NewBeneficiary
from tests.conftest import VALID_NID
from tests.e2e.test_browser import expect

pytestmark = pytest.mark.e2e


def test_export_a_beneficiarys_data_from_their_record(new_page, login, people, make_ticket, screenshots):
    ticket = make_ticket(new_beneficiary=NewBeneficiary(name="نورة عبدالله الشمري", national_id=VALID_NID,
                                                        phone="+966500000001"))
    page = login(new_page(viewport={"width": 360, "height": 800}), people.admin)
    page.goto("/beneficiaries")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.fill("#q", "نوره")  # found whatever the spelling of ة
    page.locator("form[role=search] button[type=submit]").click()
    page.get_by_role("link", name="نورة عبدالله الشمري").click()
    expect(page.locator("h1")).to_have_text("نورة عبدالله الشمري")
    expect(page.locator("#subject-requests")).to_contain_text("لا يوجد بعد")
    page.fill("#note", "طلب حضوري، تحققنا من الهوية الأصلية")
    page.screenshot(path=str(screenshots / "privacy-record-360.png"), full_page=True)

    with page.expect_download() as info:
        page.locator("#subject-requests button[type=submit]").click()
    download = info.value
    assert download.suggested_filename == f"beneficiary-{ticket.beneficiary_id}-data.zip"
    archive = zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read()))
    summary = archive.read("index.html").decode()
    assert "نورة عبدالله الشمري" in summary and ticket.reference in summary and VALID_NID in summary

    page.reload()
    expect(page.locator("#subject-request-list")).to_contain_text("نسخة من بياناته")
    expect(page.locator("#subject-request-list")).to_contain_text("طلب حضوري")

    page.get_by_role("link", name="إتلاف بياناته").click()
    expect(page.locator("#erase-holds")).to_contain_text(ticket.reference)
    page.screenshot(path=str(screenshots / "privacy-erase-360.png"), full_page=True)


def test_the_retention_screen_proposes_the_periods(new_page, login, people, screenshots):
    page = login(new_page(viewport={"width": 360, "height": 800}), people.admin)
    page.goto("/admin/retention")
    expect(page.locator("#retention-unsaved")).to_be_visible()
    expect(page.locator("#retention-compensation")).to_have_value("120")
    page.fill("#retention-inquiry", "٦")
    page.fill("#retention-complaint", "سنتان")
    page.locator("#retention-form button[type=submit]").click()
    expect(page.locator("#retention-complaint-msg")).to_be_visible()
    expect(page.locator("#retention-complaint")).to_have_value("سنتان")  # nothing typed is lost
    page.screenshot(path=str(screenshots / "privacy-retention-360.png"), full_page=True)
    page.fill("#retention-complaint", "24")
    page.locator("#retention-form button[type=submit]").click()
    expect(page.locator("#retention-unsaved")).to_have_count(0)
    expect(page.locator("#retention-inquiry")).to_have_value("6")
