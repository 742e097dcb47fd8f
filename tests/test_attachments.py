"""Documents attached to tickets (desk.attachments): upload by content type and size, stored
under a random name with its SHA-256, an ATTACHMENT event, downloads only for those who see
the ticket, always as a download, and nothing half-written when the database fails."""
from __future__ import annotations

import hashlib
import io
import zipfile
from urllib.parse import quote

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from desk.accounts.service import create_user
from desk.attachments import service
from desk.beneficiaries.service import NewBeneficiary
from desk.errors import Forbidden, NotFound, ValidationFailed
from desk.models import Attachment, EventKind, Kind, Status, TicketEvent
from desk.permissions import Action, can
from tests.conftest import PASSWORD
from tests.images import JPEG, PNG, WEBP
from tests.test_committee import _national_id

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _ooxml(part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(part, "<x/>")
    return buffer.getvalue()


@pytest.fixture
def store(app, tmp_path, monkeypatch):
    """A private attachment directory for the test (the app is shared by the session)."""
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    return tmp_path / "attachments"


@pytest.fixture
def support(make_ticket):
    """``support()``: a support request of SOCIAL that the research committee sees (awaiting it)."""
    numbers = iter(range(7000, 8000))

    def make():
        n = next(numbers)
        ticket = make_ticket(kind=Kind.SUPPORT, attested=True, verified=True, new_beneficiary=NewBeneficiary(
            name=f"خالد {n}", national_id=_national_id(), phone=f"+96657777{n:04d}"))
        ticket.status = Status.AWAITING_COMMITTEE
        return ticket
    return make


@pytest.fixture
def committee(db, people):
    return create_user(db.session, "committee-att@example.org", PASSWORD, "سلمان", ["committee"])


def _add(db, actor, ticket, data=PDF, name="letter.pdf", description="", store=None, max_bytes=10 * 1024 * 1024):
    upload = service.Upload(stream=io.BytesIO(data), filename=name, description=description)
    return service.add(db.session, actor, ticket, upload, directory=store, max_bytes=max_bytes)


def _files(store):
    return sorted(p.name for p in store.iterdir()) if store.exists() else []


def _post(browser, ticket, data=PDF, name="letter.pdf", description="", **kw):
    return browser.post(f"/tickets/{ticket.reference}/attachments",
                        {"file": (io.BytesIO(data), name), "description": description},
                        content_type="multipart/form-data", **kw)


# The service ------------------------------------------------------------------------------

@pytest.mark.parametrize("data, expected", [
    (PDF, service.PDF), (PNG, service.PNG), (JPEG, service.JPEG), (WEBP, service.WEBP),
    (_ooxml("word/document.xml"), service.DOCX), (_ooxml("xl/workbook.xml"), service.XLSX),
    (_ooxml("ppt/presentation.xml"), service.PPTX),
])
def test_accepted_kinds_by_their_bytes(db, people, make_ticket, store, data, expected):
    ticket = make_ticket()
    name = "whatever." + sorted(service.EXTENSIONS[expected])[0]
    attachment = _add(db, people.staff, ticket, data, name=name, store=store)
    assert attachment.content_type == expected
    assert attachment.stored_name != name and len(attachment.stored_name) == 32
    kept = (store / attachment.stored_name).read_bytes()
    # An image is written again without its metadata (test_attachment_contents): size and digest are the kept file's.
    assert attachment.size == len(kept) and attachment.sha256 == hashlib.sha256(kept).hexdigest()
    if expected not in service.IMAGES:
        assert kept == data


@pytest.mark.parametrize("data, name", [(PDF, "ruling.jpg"), (PNG, "photo.exe"), (JPEG, "scan"),
                                        (_ooxml("word/document.xml"), "letter.xlsx")])
def test_the_name_must_agree_with_the_bytes(db, people, make_ticket, store, data, name):
    """A real PDF named .jpg (or a real image named .exe) is refused: what downloads it opens it
    by its name, so the name must say what the bytes are."""
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as refused:
        _add(db, people.staff, ticket, data, name=name, store=store)
    assert name in str(refused.value.errors["file"][0])  # the message names the file
    assert list(store.iterdir()) == [] and db.session.query(Attachment).count() == 0


@pytest.mark.parametrize("data, name", [
    (b"<html><script>alert(1)</script></html>", "evidence.pdf"),   # the extension lies
    (b"MZ\x90\x00" + b"\x00" * 60, "ruling.pdf"),                    # a program
    (b"PK\x03\x04" + b"\x00" * 60, "broken.docx"),                   # not a real ZIP
    (_ooxml("other/thing.xml"), "archive.docx"),                       # a ZIP, not an Office document
    (b"GIF89a" + b"\x00" * 20, "image.gif"),
])
def test_refused_kinds_leave_nothing(db, people, make_ticket, store, data, name):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as refused:
        _add(db, people.staff, ticket, data, name=name, store=store)
    assert "file" in refused.value.errors
    assert _files(store) == []
    assert db.session.scalar(select(Attachment).where(Attachment.ticket_id == ticket.id)) is None


def test_empty_too_big_no_file_and_long_description(db, people, make_ticket, store):
    ticket = make_ticket()
    for kwargs, field in [(dict(data=b""), "file"), (dict(data=PDF * 100, max_bytes=1024), "file"),
                          (dict(name=""), "file"), (dict(description="x" * 501), "description")]:
        with pytest.raises(ValidationFailed) as refused:
            _add(db, people.staff, ticket, store=store, **kwargs)
        assert field in refused.value.errors
    assert _files(store) == []
    assert db.session.scalars(select(Attachment)).all() == []


def test_the_event_in_the_same_transaction(db, people, make_ticket, store):
    ticket = make_ticket()
    version = ticket.version
    attachment = _add(db, people.focal, ticket, name="إقرار الجمعية.pdf", description="إقرار بالخطأ", store=store)
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                        TicketEvent.kind == EventKind.ATTACHMENT))
    assert event.actor_id == people.focal.id and event.new_value == "إقرار الجمعية.pdf"
    assert "إقرار بالخطأ" in event.body and event.created_at is not None
    assert ticket.version == version  # like a note: never makes another editor stale
    assert attachment.uploaded_by_id == people.focal.id and attachment.description == "إقرار بالخطأ"


def test_a_failed_database_write_removes_the_file(db, people, make_ticket, store, monkeypatch):
    ticket = make_ticket()

    def broken(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))
    monkeypatch.setattr(service, "record", broken)
    with pytest.raises(OperationalError):
        _add(db, people.staff, ticket, store=store)
    assert _files(store) == []
    assert db.session.scalars(select(Attachment)).all() == []


def test_a_failed_commit_removes_the_file(db, people, make_ticket, store, monkeypatch):
    ticket = make_ticket()
    session = db.session()

    def broken():
        raise OperationalError("COMMIT", {}, Exception("database is locked"))
    monkeypatch.setattr(session, "commit", broken)
    with pytest.raises(OperationalError):
        _add(db, people.staff, ticket, store=store)
    monkeypatch.undo()
    assert _files(store) == []
    assert db.session.scalars(select(Attachment)).all() == []


@pytest.mark.parametrize("raw, clean", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\خطاب.pdf", "خطاب.pdf"),
    ("report\u202efdp.exe", "reportfdp.exe"),
    ("a<b>:c|d?.pdf", "abcd.pdf"),
    ("line\r\nbreak.pdf", "line break.pdf"),
    ("...", "document"),
    ("", "document"),
    ("ا" * 300 + ".pdf", "ا" * 196 + ".pdf"),
])
def test_clean_filename(raw, clean):
    assert service.clean_filename(raw) == clean


def test_who_may_attach(db, people, make_ticket, committee, store, support):
    ticket = make_ticket()  # SOCIAL
    assert can(people.staff, Action.ATTACHMENT_ADD, ticket) and can(people.focal, Action.ATTACHMENT_ADD, ticket)
    assert not can(people.other_focal, Action.ATTACHMENT_ADD, ticket)
    with pytest.raises(NotFound):
        _add(db, people.other_focal, ticket, store=store)
    # A committee member sees a support request before the committee but does not add notes.
    request = support()
    db.session.commit()
    assert can(committee, Action.TICKET_VIEW, request) and not can(committee, Action.ATTACHMENT_ADD, request)
    with pytest.raises(Forbidden):
        _add(db, committee, request, store=store)
    assert _files(store) == []


# The web --------------------------------------------------------------------------------

def test_round_trip_full_page(db, people, make_ticket, store, as_user):
    ticket = make_ticket()
    browser = as_user(people.focal)
    response = _post(browser, ticket, description="صورة الحكم")
    assert response.status_code == 302 and response.location.endswith(f"/tickets/{ticket.reference}")
    page = browser.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    attachment = db.session.scalar(select(Attachment).where(Attachment.ticket_id == ticket.id))
    assert 'id="ticket-attachments"' in page and "letter.pdf" in page and "صورة الحكم" in page
    assert f"/tickets/{ticket.reference}/attachments/{attachment.id}" in page
    download = browser.get(f"/tickets/{ticket.reference}/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "letter.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_round_trip_htmx(db, people, make_ticket, store, as_user):
    ticket = make_ticket()
    browser = as_user(people.staff)
    browser.post("/language", {"locale": "en"})
    response = _post(browser, ticket, data=PNG, name="photo.png", htmx=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text.lstrip().startswith('<section id="ticket-attachments"') and "photo.png" in text
    assert "The document is attached." in text
    assert 'id="ticket-timeline"' in text and 'hx-swap-oob="true"' in text  # the ATTACHMENT event
    assert "<html" not in text


def test_a_stored_script_is_never_served_inline(db, people, make_ticket, store, as_user):
    """Even a row whose bytes are HTML (written some other way) downloads as an attachment."""
    ticket = make_ticket()
    attachment = _add(db, people.staff, ticket, store=store)
    (store / attachment.stored_name).write_bytes(b"<script>alert(1)</script>")
    download = as_user(people.staff).get(f"/tickets/{ticket.reference}/attachments/{attachment.id}")
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]


def test_arabic_filename_header(db, people, make_ticket, store, as_user):
    ticket = make_ticket()
    name = "حكم نهائي ١٤٤٧.pdf"
    attachment = _add(db, people.staff, ticket, name=name, store=store)
    download = as_user(people.staff).get(f"/tickets/{ticket.reference}/attachments/{attachment.id}")
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(name)}" in disposition
    disposition.encode("latin-1")  # a valid header: nothing but ASCII on the wire


@pytest.mark.parametrize("htmx", [False, True])
def test_refusals_by_the_field_in_the_users_language(db, people, make_ticket, store, as_user, htmx, app,
                                                     monkeypatch):
    ticket = make_ticket()
    browser = as_user(people.staff)
    browser.post("/language", {"locale": "en"})
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_MAX_MB", 0.001)  # 1,048 bytes
    cases = [
        (dict(data=b""), "The file is empty."),
        (dict(data=b"<html></html>", name="x.pdf"), "This kind of file is not accepted"),
        (dict(data=PDF * 30), "The file is too large (at most"),
        (dict(description="x" * 501), "The text is too long"),
    ]
    for kwargs, message in cases:
        kwargs.setdefault("description", "الحكم النهائي")
        response = _post(browser, ticket, htmx=htmx, **kwargs)
        text = response.get_data(as_text=True)
        assert response.status_code == 422, message
        assert message in text and "invalid-feedback" in text
        assert kwargs["description"][:50] in text  # what was typed is kept
        assert ("<html" in text) != htmx
    assert _files(store) == []
    assert db.session.scalars(select(Attachment)).all() == []


def test_refusal_in_arabic(db, people, make_ticket, store, as_user):
    ticket = make_ticket()
    browser = as_user(people.staff)
    browser.post("/language", {"locale": "ar"})
    response = _post(browser, ticket, data=b"", htmx=True)
    assert response.status_code == 422 and "invalid-feedback" in response.get_data(as_text=True)


@pytest.mark.parametrize("htmx", [False, True])
def test_a_request_over_the_limit(db, people, make_ticket, store, as_user, app, monkeypatch, htmx):
    """Over MAX_CONTENT_LENGTH the request is refused before the view: still by the file field."""
    ticket = make_ticket()
    browser = as_user(people.staff)
    browser.post("/language", {"locale": "en"})
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    response = _post(browser, ticket, data=PDF * 200, htmx=htmx)
    text = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "The file is too large" in text and 'id="ticket-attachments"' in text
    assert _files(store) == []
    # Nor does a focal point of another department learn anything from a request too large.
    other = as_user(people.other_focal)
    assert _post(other, ticket, data=PDF * 200, htmx=htmx).status_code == 404


@pytest.mark.parametrize("htmx", [False, True])
def test_csrf_refused(db, people, make_ticket, store, as_user, htmx):
    ticket = make_ticket()
    response = _post(as_user(people.staff), ticket, htmx=htmx, csrf=False)
    assert response.status_code == 400
    assert _files(store) == []
    assert db.session.scalars(select(Attachment)).all() == []


@pytest.mark.parametrize("htmx", [False, True])
def test_other_departments_focal_point_gets_404(db, people, make_ticket, store, as_user, htmx):
    ticket = make_ticket()  # SOCIAL
    attachment = _add(db, people.staff, ticket, store=store)
    browser = as_user(people.other_focal)  # AID
    assert _post(browser, ticket, htmx=htmx).status_code == 404
    download = browser.get(f"/tickets/{ticket.reference}/attachments/{attachment.id}", htmx=htmx)
    assert download.status_code == 404 and download.data != PDF
    assert _files(store) == [attachment.stored_name]


def test_committee_member_and_signed_out(db, people, make_ticket, store, as_user, browser, committee):
    ticket = make_ticket()  # a complaint: never before the committee
    attachment = _add(db, people.staff, ticket, store=store)
    url = f"/tickets/{ticket.reference}/attachments/{attachment.id}"
    member = as_user(committee)
    assert member.get(url).status_code == 404
    assert _post(member, ticket).status_code == 404
    signed_out = browser.get(url)
    assert signed_out.status_code == 302 and "/login" in signed_out.location


def test_an_attachment_of_another_ticket_is_not_found(db, people, make_ticket, store, as_user):
    mine, other = make_ticket(), make_ticket(department_id=people.aid.id)
    attachment = _add(db, people.staff, other, store=store)
    browser = as_user(people.focal)  # sees `mine`, not `other`
    assert browser.get(f"/tickets/{mine.reference}/attachments/{attachment.id}").status_code == 404
    assert browser.get(f"/tickets/{mine.reference}/attachments/999999").status_code == 404


def test_a_missing_file_on_disk_is_not_found(db, people, make_ticket, store, as_user):
    ticket = make_ticket()
    attachment = _add(db, people.staff, ticket, store=store)
    (store / attachment.stored_name).unlink()
    assert as_user(people.staff).get(
        f"/tickets/{ticket.reference}/attachments/{attachment.id}").status_code == 404


def test_committee_member_sees_no_upload_form(db, people, store, as_user, committee, support):
    support = support()
    db.session.commit()
    attachment = _add(db, people.staff, support, store=store)
    member = as_user(committee)
    page = member.get(f"/tickets/{support.reference}").get_data(as_text=True)
    assert "letter.pdf" in page and 'name="file"' not in page
    assert member.get(f"/tickets/{support.reference}/attachments/{attachment.id}").status_code == 200
    assert _post(member, support).status_code == 403
