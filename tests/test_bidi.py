"""Mixed directions (issue 19, point 4): what people type keeps its own direction inside a
page or a message of the other, and Arabic email and SMS subjects read right to left."""
from __future__ import annotations

import re

from flask_babel import force_locale
from sqlalchemy import select

from desk.models import OutboxMessage
from desk.notify.service import notify_beneficiary
from desk.text import normalize_reference

ENGLISH = "When will rent support be distributed?"


def test_an_english_subject_is_isolated_in_the_arabic_queue_and_header(as_user, people, make_ticket, db):
    ticket = make_ticket(subject=ENGLISH)
    staff = as_user(people.staff)
    queue = staff.get("/tickets").get_data(as_text=True)
    assert f'<bdi dir="auto">{ENGLISH}</bdi>' in queue
    page = staff.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert re.search(r'<h1[^>]*dir="auto"[^>]*>' + re.escape(ENGLISH), page)


def test_a_name_is_isolated_and_escaped(app):
    with app.test_request_context():
        render = app.jinja_env.from_string("{{ name|bdi }}").render
        assert render(name="<b>Ali</b>") == '<bdi dir="auto">&lt;b&gt;Ali&lt;/b&gt;</bdi>'
        assert render(name="") == ""


def test_the_beneficiarys_email_subject_puts_the_reference_last(app, db, people, make_ticket):
    from desk.beneficiaries.service import NewBeneficiary
    ticket = make_ticket(subject=ENGLISH, new_beneficiary=NewBeneficiary(name="نورة", phone="+966512345678", email="noura@example.net"))
    with app.test_request_context():
        notify_beneficiary(db.session, "reply", ticket, note="نص الرد")
    db.session.commit()
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == "noura@example.net",
                                                             OutboxMessage.reason == "reply")).one()
    subject = message.subject
    assert subject.endswith(f"[{ticket.reference}]") and not subject.startswith("[")
    first_strong = next(c for c in subject if c.isalpha())
    assert "\u0600" <= first_strong <= "\u06ff"  # a mail client lays it out right to left
    assert "المستفيد/ة الكريم/ة نورة،" in message.body_text


def test_an_english_readers_subject_keeps_the_reference_first(app):
    with app.test_request_context(), force_locale("en"):
        line = app.jinja_env.globals["subject_line"]
        assert line("We received your request", "C-1448-000001") == "[C-1448-000001] We received your request"
    with app.test_request_context(), force_locale("ar"):
        assert line("وصلنا طلبك", "C-1448-000001", ENGLISH) == f"وصلنا طلبك: \u2068{ENGLISH}\u2069 [C-1448-000001]"


def test_a_reference_pasted_from_an_sms_is_found():
    for typed in ("C-1447-000123", "c 1447 000123", "\u2066C-1447-000123\u2069", "\u200eC–1447–000123",
                  "C1447000123", "C-١٤٤٧-٠٠٠١٢٣"):
        assert normalize_reference(typed) == "C-1447-000123", typed
    assert normalize_reference("nonsense") == "NONSENSE"
