"""The full original of an email, kept as a document of its ticket (``message/rfc822``,
downloaded only, never rendered: desk.web.send_download), in the transaction that takes the
message in. Whatever the desk shows of the message, cut or left out, is in it."""
from __future__ import annotations

import io
import os
import secrets
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from desk.attachments.service import PENDING_SUFFIX, directory_of, write_capped
from desk.channels.outgoing import ORIGINAL
from desk.models import Attachment, EventKind, Ticket
from desk.tickets.workflow import record
from desk.transaction import Files

CONTENT_TYPE = ORIGINAL  # message/rfc822
# The text shown of a message is cut past this many characters, with a notice naming the original.
SHOWN = 20_000


def filename(received: datetime | None = None) -> str:
    return f"email-{(received or datetime.now(UTC)).astimezone(UTC):%Y%m%d-%H%M%S}.eml"


def keep(session: Session, ticket: Ticket, raw: bytes, *, name: str, directory: str | os.PathLike,
         written: Files, reason: str | None) -> Attachment:
    """Write ``raw`` as a document of ``ticket`` named ``name`` (staff only: not shown back to
    the beneficiary), with its ATTACHMENT event, in the caller's transaction."""
    stored_name = secrets.token_hex(16)
    folder = directory_of(directory)
    target = folder / (stored_name + PENDING_SUFFIX)
    try:
        size, sha256 = write_capped(io.BytesIO(raw), target, len(raw) + 1)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    written.stage(target, folder / stored_name)
    attachment = Attachment(ticket_id=ticket.id, uploaded_by_id=None, filename=name, stored_name=stored_name,
                            content_type=CONTENT_TYPE, size=size, sha256=sha256, from_beneficiary=False)
    session.add(attachment)
    record(session, ticket, None, EventKind.ATTACHMENT, new=name[:200], body=name, bump=False, reason=reason)
    return attachment


# Stored in the ticket's text (data, not interface: every reader sees the same words), so both languages.
CUT = "النص أطول مما يُعرض هنا، والرسالة كاملة في المستند / The text is longer than shown here; the whole message is in the document"


def shown(text: str, name: str, limit: int = SHOWN) -> str:
    """``text`` as shown on the ticket: whole, or cut at ``limit`` with a notice naming the
    original's document."""
    if len(text) <= limit:
        return text
    notice = f"\n\n[{CUT} {name}]"
    return text[:max(0, limit - len(notice) - 1)].rstrip() + "…" + notice
