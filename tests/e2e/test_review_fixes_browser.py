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
