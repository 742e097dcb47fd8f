"""The beneficiary portal (issue 6): submit, confirmation, tracking, replies (and the reopen rule
of issue 5), the satisfaction survey, the directory, the association's profile, and the safety
rules: rate limits, honeypot, no existence oracle, attachments, escaping, tracking keys."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from desk.models import (
    Association,
    Attachment,
    Beneficiary,
    EventKind,
    OutboxMessage,
    SatisfactionResponse,
    Status,
    Ticket,
    TicketEvent,
    utcnow,
)
from desk.portal import satisfaction, tracking
from desk.tickets import actions
from tests.conftest import VALID_NID
from tests.images import PNG

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
LINK = re.compile(r'href="(http://[^"]+/portal/t/[^"]+/[^"]+)"')


def _form(**overrides) -> dict:
    data = {"kind": "complaint", "name": "سارة العتيبي", "phone": "0551234567", "email": "sara@example.com",
            "subject": "تأخر صرف السلة الغذائية", "body": "لم تصلني السلة الغذائية لهذا الشهر"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def submit(browser, files=None, **overrides):
    data = _form(**overrides)
    if files:
        data["files"] = [(io.BytesIO(content), name) for name, content in files]
        data.setdefault("consent", "y")  # documents need the consent tick (test_privacy_notice)
    return browser.post("/portal/new", data, content_type="multipart/form-data")


def _only_ticket(db) -> Ticket:
    db.session.expire_all()
    return db.session.scalars(select(Ticket)).one()


def _events(db, ticket, kind=None):
    q = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    if kind:
        q = q.where(TicketEvent.kind == kind)
    return db.session.scalars(q).all()


# Submitting -----------------------------------------------------------------------------

def test_a_complaint_lands_in_the_shared_queue_as_a_website_ticket(db, people, visitor):
    from desk.sla.service import ensure_default_targets
    ensure_default_targets(db.session)
    v = visitor()
    response = submit(v)
    assert response.status_code == 303
    ticket = _only_ticket(db)
    assert response.headers["Location"].endswith(f"/portal/received/{ticket.reference}")
    assert (ticket.channel, ticket.kind, ticket.status) == ("website", "complaint", Status.NEW)
    assert ticket.created_by_id is None and ticket.meta["contact"] == {
        "name": "سارة العتيبي", "phone": "+966551234567", "email": "sara@example.com", "national_id": None}
    created = _events(db, ticket, EventKind.CREATED)[0]
    assert created.actor_id is None and created.reason == "portal"
    assert ticket.beneficiary.name == "سارة العتيبي" and ticket.beneficiary.created_by_id is None
    assert ticket.due_at is not None  # service levels apply as for any ticket

    page = v.get(response.headers["Location"]).get_data(as_text=True)
    assert ticket.reference in page
    link = LINK.search(page).group(1)
    key = link.rsplit("/", 1)[1]
    assert len(key) >= 32 and ticket.access_key_hash == tracking.digest(key) and key not in ticket.access_key_hash
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "received")).one()
    assert message.to_address == "sara@example.com" and link in message.body_text
    assert ticket.reference in message.subject


def test_a_typed_national_id_never_finds_or_fills_a_record(db, people, visitor, make_ticket):
    """Anyone can type anyone's national ID: it stays with the request, unverified, and never
    attaches the request to the registered person nor enters the register (handling step 2)."""
    earlier = make_ticket(kind="complaint")
    b = earlier.beneficiary
    b.national_id = VALID_NID
    db.session.commit()
    response = submit(visitor(), kind="support", name="اسم آخر", phone="٠٥٩٩٩٩٩٩٩٩",
                      national_id="".join(chr(0x660 + int(d)) for d in VALID_NID), attested="y")
    assert response.status_code == 303, response.get_data(as_text=True)
    db.session.expire_all()
    ticket = db.session.scalars(select(Ticket).where(Ticket.channel == "website")).one()
    assert ticket.beneficiary_id != b.id and ticket.attested
    assert ticket.beneficiary.national_id is None and ticket.meta["contact"]["national_id"] == VALID_NID
    assert ticket.meta["contact"]["phone"] == "+966599999999"
    assert b.name not in ticket.search_text


def test_the_same_name_and_mobile_join_the_registered_record_unchanged(db, people, visitor, make_ticket):
    b = make_ticket(kind="complaint").beneficiary
    name, phone, email = b.name, b.phone, b.email
    assert submit(visitor(), name=name, phone=phone, email="new@example.com").status_code == 303
    db.session.expire_all()
    ticket = db.session.scalars(select(Ticket).where(Ticket.channel == "website")).one()
    assert ticket.beneficiary_id == b.id
    assert (db.session.get(Beneficiary, b.id).phone, db.session.get(Beneficiary, b.id).email) == (phone, email)


def test_errors_are_shown_by_their_fields_and_nothing_typed_is_lost(db, people, visitor):
    v = visitor()
    v.post("/language", {"locale": "en", "next": "/portal/new"})  # the messages below, in English
    response = submit(v, kind="support", name="", phone="12", subject="", body="النص الذي كتبته")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for message in ("Enter your name.", "Enter a valid mobile number", "Enter a subject.",
                    "A national ID or iqama number is required", "Confirm that the data is correct"):
        assert message in page, message
    assert "النص الذي كتبته" in page and 'value="12"' in page
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert db.session.scalar(select(func.count(Beneficiary.id))) == 0


def test_national_id_is_not_kept_for_an_inquiry(db, people, visitor):
    assert submit(visitor(), kind="inquiry", national_id=VALID_NID).status_code == 303
    ticket = _only_ticket(db)
    assert ticket.beneficiary.national_id is None


def test_anonymous_complaint_keeps_no_personal_data_and_anonymous_inquiry_is_refused(db, people, visitor):
    v = visitor()
    assert submit(v, kind="inquiry", anonymous="y").status_code == 422
    response = submit(v, kind="complaint", anonymous="y")
    assert response.status_code == 303
    ticket = _only_ticket(db)
    assert ticket.anonymous and ticket.beneficiary_id is None and ticket.meta["contact"] == {}
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    assert db.session.scalar(select(func.count(Beneficiary.id))) == 0
    # The private link is the only way in: the page says so.
    assert "/portal/t/" in v.get(response.headers["Location"]).get_data(as_text=True)


def test_the_honeypot_records_nothing(db, people, visitor):
    response = submit(visitor(), leave_empty="http://spam.example")
    assert response.status_code == 200
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_the_form_needs_its_csrf_token(db, people, visitor):
    response = visitor().post("/portal/new", _form(), csrf=False)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


# Attachments ------------------------------------------------------------------------------

def test_documents_are_stored_by_their_bytes_and_served_as_downloads(app, db, people, visitor):
    v = visitor()
    response = submit(v, files=[("تقرير.pdf", PDF), ("photo.png", PNG)])
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    ticket = _only_ticket(db)
    files = db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id)).all()
    assert [(f.filename, f.content_type, f.uploaded_by_id) for f in files] == [
        ("تقرير.pdf", "application/pdf", None), ("photo.png", "image/png", None)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", f.stored_name) for f in files)
    assert "static" not in app.config["DESK_ATTACHMENT_DIR"]
    download = v.get(f"/portal/t/{ticket.reference}/files/{files[0].id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert visitor(ip="198.51.100.1").get(f"/portal/t/{ticket.reference}/files/{files[0].id}").status_code == 403


@pytest.mark.parametrize("name, content", [
    ("page.html", b"<html><script>alert(1)</script></html>"),
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    ("setup.exe", b"MZ\x90\x00" + b"\x00" * 60),
    ("scan.png", PDF),  # a PDF named .png: the name must agree with the bytes
])
def test_dangerous_or_mislabelled_documents_are_refused_and_nothing_is_written(app, db, people, visitor, name, content):
    import os
    before = set(os.listdir(app.config["DESK_ATTACHMENT_DIR"])) if os.path.isdir(app.config["DESK_ATTACHMENT_DIR"]) else set()
    response = submit(visitor(), files=[(name, content)])
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert set(os.listdir(app.config["DESK_ATTACHMENT_DIR"])) == before
    assert "تقرير" not in response.get_data(as_text=True)  # (sanity: the page is the form again)
    assert 'name="subject"' in response.get_data(as_text=True)


def test_at_most_five_documents_and_each_under_the_size_limit(app, db, people, visitor, monkeypatch):
    v = visitor()
    assert submit(v, files=[(f"d{i}.pdf", PDF) for i in range(6)]).status_code == 422
    app.config["DESK_ATTACHMENT_MAX_MB"] = 0.0001  # ~100 bytes
    try:
        assert submit(v, files=[("big.pdf", PDF + b"0" * 200)]).status_code == 422
    finally:
        app.config["DESK_ATTACHMENT_MAX_MB"] = 10
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


# Tracking -----------------------------------------------------------------------------

def _submitted(db, v, **overrides):
    response = submit(v, **overrides)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    page = v.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    ticket = db.session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
    return ticket, LINK.search(page).group(1)


def test_the_private_link_opens_the_request_and_leaves_the_address_bar(db, people, visitor):
    ticket, link = _submitted(db, visitor())
    other = visitor(ip="198.51.100.2")
    assert other.get(f"/portal/t/{ticket.reference}").status_code == 403  # no grant yet
    path = link.split("://", 1)[1].split("/", 1)[1]
    opened = other.get("/" + path)
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/portal/t/{ticket.reference}")
    page = other.get(f"/portal/t/{ticket.reference}")
    assert page.status_code == 200 and ticket.subject in page.get_data(as_text=True)


def test_a_wrong_key_or_another_reference_reveals_nothing(db, people, visitor):
    v = visitor()
    first, link = _submitted(db, v)
    second, _ = _submitted(db, v, subject="طلب آخر")
    key = link.rsplit("/", 1)[1]
    stranger = visitor(ip="198.51.100.3")
    wrong_key = stranger.get(f"/portal/t/{first.reference}/{key[:-1]}{'y' if key.endswith('x') else 'x'}")
    swapped = stranger.get(f"/portal/t/{second.reference}/{key}")
    missing = stranger.get(f"/portal/t/C-1400-999999/{key}")
    assert wrong_key.status_code == swapped.status_code == missing.status_code == 404
    strip = lambda r: re.sub(r'(value|content)="[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(wrong_key) == strip(swapped) == strip(missing)
    assert stranger.get(f"/portal/t/{second.reference}").status_code == 403


def test_reference_and_phone_find_the_request_and_a_miss_tells_nothing(db, people, visitor):
    ticket, _ = _submitted(db, visitor())
    v = visitor(ip="198.51.100.4")
    found = v.post("/portal/track", {"reference": ticket.reference.lower(), "phone": "+966 55 123 4567"})
    assert found.status_code == 303 and v.get(f"/portal/t/{ticket.reference}").status_code == 200
    w = visitor(ip="198.51.100.5")
    wrong_phone = w.post("/portal/track", {"reference": ticket.reference, "phone": "0550000000"})
    no_such = w.post("/portal/track", {"reference": "C-1400-999999", "phone": "0551234567"})
    assert wrong_phone.status_code == no_such.status_code == 422
    strip = lambda r: re.sub(r'(value|content)="[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(wrong_phone) == strip(no_such)


def test_a_signed_link_from_a_message_opens_the_request_and_a_forged_one_does_not(app, db, people, visitor):
    ticket, _ = _submitted(db, visitor())
    token = tracking.signed_link_token(app.config["SECRET_KEY"], ticket)
    v = visitor(ip="198.51.100.6")
    assert v.get(f"/portal/o/{token[:-2]}xx").status_code == 404
    assert v.get(f"/portal/o/{tracking.signed_link_token('another secret', ticket)}").status_code == 404
    assert v.get(f"/portal/o/{token}").status_code == 303
    assert v.get(f"/portal/t/{ticket.reference}").status_code == 200


# What the beneficiary sees -----------------------------------------------------------------

def test_internal_notes_and_staff_names_stay_inside(app, db, people, visitor):
    from desk.tickets.service import add_comment
    v = visitor()
    ticket, _ = _submitted(db, v)
    ticket = db.session.get(Ticket, ticket.id)
    add_comment(db.session, people.staff, ticket, "ملاحظة داخلية سرية", public=False, expected_version=ticket.version)
    add_comment(db.session, people.staff, ticket, "نعتذر عن التأخير وسنتواصل معك", public=True,
                expected_version=ticket.version)
    page = v.get(f"/portal/t/{ticket.reference}").get_data(as_text=True)
    assert "نعتذر عن التأخير" in page and "ملاحظة داخلية سرية" not in page and people.staff.name not in page
    # The reply was also emailed, with a signed link back to the portal (not into the desk).
    reply = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "reply")).one()
    assert "/portal/o/" in reply.body_text and "/tickets/" not in reply.body_text
    db.session.merge(Association(id=1, name_ar="جمعية", name_en="Assoc", show_staff_names=True, reopen_days=14))
    db.session.commit()
    assert people.staff.name in v.get(f"/portal/t/{ticket.reference}").get_data(as_text=True)


XSS = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "<svg/onload=alert(1)>",
       "javascript:alert(1)//<a href='javascript:alert(1)'>x</a>"]


def test_everything_typed_is_escaped_everywhere(db, people, visitor, as_user):
    v = visitor()
    ticket, _ = _submitted(db, v, name=XSS[1], subject=XSS[0], body="\n".join(XSS))
    assert v.post(f"/portal/t/{ticket.reference}/reply", {"body": XSS[2]},
                  content_type="multipart/form-data").status_code == 303
    staff = as_user(people.staff)
    pages = {
        "portal": v.get(f"/portal/t/{ticket.reference}"),
        "ticket": staff.get(f"/tickets/{ticket.reference}"),
        "queue": staff.get("/tickets"),
        "queue search": staff.get("/tickets?q=alert"),
    }
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert response.status_code == 200, name
        for payload in XSS:
            assert payload not in html, (name, payload)
        assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", ""), name
        assert "&lt;script&gt;" in html or "&lt;svg" in html or name.startswith("queue"), name
    # Messages leave as text/plain: a payload in them is text, never markup.
    from flask import current_app

    from desk.notify.mail import MailSettings, build
    settings = MailSettings.from_config(current_app.config)
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert messages and all(build(m, settings).get_content_type() == "text/plain" for m in messages)


# Writing back and the reopen rule --------------------------------------------------------

def _resolve(db, actor, ticket):
    ticket = db.session.get(Ticket, ticket.id)
    actions.resolve(db.session, actor, ticket, "تم صرف السلة", expected_version=ticket.version)
    return db.session.get(Ticket, ticket.id)


def test_a_reply_moves_a_waiting_ticket_back_to_the_department(db, people, visitor):
    v = visitor()
    ticket, _ = _submitted(db, v)
    ticket = db.session.get(Ticket, ticket.id)
    ticket.department_id = people.social.id  # routed to SOCIAL, whose focal point is told
    db.session.commit()
    actions.request_info(db.session, people.staff, ticket, "أرسل صورة الهوية", expected_version=ticket.version)
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.status == Status.WAITING
    response = v.post(f"/portal/t/{ticket.reference}/reply", {"body": "أرفقت الصورة", "consent": "y",
                                                              "files": [(io.BytesIO(PNG), "id.png")]},
                      content_type="multipart/form-data")
    assert response.status_code == 303
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.status == Status.OPEN
    status = _events(db, ticket, EventKind.STATUS)[-1]
    assert (status.old_value, status.new_value, status.actor_id, status.reason) == ("waiting", "open", None, "portal")
    reply = _events(db, ticket, EventKind.BENEFICIARY_REPLY)[-1]
    assert reply.body == "أرفقت الصورة" and reply.public
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "beneficiary_wrote")).all()
    assert [m.to_address for m in told] == [people.focal.email]


def test_a_reply_soon_after_resolution_reopens_and_later_starts_a_linked_ticket(db, people, visitor):
    v = visitor()
    ticket, _ = _submitted(db, v)
    ticket = db.session.get(Ticket, ticket.id)
    resolver = people.staff
    ticket = _resolve(db, resolver, ticket)
    assert v.post(f"/portal/t/{ticket.reference}/reply", {"body": "لم تصل السلة بعد"},
                  content_type="multipart/form-data").status_code == 303
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.status == Status.OPEN and ticket.resolved_at is None

    ticket = _resolve(db, resolver, ticket)
    ticket.resolved_at = utcnow() - timedelta(days=15)  # past the 14-day window
    db.session.commit()
    response = v.post(f"/portal/t/{ticket.reference}/reply", {"body": "المشكلة عادت"}, content_type="multipart/form-data")
    assert response.status_code == 303
    db.session.expire_all()
    old = db.session.get(Ticket, ticket.id)
    new = db.session.scalars(select(Ticket).where(Ticket.id != old.id)).one()
    assert old.status == Status.RESOLVED
    assert (new.kind, new.channel, new.beneficiary_id, new.meta["follows"]) == (old.kind, "website", old.beneficiary_id, old.reference)
    assert _events(db, old, EventKind.LINKED)[0].reason == f"followed_by:{new.id}"
    assert _events(db, new, EventKind.LINKED)[0].reason == f"follows:{old.id}"
    assert _events(db, new, EventKind.BENEFICIARY_REPLY)[0].body == "المشكلة عادت"
    assert response.headers["Location"].endswith(f"/portal/received/{new.reference}")
    assert v.get(f"/portal/t/{new.reference}").status_code == 200


def test_an_empty_reply_is_refused(db, people, visitor):
    v = visitor()
    ticket, _ = _submitted(db, v)
    response = v.post(f"/portal/t/{ticket.reference}/reply", {"body": "  "}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert not _events(db, ticket, EventKind.BENEFICIARY_REPLY)


# The satisfaction survey ---------------------------------------------------------------------

def test_resolution_sends_the_survey_and_the_answer_feeds_the_statistics(app, db, people, visitor):
    v = visitor()
    ticket, _ = _submitted(db, v)
    assert v.get(f"/portal/t/{ticket.reference}/rate").status_code == 200  # not open yet: says so
    assert v.post(f"/portal/t/{ticket.reference}/rate", {"rating": "5", "solved": "yes"}).status_code == 422
    ticket = _resolve(db, people.staff, db.session.get(Ticket, ticket.id))
    survey = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "survey")).one()
    path = "/portal/s/" + re.search(r"/portal/s/(\S+)", survey.body_text).group(1)
    other = visitor(ip="198.51.100.9")
    opened = other.get(path)
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/portal/t/{ticket.reference}/rate")
    assert other.post(f"/portal/t/{ticket.reference}/rate", {"rating": "9", "solved": "yes"}).status_code == 422
    assert other.post(f"/portal/t/{ticket.reference}/rate", {"rating": "4", "solved": "no", "comment": "تأخر قليلا"}).status_code == 303
    answer = db.session.scalars(select(SatisfactionResponse)).one()
    assert (answer.rating, answer.solved, answer.comment, answer.source, answer.channel, answer.kind,
            answer.department_id) == (4, False, "تأخر قليلا", "beneficiary", "website", "complaint", ticket.department_id)
    assert _events(db, ticket, EventKind.SATISFACTION)[0].new_value == "4"
    # Editable for seven days, then not.
    assert other.post(f"/portal/t/{ticket.reference}/rate", {"rating": "5", "solved": "yes"}).status_code == 303
    db.session.expire_all()
    answer = db.session.scalars(select(SatisfactionResponse)).one()
    assert answer.rating == 5
    answer.created_at = utcnow() - timedelta(days=8)
    db.session.commit()
    assert other.post(f"/portal/t/{ticket.reference}/rate", {"rating": "1", "solved": "no"}).status_code == 422
    # A second resolution sends no second survey once answered.
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.reason == "survey")) == 1


def test_staff_record_the_survey_for_phone_tickets_only(db, people, make_ticket, as_user):
    phone_ticket = make_ticket(channel="phone")
    website_ticket = make_ticket(channel="website")
    for t in (phone_ticket, website_ticket):
        _resolve(db, people.staff, t)
    staff = as_user(people.staff)
    refused = staff.post(f"/tickets/{website_ticket.reference}/satisfaction", {"rating": "5", "solved": "yes"})
    assert refused.status_code == 422
    recorded = staff.post(f"/tickets/{phone_ticket.reference}/satisfaction", {"rating": "3", "solved": "yes"}, htmx=True)
    assert recorded.status_code == 200 and "ticket-satisfaction" in recorded.get_data(as_text=True)
    answer = db.session.scalars(select(SatisfactionResponse)).one()
    assert (answer.source, answer.recorded_by_id, answer.rating) == ("staff", people.staff.id, 3)
    # Another department's focal point cannot even see the ticket.
    stranger = as_user(people.other_focal)
    assert stranger.post(f"/tickets/{phone_ticket.reference}/satisfaction", {"rating": "1", "solved": "no"}).status_code == 404


def test_a_second_answer_racing_the_first_is_refused_by_the_database(db, people, make_ticket, monkeypatch):
    """Two answers at once: both saw none; the unique key keeps one and the other is told."""
    from desk.errors import ValidationFailed
    ticket = _resolve(db, people.staff, make_ticket(channel="phone"))
    satisfaction.record(db.session, ticket, satisfaction.Answer(5, True))
    monkeypatch.setattr(satisfaction, "survey_answer", lambda session, t: None)  # the racer saw no answer
    with pytest.raises(ValidationFailed):
        satisfaction.record(db.session, ticket, satisfaction.Answer(1, False))
    db.session.expire_all()
    assert [a.rating for a in db.session.scalars(select(SatisfactionResponse))] == [5]


# Directory, branding ---------------------------------------------------------------------------

def test_the_directory_lists_published_departments_by_title(db, people, visitor):
    people.social.published, people.social.contact_title_ar, people.social.phone_ext = True, "ضابط اتصال البحث", "201"
    people.social.email = "social@example.org"
    db.session.commit()
    page = visitor().get("/portal/directory").get_data(as_text=True)
    assert "ضابط اتصال البحث" in page and "201" in page and "social@example.org" in page
    assert people.aid.name_ar not in page and people.focal.name not in page


def test_the_admin_sets_the_association_profile_and_logo(db, people, as_user, visitor):
    admin = as_user(people.admin)
    data = {"name_ar": "جمعية الخير", "name_en": "Al-Khair", "phone": "920001234", "reopen_days": "٧",
            "show_staff_names": "", "logo": (io.BytesIO(PNG), "logo.png")}
    saved = admin.post("/admin/association", data, content_type="multipart/form-data")
    assert saved.status_code == 303, saved.get_data(as_text=True)[:300]
    row = db.session.get(Association, 1)
    assert (row.name_ar, row.reopen_days, row.logo_content_type) == ("جمعية الخير", 7, "image/png")
    home = visitor().get("/portal/").get_data(as_text=True)
    assert "جمعية الخير" in home and "920001234" in home
    assert visitor().get("/portal/logo").data == PNG
    # The messages to beneficiaries carry the association's name as the admin set it.
    assert submit(visitor(ip="198.51.100.20")).status_code == 303
    received = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "received")).one()
    assert "جمعية الخير" in received.body_text
    bad = admin.post("/admin/association", {"name_ar": "", "reopen_days": "كثير", "phone": "123"})
    assert bad.status_code == 422 and 'value="123"' in bad.get_data(as_text=True)
    assert as_user(people.staff).get("/admin/association").status_code == 404


# Limits -----------------------------------------------------------------------------------------

def test_submissions_are_rate_limited_per_address_and_per_phone(app, db, people, visitor):
    app.config["DESK_PORTAL_SUBMIT_LIMIT"] = "3 per minute"
    app.config["DESK_PORTAL_PHONE_LIMIT"] = "2 per minute"
    try:
        v = visitor(ip="192.0.2.10")
        codes = [submit(v, phone=f"055000000{i}").status_code for i in range(4)]
        assert codes == [303, 303, 303, 429]
        same_phone = [submit(visitor(ip=f"192.0.2.{20 + i}"), phone="0559999999").status_code for i in range(3)]
        assert same_phone == [303, 303, 429]
    finally:
        app.config["DESK_PORTAL_SUBMIT_LIMIT"] = "5 per minute;20 per hour"
        app.config["DESK_PORTAL_PHONE_LIMIT"] = "5 per minute;20 per hour"


def test_tracking_guesses_are_rate_limited(app, db, people, visitor):
    app.config["DESK_PORTAL_TRACK_LIMIT"] = "3 per minute"
    try:
        v = visitor(ip="192.0.2.50")
        codes = [v.post("/portal/track", {"reference": f"C-1448-00000{i}", "phone": f"05500000{i}0"}).status_code
                 for i in range(4)]
        assert codes == [422, 422, 422, 429]
    finally:
        app.config["DESK_PORTAL_TRACK_LIMIT"] = "10 per minute;60 per hour"


def test_the_portal_works_in_english_too(db, people, visitor):
    v = visitor()
    v.post("/language", {"locale": "en", "next": "/portal/new"})
    page = v.get("/portal/new").get_data(as_text=True)
    assert 'lang="en"' in page and "What would you like to send?" in page


# Review follow-ups -------------------------------------------------------------------------------

def test_a_stranger_cannot_spend_a_tickets_reply_allowance(app, db, people, visitor):
    app.config["DESK_PORTAL_REPLY_LIMIT"] = "2 per minute"
    try:
        owner = visitor(ip="192.0.2.60")
        ticket, _ = _submitted(db, owner)
        stranger = visitor(ip="192.0.2.61")
        for reference in (ticket.reference, ticket.reference.lower()):  # (their own address's limit is 2)
            assert stranger.post(f"/portal/t/{reference}/reply", {"body": "x"},
                                 content_type="multipart/form-data").status_code == 403
        codes = [owner.post(f"/portal/t/{ref}/reply", {"body": "سؤال"}, content_type="multipart/form-data").status_code
                 for ref in (ticket.reference, ticket.reference.lower(), ticket.reference)]
        assert codes == [303, 303, 429]  # the ticket's allowance, whatever the spelling of its reference
    finally:
        app.config["DESK_PORTAL_REPLY_LIMIT"] = "10 per minute;60 per hour"


def test_a_reply_on_a_support_request_the_committee_decided_opens_a_new_request(db, people, visitor):
    v = visitor()
    ticket, _ = _submitted(db, v)
    ticket = db.session.get(Ticket, ticket.id)
    ticket = _resolve(db, people.staff, ticket)
    ticket.kind = "support"
    ticket.meta = {**ticket.meta, "committee": {"decision": "rejected"}}
    db.session.commit()
    assert v.post(f"/portal/t/{ticket.reference}/reply", {"body": "أعترض على القرار"},
                  content_type="multipart/form-data").status_code == 303
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == Status.RESOLVED  # only the committee reverses it
    new = db.session.scalars(select(Ticket).where(Ticket.id != ticket.id)).one()
    assert new.meta["follows"] == ticket.reference and "committee" not in new.meta


def test_asking_for_information_reaches_the_beneficiary_with_a_link(db, people, visitor):
    v = visitor()
    ticket, _ = _submitted(db, v, anonymous="y")  # anonymous: only the private link reaches them
    ticket = db.session.get(Ticket, ticket.id)
    actions.request_info(db.session, people.staff, ticket, "أرسل رقم الطلب السابق", expected_version=ticket.version)
    assert db.session.get(Ticket, ticket.id).status == Status.WAITING
    ticket, _ = _submitted(db, visitor(ip="198.51.100.30"))
    ticket = db.session.get(Ticket, ticket.id)
    actions.request_info(db.session, people.staff, ticket, "أرسل صورة الصك", expected_version=ticket.version)
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "info_requested")).one()
    assert message.to_address == "sara@example.com" and "أرسل صورة الصك" in message.body_text
    assert "/portal/o/" in message.body_text


def test_staff_documents_never_reach_the_portal(app, db, people, visitor, tmp_path):
    from desk.attachments import service as attachment_service
    v = visitor()
    ticket, _ = _submitted(db, v)
    ticket = db.session.get(Ticket, ticket.id)
    inside = attachment_service.add(db.session, people.staff, ticket, attachment_service.Upload(io.BytesIO(PDF), "داخلي.pdf"),
                                    directory=app.config["DESK_ATTACHMENT_DIR"], max_bytes=1024 * 1024)
    assert v.get(f"/portal/t/{ticket.reference}/files/{inside.id}").status_code == 404
    assert "داخلي.pdf" not in v.get(f"/portal/t/{ticket.reference}").get_data(as_text=True)


def test_a_focal_point_does_not_rate_their_own_department(db, people, make_ticket, as_user):
    ticket = _resolve(db, people.staff, make_ticket(channel="phone"))
    focal = as_user(people.focal)  # SOCIAL's focal point: the ticket is SOCIAL's
    assert focal.get(f"/tickets/{ticket.reference}").status_code == 200
    assert focal.post(f"/tickets/{ticket.reference}/satisfaction", {"rating": "5", "solved": "yes"}).status_code == 403
    assert db.session.scalar(select(func.count(SatisfactionResponse.id))) == 0


def test_too_many_and_too_large_answer_in_the_portals_words(app, db, people, visitor):
    app.config["DESK_PORTAL_TRACK_LIMIT"] = "1 per minute"
    try:
        v = visitor(ip="192.0.2.77")
        v.post("/portal/track", {"reference": "C-1448-000001", "phone": "0551234567"})
        refused = v.post("/portal/track", {"reference": "C-1448-000001", "phone": "0551234567"})
        assert refused.status_code == 429 and "portal-header" in refused.get_data(as_text=True)
    finally:
        app.config["DESK_PORTAL_TRACK_LIMIT"] = "10 per minute;60 per hour"
    app.config["DESK_PORTAL_MAX_REQUEST"] = 2000
    try:
        big = submit(visitor(ip="192.0.2.78"), files=[("a.pdf", PDF + b"0" * 5000)])
        assert big.status_code == 413 and "portal-header" in big.get_data(as_text=True)
    finally:
        app.config["DESK_PORTAL_MAX_REQUEST"] = 51 * 1024 * 1024
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_mistakes_do_not_spend_the_submission_allowance(app, db, people, visitor):
    app.config["DESK_PORTAL_SUBMIT_LIMIT"] = "2 per minute"
    try:
        v = visitor(ip="192.0.2.90")
        assert [submit(v, subject="").status_code for _ in range(3)] == [422, 422, 422]
        assert [submit(v, phone=f"05500009{i}0").status_code for i in range(3)] == [303, 303, 429]
    finally:
        app.config["DESK_PORTAL_SUBMIT_LIMIT"] = "5 per minute;20 per hour"


def test_the_outcome_message_reaches_the_beneficiary_with_the_survey(db, people, visitor):
    v = visitor()
    ticket, _ = _submitted(db, v)
    ticket = db.session.get(Ticket, ticket.id)
    actions.resolve(db.session, people.staff, ticket, "سُجلت الأسرة في قائمة التوزيع (داخلي)",
                    expected_version=ticket.version, message="ستصلكم السلة يوم الأحد القادم")
    survey = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "survey")).one()
    assert "ستصلكم السلة يوم الأحد القادم" in survey.body_text and "داخلي" not in survey.body_text
    page = v.get(f"/portal/t/{ticket.reference}").get_data(as_text=True)
    assert "ستصلكم السلة يوم الأحد القادم" in page and "داخلي" not in page


def test_a_status_the_reply_changed_is_not_credited_to_the_beneficiary(db, people, visitor):
    from flask import current_app

    from desk.portal import profile
    from desk.portal.service import public_timeline
    v = visitor()
    ticket, _ = _submitted(db, v)
    ticket = _resolve(db, people.staff, db.session.get(Ticket, ticket.id))
    v.post(f"/portal/t/{ticket.reference}/reply", {"body": "لم يُحل"}, content_type="multipart/form-data")
    events = public_timeline(db.session, db.session.get(Ticket, ticket.id), profile.get(db.session, current_app.config))
    mine = [(e.kind, e.by_beneficiary) for e in events if e.kind in ("status", "ben_reply", "created")]
    assert mine == [("created", True), ("status", False), ("ben_reply", True)]


def test_guessing_one_requests_phone_from_many_addresses_is_limited(app, db, people, visitor):
    app.config["DESK_PORTAL_TRACK_LIMIT"] = "3 per minute"
    try:
        codes = [visitor(ip=f"192.0.2.{100 + i}").post(
            "/portal/track", {"reference": "c-1448-000007" if i % 2 else "C-1448-000007", "phone": f"05500000{i}1"}).status_code
            for i in range(4)]
        assert codes == [422, 422, 422, 429]
    finally:
        app.config["DESK_PORTAL_TRACK_LIMIT"] = "10 per minute;60 per hour"
