"""Documents sent with a public reply: chosen by the staff member among the ticket's own
documents (never sent by themselves: evidence may be confidential), at most a few and a size
that mail servers accept."""
from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _nl
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.errors import ValidationFailed
from desk.models import Attachment, Ticket

MAX_DOCUMENTS = 5
ORIGINAL = "message/rfc822"  # an email's original (desk.channels.original): kept for staff, never sent on
MAX_TOTAL_BYTES = 20 * 1024 * 1024  # most mail servers refuse a message past 25 MB once encoded


def documents_to_send(session: Session, ticket: Ticket, ids: Sequence[int]) -> list[Attachment]:
    """The ticket's documents with these ids, in order; refused (ValidationFailed on
    ``send_files``) if one is not this ticket's (or is an email's original), or there are too many or too much."""
    wanted = list(dict.fromkeys(i for i in ids if i))
    if not wanted:
        return []
    if len(wanted) > MAX_DOCUMENTS:
        raise ValidationFailed({"send_files": [_nl("Send at most %(num)s document with a reply.", "Send at most %(num)s documents with a reply.",
                                                     MAX_DOCUMENTS)]})
    rows = list(session.scalars(select(Attachment).where(
        Attachment.ticket_id == ticket.id, Attachment.id.in_(wanted),
        Attachment.content_type != ORIGINAL).order_by(Attachment.id)))
    if len(rows) != len(wanted):
        raise ValidationFailed({"send_files": [_l("Choose documents of this ticket.")]})
    if sum(row.size for row in rows) > MAX_TOTAL_BYTES:
        raise ValidationFailed({"send_files": [_l("The documents are too large to send together (at most %(n)s MB).",
                                                  n=MAX_TOTAL_BYTES // (1024 * 1024))]})
    return rows
