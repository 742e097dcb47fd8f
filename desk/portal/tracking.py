"""Who may see a ticket on the portal, without an account.

- The private tracking link carries a random key (``new_key``). Only its SHA-256 is stored on
  the ticket; a link is checked by comparing digests in constant time.
- Messages sent later (the satisfaction survey, replies) cannot carry that key, which the desk
  does not keep: they carry a signed token naming the ticket (``signed_link_token``), verified
  with the app's secret (itsdangerous compares signatures in constant time) and tied to the
  ticket's current key hash, so replacing the key also ends the old signed links.
- Reference + phone: the phone typed when the request was made (kept on the ticket).

Once a visitor proved access, the ticket's id is kept in their (signed) session for a while,
so the pages they move between carry no key in the address bar, history or Referer; with the
first characters of the key's hash, so a link revoked from the desk (a new key) ends those
sessions too.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from desk.models import Ticket

KEY_BYTES = 24          # 192 bits: a 32-character URL-safe key
GRANTS_KEPT = 20        # tickets remembered in one visitor's session
SIGNED_MAX_AGE = 120 * 24 * 3600  # a link in a message works for 120 days
_SALT = "desk.portal.link"
_DUMMY = hashlib.sha256(b"no key").hexdigest()


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> tuple[str, str]:
    """(the key for the link, its digest for the ticket)."""
    key = secrets.token_urlsafe(KEY_BYTES)
    return key, digest(key)


def key_matches(ticket: Ticket | None, key: str) -> bool:
    """Constant time whether or not the ticket exists or has a key."""
    stored = (ticket.access_key_hash if ticket is not None else None) or _DUMMY
    matched = hmac.compare_digest(stored, digest(key or ""))
    return matched and ticket is not None and ticket.access_key_hash is not None


def phone_matches(ticket: Ticket | None, phone: str) -> bool:
    """The phone typed at submission (E.164), else the beneficiary's; constant-time compare."""
    on_record = ""
    if ticket is not None and not ticket.anonymous:
        on_record = (ticket.meta or {}).get("contact", {}).get("phone") or (
            ticket.beneficiary.phone if ticket.beneficiary else "") or ""
    matched = hmac.compare_digest(on_record.encode() or b"-", (phone or "").encode() or b"+")
    return matched and bool(on_record)


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def signed_link_token(secret: str, ticket: Ticket) -> str:
    return _serializer(secret).dumps([ticket.id, (ticket.access_key_hash or "")[:16]])


def read_signed_token(secret: str, token: str, max_age: int = SIGNED_MAX_AGE) -> tuple[int, str] | None:
    """(ticket id, key-hash prefix) from a valid, unexpired token; None otherwise."""
    try:
        value = _serializer(secret).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str)):
        return None
    return value[0], value[1]


def signed_token_matches(ticket: Ticket | None, prefix: str) -> bool:
    return ticket is not None and hmac.compare_digest((ticket.access_key_hash or "")[:16], prefix)


def _seal(ticket: Ticket) -> str:
    """What a grant remembers of the ticket's key: replacing the key (a revoked link) ends it."""
    return (ticket.access_key_hash or "")[:16]


def grant(session_store, ticket: Ticket) -> None:
    """Remember in the visitor's session that they may see ``ticket`` while its key is the same."""
    kept = [g for g in session_store.get("portal_grants", []) if g[0] != ticket.id]
    session_store["portal_grants"] = (kept + [[ticket.id, _seal(ticket)]])[-GRANTS_KEPT:]


def granted(session_store, ticket: Ticket) -> bool:
    """The visitor proved access to ``ticket`` and its link was not replaced since."""
    return any(g[0] == ticket.id and hmac.compare_digest(str(g[1]), _seal(ticket))
               for g in session_store.get("portal_grants", []) if isinstance(g, list) and len(g) == 2)
