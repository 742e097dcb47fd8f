"""Issue 16, point 7: the minimum leaves the building. Messages by phone carry no reply text;
uploaded images lose their metadata, a decompression bomb or an Office "zip bomb" is refused;
the portal sends no Referer; staff revoke a tracking link and the beneficiary gets a new one."""
from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import pytest
from PIL import Image
from sqlalchemy import select

from desk.attachments import contents
from desk.attachments import service as attachments
from desk.channels.inbound import acceptable
from desk.models import Attachment, AuditAction, AuditEntry, EventKind, OutboxMessage, Ticket, TicketEvent
from desk.tickets import actions
from desk.tickets.service import add_comment
from tests.conftest import Browser
from tests.images import GPS_TAG, MAKE_TAG, image_bytes

HEALTH = "نتيجة التحليل: السكري من النوع الثاني"  # a reply that must not reach the SMS provider
KEY_LINK = re.compile(r"(http://[^\s\"]+/portal/t/[A-Z]-[0-9]{4}-[0-9]{6}/[A-Za-z0-9_\-]+)")


@pytest.fixture
def sms_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_SMS_URL", "http://127.0.0.1:9/send")  # only queued here


@pytest.fixture
def store(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    return tmp_path / "attachments"


def _submit(app, ip="203.0.113.40", **fields) -> tuple[Browser, str]:
    """A portal request (no email: the beneficiary is reached by SMS); the browser and its page."""
    browser = Browser(app.test_client())
    browser.client.environ_base["REMOTE_ADDR"] = ip
    browser.refresh_token("/portal/new")
    data = {"kind": "complaint", "name": "فاطمة", "phone": "0551112233", "subject": "تأخر المساعدة",
            "body": "لم تصلني المساعدة", **fields}
    response = browser.post("/portal/new", data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    return browser, page


def _only_ticket(db) -> Ticket:
    return db.session.scalars(select(Ticket)).one()


# Messages by phone -----------------------------------------------------------------------

def test_a_reply_by_sms_carries_the_reference_the_status_and_the_link_never_the_text(app, db, people, sms_on):
    _submit(app)
    ticket = _only_ticket(db)
    add_comment(db.session, people.staff, ticket, HEALTH, public=True, expected_version=ticket.version)
    sms = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "reply")).one()
    assert sms.channel == "sms"
    assert HEALTH not in sms.body_text and "السكري" not in sms.body_text
    assert ticket.reference in sms.body_text and "/portal/o/" in sms.body_text
    assert "قيد المعالجة لدى الإدارة المختصة" in sms.body_text  # the status in words, in the person's language


def test_the_confirmation_by_sms_says_nothing_of_what_was_written(app, db, people, sms_on):
    _submit(app, body=HEALTH)
    sms = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).one()
    assert "السكري" not in sms.body_text and "/portal/t/" in sms.body_text


def test_an_email_still_carries_the_reply(app, db, people, sms_on):
    _submit(app, email="fatima@example.org")
    ticket = _only_ticket(db)
    add_comment(db.session, people.staff, ticket, HEALTH, public=True, expected_version=ticket.version)
    (mail,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "reply")).all()
    assert mail.channel == "email" and HEALTH in mail.body_text  # the person's own mailbox: the reply itself


# Images lose their metadata -------------------------------------------------------------------

@pytest.mark.parametrize("fmt, content_type", [("JPEG", attachments.JPEG), ("WEBP", attachments.WEBP),
                                               ("PNG", attachments.PNG)])
def test_an_image_is_kept_without_exif_or_gps(tmp_path, fmt, content_type):
    data = image_bytes(fmt, exif=True)
    assert b"DeskTestPhone" in data and GPS_TAG in Image.open(io.BytesIO(data)).getexif()
    stored = attachments.write_file(io.BytesIO(data), directory=tmp_path, max_bytes=10**6)
    kept = stored.temporary.read_bytes()
    assert b"DeskTestPhone" not in kept
    with Image.open(stored.temporary) as image:
        assert image.format == fmt and image.size == (24, 16)
        assert GPS_TAG not in image.getexif() and MAKE_TAG not in image.getexif()
    assert stored.size == len(kept) and stored.content_type == content_type


def test_a_photo_is_turned_upright_before_its_exif_goes(tmp_path):
    image, tags, out = Image.new("RGB", (40, 20), (0, 0, 0)), Image.Exif(), io.BytesIO()
    tags[0x0112] = 6  # "rotate 90° clockwise to view"
    image.save(out, format="JPEG", exif=tags.tobytes())
    stored = attachments.write_file(io.BytesIO(out.getvalue()), directory=tmp_path, max_bytes=10**6)
    with Image.open(stored.temporary) as kept:
        assert kept.size == (20, 40) and 0x0112 not in kept.getexif()


def test_a_photo_sent_on_the_portal_is_stored_without_its_position(app, db, people, store):
    _submit(app, **{"files": (io.BytesIO(image_bytes("JPEG", exif=True)), "id-card.jpg"), "consent": "y"})
    (row,) = db.session.scalars(select(Attachment)).all()
    kept = (store / row.stored_name).read_bytes()
    assert b"DeskTestPhone" not in kept and GPS_TAG not in Image.open(io.BytesIO(kept)).getexif()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` × ``height`` in a few dozen bytes (what a bomb looks like)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_refused_before_it_is_decoded(tmp_path):
    bomb = _png_header_only(20_000, 20_000)  # 400 megapixels in under 100 bytes
    with pytest.raises(contents.UnsafeContent) as refused:
        attachments.write_file(io.BytesIO(bomb), directory=tmp_path, max_bytes=10**6)
    assert "50" in str(refused.value.errors["file"][0])
    assert list(tmp_path.iterdir()) == []  # nothing left on disk


def test_a_broken_image_is_refused_with_a_message(tmp_path):
    with pytest.raises(contents.UnsafeContent):
        attachments.write_file(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), directory=tmp_path, max_bytes=10**6)
    assert list(tmp_path.iterdir()) == []


def test_the_portal_says_so_by_the_documents_and_keeps_what_was_typed(app, db, people, store):
    browser = Browser(app.test_client())
    browser.refresh_token("/portal/new")
    response = browser.post("/portal/new", {
        "kind": "complaint", "name": "فاطمة", "phone": "0551112233", "subject": "موضوع محفوظ",
        "body": "نص محفوظ كما كتب", "consent": "y", "files": (io.BytesIO(_png_header_only(20_000, 20_000)), "scan.png")},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "ميغابكسل" in page or "megapixels" in page
    assert "نص محفوظ كما كتب" in page and "موضوع محفوظ" in page
    assert db.session.scalar(select(Ticket.id)) is None and not list(store.glob("*"))


def test_the_logo_past_the_pixel_limit_is_refused_by_the_logo_field(app, db, people):
    from desk.errors import ValidationFailed
    from desk.portal import profile
    data = profile.ProfileData(name_ar="جمعية البر", name_en="Al-Birr")
    with pytest.raises(ValidationFailed) as refused:
        profile.save(db.session, people.admin, app.config, data, logo=io.BytesIO(_png_header_only(20_000, 20_000)))
    assert list(refused.value.errors) == ["logo"] and any(n in str(refused.value.errors["logo"][0]) for n in ("50", "٥٠"))


# Office documents checked as zip files ----------------------------------------------------------

def _docx(extra: dict[str, bytes] | None = None, count: int = 0) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
        for n in range(count):
            archive.writestr(f"word/media/part{n}.xml", "<x/>")
    return buffer.getvalue()


def test_a_plain_office_document_is_accepted_as_it_is(tmp_path):
    data = _docx({"word/styles.xml": "<styles/>" * 200})
    stored = attachments.write_file(io.BytesIO(data), directory=tmp_path, max_bytes=10**6)
    assert stored.content_type == attachments.DOCX and stored.temporary.read_bytes() == data


def test_an_office_zip_bomb_is_refused(tmp_path):
    bomb = _docx({"word/media/image1.bin": b"\x00" * (8 * 1024 * 1024)})  # ~8 KB packed, 8 MB unpacked
    assert len(bomb) < 64 * 1024
    with pytest.raises(contents.UnsafeContent) as refused:
        attachments.write_file(io.BytesIO(bomb), directory=tmp_path, max_bytes=10**6)
    assert "PDF" in str(refused.value.errors["file"][0])
    assert list(tmp_path.iterdir()) == []


def test_too_many_entries_or_too_much_unpacked_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(contents, "MAX_ENTRIES", 20)
    with pytest.raises(contents.UnsafeContent):
        contents.check_office(_write(tmp_path / "many.docx", _docx(count=25)))
    contents.check_office(_write(tmp_path / "few.docx", _docx(count=10)))  # under the limit: accepted
    monkeypatch.setattr(contents, "MAX_UNPACKED", 50_000)
    noise = bytes(range(256)) * 300  # 76 KB that hardly packs: no ratio, only the total
    with pytest.raises(contents.UnsafeContent):
        contents.check_office(_write(tmp_path / "big.docx", _docx({"word/media/a.bin": noise})))


def test_a_zip_whose_headers_lie_about_sizes_is_refused(tmp_path):
    data = bytearray(_docx({"word/media/image1.bin": b"\x00" * 400_000}))
    # Central directory: say the big entry unpacks to 10 bytes (its declared size), so only
    # counting while unpacking finds it.
    at = data.rfind(b"word/media/image1.bin")
    header = data.rfind(b"PK\x01\x02", 0, at)
    data[header + 24:header + 28] = struct.pack("<I", 10)
    with pytest.raises(contents.UnsafeContent):
        contents.check_office(_write(tmp_path / "liar.docx", bytes(data)))


def test_a_channel_leaves_out_a_bomb_and_keeps_the_message(tmp_path):
    bomb = _docx({"word/media/image1.bin": b"\x00" * (8 * 1024 * 1024)})
    assert "contents refused" in acceptable(bomb, "letter.docx", 10**7)
    assert "contents refused" in acceptable(_png_header_only(20_000, 20_000), "scan.png", 10**7)
    assert acceptable(image_bytes("PNG"), "scan.png", 10**7) is None


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


# Referrer-Policy ----------------------------------------------------------------------------

def test_the_portal_sends_no_referrer_and_the_desk_same_origin(app, db, people, visitor, browser):
    assert visitor().get("/portal/new").headers["Referrer-Policy"] == "no-referrer"
    assert visitor().get("/portal/t/C-1448-000001/wrongkey").headers["Referrer-Policy"] == "no-referrer"
    assert browser.get("/login").headers["Referrer-Policy"] == "same-origin"


def test_a_portal_form_over_https_without_a_referer_is_accepted(app, db, people):
    """A page that sends no Referer posts its forms without one: the portal checks the token
    and where the browser says the form came from, not the Referer."""
    browser = Browser(app.test_client())
    browser.client.environ_base["wsgi.url_scheme"] = "https"
    browser.refresh_token("/portal/new")
    data = {"kind": "complaint", "name": "فاطمة", "phone": "0551112233", "subject": "s", "body": "b"}
    answer = browser.post("/portal/new", data, content_type="multipart/form-data",
                          headers={"Sec-Fetch-Site": "same-origin"})
    assert answer.status_code == 303 and db.session.scalar(select(Ticket.id)) is not None


@pytest.mark.parametrize("site, token, status", [("cross-site", True, 400), ("same-origin", False, 400),
                                                 ("same-site", True, 400)])
def test_a_portal_form_from_another_site_or_without_its_token_is_refused(app, db, people, site, token, status):
    browser = Browser(app.test_client())
    browser.refresh_token("/portal/new")
    data = {"kind": "complaint", "name": "فاطمة", "phone": "0551112233", "subject": "s", "body": "b"}
    answer = browser.post("/portal/new", data, csrf=token, content_type="multipart/form-data",
                          headers={"Sec-Fetch-Site": site})
    assert answer.status_code == status and db.session.scalar(select(Ticket.id)) is None


# Revoking a tracking link ---------------------------------------------------------------------

def test_staff_replace_the_link_the_old_one_and_its_sessions_are_refused(app, db, people, as_user, sms_on):
    beneficiary, page = _submit(app)
    old_link = KEY_LINK.search(page).group(1)
    ticket = _only_ticket(db)
    stranger = Browser(app.test_client())
    assert stranger.get(old_link.replace("http://127.0.0.1:5000", "")).status_code == 303
    assert stranger.get(f"/portal/t/{ticket.reference}").status_code == 200
    old_signed = db.session.scalars(select(OutboxMessage)).one()  # the confirmation, with the key link

    staff = as_user(people.staff)
    answer = staff.post(f"/tickets/{ticket.reference}/actions/new-link", {"reason": "رآه شخص آخر"}, htmx=True)
    assert answer.status_code == 200 and "رسالة نصية" in answer.get_data(as_text=True)  # where the new link went

    path = old_link.replace("http://127.0.0.1:5000", "")
    assert Browser(app.test_client()).get(path).status_code == 404               # the old link
    assert stranger.get(f"/portal/t/{ticket.reference}").status_code == 403      # a session opened with it
    assert beneficiary.get(f"/portal/t/{ticket.reference}").status_code == 403   # every session
    db.session.expire_all()
    new = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "new_link")).one()
    assert new.channel == "sms" and new.to_address == "+966551112233" and new.id != old_signed.id
    new_path = KEY_LINK.search(new.body_text).group(1).replace("http://127.0.0.1:5000", "")
    assert new_path != path and Browser(app.test_client()).get(new_path).status_code == 303
    event = db.session.scalars(select(TicketEvent).where(TicketEvent.kind == EventKind.LINK_REISSUED)).one()
    assert (event.actor_id, event.body, event.new_value, event.public) == (people.staff.id, "رآه شخص آخر", "sms", False)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.LINK_REVOKED)).one()
    assert entry.actor_id == people.staff.id and entry.ticket_id == ticket.id and entry.detail["reason"] == "رآه شخص آخر"


def test_signed_links_sent_before_stop_working(app, db, people, sms_on):
    from desk.portal.links import signed_link
    _submit(app)
    ticket = _only_ticket(db)
    before = signed_link(ticket).replace("http://127.0.0.1:5000", "")
    assert Browser(app.test_client()).get(before).status_code == 303
    actions.new_link(db.session, people.staff, ticket, "ضاع الهاتف")
    assert Browser(app.test_client()).get(before).status_code == 404


def test_the_reason_is_required_and_kept_typed_and_nothing_changes(app, db, people, as_user, sms_on):
    _submit(app)
    ticket = _only_ticket(db)
    key_hash = ticket.access_key_hash
    staff = as_user(people.staff)
    answer = staff.post(f"/tickets/{ticket.reference}/actions/new-link", {"reason": "   "}, htmx=True)
    assert answer.status_code == 422 and 'id="action-new-link-reason-error"' in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).access_key_hash == key_hash
    assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.reason == "new_link")) is None


def test_without_the_token_or_the_permission_nothing_happens(app, db, people, as_user, sms_on):
    _submit(app)
    ticket = _only_ticket(db)
    key_hash = ticket.access_key_hash
    refused = as_user(people.staff).post(f"/tickets/{ticket.reference}/actions/new-link", {"reason": "x"},
                                         htmx=True, csrf=False)
    assert refused.status_code == 400
    # A focal point of another department does not see the ticket: 404, as for a ticket that does not exist.
    other = as_user(people.focal).post(f"/tickets/{ticket.reference}/actions/new-link", {"reason": "x"}, htmx=True)
    assert other.status_code == 404
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).access_key_hash == key_hash


def test_a_beneficiary_reached_nowhere_loses_the_link_all_the_same(app, db, people, as_user):
    browser = Browser(app.test_client())
    browser.refresh_token("/portal/new")
    response = browser.post("/portal/new", {"kind": "complaint", "anonymous": "y", "subject": "s", "body": "b"},
                            content_type="multipart/form-data")
    assert response.status_code == 303
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    path = KEY_LINK.search(page).group(1).replace("http://127.0.0.1:5000", "")
    ticket = _only_ticket(db)
    answer = as_user(people.staff).post(f"/tickets/{ticket.reference}/actions/new-link", {"reason": "سرّب"}, htmx=True)
    assert answer.status_code == 200
    assert Browser(app.test_client()).get(path).status_code == 404
    event = db.session.scalars(select(TicketEvent).where(TicketEvent.kind == EventKind.LINK_REISSUED)).one()
    assert event.new_value is None


def test_a_disk_failing_while_the_clean_image_is_written_is_the_disks_failure(tmp_path, monkeypatch):
    """ENOSPC while the image is written again surfaces as the disk's error (desk.outage answers
    503 with the form kept), never as "the image could not be read"; nothing is left behind."""
    import errno

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    with pytest.raises(OSError) as failed:
        attachments.write_file(io.BytesIO(image_bytes("JPEG", exif=True)), directory=tmp_path, max_bytes=10**6)
    assert failed.value.errno == errno.ENOSPC and not isinstance(failed.value, contents.UnsafeContent)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_half_way_leaves_the_old_link_working_and_nothing_recorded(app, db, people, sms_on, monkeypatch):
    """The new key, its message, the event and the audit row commit together or not at all."""
    from desk.notify import service as notify_service
    _submit(app)
    ticket = _only_ticket(db)
    key_hash = ticket.access_key_hash

    def broken(*args, **kwargs):
        raise RuntimeError("the outbox could not be written")

    monkeypatch.setattr(notify_service, "notify_beneficiary", broken)
    with pytest.raises(RuntimeError):
        actions.new_link(db.session, people.staff, ticket, "ضاع الهاتف")
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).access_key_hash == key_hash
    assert db.session.scalar(select(TicketEvent.id).where(TicketEvent.kind == EventKind.LINK_REISSUED)) is None
    assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == AuditAction.LINK_REVOKED)) is None
