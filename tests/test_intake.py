"""Intake: every channel and kind, the beneficiary search, validation that keeps input."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from desk.models import Beneficiary, Channel, Kind, Ticket, TicketEvent
from tests.conftest import VALID_NID

REFERENCE = re.compile(r"^[CISRKDT]-14\d\d-\d{6}$")


def _form(**overrides):
    data = {
        "kind": "complaint", "channel": "phone", "subject": "تأخر صرف المساعدة", "body": "تفاصيل الشكوى",
        "priority": "2", "department_id": "", "b_name": "عبدالله سعد", "b_phone": "٠٥٠١٢٣٤٥٦٧",
    }
    data.update(overrides)
    return data


def test_new_ticket_page_lists_every_channel_and_kind(as_user, people):
    html = as_user(people.staff).get("/tickets/new").get_data(as_text=True)
    for channel in Channel:
        assert f'value="{channel.value}"' in html
    for kind in Kind:
        assert f'value="{kind.value}"' in html


def test_create_phone_complaint_with_new_beneficiary(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form())
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert response.headers["Location"] == f"/tickets/{ticket.reference}"
    assert REFERENCE.match(ticket.reference) and ticket.reference.startswith("C-")
    assert ticket.channel == "phone" and ticket.status == "new"
    assert ticket.beneficiary.phone == "+966501234567"  # Arabic-Indic digits normalised
    events = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)).all()
    assert [e.kind for e in events] == ["created", "receipt"] and events[0].actor_id == people.staff.id


def test_create_over_htmx_redirects_with_header(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(), htmx=True)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith("/tickets/C-")


@pytest.mark.parametrize("channel", [c.value for c in Channel])
def test_every_channel_can_be_recorded(as_user, people, db, channel):
    extra = {"platform": "whatsapp"} if channel == "social" else {}
    response = as_user(people.staff).post("/tickets/new", _form(channel=channel, **extra))
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    ticket = db.session.scalar(select(Ticket))
    assert ticket.channel == channel
    assert ticket.channel_detail == ("whatsapp" if channel == "social" else None)


def test_social_channel_needs_the_platform(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(channel="social"))
    assert response.status_code == 422
    assert "منصة" in response.get_data(as_text=True) or "platform" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_bad_national_id_message_by_the_field_and_input_kept(as_user, people, db):
    response = as_user(people.staff).post(
        "/tickets/new", _form(kind="support", b_national_id="1234567890", subject="طلب سلة غذائية", verified="y", attested="y"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="b_national_id-msg"' in html  # the message sits by the field
    assert 'value="1234567890"' in html and "طلب سلة غذائية" in html  # nothing typed is lost
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert db.session.scalar(select(func.count()).select_from(Beneficiary)) == 0


def test_bad_phone_message_and_nothing_written(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(b_phone="12345"))
    assert response.status_code == 422
    assert 'id="b_phone-msg"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Beneficiary)) == 0


def test_support_request_requires_national_id_verification_and_attestation(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(kind="support"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("b_national_id", "verified", "attested"):
        assert re.search(rf'id="{field}-group".*?invalid-feedback', html, re.S), field
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_support_request_records_verification_and_attestation(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(
        kind="support", b_national_id="١٠٠٠٠٠٠٠٠٨", verified="y", attested="y"))
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert ticket.reference.startswith("R-")
    assert ticket.beneficiary.national_id == VALID_NID
    assert ticket.verified_by_id == people.staff.id and ticket.verified_at is not None
    assert ticket.attested and ticket.attested_at is not None
    kinds = db.session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)).all()
    assert kinds == ["created", "verified", "attested", "receipt"]


def test_inquiry_never_stores_a_national_id(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(kind="inquiry", b_national_id=VALID_NID))
    assert response.status_code == 302
    assert db.session.scalar(select(Beneficiary)).national_id is None


def test_inquiry_may_have_no_beneficiary(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(kind="inquiry", b_name="", b_phone=""))
    assert response.status_code == 302
    assert db.session.scalar(select(Ticket)).beneficiary_id is None


def test_complaint_requires_a_beneficiary(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(b_name="", b_phone=""))
    assert response.status_code == 422


def test_anonymous_only_from_the_website(as_user, people, db):
    staff = as_user(people.staff)
    refused = staff.post("/tickets/new", _form(anonymous="y", b_name="", b_phone=""))
    assert refused.status_code == 422
    accepted = staff.post("/tickets/new", _form(channel="website", anonymous="y", b_name="", b_phone=""))
    assert accepted.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert ticket.anonymous and ticket.beneficiary_id is None


def test_existing_beneficiary_chosen_from_search(as_user, people, db, make_ticket):
    first = make_ticket()
    response = as_user(people.staff).post("/tickets/new", _form(
        b_name="", b_phone="", beneficiary_id=str(first.beneficiary_id), subject="شكوى ثانية"))
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Beneficiary)) == 1


def test_duplicate_national_id_is_refused_with_a_hint(as_user, people, db):
    staff = as_user(people.staff)
    staff.post("/tickets/new", _form(b_national_id=VALID_NID))
    response = staff.post("/tickets/new", _form(b_national_id=VALID_NID, b_name="شخص آخر"))
    assert response.status_code == 422
    assert 'id="b_national_id-msg"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


@pytest.mark.parametrize("query", ["أحمد", "احمد", "٠٥٠٠٠٠٠٠٠١", "0500000001", "+966500000001"])
def test_beneficiary_search_by_name_or_phone(as_user, people, make_ticket, query):
    make_ticket()  # beneficiary "أحمد محمد 1", phone +966500000001
    response = as_user(people.staff).get(f"/beneficiaries/search?beneficiary_q={query}", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "أحمد محمد 1" in html
    assert "+966500000001" not in html  # masked in results


def test_beneficiary_search_by_national_id(as_user, people, db):
    """The whole ID, in either digit set, finds the person (masked); a piece of it finds no one:
    typing prefixes must not read a masked number out digit by digit."""
    as_user(people.staff).post("/tickets/new", _form(b_national_id=VALID_NID, b_name="ليلى"))
    staff = as_user(people.staff)
    for typed in (VALID_NID, VALID_NID.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))):
        html = staff.get(f"/beneficiaries/search?beneficiary_q={typed}", htmx=True).get_data(as_text=True)
        assert "ليلى" in html and VALID_NID not in html
    for piece in (VALID_NID[:5], VALID_NID[:9], VALID_NID[1:]):
        assert "ليلى" not in staff.get(f"/beneficiaries/search?beneficiary_q={piece}", htmx=True).get_data(as_text=True)


def test_beneficiary_search_without_javascript_keeps_the_form(as_user, people, make_ticket):
    make_ticket()
    response = as_user(people.staff).post("/tickets/new", _form(action="search", beneficiary_q="احمد", subject="ابقِ هذا"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "أحمد محمد 1" in html and "ابقِ هذا" in html


def test_kind_requirements_fragment(as_user, people):
    html = as_user(people.staff).get("/tickets/new/requirements?kind=support&channel=phone", htmx=True).get_data(as_text=True)
    assert 'id="kind-needs"' in html and "<html" not in html


def test_focal_point_cannot_open_intake(as_user, people):
    assert as_user(people.focal).get("/tickets/new").status_code == 403
    assert as_user(people.focal).get("/beneficiaries/search?beneficiary_q=احمد").status_code == 404


def test_intake_without_csrf_is_refused(as_user, people, db):
    staff = as_user(people.staff)
    assert staff.post("/tickets/new", _form(), csrf=False).status_code == 400
    assert staff.post("/tickets/new", _form(), htmx=True, csrf=False).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_references_are_sequential_per_hijri_year(make_ticket):
    refs = [make_ticket().reference for _ in range(3)]
    numbers = [int(r.rsplit("-", 1)[1]) for r in refs]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


def test_a_bad_national_id_is_not_also_reported_missing(as_user, people):
    html = as_user(people.staff).post("/tickets/new", _form(kind="support", b_national_id="1234567890")).get_data(as_text=True)
    block = re.search(r'id="b_national_id-msg">(.*?)</div></div>', html, re.S).group(1)
    assert block.count("<div>") == 1


def test_support_request_for_a_known_beneficiary_without_id_completes_their_record(as_user, people, db, make_ticket):
    known = make_ticket(kind=Kind.INQUIRY).beneficiary  # on record without a national ID
    staff = as_user(people.staff)
    data = _form(kind="support", b_name="", b_phone="", beneficiary_id=str(known.id), verified="y", attested="y")
    refused = staff.post("/tickets/new", data)
    assert refused.status_code == 422 and 'id="chosen_national_id-msg"' in refused.get_data(as_text=True)
    accepted = staff.post("/tickets/new", dict(data, chosen_national_id="١٠٠٠٠٠٠٠٠٨"))
    assert accepted.status_code == 302
    db.session.refresh(known)
    assert known.national_id == VALID_NID
    assert db.session.scalar(select(func.count()).select_from(Beneficiary)) == 1


def test_new_beneficiary_with_a_known_phone_is_offered_the_existing_one(as_user, people, db, make_ticket):
    known = make_ticket().beneficiary
    staff = as_user(people.staff)
    phone = "0" + known.phone.removeprefix("+966")
    response = staff.post("/tickets/new", _form(b_name="اسم آخر", b_phone=phone))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="b_phone-msg"' in html and f'value="{known.id}"' in html  # offered to choose
    assert staff.post("/tickets/new", _form(b_name="اسم آخر", b_phone=phone, confirm_new="y")).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Beneficiary)) == 2


def test_inquiry_ignores_a_typed_national_id_even_if_invalid(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(kind="inquiry", b_national_id="1234567890"))
    assert response.status_code == 302
    assert db.session.scalar(select(Beneficiary)).national_id is None


@pytest.mark.parametrize("typed", ["0500000001", "٠٥٠٠٠٠٠٠٠١", "500000001", "+966 50 000 0001", "00966500000001",
                                   "(050) 000-0001"])
def test_phone_search_takes_the_whole_number_in_any_form(as_user, people, make_ticket, typed):
    make_ticket()  # +966500000001
    html = as_user(people.staff).get("/beneficiaries/search", query_string={"beneficiary_q": typed},
                                     htmx=True).get_data(as_text=True)
    assert "أحمد محمد 1" in html


@pytest.mark.parametrize("piece", ["٠٥٠٠", "00001", "0500000", "0500000002"])
def test_a_piece_of_a_phone_number_finds_no_one(as_user, people, make_ticket, piece):
    """The phone is matched whole, never as a fragment: the mask keeps the number hidden."""
    make_ticket()  # +966500000001
    html = as_user(people.staff).get(f"/beneficiaries/search?beneficiary_q={piece}", htmx=True).get_data(as_text=True)
    assert "أحمد محمد 1" not in html


def test_an_id_the_lookup_did_not_find_is_offered_to_the_new_beneficiary(as_user, people, db):
    """Review m7: the ID typed into the lookup had to be typed again under "record a new one"."""
    staff = as_user(people.staff)
    arabic = VALID_NID.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    html = staff.get(f"/beneficiaries/search?beneficiary_q={arabic}", htmx=True).get_data(as_text=True)
    assert f'id="beneficiary-carry" data-national-id="{VALID_NID}"' in html
    assert 'id="beneficiary-carry"' not in staff.get("/beneficiaries/search?beneficiary_q=ناصر",
                                                    htmx=True).get_data(as_text=True)  # a name: nothing to carry
    staff.post("/tickets/new", _form(b_name="ناصر", b_national_id=VALID_NID, b_phone="0551112233"))
    found = staff.get(f"/beneficiaries/search?beneficiary_q={VALID_NID}", htmx=True).get_data(as_text=True)
    assert 'id="beneficiary-carry"' not in found  # someone has it: nothing to carry
