"""A submission is taken once (issue 14, item 5).

Every form that creates something (a portal request or reply, a ticket at intake, a note or a
reply on a ticket, a document) carries a random one-time token in a hidden field (``FIELD``,
rendered by the ``once()`` macro of templates/macros/forms.html). The service that does the work
claims the token first thing in its transaction (``take``) and records what it made there
(``Taken.done``): the row (desk.models.FormSubmission) commits with the ticket, the reply or the
document, or not at all. A second request with the same form — a double click, a retry after a
timeout, a browser's "resubmit" — finds the row (``first``) and answers with the first result
instead of making a second ticket.

Two requests with the same form at once: both find no row; the unique key lets one insert and
makes the other wait (PostgreSQL: for the first transaction to end; SQLite: for the write lock),
then refuses it (``AlreadyTaken``), and that request reads the winner's row and answers the same.
If the first transaction fails instead, the form was never used and the second goes ahead.

The token is bound to its sender: the key is the digest of the form's kind, the sender's scope
(the signed-in user, or the portal visitor's session) and the token, so someone else's token is
just another key and never shows them another's result. The token itself is never stored. A form
without a token (a page opened before this existed, during a deploy) still works, unprotected.
Rows are kept ``KEEP`` (a day): ``flask desk sweep-submissions`` removes older ones; after that a
token is unknown again.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.errors import DeskError
from desk.models import FormSubmission, Ticket, utcnow
from desk.transaction import commit

FIELD = "once"               # the hidden field's name
KEEP = timedelta(hours=24)   # how long a used form is remembered (at least)
TOKEN_BYTES = 24             # 192 bits: a 32-character URL-safe token
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


class Kind(StrEnum):
    """The forms that create something."""

    PORTAL_REQUEST = "portal_request"
    PORTAL_REPLY = "portal_reply"
    INTAKE = "intake"
    COMMENT = "comment"
    ATTACHMENT = "attachment"
    VISITOR_TAP = "visitor_tap"      # the visitor counter's "+1 visitor" (desk.survey)
    AUX_SERVICE = "aux_service"      # an auxiliary service counted there
    BROADCAST = "broadcast"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


@dataclass(frozen=True)
class Once:
    """A posted form's token, bound to the form's kind and its sender (``bind``)."""

    kind: str
    key: str                       # the row's unique key
    user_id: int | None            # the staff member who sent it; None on the portal
    token: str = field(repr=False)  # seals what only the sender may read again


def bind(kind: str, token: str | None, scope: str | None, user_id: int | None = None) -> Once | None:
    """The form's token as sent by ``scope`` ("user:<id>", "visitor:<session's id>"); None when
    there is no well-formed token or no scope: the form is taken, but not protected."""
    if not token or not scope or not _TOKEN.fullmatch(token):
        return None
    key = hashlib.sha256("\n".join((kind, scope, token)).encode()).hexdigest()
    return Once(kind=kind, key=key, user_id=user_id, token=token)


class AlreadyTaken(DeskError):
    """The same form, sent at the same moment by another request, was taken first: that request
    committed its row while this one waited. The caller answers with ``first`` (the transaction
    has been rolled back by then)."""

    status = 409

    def __init__(self) -> None:
        super().__init__(_l("This form was already sent. Open the page again to see the result."))


class Taken:
    """The claim of a form in the caller's transaction; ``done`` records what it made."""

    def __init__(self, row: FormSubmission | None, once: Once | None):
        self.row, self.once = row, once

    def done(self, ticket: Ticket | None, *, secret: str | None = None, **result: Any) -> None:
        """What the form made: the ticket it created or wrote on, what else the second answer
        needs (``result``, JSON), and a ``secret`` to show again only to whoever holds the token
        (a new tracking key: sealed with the token, which is not stored)."""
        if self.row is None or self.once is None:
            return
        if secret is not None:
            result["sealed"] = seal(self.once.token, secret)
        self.row.ticket_id = ticket.id if ticket is not None else None
        self.row.result = result


UNPROTECTED = Taken(None, None)


def take(session: Session, once: Once | None) -> Taken:
    """Claim the form: the first write of the caller's transaction (inside ``atomic``), so the
    claim waits on a racing request before any other work. ``AlreadyTaken`` when a request with
    the same form committed first; the caller's ``atomic`` rolls back."""
    if once is None:
        return UNPROTECTED
    row = FormSubmission(key=once.key, kind=once.kind, user_id=once.user_id, result={}, created_at=utcnow())
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise AlreadyTaken() from None
    return Taken(row, once)


@dataclass(frozen=True)
class Answered:
    """What a form already taken made: shown again instead of being made twice."""

    ticket: Ticket | None
    result: dict[str, Any]
    secret: str | None  # the ``secret`` given to ``done``, unsealed with the sender's token


def first(session: Session, once: Once | None) -> Answered | None:
    """The first result of this form from this sender, if it was already taken."""
    if once is None:
        return None
    row = session.scalar(select(FormSubmission).where(FormSubmission.key == once.key))
    if row is None:
        return None
    result = dict(row.result or {})
    sealed = result.pop("sealed", None)
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
    return Answered(ticket, result, unseal(once.token, sealed) if sealed else None)


def sweep(session: Session, *, older_than: timedelta = KEEP, now: datetime | None = None) -> int:
    """Forget the forms used more than ``older_than`` ago; how many."""
    cutoff = (now or utcnow()) - older_than
    removed = cast(CursorResult, session.execute(  # what a DELETE returns; typed as any Result
        delete(FormSubmission).where(FormSubmission.created_at < cutoff))).rowcount
    commit(session)
    return int(removed or 0)


# Sealing: a secret kept with the row, readable only with the form's token -------------------

def _stream(token: str, purpose: bytes, size: int) -> bytes:
    blocks = (hmac.new(token.encode(), purpose + i.to_bytes(4, "big"), hashlib.sha256).digest()
              for i in range((size + 31) // 32))
    return b"".join(blocks)[:size]


def seal(token: str, secret: str) -> str:
    """``secret`` encrypted with a key stream drawn from the token (HMAC-SHA256 in counter mode,
    one token per row, never reused) and authenticated: neither the database nor the app's
    secret key reveals it."""
    data = secret.encode()
    cipher = bytes(a ^ b for a, b in zip(data, _stream(token, b"seal", len(data)), strict=True))
    tag = hmac.new(token.encode(), b"tag" + cipher, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(tag + cipher).decode()


def unseal(token: str, sealed: str) -> str | None:
    """The secret, or None if ``sealed`` was not sealed with this token (or was altered)."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
    except ValueError:
        return None
    tag, cipher = raw[:16], raw[16:]
    if not hmac.compare_digest(tag, hmac.new(token.encode(), b"tag" + cipher, hashlib.sha256).digest()[:16]):
        return None
    data = bytes(a ^ b for a, b in zip(cipher, _stream(token, b"seal", len(cipher)), strict=True))
    return data.decode(errors="replace")
