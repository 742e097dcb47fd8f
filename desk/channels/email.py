"""Reading one email: who wrote it, the text, the documents, how it threads, and whether it
is noise (an auto-reply, a bounce, our own message) that must never become a ticket.

Pure functions of the raw bytes; no database, no Flask. Malformed MIME never raises: what
cannot be read is left out and said so.
"""
from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser

from desk.channels.mailgate import (
    Authentication,
    Unsafe,
    authentication,
    automatic,
    bounce,
    failed_recipients,
    fingerprint,
    from_ourselves,
    read,
    sender,
)
from desk.text import to_ascii_digits

MAX_SUBJECT = 200
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# A ticket reference in a subject: C-1447-000123 (Arabic-Indic digits too; see desk.notify.messages).
REFERENCE = re.compile(r"(?<![\w-])([A-Z])-([0-9٠-٩۰-۹]{4})-([0-9٠-٩۰-۹]{6})(?![\w-])")


@dataclass
class Document:
    filename: str
    data: bytes


@dataclass
class ParsedEmail:
    key: str                    # the idempotency key: the Message-ID, or its fingerprint (mailgate.fingerprint)
    message_id: str | None      # "<…>" as written
    in_reply_to: list[str]
    references: list[str]
    from_name: str
    from_address: str           # lower case; "" when there is none
    subject: str
    text: str
    documents: list[Document] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # parts that could not be decoded
    date: datetime | None = None
    noise: str | None = None    # why this is not a message from a person, or None
    quarantine: str | None = None  # why its headers cannot be trusted (desk.channels.mailgate), or None
    failed_recipients: list[str] = field(default_factory=list)  # a bounce: who it could not reach
    authentication: Authentication = field(default_factory=Authentication)
    sender_domain: str = ""
    size: int = 0

    @property
    def reference(self) -> str | None:
        """A ticket reference written in the subject, in ASCII digits."""
        match = REFERENCE.search(self.subject or "")
        if match is None:
            return None
        return f"{match.group(1)}-{to_ascii_digits(match.group(2))}-{to_ascii_digits(match.group(3))}"


def _header(message: Message, name: str) -> str:
    """A header as text, decoded (RFC 2047) however broken; "" when missing or unreadable."""
    try:
        value = message.get(name)
    except Exception:  # a header the policy cannot parse
        value = None
        for key, raw in message.raw_items() if hasattr(message, "raw_items") else []:
            if key.lower() == name.lower():
                value = raw
                break
    if value is None:
        return ""
    value = str(value)
    if "=?" in value:
        try:
            value = str(make_header(decode_header(value)))
        except Exception:  # noqa: S110 - a malformed encoded word: keep the header as it came
            pass
    return " ".join(value.split())


def _ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value or "")


# HTML to text -------------------------------------------------------------------------------

_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section",
           "article", "table", "ul", "ol", "pre", "hr"}
_SKIP = {"script", "style", "head", "title", "noscript", "template"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML body: no tags, no scripts or styles, paragraphs kept as
    lines. The result is plain text (the templates escape it); no HTML is kept."""
    parser = _Text()
    try:
        parser.feed(html or "")
        parser.close()
    except Exception:
        return unescape(re.sub(r"<[^>]*>", " ", html or ""))
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# The quoted tail of a reply ----------------------------------------------------------------

_QUOTE_HEADER = re.compile(
    r"^(On .{4,200} wrote:|في .{4,200} كتب.{0,40}:|-----Original Message-----|-+ ?الرسالة الأصلية ?-+|"
    r"From: .+|من: .+)\s*$", re.MULTILINE)


def strip_quoted(text: str) -> str:
    """A reply's own words: the text before "On … wrote:" (or its Arabic form), without the
    ">" quoted lines. The whole text if that would leave nothing."""
    match = _QUOTE_HEADER.search(text or "")
    own = text[:match.start()] if match and match.start() > 0 else text
    own = "\n".join(line for line in own.splitlines() if not line.lstrip().startswith(">"))
    own = own.strip()
    return own or (text or "").strip()


# Noise ----------------------------------------------------------------------------------------

def noise(message: Message, from_address: str, own_addresses: Set[str], own_domain: str | None) -> str | None:
    """Why this message must not become a ticket nor be answered, or None: automatic mail
    (desk.channels.mailgate.automatic: loops, auto-replies, lists, bounces) or our own."""
    return automatic(message) or from_ourselves(from_address, message, own_addresses, own_domain)


# Parsing ----------------------------------------------------------------------------------

def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except Exception:
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):  # (None: nothing to decode)
            payload = b""
        charset = part.get_content_charset() or "utf-8"
        try:
            content = payload.decode(charset, "replace")
        except LookupError:
            content = payload.decode("utf-8", "replace")
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name and "=?" in name:
        try:
            name = str(make_header(decode_header(name)))
        except Exception:  # noqa: S110 - a malformed encoded word: keep the name as it came
            pass
    return name


def _body_and_documents(message: EmailMessage) -> tuple[str, list[Document], list[str]]:
    plain: list[str] = []
    html: list[str] = []
    documents: list[Document] = []
    unreadable: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = (part.get_content_type() or "").lower()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part)
        if content_type.startswith("multipart/"):  # a multipart without its boundary: its text as it came
            data = part.get_payload(decode=True)
            plain.append(data.decode("utf-8", "replace") if isinstance(data, bytes) else str(part.get_payload()))
            continue
        if filename or disposition == "attachment" or not content_type.startswith("text/"):
            if content_type == "message/delivery-status":
                continue
            try:
                data = part.get_payload(decode=True)
            except Exception:
                data = None
            if not isinstance(data, bytes):  # (None: nothing to decode)
                unreadable.append(filename or content_type)
                continue
            documents.append(Document(filename or f"document.{content_type.rpartition('/')[2] or 'bin'}", data))
        elif content_type == "text/html":
            html.append(_text_of(part))
        elif content_type == "text/plain":
            plain.append(_text_of(part))
        else:  # text/calendar, text/csv…: not the message's words; named like any document
            data = part.get_payload(decode=True)
            documents.append(Document(filename or f"document.{content_type.rpartition('/')[2]}",
                                      data if isinstance(data, bytes) else b""))
    if plain:
        text = "\n\n".join(p.strip() for p in plain if p.strip())
    else:
        text = "\n\n".join(html_to_text(h) for h in html)
    return text.replace("\r\n", "\n").strip(), documents, unreadable


def written_from(raw: bytes) -> str:
    """The From header exactly as it came (undecoded, control characters shown as spaces), for
    a person to read in the quarantine."""
    head = raw[:64 * 1024].replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    lines, found = [], False
    for line in head.split(b"\n"):
        if found and line[:1] in (b" ", b"\t"):
            lines.append(line)
            continue
        found = line.lower().startswith(b"from:")
        if found:
            lines.append(line[5:])
        elif lines:
            break
    text = b" ".join(lines).decode("utf-8", "replace")
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:500]


def raw_text(raw: bytes) -> str:
    """The message's body as text, undecoded: what is kept when no part of it can be read."""
    body = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)
    return body[1].decode("utf-8", "replace").strip() if len(body) == 2 else ""


def parse(raw: bytes, own_addresses: Set[str] = frozenset(), own_domain: str | None = None,
          authserv_id: str = "") -> ParsedEmail:
    """Read one message (its raw RFC 5322 bytes). Never raises on malformed MIME; headers
    that cannot be trusted set ``quarantine`` (desk.channels.mailgate)."""
    message = read(raw)
    ids = _ids(_header(message, "Message-ID"))
    message_id = ids[0] if ids else None
    key = message_id or fingerprint(raw)
    rule = automatic(message)
    quarantine = None
    from_name, from_address, domain = "", "", ""
    try:
        author = sender(message)
        from_name, from_address, domain = author.name, author.email, author.domain
    except Unsafe as error:
        quarantine = None if rule else str(error)
    if rule is None and quarantine is None:
        rule = from_ourselves(from_address, message, own_addresses, own_domain)
    subject = _header(message, "Subject")[:MAX_SUBJECT] if quarantine is None else _safe_subject(message)
    try:
        text, documents, unreadable = _body_and_documents(message)
    except Exception as error:  # MIME too broken to walk: keep what the top level says
        text, documents, unreadable = "", [], [f"{type(error).__name__}"]
    if not text.strip() and not documents:  # no readable part (a multipart without its boundary…)
        text = raw_text(raw)
    try:
        date = parsedate_to_datetime(_header(message, "Date"))
        date = date.astimezone(UTC) if date.tzinfo else date.replace(tzinfo=UTC)
    except Exception:
        date = None
    return ParsedEmail(
        key=key[:255], message_id=message_id[:255] if message_id else None,
        in_reply_to=_ids(_header(message, "In-Reply-To")), references=_ids(_header(message, "References")),
        from_name=from_name, from_address=from_address, subject=subject, text=text,
        documents=documents, unreadable=unreadable, date=date, noise=rule, quarantine=quarantine,
        failed_recipients=failed_recipients(message) if rule and bounce(message) else [],
        authentication=authentication(message, authserv_id), sender_domain=domain, size=len(raw),
    )


def _safe_subject(message: Message) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in _header(message, "Subject")).split())[:MAX_SUBJECT]
