"""Saved replies (issue 18, point 1): kept desk-wide by admins and per department by its focal
points, placeholders checked on save and filled for the ticket in its language, offered in the
reply box by a search-as-you-type picker, and counted when a reply that used one is sent."""
from __future__ import annotations

import re

import pytest

from desk.errors import NotFound, ValidationFailed
from desk.models import Association, SavedReply, Ticket
from desk.notify import service as notify_service
from desk.portal import tracking
from desk.replies import fill, service
from desk.tickets import service as tickets
from tests.conftest import count

TEXT_AR = "السلام عليكم {name}، طلبكم {reference} لدى {department}، الموعد المتوقع {expected_date}. للتواصل {phone}. {link}"
TEXT_EN = "Dear {name}, your request {reference} is with {department}."


def keep(db, actor, title="استلام المستندات", department=None, body_ar=TEXT_AR, body_en=TEXT_EN):
    data = service.ReplyData(title=title, body_ar=body_ar, body_en=body_en,
                             department_id=department.id if department is not None else None)
    return service.save(db.session, actor, data)


def test_an_unknown_placeholder_is_refused_by_its_field(db, people):
    with pytest.raises(ValidationFailed) as refused:
        keep(db, people.admin, body_ar="مرحبا {الاسم} {name}", body_en="Hello {nmae}")
    assert set(refused.value.errors) == {"body_ar", "body_en"}
    assert "{الاسم}" in str(refused.value.errors["body_ar"][0]) and "{nmae}" in str(refused.value.errors["body_en"][0])
    assert count(db, SavedReply) == 0


def test_who_keeps_which(db, people):
    desk_wide = keep(db, people.admin, "عام")
    social = keep(db, people.focal, "للبحث", department=people.social)
    with pytest.raises(ValidationFailed) as refused:  # a focal point keeps nothing desk-wide
        keep(db, people.focal, "عام ٢")
    assert "department_id" in refused.value.errors
    with pytest.raises(ValidationFailed):  # nor another department's
        keep(db, people.focal, "للمساعدات", department=people.aid)
    assert [r.id for r in service.listing(db.session, people.focal)] == [social.id]
    assert service.listing(db.session, people.other_focal) == []
    assert {r.id for r in service.listing(db.session, people.admin)} == {desk_wide.id, social.id}
    with pytest.raises(NotFound):
        service.get(db.session, people.other_focal, social.id)
    with pytest.raises(NotFound):
        service.get(db.session, people.focal, desk_wide.id)
    with pytest.raises(NotFound):  # intake staff keep none
        service.listing(db.session, people.staff)


def test_a_ticket_offers_desk_wide_and_its_own_department_replies(db, people, make_ticket):
    keep(db, people.admin, "شكر عام")
    keep(db, people.focal, "شكر البحث", department=people.social)
    keep(db, people.other_focal, "شكر المساعدات", department=people.aid)
    social_ticket = make_ticket(department_id=people.social.id)
    aid_ticket = make_ticket(department_id=people.aid.id)
    assert {r.title for r in service.search(db.session, social_ticket, "شكر")} == {"شكر عام", "شكر البحث"}
    assert {r.title for r in service.search(db.session, aid_ticket, "")} == {"شكر عام", "شكر المساعدات"}
    # Arabic normalised both ways: any alef or hamza, and all the words in any order.
    assert [r.title for r in service.search(db.session, aid_ticket, "مساعدات اشكر")] == []
    assert [r.title for r in service.search(db.session, aid_ticket, "المساعدات شكر")] == ["شكر المساعدات"]
    assert [r.title for r in service.search(db.session, social_ticket, "إلبحث")] == ["شكر البحث"]


def test_filled_in_the_tickets_language(db, app, people, make_ticket, targets):
    db.session.add(Association(id=1, name_ar="جمعية البر", name_en="Al-Birr", phone="0112345678"))
    reply = keep(db, people.admin)
    ticket = make_ticket(department_id=people.social.id)
    ticket.access_key_hash = tracking.new_key()[1]
    db.session.commit()
    text = fill.fill(db.session, ticket, reply)
    assert ticket.reference in text and ticket.beneficiary.name in text and "البحث الاجتماعي" in text
    assert "/portal/" in text and "الموافق" in text and "0112345678" in text  # link, expected date, phone
    assert "{" not in text
    ticket.meta = {**(ticket.meta or {}), "locale": "en"}
    db.session.commit()
    assert fill.fill(db.session, ticket, reply) == (
        f"Dear {ticket.beneficiary.name}, your request {ticket.reference} is with Social research.")
    arabic_only = keep(db, people.admin, "بلا إنجليزي", body_en="")
    assert fill.fill(db.session, ticket, arabic_only).startswith("السلام عليكم")


def test_a_value_the_ticket_lacks_stays_a_placeholder_and_is_refused_on_send(db, people, make_ticket):
    reply = keep(db, people.admin, body_ar="{reference} الموعد: {expected_date}", body_en="")
    ticket = make_ticket()  # no service levels set: no expected date
    text = fill.fill(db.session, ticket, reply)
    assert text == f"{ticket.reference} الموعد: {{expected_date}}"
    with pytest.raises(ValidationFailed) as refused:
        tickets.add_comment(db.session, people.staff, ticket, text, public=True, expected_version=ticket.version,
                            saved_replies=[reply.id])
    assert "{expected_date}" in str(refused.value.errors["body"][0])
    assert db.session.get(SavedReply, reply.id).use_count == 0


def test_usage_is_counted_on_send_once_and_only_for_offered_replies(db, people, make_ticket):
    desk_wide = keep(db, people.admin, "عام", body_ar="شكرا {reference}", body_en="")
    aid_only = keep(db, people.admin, "مساعدات", department=people.aid, body_ar="نص", body_en="")
    ticket = make_ticket(department_id=people.social.id)
    text = fill.fill(db.session, ticket, desk_wide)
    # An internal note with the text counts nothing; a public reply counts each offered reply once.
    tickets.add_comment(db.session, people.staff, ticket, text, public=False, expected_version=None,
                        saved_replies=[desk_wide.id])
    assert count(db, SavedReply, SavedReply.use_count > 0) == 0
    ticket = db.session.get(Ticket, ticket.id)
    tickets.add_comment(db.session, people.staff, ticket, text, public=True, expected_version=ticket.version,
                        saved_replies=[desk_wide.id, desk_wide.id, aid_only.id])
    db.session.expire_all()
    assert db.session.get(SavedReply, desk_wide.id).use_count == 1
    assert db.session.get(SavedReply, desk_wide.id).last_used_at is not None
    assert db.session.get(SavedReply, aid_only.id).use_count == 0


def test_a_failed_send_counts_nothing(db, people, make_ticket, monkeypatch):
    reply = keep(db, people.admin, body_ar="شكرا", body_en="")
    ticket = make_ticket()

    def down(*args, **kwargs):  # the outbox row, written after the count, fails
        raise RuntimeError("the database went away")
    monkeypatch.setattr(notify_service, "notify_beneficiary", down)
    with pytest.raises(RuntimeError):
        tickets.add_comment(db.session, people.staff, ticket, "شكرا", public=True, expected_version=ticket.version,
                            saved_replies=[reply.id])
    assert db.session.get(SavedReply, reply.id).use_count == 0


# Through the screens ----------------------------------------------------------------------

def test_the_keepers_screen_creates_edits_and_deletes(db, people, as_user):
    focal = as_user(people.focal)
    page = focal.get("/replies/new").get_data(as_text=True)
    assert "{expected_date}" in page and f'value="{people.social.id}"' in page and 'value=""' not in page.split(
        'id="department_id"')[1].split("</select>")[0]
    refused = focal.post("/replies/new", {"title": "موعد", "body_ar": "الموعد {الموعد}", "body_en": "",
                                          "department_id": str(people.social.id)}, htmx=True)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "{الموعد}" in html and 'id="body_ar-msg"' in html and "الموعد {الموعد}" in html  # kept as typed
    saved = focal.post("/replies/new", {"title": "موعد", "body_ar": "الموعد {expected_date}", "body_en": "",
                                        "department_id": str(people.social.id)}, htmx=True)
    assert saved.headers["HX-Redirect"] == "/replies"
    reply = db.session.query(SavedReply).one()
    assert reply.department_id == people.social.id and reply.created_by_id == people.focal.id
    assert as_user(people.other_focal).get(f"/replies/{reply.id}").status_code == 404
    assert as_user(people.staff).get("/replies").status_code == 404
    edited = focal.post(f"/replies/{reply.id}", {"title": "الموعد المتوقع", "body_ar": "الموعد {expected_date}",
                                                 "body_en": "Expected {expected_date}",
                                                 "department_id": str(people.social.id)})
    assert edited.status_code == 302
    db.session.expire_all()
    assert db.session.get(SavedReply, reply.id).body_en == "Expected {expected_date}"
    assert "الموعد المتوقع" in focal.get("/replies").get_data(as_text=True)
    assert as_user(people.other_focal).post(f"/replies/{reply.id}/delete").status_code == 404
    assert focal.post(f"/replies/{reply.id}/delete", csrf=False).status_code in (302, 400)
    assert count(db, SavedReply) == 1
    assert focal.post(f"/replies/{reply.id}/delete").status_code == 302
    assert count(db, SavedReply) == 0


def test_the_picker_offers_filled_replies_to_who_may_reply(db, people, make_ticket, as_user):
    keep(db, people.admin, "استلام", body_ar="استلمنا طلبكم {reference}", body_en="")
    keep(db, people.other_focal, "للمساعدات فقط", department=people.aid, body_ar="نص", body_en="")
    ticket = make_ticket(department_id=people.social.id)
    focal = as_user(people.focal)
    html = focal.get(f"/tickets/{ticket.reference}/saved-replies?q=استلام", htmx=True).get_data(as_text=True)
    assert 'role="listbox"' in html and 'role="option"' in html
    assert f'data-reply-text="استلمنا طلبكم {ticket.reference}"' in html
    assert "للمساعدات" not in focal.get(f"/tickets/{ticket.reference}/saved-replies", htmx=True).get_data(as_text=True)
    # Another department's focal point cannot see the ticket, so nor its picker.
    assert as_user(people.other_focal).get(f"/tickets/{ticket.reference}/saved-replies", htmx=True).status_code == 404
    # Without script: the ticket page with the list, and a reply's link fills the reply box.
    page = focal.get(f"/tickets/{ticket.reference}/saved-replies?q=استلام").get_data(as_text=True)
    link = re.search(r'href="(/tickets/[^"]+/saved-replies/\d+)#body"', page).group(1)
    page = focal.get(link).get_data(as_text=True)
    assert f"استلمنا طلبكم {ticket.reference}</textarea>" in page
    assert 'name="saved_reply" value="' in page and 'id="vis-reply" value="reply" checked' in page


def test_sending_from_the_reply_box_counts_the_use(db, people, make_ticket, as_user):
    reply = keep(db, people.admin, "استلام", body_ar="استلمنا طلبكم {reference}", body_en="")
    ticket = make_ticket(department_id=people.social.id)
    focal = as_user(people.focal)
    sent = focal.post(f"/tickets/{ticket.reference}/comments",
                      {"body": f"استلمنا طلبكم {ticket.reference} وسنعود إليكم", "visibility": "reply",
                       "version": str(ticket.version), "saved_reply": str(reply.id)}, htmx=True)
    assert sent.status_code == 200
    db.session.expire_all()
    assert db.session.get(SavedReply, reply.id).use_count == 1
    listing = as_user(people.admin).get("/replies").get_data(as_text=True)
    assert re.search(r'desk-use-count">\s*(1|١)\s*<', listing)
