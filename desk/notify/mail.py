"""SMTP delivery: settings, building a message, one connection reused for a batch, and
telling a temporary failure (retry later) from a permanent one (give up now)."""
from __future__ import annotations

import hashlib
import hmac
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any

from desk.channels.mailgate import valid_address
from desk.models import OutboxMessage, utcnow


@dataclass(frozen=True)
class MailSettings:
    host: str = "127.0.0.1"
    port: int = 25
    user: str = ""
    password: str = field(default="", repr=False)
    tls: str = "none"  # none, starttls or ssl
    mail_from: str = "desk@localhost"
    from_name: str = ""
    timeout: float = 30.0
    secret: str = field(default="", repr=False)  # signs Message-IDs
    attachment_dir: str = ""  # where documents sent with a reply are read from (DESK_ATTACHMENT_DIR)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        return cls(
            host=config["DESK_SMTP_HOST"], port=int(config["DESK_SMTP_PORT"]),
            user=config["DESK_SMTP_USER"], password=config["DESK_SMTP_PASSWORD"],
            tls=config["DESK_SMTP_TLS"], mail_from=config["DESK_MAIL_FROM"],
            from_name=config.get("DESK_ASSOCIATION_NAME", ""), timeout=float(config["DESK_SMTP_TIMEOUT"]),
            secret=config["SECRET_KEY"], attachment_dir=config.get("DESK_ATTACHMENT_DIR", ""),
        )

    @property
    def from_address(self) -> str:
        return parseaddr(self.mail_from)[1] or self.mail_from

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2] or "localhost"


@dataclass(frozen=True)
class Claimed:
    """What a worker needs of a claimed outbox row, read before the claim commits (desk.notify.outbox),
    and what every channel's sender is handed."""

    id: int
    to_address: str
    subject: str
    body_text: str
    attempts: int          # including this one
    lease: datetime        # our locked_until: the outcome is written only while it matches
    created_at: datetime | None = None
    channel: str = "email"   # "whatsapp", "sms": delivered by their senders (desk.channels.senders), not SMTP
    meta: dict | None = None  # threading headers and the like (OutboxMessage.meta)
    stalls: int = 0          # attempts that ended with no outcome, this one's claim included
    failing_since: datetime | None = None  # its first temporary failure (DESK_OUTBOX_RETRY_HOURS runs from it)
    ticket_id: int | None = None    # the ticket it is about: told there if it fails
    to_user_id: int | None = None   # the staff member it is for (None: the beneficiary)


def message_id(outbox_id: int, settings: MailSettings) -> str:
    """The same Message-ID every time the message is tried, signed so replies can be trusted
    to thread on it: ``<desk.outbox.42.1a2b3c4d5e6f@example.org>``."""
    mac = hmac.new(settings.secret.encode(), f"outbox:{outbox_id}".encode(), hashlib.sha256).hexdigest()[:16]
    return f"<desk.outbox.{outbox_id}.{mac}@{settings.domain}>"


def build(message: OutboxMessage | Claimed, settings: MailSettings) -> Message:
    """A plain-text UTF-8 message, multipart when documents go with it (``meta["attachments"]``,
    read from ``settings.attachment_dir``; a missing file raises). (The compat32 classes: a
    tenth of the cost of ``EmailMessage``'s header registry, which dominated delivery time.)"""
    documents = (getattr(message, "meta", None) or {}).get("attachments") or []
    email: Message = MIMEText(message.body_text, "plain", "utf-8")
    if documents:
        text, email = email, MIMEMultipart("mixed")
        email.attach(text)
        for document in documents:
            with open(Path(settings.attachment_dir) / Path(document["stored_name"]).name, "rb") as f:
                maintype, _, subtype = (document.get("content_type") or "application/octet-stream").partition("/")
                part = MIMEApplication(f.read(), _subtype=subtype or "octet-stream")
            if maintype != "application":
                part.replace_header("Content-Type", f"{maintype}/{subtype}")
            part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", document["filename"]))
            email.attach(part)
    email["From"] = formataddr((settings.from_name, settings.from_address), charset="utf-8")
    email["To"] = message.to_address
    # compat32 takes a Header for any field; typeshed's Message says str only.
    email["Subject"] = Header(message.subject, "utf-8")  # type: ignore[assignment]
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = message_id(message.id, settings)
    meta = getattr(message, "meta", None) or {}
    # RFC 3834: no out-of-office replies to us; "auto-replied" for the desk's own answers (an acknowledgement).
    email["Auto-Submitted"] = "auto-replied" if meta.get("auto_submitted") == "auto-replied" else "auto-generated"
    email["X-Loop"] = settings.from_address  # a desk (ours or another) never answers a message carrying it
    if meta.get("to_name"):  # the beneficiary's name as they wrote it (RFC 2047 for Arabic)
        del email["To"]
        email["To"] = formataddr((meta["to_name"], message.to_address), charset="utf-8")
    if meta.get("in_reply_to"):  # a reply to the beneficiary's email (desk.notify.service.reply_headers)
        email["In-Reply-To"] = meta["in_reply_to"]
        email["References"] = meta.get("references") or meta["in_reply_to"]
    return email


class DeliveryError(Exception):
    """A message was not delivered.

    ``permanent`` failures are not retried; the others are, for DESK_OUTBOX_RETRY_HOURS
    (desk.notify.outbox). ``retry_after``: the server asked us not to try again before this
    long (HTTP ``Retry-After``, a wait an SMTP reply suggests). ``cause``: why, as the desk
    tells it in plain words when the message finally fails (desk.labels.UNDELIVERED)."""

    def __init__(self, text: str, permanent: bool, retry_after: timedelta | None = None,
                 cause: str | None = None):
        super().__init__(text)
        self.text = text[:1000]
        self.permanent = permanent
        self.retry_after = retry_after
        self.cause = cause or ("refused" if permanent else "failing")


class ConnectionFailed(DeliveryError):
    """No usable connection to the server (refused, timed out, hung up, 421 "closing", our
    credentials refused, a provider that throttles us): the server's trouble, not the
    message's. Raised by ``connect`` (nothing in the batch can go out now) and by ``send``
    when the connection is lost while sending."""

    def __init__(self, text: str, retry_after: timedelta | None = None):
        super().__init__(text, permanent=False, retry_after=retry_after, cause="unreachable")


def _code_text(code: int, reply: bytes | str) -> str:
    reply = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {reply}".strip()


CLOSING = 421  # "service not available, closing transmission channel"

# "try again in 5 minutes", "retry after 300 seconds", "please try again in 2 hours": what a
# mail server may say with a 421 or a 4xx (greylisting). No wait said: none assumed.
_SUGGESTED = re.compile(r"(?:try|retry)(?:\s+again)?\s+(?:in|after)\s+(\d{1,6})\s*"
                        r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600}


def suggested_wait(reply: str) -> timedelta | None:
    """The wait a server's reply text asks for ("4.7.1 Greylisted, try again in 5 minutes"), or None."""
    match = _SUGGESTED.search(reply or "")
    if match is None:
        return None
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)[0].lower()])


def classify(error: Exception) -> DeliveryError:
    """5xx replies and refused recipients are permanent; every 4xx, a lost connection or a
    timeout is worth retrying. A lost connection or a 421 is the server's trouble:
    ``ConnectionFailed``. A wait the reply suggests is kept (``retry_after``)."""
    if isinstance(error, smtplib.SMTPServerDisconnected) or (
            isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)):  # reset, timed out, …
        return ConnectionFailed(f"{type(error).__name__}: {error}")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = [_code_text(code, reply) for code, reply in error.recipients.values()]
        wait = max((w for w in map(suggested_wait, replies) if w is not None), default=None)
        if all(code == CLOSING for code, _ in error.recipients.values()):
            return ConnectionFailed("; ".join(replies), retry_after=wait)
        codes = [code for code, _ in error.recipients.values()]
        text = "; ".join(f"{address}: {_code_text(code, reply)}" for address, (code, reply) in error.recipients.items())
        permanent = all(code >= 500 for code in codes)
        return DeliveryError(text, permanent=permanent, retry_after=None if permanent else wait,
                             cause="recipient" if permanent else None)
    if isinstance(error, smtplib.SMTPResponseException):  # sender refused, data error, …
        text = _code_text(error.smtp_code, error.smtp_error)
        if error.smtp_code == CLOSING:
            return ConnectionFailed(text, retry_after=suggested_wait(text))
        permanent = error.smtp_code >= 500
        return DeliveryError(text, permanent=permanent, retry_after=None if permanent else suggested_wait(text))
    return DeliveryError(f"{type(error).__name__}: {error}", permanent=False)


class SmtpSender:
    """One SMTP connection, opened on first use and reused until ``close()``."""

    def __init__(self, settings: MailSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def connect(self) -> smtplib.SMTP:
        """Open the connection unless it is open: greeting, TLS, EHLO, sign-in; returns it.
        Raises ``ConnectionFailed``."""
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.tls == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo_or_helo_if_needed()
            if s.user:
                smtp.login(s.user, s.password)
        except smtplib.SMTPAuthenticationError as error:
            raise ConnectionFailed(_code_text(error.smtp_code, error.smtp_error)) from error
        except smtplib.SMTPResponseException as error:  # e.g. a greeting of 421 "try again in 10 minutes"
            text = _code_text(error.smtp_code, error.smtp_error)
            raise ConnectionFailed(text, retry_after=suggested_wait(text)) from error
        except (OSError, smtplib.SMTPException) as error:
            raise ConnectionFailed(f"{type(error).__name__}: {error}") from error
        return smtp

    def send(self, to_address: str, payload: bytes) -> None:
        """Send one message (``build(…).as_bytes()``) to one recipient. Raises
        ``ConnectionFailed`` when the connection cannot be opened or is lost, another
        ``DeliveryError`` when the server refuses this message, or the address is not one valid
        address (desk.channels.mailgate.valid_address: never a header injected into it)."""
        if valid_address(to_address) is None:
            raise DeliveryError(f"not a valid address: {to_address[:254]!r}", permanent=True, cause="address")
        smtp = self.connect()
        try:
            smtp.sendmail(self.settings.from_address, [to_address], payload)
        except (smtplib.SMTPException, OSError) as error:  # (an SMTPException is an OSError)
            failure = classify(error)
            if isinstance(failure, ConnectionFailed):
                self.close(quit=False)  # the next message reconnects
            else:
                self._reset()
            raise failure from error
        except ValueError as error:  # e.g. a newline in an address: smtplib refuses to send it
            self._reset()
            raise DeliveryError(f"{type(error).__name__}: {error}", permanent=True, cause="address") from error

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close(quit=False)

    def close(self, quit: bool = True) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit() if quit else smtp.close()
        except (OSError, smtplib.SMTPException):
            smtp.close()
