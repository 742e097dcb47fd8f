"""Documents attached to a ticket: evidence for a compensation claim (the association's
admission, a final ruling), a photo, a letter.

Plain functions of (session, actor, …). A file is accepted by what its bytes are (magic
numbers), not by its name or the browser's content type; it is written under a random name
(never the uploader's) and its row and ATTACHMENT timeline event are committed together.
If anything fails after the file is written, the file is removed: nothing half-written.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk import audit
from desk.attachments import contents
from desk.casefile import service as casefile
from desk.errors import NotFound, ValidationFailed, too_long
from desk.memo import read_once
from desk.models import Attachment, AuditAction, DocumentType, EventKind, Ticket, User
from desk.permissions import Action
from desk.submissions import Once, take
from desk.tickets import service as tickets
from desk.tickets.workflow import record, require
from desk.transaction import Files, atomic, commit

MAX_DESCRIPTION = 500
MAX_FILENAME = 200
CHUNK = 64 * 1024

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
WEBP = "image/webp"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

# An Office Open XML file is a ZIP; the part that names its kind.
_OOXML_PARTS = (("word/document.xml", DOCX), ("xl/workbook.xml", XLSX), ("ppt/presentation.xml", PPTX))

# Bidirectional controls: a name like "report\u202Efdp.exe" would read "report.exe.pdf"-ish.
_BIDI_CONTROLS = {"\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}
_FORBIDDEN = set('<>:"/\\|?*')


@dataclass(frozen=True)
class Upload:
    """What the person sent: the bytes (a readable binary stream), the name they had, a description.
    No stream or no name: nothing was sent, which ``store`` refuses ("Choose a file first.")."""

    stream: IO[bytes] | None
    filename: str | None
    description: str = ""
    document_type: str = ""  # desk.models.DocumentType, or "": a document like any other


def sniff(path: Path) -> str | None:
    """The content type the file's bytes say it is, if it is one the desk accepts."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        if "[Content_Types].xml" in names:
            for part, content_type in _OOXML_PARTS:
                if part in names:
                    return content_type
    return None


def clean_filename(raw: str | None) -> str:
    """The uploader's file name, safe to display and to put in a header: no folders, no control
    or bidirectional characters, no characters Windows refuses, at most MAX_FILENAME characters
    (the extension kept). Never used as a path on disk."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
        for c in name if c not in _BIDI_CONTROLS and c not in _FORBIDDEN
    )
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_FILENAME - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:MAX_FILENAME].rstrip(" .")
    return name or "document"


def directory_of(base: str | os.PathLike) -> Path:
    path = Path(base)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def path_of(attachment: Attachment, base: str | os.PathLike) -> Path:
    return Path(base) / attachment.stored_name


def too_big(max_bytes: int) -> ValidationFailed:
    """The refusal of a file over ``max_bytes`` (also used when the whole request is too large)."""
    return ValidationFailed({"file": [
        _l("The file is too large (at most %(n)s MB).", n=f"{max_bytes / (1024 * 1024):g}")]})


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_capped(stream: IO[bytes], target: Path, max_bytes: int) -> tuple[int, str]:
    """Copy the stream to ``target`` (which must not exist), stopping past ``max_bytes``."""
    digest, size = hashlib.sha256(), 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise too_big(max_bytes)
            digest.update(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


# The file name's extension must agree with what the bytes are (a PDF named "photo.jpg" or
# an Office document named ".exe" is refused): what downloads it opens it by its name.
EXTENSIONS = {
    PDF: {"pdf"}, PNG: {"png"}, JPEG: {"jpg", "jpeg", "jpe", "jfif"}, WEBP: {"webp"},
    DOCX: {"docx"}, XLSX: {"xlsx"}, PPTX: {"pptx"},
}
NOT_ACCEPTED = _l("This kind of file is not accepted: attach a PDF, an image (PNG, JPEG, WebP) or a Word, "
                  "Excel or PowerPoint document.")


IMAGES = frozenset({PNG, JPEG, WEBP})


# A file being written, or written but not yet committed, carries this suffix after its random
# name (desk.transaction.Files.stage renames it once its row is committed).
PENDING_SUFFIX = ".pending"


@dataclass(frozen=True)
class Stored:
    """A file written by ``write_file``: its random name, where it is (``temporary``, under
    PENDING_SUFFIX) and where it goes once committed (``path``), size, SHA-256 and sniffed type."""

    stored_name: str
    path: Path
    size: int
    sha256: str
    content_type: str
    temporary: Path

    def stage(self, written: Files) -> None:
        """Into the caller's transaction: renamed to ``path`` on commit, removed otherwise."""
        written.stage(self.temporary, self.path)


def write_file(stream: IO[bytes] | None, *, directory: str | os.PathLike, max_bytes: int,
          accepted: frozenset[str] | None = None, refusal=None) -> Stored:
    """Write the uploaded bytes under a random temporary name in ``directory`` and sniff what
    they are. The caller stages the file in its transaction (``Stored.stage``): it takes its
    final name only once its row is committed.

    Refused (ValidationFailed on "file", nothing left on disk): no stream, an empty file, one
    over ``max_bytes``, one whose bytes are not an accepted type (``accepted``: any type
    ``sniff`` knows when None; ``refusal`` is the message then), one whose contents
    desk.attachments.contents refuses (contents.UnsafeContent: an image past its pixel limit
    or unreadable, an Office document that would unpack to too much). An image is kept
    without its metadata (EXIF, GPS): size and digest are those of the file kept."""
    if stream is None:
        raise ValidationFailed({"file": [_l("Choose a file first.")]})
    stored_name = secrets.token_hex(16)
    folder = directory_of(directory)
    target = folder / (stored_name + PENDING_SUFFIX)
    try:
        size, sha256 = write_capped(stream, target, max_bytes)
        if size == 0:
            raise ValidationFailed({"file": [_l("The file is empty.")]})
        content_type = sniff(target)
        if content_type is None or (accepted is not None and content_type not in accepted):
            raise ValidationFailed({"file": [refusal or NOT_ACCEPTED]})
        if contents.accept(target, content_type):  # an image written again without its metadata
            size, sha256 = target.stat().st_size, file_digest(target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return Stored(stored_name, folder / stored_name, size, sha256, content_type, target)


def add(session: Session, actor: User, ticket: Ticket, upload: Upload, *, directory: str | os.PathLike,
        max_bytes: int, once: Once | None = None) -> Attachment:
    """Attach one document to the ticket, with an ATTACHMENT event, in one transaction (see
    ``store`` for what is refused); with the form's token (``once``: desk.submissions) the same
    form sent again attaches nothing more."""
    require(actor, Action.ATTACHMENT_ADD, ticket)
    with atomic(session) as written:
        taken = take(session, once)
        attachment = store(session, actor, ticket, upload, directory=directory, max_bytes=max_bytes, written=written)
        session.flush()
        taken.done(ticket, attachment=attachment.id)
    return attachment


def store(session: Session, actor: User | None, ticket: Ticket, upload: Upload, *, directory: str | os.PathLike,
          max_bytes: int, written: Files, field: str = "file", reason: str | None = None) -> Attachment:
    """Write one document and add its row and ATTACHMENT event to the caller's transaction
    (not committed; the caller checks who may attach). The file's path is appended to
    ``written`` (staged: renamed into place when the caller commits, removed if it does not).
    ``actor`` None: the beneficiary (the portal).

    Refused (ValidationFailed on ``field``): no file, an empty file, one over ``max_bytes``,
    one whose bytes are not PDF, PNG, JPEG, WebP or an Office (docx, xlsx, pptx) document or
    whose name's extension says otherwise, a description over MAX_DESCRIPTION characters."""
    description = (upload.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed({"description": [too_long(MAX_DESCRIPTION)]})
    if upload.document_type and upload.document_type not in {d.value for d in DocumentType}:
        raise ValidationFailed({"document_type": [_l("Choose what the document is from the list.")]})
    if upload.stream is None or not (upload.filename or "").strip():
        raise ValidationFailed({field: [_l("Choose a file first.")]})
    try:
        stored = write_file(upload.stream, directory=directory, max_bytes=max_bytes)
    except ValidationFailed as error:  # (nothing left on disk)
        raise ValidationFailed({field: error.errors["file"]}) from None
    stored.stage(written)
    content_type = stored.content_type
    filename = clean_filename(upload.filename)
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if extension not in EXTENSIONS[content_type]:
        raise ValidationFailed({field: [_l(
            "The file's name (%(name)s) does not match what it contains: rename it with the right "
            "extension, e.g. .%(ext)s.", name=filename, ext=sorted(EXTENSIONS[content_type])[0])]})
    attachment = Attachment(
        ticket_id=ticket.id, uploaded_by_id=actor.id if actor else None, filename=filename,
        stored_name=stored.stored_name, content_type=content_type, size=stored.size, sha256=stored.sha256,
        description=description or None, from_beneficiary=actor is None,
        document_type=upload.document_type or None,
    )
    session.add(attachment)
    # Adding evidence is not an edit of the ticket's fields: like an internal note it does
    # not bump the version, so it never makes another editor's form stale.
    record(session, ticket, actor, EventKind.ATTACHMENT, new=filename[:200],
           body=f"{filename}\n{description}" if description else filename, bump=False, reason=reason)
    casefile.on_attached(session, actor, ticket, attachment)
    return attachment


def for_ticket(session: Session, ticket: Ticket) -> list[Attachment]:
    """The ticket's attachments, oldest first: read once per page (desk.memo), which shows them
    in the documents list, the reply's choices and the settlement's agreement choices."""
    return read_once("attachments", ticket.id, lambda: list(session.scalars(
        select(Attachment).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id))))


def get(session: Session, actor: User, reference: str, attachment_id: int) -> tuple[Ticket, Attachment]:
    """The attachment, if the actor may see its ticket (tickets.get_ticket: visible_tickets);
    NotFound otherwise, the same as for an attachment that does not exist."""
    ticket = tickets.get_ticket(session, actor, reference)
    attachment = session.scalar(
        select(Attachment).where(Attachment.id == attachment_id, Attachment.ticket_id == ticket.id))
    if attachment is None:
        raise NotFound()
    return ticket, attachment


def record_download(session: Session, actor: User | str, ticket: Ticket, attachment: Attachment) -> None:
    """A document of a ticket handed out: on the audit trail before the file is sent (the
    document's id and type, not its name, which may name the person)."""
    audit.record(session, AuditAction.DOWNLOAD, actor=actor, record_type="attachment", record_id=attachment.id,
                 ticket_id=ticket.id, detail={"ticket": ticket.reference, "type": attachment.content_type,
                                              "from_beneficiary": attachment.from_beneficiary})
    commit(session)
