"""A submission is taken once (issue 14, item 5): every form that creates something carries a
one-time token; the same form sent again (a double click, a retry after a timeout, a browser's
resubmit) answers with the first result instead of making a second ticket, reply or document,
also when both requests arrive at the same moment. A token is bound to whoever sent it, is
forgotten after a day, and a form without one still works."""
from __future__ import annotations

import base64
import io
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from desk import submissions
from desk.cli import desk_cli
from desk.extensions import db as _db
from desk.models import (
    Attachment,
    EventKind,
    FormSubmission,
    OutboxMessage,
    Ticket,
    TicketEvent,
    utcnow,
)
from desk.portal import tracking
from desk.submissions import AlreadyTaken, Kind
from desk.tickets import actions
from tests.conftest import Browser

ONCE = re.compile(r'<input type="hidden" name="once" value="([^"]+)">')
LINK = re.compile(r'href="(http://[^"]+/portal/t/[^"]+/[^"]+)"')
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def once_in(page: str, after: str = "") -> str:
    """The token of the first form after ``after`` (an id on the page) in ``page``."""
    start = page.index(after) if after else 0
    match = ONCE.search(page, start)
    assert match, f"no one-time token after {after!r}"
    return match.group(1)


def count(model, *where) -> int:
    _db.session.expire_all()
    return _db.session.scalar(select(func.count()).select_from(model).where(*where))


def twin(browser: Browser) -> Browser:
    """A second client holding the first one's cookies as they are now: the browser that sends
    the same form again before the first answer's cookie reached it."""
    other = Browser(browser.client.application.test_client())
    other.client.environ_base.update(browser.client.environ_base)
    cookie = browser.client.get_cookie("session")
    assert cookie is not None
    other.client.set_cookie("session", cookie.value)
    other.token = browser.token
    return other


@pytest.fixture
def store(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    return tmp_path / "attachments"


def stored_files(store) -> list[str]:
    return sorted(p.name for p in store.iterdir()) if store.exists() else []


def portal_form(token: str | None, **overrides) -> dict:
    data = {"kind": "complaint", "name": "سارة العتيبي", "phone": "0551234567", "email": "sara@example.com",
            "subject": "تأخر صرف السلة الغذائية", "body": "لم تصلني السلة الغذائية لهذا الشهر"}
    if token is not None:
        data["once"] = token
    data.update(overrides)
    return data


def portal_post(browser: Browser, data: dict, files=()):
    data = dict(data)
    if files:
        data["files"] = [(io.BytesIO(content), name) for name, content in files]
        data.setdefault("consent", "y")  # documents need the consent tick
    return browser.post("/portal/new", data, content_type="multipart/form-data")


def new_form_token(browser: Browser) -> str:
    return once_in(browser.get("/portal/new").get_data(as_text=True))


def intake_form(token: str | None, **overrides) -> dict:
    data = {"kind": "complaint", "channel": "phone", "subject": "تأخر صرف المساعدة", "body": "تفاصيل الشكوى",
            "priority": "2", "department_id": "", "b_name": "عبدالله سعد", "b_phone": "٠٥٠١٢٣٤٥٦٧"}
    if token is not None:
        data["once"] = token
    data.update(overrides)
    return data


def intake_token(browser: Browser) -> str:
    return once_in(browser.get("/tickets/new").get_data(as_text=True), 'id="intake-form"')


def on_this_thread(browser: Browser, path: str, data: dict, **kw):
    """A POST on the calling thread (a Browser runs every request on one shared thread)."""
    return browser.client.post(path, data=dict(data, csrf_token=browser.token), **kw)


def race(posts, monkeypatch, service_module):
    """Send ``posts`` (callables making one request each, ``on_this_thread``) at the same moment,
    on their own threads. Each request is
    held just before it claims its form (``take`` in ``service_module``) until all of them are
    there: every one has looked for the form and found nothing, and only the database's unique
    key decides. Returns the responses, in order, and how many claims were refused."""
    real = service_module.take
    gate = threading.Barrier(len(posts))
    refused = []

    def take_together(session, once):
        gate.wait(timeout=20)
        try:
            return real(session, once)
        except AlreadyTaken:
            refused.append(once.key)
            raise

    monkeypatch.setattr(service_module, "take", take_together)
    responses: list = [None] * len(posts)
    errors: list = [None] * len(posts)

    def run(i):
        try:
            responses[i] = posts[i]()
        except Exception as error:  # collected for the assertion
            errors[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(posts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    monkeypatch.setattr(service_module, "take", real)
    assert errors == [None] * len(posts), errors
    return responses, len(refused)


# The forms carry a token --------------------------------------------------------------------

def test_every_form_that_creates_something_carries_a_fresh_token(db, people, as_user, visitor, make_ticket):
    v = visitor()
    first_page, second_page = new_form_token(v), new_form_token(v)
    assert first_page != second_page and len(first_page) >= 32  # a fresh one on every page
    staff = as_user(people.staff)
    assert intake_token(staff)
    ticket = make_ticket()
    page = staff.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    compose, attach = once_in(page, 'id="ticket-compose"'), once_in(page, 'id="ticket-attachments"')
    assert compose != attach
    portal_ticket = _portal_ticket(db, v)
    assert once_in(v.get(f"/portal/t/{portal_ticket.reference}").get_data(as_text=True), 'id="reply"')


# The portal's request form ------------------------------------------------------------------

def _portal_ticket(db, v) -> Ticket:
    response = portal_post(v, portal_form(new_form_token(v)))
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    db.session.expire_all()
    return db.session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()


def test_a_portal_request_sent_twice_makes_one_ticket_and_the_same_confirmation(db, people, visitor, store):
    v = visitor()
    token = new_form_token(v)
    late = twin(v)  # the same browser, before the first answer's cookie arrived
    files = [("letter.pdf", PDF)]
    first = portal_post(v, portal_form(token), files)
    assert first.status_code == 303
    ticket = db.session.scalars(select(Ticket)).one()
    page = v.get(first.headers["Location"]).get_data(as_text=True)
    link = LINK.search(page).group(1)

    again = portal_post(late, portal_form(token), files)
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    # The second answer is the whole first confirmation: the reference and the private link.
    page_again = late.get(again.headers["Location"]).get_data(as_text=True)
    assert ticket.reference in page_again and LINK.search(page_again).group(1) == link
    assert count(Ticket) == 1 and count(Attachment) == 1 and len(stored_files(store)) == 1
    assert count(OutboxMessage, OutboxMessage.reason == "received") == 1
    # And a third time, from the first browser, changed in between: still the first result.
    third = portal_post(v, portal_form(token, subject="موضوع آخر"))
    assert third.headers["Location"] == first.headers["Location"] and count(Ticket) == 1


def test_the_token_and_the_tracking_key_are_not_kept_in_the_clear(db, people, visitor):
    v = visitor()
    token = new_form_token(v)
    response = portal_post(v, portal_form(token))
    key = LINK.search(v.get(response.headers["Location"]).get_data(as_text=True)).group(1).rsplit("/", 1)[1]
    row = db.session.scalars(select(FormSubmission)).one()
    ticket = db.session.scalars(select(Ticket)).one()
    assert (row.kind, row.ticket_id, row.user_id) == (Kind.PORTAL_REQUEST, ticket.id, None)
    kept = f"{row.key} {row.result}"
    assert token not in kept and key not in kept
    assert submissions.unseal(token, row.result["sealed"]) == key
    assert submissions.unseal(token[:-1] + ("A" if token[-1] != "A" else "B"), row.result["sealed"]) is None


def test_a_resent_request_neither_spends_nor_is_refused_by_the_allowance(app, db, people, visitor):
    app.config["DESK_PORTAL_SUBMIT_LIMIT"] = "2 per minute"
    try:
        v = visitor()
        token = new_form_token(v)
        assert portal_post(v, portal_form(token)).status_code == 303
        assert portal_post(v, portal_form(token)).status_code == 303  # the same form: answered again
        assert portal_post(v, portal_form(new_form_token(v), phone="0557777777")).status_code == 303  # a second
        assert portal_post(v, portal_form(new_form_token(v), phone="0558888888")).status_code == 429  # a third
        # At the limit, a double click of the first form still shows its confirmation.
        assert portal_post(v, portal_form(token)).status_code == 303
    finally:
        app.config["DESK_PORTAL_SUBMIT_LIMIT"] = "5 per minute;20 per hour"
    assert count(Ticket) == 2


def test_another_visitors_token_is_not_honoured(db, people, visitor):
    owner, stranger = visitor(), visitor("198.51.100.9")
    token = new_form_token(owner)
    first = portal_post(owner, portal_form(token))
    other = portal_post(stranger, portal_form(token, name="منى", phone="0559876543", email=""))
    assert other.status_code == 303 and other.headers["Location"] != first.headers["Location"]
    assert count(Ticket) == 2
    # Their own request, and no way into the first one.
    mine = stranger.get(other.headers["Location"]).get_data(as_text=True)
    assert "/portal/t/" in mine
    assert stranger.get(first.headers["Location"]).status_code == 403


def test_a_form_without_a_token_still_works_unprotected(db, people, visitor):
    """A page opened before the tokens existed (during a deploy)."""
    v = visitor()
    assert portal_post(v, portal_form(None)).status_code == 303
    assert portal_post(v, portal_form(None)).status_code == 303
    assert portal_post(v, portal_form("not a token!")).status_code == 303
    assert count(Ticket) == 3 and count(FormSubmission) == 0


def test_a_refused_form_leaves_its_token_unused(db, people, visitor):
    v = visitor()
    token = new_form_token(v)
    refused = portal_post(v, portal_form(token, subject=""))
    assert refused.status_code == 422 and count(FormSubmission) == 0
    fixed = portal_post(v, portal_form(token))
    assert fixed.status_code == 303 and count(Ticket) == 1


def test_two_identical_requests_at_the_same_moment_make_one_ticket(db, people, visitor, store, monkeypatch):
    from desk.portal import service
    v = visitor()
    for round_ in range(3):
        token = new_form_token(v)
        clients = [v, twin(v)]
        form = portal_form(token)
        responses, refused = race([lambda c=c, form=form: on_this_thread(
            c, "/portal/new", dict(form, files=[(io.BytesIO(PDF), "letter.pdf")], consent="y"), content_type="multipart/form-data")
            for c in clients], monkeypatch, service)
        assert [r.status_code for r in responses] == [303, 303] and refused == 1
        assert responses[0].headers["Location"] == responses[1].headers["Location"]
        assert count(Ticket) == round_ + 1 and count(Attachment) == round_ + 1
        assert len(stored_files(store)) == round_ + 1  # the loser wrote no file
        # Both browsers get the confirmation with the private link.
        pages = [c.get(r.headers["Location"]).get_data(as_text=True) for c, r in zip(clients, responses, strict=True)]
        assert LINK.search(pages[0]).group(1) == LINK.search(pages[1]).group(1)


# The portal's reply form ----------------------------------------------------------------------

def test_a_portal_reply_sent_twice_is_recorded_once(db, people, visitor):
    v = visitor()
    ticket = _portal_ticket(db, v)
    token = once_in(v.get(f"/portal/t/{ticket.reference}").get_data(as_text=True), 'id="reply"')
    late = twin(v)
    data = {"body": "أرفقت الصورة المطلوبة", "once": token}
    first = v.post(f"/portal/t/{ticket.reference}/reply", data, content_type="multipart/form-data")
    again = late.post(f"/portal/t/{ticket.reference}/reply", data, content_type="multipart/form-data")
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert "أُرسلت رسالتك إلى الإدارة." in late.get(again.headers["Location"]).get_data(as_text=True)  # the same message
    assert count(TicketEvent, TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.BENEFICIARY_REPLY) == 1


def test_a_late_reply_sent_twice_starts_one_linked_request(db, people, visitor):
    """Past the reopening window a reply starts a new request; sent twice, still one, and the
    second answer is its confirmation with its private link."""
    v = visitor()
    ticket = _portal_ticket(db, v)
    ticket = db.session.get(Ticket, ticket.id)
    actions.resolve(db.session, people.staff, ticket, "تم صرف السلة", expected_version=ticket.version)
    ticket = db.session.get(Ticket, ticket.id)
    ticket.resolved_at = utcnow() - timedelta(days=30)
    db.session.commit()
    token = once_in(v.get(f"/portal/t/{ticket.reference}").get_data(as_text=True), 'id="reply"')
    late = twin(v)
    data = {"body": "المشكلة عادت", "once": token}
    first = v.post(f"/portal/t/{ticket.reference}/reply", data, content_type="multipart/form-data")
    again = late.post(f"/portal/t/{ticket.reference}/reply", data, content_type="multipart/form-data")
    assert count(Ticket) == 2
    new = db.session.scalars(select(Ticket).where(Ticket.id != ticket.id)).one()
    assert first.headers["Location"] == again.headers["Location"]
    assert first.headers["Location"].endswith(f"/portal/received/{new.reference}")
    links = [LINK.search(b.get(r.headers["Location"]).get_data(as_text=True)).group(1)
             for b, r in ((v, first), (late, again))]
    assert links[0] == links[1] and tracking.key_matches(new, links[1].rsplit("/", 1)[1])


# Staff intake -------------------------------------------------------------------------------

def test_an_intake_form_saved_twice_makes_one_ticket(db, people, as_user):
    staff = as_user(people.staff)
    token = intake_token(staff)
    first = staff.post("/tickets/new", intake_form(token))
    again = twin(staff).post("/tickets/new", intake_form(token))
    assert first.status_code == again.status_code == 302
    ticket = db.session.scalars(select(Ticket)).one()
    assert first.headers["Location"] == again.headers["Location"] == f"/tickets/{ticket.reference}"
    # Over htmx, the same: the redirect to the one ticket.
    token = intake_token(staff)
    first = staff.post("/tickets/new", intake_form(token, b_phone="0501111111"), htmx=True)
    again = staff.post("/tickets/new", intake_form(token, b_phone="0501111111"), htmx=True)
    assert first.headers["HX-Redirect"] == again.headers["HX-Redirect"] != f"/tickets/{ticket.reference}"
    assert count(Ticket) == 2
    row = db.session.scalars(select(FormSubmission).order_by(FormSubmission.id)).first()
    assert (row.kind, row.user_id, row.ticket_id) == (Kind.INTAKE, people.staff.id, ticket.id)


def test_another_staff_members_token_is_not_honoured(db, people, as_user):
    staff, other = as_user(people.staff), as_user(people.supervisor)
    token = intake_token(staff)
    first = staff.post("/tickets/new", intake_form(token))
    second = other.post("/tickets/new", intake_form(token, b_phone="0502222222"))
    assert second.status_code == 302 and second.headers["Location"] != first.headers["Location"]
    assert count(Ticket) == 2


def test_two_intake_saves_at_the_same_moment_make_one_ticket(db, people, as_user, monkeypatch):
    from desk.intake import service
    staff = as_user(people.staff)
    for round_ in range(3):
        token = intake_token(staff)
        form = intake_form(token, b_phone=f"050000000{round_}")
        clients = [staff, twin(staff)]
        responses, refused = race([lambda c=c, form=form: on_this_thread(c, "/tickets/new", form)
                                   for c in clients], monkeypatch, service)
        assert [r.status_code for r in responses] == [302, 302], [r.get_data(as_text=True)[:300] for r in responses]
        assert refused == 1
        assert responses[0].headers["Location"] == responses[1].headers["Location"]
        assert count(Ticket) == round_ + 1


def test_the_service_refuses_a_form_taken_already_and_leaves_nothing(db, people):
    """The service's side (what the request that loses a race meets): the claim of a form taken
    already is refused inside the transaction, which leaves nothing behind."""
    from desk.beneficiaries.service import NewBeneficiary
    from desk.intake.service import IntakeData, create_ticket
    from desk.models import Beneficiary
    once = submissions.bind(Kind.INTAKE, submissions.new_token(), f"user:{people.staff.id}", people.staff.id)

    def data(n):
        return IntakeData(kind="complaint", channel="phone", subject="موضوع", body="نص",
                          new_beneficiary=NewBeneficiary(name=f"اسم {n}", phone=f"+96650000000{n}"))

    ticket = create_ticket(db.session, people.staff, data(1), once=once)
    with pytest.raises(AlreadyTaken):
        create_ticket(db.session, people.staff, data(2), once=once)
    assert count(Ticket) == 1 and submissions.first(db.session, once).ticket.id == ticket.id
    assert count(Beneficiary, Beneficiary.phone == "+966500000002") == 0


# Notes, replies and documents on a ticket -------------------------------------------------------

def test_a_note_saved_twice_is_one_note_and_the_next_note_gets_a_new_token(db, people, as_user, make_ticket):
    ticket = make_ticket()
    staff = as_user(people.staff)
    token = once_in(staff.get(f"/tickets/{ticket.reference}").get_data(as_text=True), 'id="ticket-compose"')
    data = {"body": "اتصلت بالمستفيد", "visibility": "note", "version": ticket.version, "once": token}
    first = staff.post(f"/tickets/{ticket.reference}/comments", data, htmx=True)
    again = twin(staff).post(f"/tickets/{ticket.reference}/comments", data, htmx=True)
    assert first.status_code == again.status_code == 200
    notes = TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.NOTE
    assert count(TicketEvent, *notes) == 1
    # The swapped form holds a new token: the next note is a new note, not the first one again.
    fresh = once_in(first.get_data(as_text=True), 'id="ticket-compose"')
    assert fresh != token and once_in(again.get_data(as_text=True), 'id="ticket-compose"') != token
    staff.post(f"/tickets/{ticket.reference}/comments", dict(data, body="ملاحظة ثانية", once=fresh), htmx=True)
    assert count(TicketEvent, *notes) == 2


def test_a_public_reply_sent_twice_is_sent_once_without_a_conflict(db, people, as_user, make_ticket):
    ticket = make_ticket()
    ticket.meta = {**ticket.meta, "contact": {"email": "b@example.com"}}
    db.session.commit()
    staff = as_user(people.staff)
    token = once_in(staff.get(f"/tickets/{ticket.reference}").get_data(as_text=True), 'id="ticket-compose"')
    data = {"body": "تم استلام طلبك", "visibility": "reply", "version": ticket.version, "once": token}
    first = staff.post(f"/tickets/{ticket.reference}/comments", data)
    sent = count(OutboxMessage)
    again = staff.post(f"/tickets/{ticket.reference}/comments", data)  # the version it carries is stale now
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"] == f"/tickets/{ticket.reference}"
    assert count(TicketEvent, TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.REPLY) == 1
    assert count(OutboxMessage) == sent  # nothing sent a second time
    row = db.session.scalars(select(FormSubmission)).one()
    event = db.session.scalars(select(TicketEvent).where(TicketEvent.kind == EventKind.REPLY)).one()
    assert row.result == {"event": event.id} and row.ticket_id == ticket.id


def test_a_document_uploaded_twice_is_attached_once(db, people, as_user, make_ticket, store):
    ticket = make_ticket()
    staff = as_user(people.staff)
    token = once_in(staff.get(f"/tickets/{ticket.reference}").get_data(as_text=True), 'id="ticket-attachments"')

    def upload(browser, **kw):
        return browser.post(f"/tickets/{ticket.reference}/attachments",
                            {"file": (io.BytesIO(PDF), "letter.pdf"), "description": "", "once": token},
                            content_type="multipart/form-data", **kw)

    first, again = upload(staff, htmx=True), upload(twin(staff), htmx=True)
    assert first.status_code == again.status_code == 200
    assert "letter.pdf" in again.get_data(as_text=True)
    assert once_in(again.get_data(as_text=True), 'id="ticket-attachments"') != token
    assert upload(staff).status_code == 302  # and once more without htmx
    assert count(Attachment) == 1 and len(stored_files(store)) == 1
    assert count(TicketEvent, TicketEvent.kind == EventKind.ATTACHMENT) == 1


def test_a_token_for_one_form_is_not_an_answer_for_another(db, people, as_user, make_ticket, store):
    """The kind is part of the key: a note's token sent with a document is a new form."""
    ticket = make_ticket()
    staff = as_user(people.staff)
    token = once_in(staff.get(f"/tickets/{ticket.reference}").get_data(as_text=True), 'id="ticket-compose"')
    staff.post(f"/tickets/{ticket.reference}/comments",
               {"body": "ملاحظة", "visibility": "note", "version": ticket.version, "once": token})
    staff.post(f"/tickets/{ticket.reference}/attachments",
               {"file": (io.BytesIO(PDF), "letter.pdf"), "once": token}, content_type="multipart/form-data")
    assert count(Attachment) == 1 and count(FormSubmission) == 2


# Forgetting -------------------------------------------------------------------------------------

def test_tokens_are_forgotten_after_a_day(app, db, people, visitor):
    v = visitor()
    old_token, new_token = new_form_token(v), new_form_token(v)
    portal_post(v, portal_form(old_token))
    portal_post(v, portal_form(new_token, phone="0557777777"))
    old = db.session.scalars(select(FormSubmission).order_by(FormSubmission.id)).first()
    old.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    result = app.test_cli_runner().invoke(desk_cli, ["sweep-submissions"])
    assert result.exit_code == 0, result.output
    assert "1 older than 24 h forgotten" in result.output
    assert count(FormSubmission) == 1
    # The forgotten token is unknown now: the same form makes a new request; the other is kept.
    portal_post(v, portal_form(old_token))
    portal_post(v, portal_form(new_token, phone="0557777777"))
    assert count(Ticket) == 3
    refused = app.test_cli_runner().invoke(desk_cli, ["sweep-submissions", "--older-than", "0.1"])
    assert refused.exit_code == 2 and count(FormSubmission) == 2


def test_sealing_round_trip_and_tampering():
    token = submissions.new_token()
    sealed = submissions.seal(token, "مفتاح-key_123")
    assert submissions.unseal(token, sealed) == "مفتاح-key_123"
    assert submissions.unseal(submissions.new_token(), sealed) is None
    raw = bytearray(base64.urlsafe_b64decode(sealed))
    raw[-1] ^= 1
    assert submissions.unseal(token, base64.urlsafe_b64encode(bytes(raw)).decode()) is None
    assert submissions.unseal(token, "%%%") is None


def test_a_token_is_bound_to_kind_and_scope():
    token = submissions.new_token()
    one = submissions.bind(Kind.COMMENT, token, "user:1", 1)
    assert one is not None and one.key == submissions.bind(Kind.COMMENT, token, "user:1", 1).key
    assert one.key != submissions.bind(Kind.COMMENT, token, "user:2", 2).key
    assert one.key != submissions.bind(Kind.ATTACHMENT, token, "user:1", 1).key
    assert token not in repr(one)
    assert submissions.bind(Kind.COMMENT, None, "user:1") is None
    assert submissions.bind(Kind.COMMENT, token, None) is None
    assert submissions.bind(Kind.COMMENT, "short", "user:1") is None
