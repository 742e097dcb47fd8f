"""The mobile field takes only what an SMS or WhatsApp message reaches (issue 19, point 6):
Saudi 05… in every written form and foreign mobiles; landlines, 920 and 800 numbers go to the
landline field; numbers recorded before stay and are flagged, and get no SMS."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desk.beneficiaries.service import NewBeneficiary
from desk.models import Beneficiary, OutboxMessage, Ticket
from desk.notify.service import notify_beneficiary
from desk.text import InvalidPhone, is_mobile, parse_mobile
from tests.test_intake import _form


@pytest.mark.parametrize("typed", ["0501234567", "501234567", "+966501234567", "00966501234567", "966501234567",
                                   "+966 50 123 4567", "٠٥٠١٢٣٤٥٦٧", "(050) 123-4567", "\u2066+966501234567\u2069"])
def test_saudi_mobiles_in_every_written_form(typed):
    assert parse_mobile(typed) == "+966501234567"


def test_a_foreign_mobile_is_a_mobile():
    assert parse_mobile("+971501234567") == "+971501234567"


@pytest.mark.parametrize("typed", ["0112345678", "+966112345678", "920001234", "8001234567"])
def test_landline_unified_and_toll_free_numbers_are_not_mobiles(typed):
    with pytest.raises(InvalidPhone) as refused:
        parse_mobile(typed)
    assert refused.value.reason in ("not_mobile", "invalid")


def test_is_mobile():
    assert is_mobile("+966501234567") and not is_mobile("+966112345678") and not is_mobile(None)
    assert not is_mobile("garbage")


def test_intake_refuses_a_landline_as_mobile_and_keeps_what_was_typed(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(b_phone="0112345678"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="b_phone-msg"' in html and "0112345678" in html
    assert "text messages cannot reach it" in html or "لا تصله الرسائل النصية" in html
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_intake_keeps_a_landline_in_its_own_field(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(b_landline="011 234 5678"))
    assert response.status_code == 302
    person = db.session.scalar(select(Beneficiary))
    assert (person.phone, person.landline) == ("+966501234567", "+966112345678")


def test_a_landline_alone_reaches_the_beneficiary_by_phone(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(b_phone="", b_landline="0112345678"))
    assert response.status_code == 302


def test_a_landline_recorded_before_is_kept_flagged_and_gets_no_sms(app, as_user, people, make_ticket, db, monkeypatch):
    ticket = make_ticket(new_beneficiary=NewBeneficiary(name="سارة", phone="+966112345678"))
    assert ticket.beneficiary.phone == "+966112345678" and not ticket.beneficiary.phone_is_mobile
    page = as_user(people.staff).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "desk-not-mobile" in page
    monkeypatch.setattr("desk.channels.sms.enabled", lambda: True)
    with app.test_request_context():
        notify_beneficiary(db.session, "received", ticket, link="http://x/")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.channel == "sms")) == 0
    mobile = make_ticket(new_beneficiary=NewBeneficiary(name="منى", phone="+966501234567"))  # its receipt: one SMS
    with app.test_request_context():
        notify_beneficiary(db.session, "received", mobile, link="http://x/")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.channel == "sms")) == 2
