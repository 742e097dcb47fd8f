"""The gate every incoming email passes before the desk believes a word of it: who wrote it
(strictly parsed, else the message is quarantined, never a guessed sender), whether its
sender is authenticated by our own receiving server, whether it is automatic mail that must
never make a ticket nor an answer (loops, storms, bounces), and its fingerprint when it has
no Message-ID.

Pure functions of a parsed message (``email.message.EmailMessage``) or its raw bytes: no
database, no Flask. desk.channels.email reads the rest of the message.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Set
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage, Message

# Trace headers: added by each server on the way, so a re-delivery differs only in them.
TRACE_HEADERS = frozenset({
    "received", "return-path", "delivered-to", "x-original-to", "x-received", "received-spf",
    "authentication-results", "arc-seal", "arc-message-signature", "arc-authentication-results",
    "x-spam-status", "x-spam-score", "x-spam-flag", "x-spam-level", "x-spam-checker-version",
    "x-virus-scanned", "x-ms-exchange-organization-authas", "x-google-smtp-source", "x-gm-message-state",
    "x-envelope-from", "x-envelope-to", "envelope-to", "x-rspamd-queue-id", "x-rspamd-server",
    "x-rspamd-action", "dkim-filter", "x-mailbox-line", "status", "x-status", "x-keywords", "x-uid",
})

# Headers whose decoded value must never hold a line break or a NUL (they become our
# records, our recipients or the threading of our answers).
CHECKED_HEADERS = ("From", "Sender", "Reply-To", "To", "Cc", "Subject", "Message-ID", "In-Reply-To",
                   "References", "Date")
_CONTROL = re.compile(r"[\r\n\x00]")


class Unsafe(Exception):
    """The message's headers cannot be trusted: it goes to the quarantine with this reason."""


@dataclass(frozen=True)
class Sender:
    """The one author of a message, from ``email.headerregistry`` under the strict rules."""

    address: Address

    @property
    def email(self) -> str:
        """The address in lower case, the only form the desk ever writes to."""
        return self.address.addr_spec.lower()

    @property
    def name(self) -> str:
        return " ".join((self.address.display_name or "").split())

    @property
    def domain(self) -> str:
        return self.address.domain.lower()


def read(raw: bytes) -> EmailMessage:
    """The message under the default (RFC 5322) policy; headers are parsed lazily by the
    header registry."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)  # noqa: S101 - policy.default makes EmailMessage
    return message


def looks_like_mail(raw: bytes) -> bool:
    """Whether ``raw`` is a message at all: a header block with at least one of the headers
    every message has. (Anything else is not data a mail server would deliver.)"""
    head = raw[:64 * 1024].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    if not head or b"\x00" in head:
        return False
    names = {line.split(b":", 1)[0].strip().lower() for line in head.splitlines()
             if b":" in line and not line[:1].isspace()}
    return bool(names & {b"from", b"message-id", b"date", b"subject", b"received", b"return-path"})


def _decoded(message: Message, name: str) -> list[str]:
    """Every value of header ``name`` decoded (RFC 2047), raising Unsafe when it cannot be."""
    try:
        return [str(value) for value in message.get_all(name) or []]
    except Exception as error:  # the registry refuses CR/LF in address parts, and the like
        raise Unsafe(f"{name} header cannot be read: {error}"[:200]) from None


def check_headers(message: Message) -> None:
    """Raise Unsafe if a header we use holds a line break or a NUL once decoded."""
    for name in CHECKED_HEADERS:
        for value in _decoded(message, name):
            if _CONTROL.search(value):
                raise Unsafe(f"{name} header holds a line break or NUL once decoded")


def sender(message: Message) -> Sender:
    """The one From address, strictly parsed; Unsafe (with the reason) when there is no From,
    more than one, or one that does not parse into a valid address."""
    check_headers(message)
    values = message.get_all("From") or []
    if len(values) != 1:
        raise Unsafe("no From header" if not values else "more than one From header")
    header = _utf8(message, "From") or values[0]
    addresses: tuple = getattr(header, "addresses", ())
    defects: tuple = getattr(header, "defects", ())
    if defects:
        raise Unsafe(f"From header does not parse: {type(defects[0]).__name__}")
    if len(addresses) != 1:
        raise Unsafe("no From address" if not addresses else "more than one From address")
    address = addresses[0]
    domain = address.domain or ""
    if not address.username or "." not in domain or domain.startswith(".") or domain.endswith(".") \
            or any(c.isspace() or ord(c) < 33 or c in "<>()[]\\,;:\"" for c in address.addr_spec.replace('"', "")) \
            or not domain.isascii() and not _idna(domain):
        raise Unsafe("From address is not a valid address")
    try:  # one more check by the registry itself, and a value object the desk can reuse
        checked = Address(display_name=address.display_name, username=address.username, domain=domain)
    except (ValueError, TypeError, IndexError) as error:
        raise Unsafe(f"From address is not valid: {error}"[:200]) from None
    return Sender(checked)


def _utf8(message: Message, name: str):
    """Header ``name`` parsed again from its raw bytes when they are valid UTF-8 (RFC 6532: an
    Arabic name written without RFC 2047), which the parser otherwise marks undecodable. None
    when the header is ASCII or not UTF-8."""
    raw = next((value for key, value in message.raw_items() if key.lower() == name.lower()), None)
    if not isinstance(raw, str) or raw.isascii():
        return None
    try:
        text = raw.encode("ascii", "surrogateescape").decode("utf-8")
    except UnicodeError:
        return None
    return policy.default.header_factory(name, text)


def _idna(domain: str) -> bool:
    try:
        domain.encode("idna")
    except UnicodeError:
        return False
    return True


def valid_address(address: str) -> str | None:
    """``address`` in lower case if it is one addr-spec the header registry parses without
    a defect, else None. For every address the desk writes to that did not come from ``sender``."""
    if not address or _CONTROL.search(address) or len(address) > 254:
        return None
    try:
        header = policy.strict.header_factory("To", address)
    except Exception:
        return None
    addresses: tuple = getattr(header, "addresses", ())
    if getattr(header, "defects", ()) or len(addresses) != 1 or not addresses[0].domain \
            or "." not in addresses[0].domain or not addresses[0].username:
        return None
    return addresses[0].addr_spec.lower()


# Loops, storms and bounces ------------------------------------------------------------------

_BOUNCE_SENDERS = ("mailer-daemon@", "postmaster@")


def _text(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:
        return "?"  # present but unreadable: present is what counts here
    return " ".join(str(value).split()).lower() if value is not None else ""


def automatic(message: Message) -> str | None:
    """Why this is automatic mail that must never make a ticket nor an acknowledgement, from
    its headers alone (the sender is not needed): a loop mark (``X-Loop``, ours or anyone's),
    ``X-Auto-Response-Suppress``, ``Auto-Submitted`` other than no, the X-Autoreply family,
    ``Precedence`` bulk/junk/list, a mailing list, a null sender, a delivery report."""
    if message.get("X-Loop") is not None:
        return f"x-loop: {_text(message, 'X-Loop')[:60]}"
    if message.get("X-Auto-Response-Suppress") is not None:
        return f"x-auto-response-suppress: {_text(message, 'X-Auto-Response-Suppress')[:40]}"
    auto = _text(message, "Auto-Submitted")
    if auto and not auto.startswith("no"):
        return f"auto-submitted: {auto[:60]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if message.get(name) is not None:
            return name.lower()
    precedence = _text(message, "Precedence")
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"precedence: {precedence}"
    if message.get("List-Id") is not None or message.get("List-Unsubscribe") is not None:
        return "mailing list"
    if bounce(message):
        return "delivery report (bounce)"
    if "Return-Path" in message and _text(message, "Return-Path") in ("<>", ""):
        return "bounce (null sender)"
    return None


def from_ourselves(address: str, message: Message, own_addresses: Set[str], own_domain: str | None) -> str | None:
    """Why a message from ``address`` is ours or a mail system's, or None."""
    if address.startswith(_BOUNCE_SENDERS):
        return "bounce"
    if address in own_addresses:
        return "sent by one of our own addresses"
    message_id = _text(message, "Message-ID")
    if own_domain and message_id.startswith("<desk.outbox.") and message_id.endswith(f"@{own_domain.lower()}>"):
        return "one of our own messages"
    return None


def bounce(message: Message) -> bool:
    content_type = (message.get_content_type() or "").lower()
    report = str(message.get_param("report-type") or "").lower() if content_type == "multipart/report" else ""
    return content_type == "multipart/report" and report in ("delivery-status", "")


def failed_recipients(message: Message) -> list[str]:
    """The recipients a delivery report (RFC 3464) says failed (Action: failed), valid
    addresses only, lower case."""
    found: list[str] = []
    for part in message.walk():
        if (part.get_content_type() or "").lower() != "message/delivery-status":
            continue
        blocks: list[str] = []
        payload = part.get_payload()
        if isinstance(payload, list):  # the parser made each field block a sub-message
            blocks = [str(sub) for sub in payload]
        elif isinstance(payload, str):
            blocks = re.split(r"\r?\n\r?\n", payload)
        for block in blocks:
            fields = {}
            for line in block.splitlines():
                name, colon, value = line.partition(":")
                if colon:
                    fields[name.strip().lower()] = value.strip()
            if fields.get("action", "").lower() != "failed":
                continue
            recipient = fields.get("final-recipient") or fields.get("original-recipient") or ""
            address = valid_address(recipient.partition(";")[2].strip().strip("<>"))
            if address and address not in found:
                found.append(address)
    return found


# Exactly once -------------------------------------------------------------------------------

def fingerprint(raw: bytes) -> str:
    """``sha256:<hex>`` of the message without its trace headers (``Received``,
    ``Return-Path``, ``Delivered-To`` …): the same message delivered again, by another route
    or after a server added its headers, has the same fingerprint."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    kept: list[bytes] = []
    keep = True
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if line[:1] in (b" ", b"\t"):  # a folded continuation belongs to the header above
            if keep:
                kept.append(line.strip())
            continue
        name = line.split(b":", 1)[0].strip().lower().decode("ascii", "replace")
        keep = name not in TRACE_HEADERS
        if keep:
            kept.append(line.rstrip())
    digest = hashlib.sha256(b"\n".join(kept))
    digest.update(b"\n\n")
    digest.update(body.replace(b"\r\n", b"\n"))
    return "sha256:" + digest.hexdigest()


# Who really sent it -------------------------------------------------------------------------

@dataclass(frozen=True)
class Authentication:
    """What our own receiving server said (RFC 8601): each method's result ("pass", "fail",
    "none" …) and the domains it passed for; ``found`` False when it said nothing we trust."""

    found: bool = False
    results: dict[str, str] = field(default_factory=dict)
    passed: frozenset[tuple[str, str]] = frozenset()   # (method, domain): dkim header.d, spf smtp.mailfrom, dmarc header.from

    def get(self, method: str) -> str | None:
        return self.results.get(method)


_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)((?:\s*\([^)]*\))?(?:\s+[a-z]+\.[a-z-]+\s*=\s*[^\s;]+)*)",
                     re.IGNORECASE)
_PROPERTY = re.compile(r"([a-z]+\.[a-z-]+)\s*=\s*([^\s;]+)", re.IGNORECASE)
_DOMAIN_OF = {"dkim": ("header.d", "header.i"), "spf": ("smtp.mailfrom", "smtp.helo"), "dmarc": ("header.from",)}


def authentication(message: Message, authserv_id: str) -> Authentication:
    """The results of the ``Authentication-Results`` header added by our own receiving server
    (its authserv-id ``authserv_id``); a header with another id (anyone can write one) is
    ignored. The topmost trusted header wins (the one our server added last)."""
    if not authserv_id:
        return Authentication()
    try:
        values = [str(v) for v in message.get_all("Authentication-Results") or []]
    except Exception:
        return Authentication()
    for value in values:
        value = " ".join(value.split())
        server = value.split(";", 1)[0].strip().split()[0].lower() if value.strip() else ""
        if server != authserv_id.strip().lower():
            continue
        results: dict[str, str] = {}
        passed: set[tuple[str, str]] = set()
        for match in _RESULT.finditer(value.split(";", 1)[1] if ";" in value else ""):
            method, result = match.group(1).lower(), match.group(2).lower()
            if results.get(method) != "pass":  # one passing signature is enough
                results[method] = result
            if result == "pass":
                properties = {k.lower(): v for k, v in _PROPERTY.findall(match.group(3) or "")}
                for name in _DOMAIN_OF[method]:
                    if properties.get(name):
                        passed.add((method, properties[name].rpartition("@")[2].strip("<>").lower()))
                        break
        return Authentication(True, results, frozenset(passed))
    return Authentication()


def _aligned(domain: str, sender_domain: str) -> bool:
    """Relaxed alignment (DMARC): the same domain, or one a subdomain of the other."""
    return bool(domain) and (domain == sender_domain or domain.endswith("." + sender_domain)
                             or sender_domain.endswith("." + domain))


def verified(auth: Authentication, sender_domain: str, *, required: bool) -> tuple[bool, str | None]:
    """(verified, why not). A From failing DMARC is never verified. With ``required``, a sender
    is verified only by our server's result: DMARC pass for the From's domain, or (no DMARC
    policy) DKIM or SPF passing for a domain aligned with it."""
    dmarc = auth.get("dmarc")
    if dmarc in ("fail", "permerror"):
        return False, "DMARC failed"
    if not required:
        return True, None
    if not auth.found:
        return False, "no authentication result from our server"
    if any(_aligned(domain, sender_domain) for _, domain in auth.passed):
        return True, None
    return False, "SPF, DKIM and DMARC did not pass for the sender's domain"
