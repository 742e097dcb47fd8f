"""Identity documents beyond 1/2 (issue 19, point 7): a beneficiary with an iqama, a GCC ID, a
passport, a border number or none can still file a complaint, each number checked as its type
is written."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desk.models import Beneficiary, Ticket
from desk.text import InvalidNationalId, mask_document, national_id_check_digit, parse_document
from tests.test_intake import _form

CITIZEN = "100000000" + national_id_check_digit("100000000")
RESIDENT = "200000000" + national_id_check_digit("200000000")


@pytest.mark.parametrize("id_type, typed, stored", [
    ("national_id", CITIZEN, CITIZEN),
    ("iqama", RESIDENT, RESIDENT),
    ("border", "٣١٢٣٤٥٦٧٨٩", "3123456789"),
    ("gcc_id", "784-1990-1234567-1", "784199012345671"),
    ("passport", "a1234567", "A1234567"),
    ("none", "", None),
])
def test_each_type_is_checked_as_it_is_written(id_type, typed, stored):
    assert parse_document(id_type, typed) == stored


@pytest.mark.parametrize("id_type, typed, reason", [
    ("national_id", RESIDENT, "type"), ("iqama", CITIZEN, "type"), ("border", "5123456789", "border"),
    ("gcc_id", "12345", "gcc"), ("passport", "AB#12", "passport"), ("iqama", "2000000000", "checksum"),
])
def test_a_number_that_does_not_fit_its_type_is_refused(id_type, typed, reason):
    with pytest.raises(InvalidNationalId) as refused:
        parse_document(id_type, typed)
    assert refused.value.reason == reason


def test_mask_document():
    assert mask_document("A1234567") == "A••••••67" and mask_document(None) == ""


def test_a_complaint_from_a_passport_holder(as_user, people, db):
    staff = as_user(people.staff)
    response = staff.post("/tickets/new", _form(b_id_type="passport", b_national_id="N12345678"))
    assert response.status_code == 302
    person = db.session.scalar(select(Beneficiary))
    assert (person.id_type, person.id_document, person.national_id) == ("passport", "N12345678", None)
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "N••••••78" in page and "N12345678" not in page


def test_a_wrong_border_number_is_refused_by_the_field_and_kept(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(b_id_type="border", b_national_id="999"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="b_national_id-msg"' in html and 'value="999"' in html
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_support_request_still_needs_a_saudi_number(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(kind="support", b_id_type="passport",
                                                                b_national_id="N12345678", verified="y", attested="y"))
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_an_iqama_typed_as_iqama_is_kept_as_a_saudi_number(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(b_id_type="iqama", b_national_id=RESIDENT))
    assert response.status_code == 302
    person = db.session.scalar(select(Beneficiary))
    assert (person.id_type, person.national_id, person.id_document) == ("iqama", RESIDENT, None)
