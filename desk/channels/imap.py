"""``flask desk fetch-mail``: read each configured mailbox over IMAP and take every new
message in (desk.channels.service.take), exactly once.

A message is new while it lacks our keyword (``$DeskImported``) on the server. It is fetched
with BODY.PEEK (the server does not mark it read), taken in and committed, and only then
flagged (``\\Seen $DeskImported``) or moved to ``move_to``. A crash between the commit and the
flag leaves it unflagged: the next run finds its key already recorded and only flags it.

DESK_MAILBOXES is a JSON list, one object per mailbox::

    [{"name": "care", "host": "imap.example.org", "port": 993, "tls": "ssl",
      "user": "care@example.org", "password": "…", "folder": "INBOX",
      "department": "SOCIAL", "kind": "inquiry", "acknowledge": true, "move_to": "Desk"}]

``tls``: ssl (port 993), starttls or none (143); ``department``: a department code (else the
routing rules decide); ``kind``: the kind of the new tickets (inquiry by default).
"""
from __future__ import annotations

import imaplib
import json
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from desk.channels import inbound, pipe, service
from desk.channels.inbound import Storage
from desk.models import Kind
from desk.notify.mail import MailSettings
from desk.settings import SettingsError
from desk.transaction import discard

log = logging.getLogger("desk.channels.imap")

FLAG = "$DeskImported"
PORTS = {"ssl": 993, "starttls": 143, "none": 143}


@dataclass(frozen=True)
class MailboxSettings:
    name: str
    host: str
    user: str
    password: str = field(repr=False, default="")
    port: int = 993
    tls: str = "ssl"
    folder: str = "INBOX"
    department: str | None = None
    kind: str = Kind.INQUIRY
    acknowledge: bool = False
    move_to: str | None = None

    @property
    def address(self) -> str:
        return self.user.lower() if "@" in self.user else ""

    def intake(self) -> service.Mailbox:
        return service.Mailbox(self.name, self.kind, self.department, self.acknowledge, self.address)


def mailboxes(raw: str) -> list[MailboxSettings]:
    """DESK_MAILBOXES, checked: a SettingsError names what is wrong."""
    if not (raw or "").strip():
        return []
    try:
        items = json.loads(raw)
    except ValueError as error:
        raise SettingsError(f"DESK_MAILBOXES is not valid JSON: {error}") from None
    if not isinstance(items, list):
        raise SettingsError("DESK_MAILBOXES must be a JSON list of mailboxes")
    found, names = [], set()
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("host") or not item.get("user"):
            raise SettingsError(f"DESK_MAILBOXES[{i}] needs at least host and user")
        tls = str(item.get("tls", "ssl")).lower()
        if tls not in PORTS:
            raise SettingsError(f"DESK_MAILBOXES[{i}].tls must be ssl, starttls or none")
        kind = item.get("kind", Kind.INQUIRY)
        if kind not in set(Kind):
            raise SettingsError(f"DESK_MAILBOXES[{i}].kind must be one of {', '.join(Kind)}")
        name = str(item.get("name") or item["user"])[:60]
        if name in names:
            raise SettingsError(f"DESK_MAILBOXES: two mailboxes are named {name!r}")
        names.add(name)
        found.append(MailboxSettings(
            name=name, host=item["host"], user=item["user"], password=item.get("password", ""),
            port=int(item.get("port") or PORTS[tls]), tls=tls, folder=item.get("folder") or "INBOX",
            department=item.get("department") or None, kind=kind, acknowledge=bool(item.get("acknowledge")),
            move_to=item.get("move_to") or None))
    return found


@dataclass
class FetchResult:
    taken: int = 0        # tickets and replies
    ignored: int = 0      # noise
    duplicates: int = 0   # recorded before (a re-run): only flagged now
    failed: int = 0       # left on the server for the next run
    quarantined: int = 0  # held for a person (desk.channels.quarantine)
    waiting: int = 0      # new messages left for the next run (the batch was full)

    def __str__(self) -> str:
        return (f"{self.taken} taken in, {self.ignored} ignored, {self.duplicates} already recorded, "
                f"{self.quarantined} quarantined, {self.failed} failed, {self.waiting} waiting")


def connect(box: MailboxSettings, timeout: float) -> imaplib.IMAP4:
    if box.tls == "ssl":
        conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=ssl.create_default_context(),
                                                timeout=timeout)
    else:
        conn = imaplib.IMAP4(box.host, box.port, timeout=timeout)
        if box.tls == "starttls":
            conn.starttls(ssl_context=ssl.create_default_context())
    conn.login(box.user, box.password)
    return conn


def _ok(response: tuple[str, list], what: str) -> list:
    typ, data = response
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what}: {typ} {data!r}"[:500])
    return data


def _mark(conn: imaplib.IMAP4, uid: bytes, box: MailboxSettings) -> None:
    """Flag (or move) a message whose outcome is committed."""
    u = uid.decode()  # the UID's ASCII digits: imaplib sends a str as the same bytes
    _ok(conn.uid("STORE", u, "+FLAGS", f"(\\Seen {FLAG})"), "STORE")
    if box.move_to:
        if b"MOVE" in b" ".join(conn.capabilities if isinstance(conn.capabilities[0], bytes) else
                                [c.encode() for c in conn.capabilities]):
            _ok(conn.uid("MOVE", u, _quote(box.move_to)), "MOVE")
        else:
            _ok(conn.uid("COPY", u, _quote(box.move_to)), "COPY")
            _ok(conn.uid("STORE", u, "+FLAGS", "(\\Deleted)"), "STORE")
            conn.expunge()


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _message(conn: imaplib.IMAP4, uid: bytes, max_bytes: int) -> bytes:
    """The raw message; past ``max_bytes`` only its header and a note (read it in the mailbox)."""
    u = uid.decode()  # the UID's ASCII digits: imaplib sends a str as the same bytes
    data = _ok(conn.uid("FETCH", u, "(RFC822.SIZE)"), "FETCH SIZE")
    size = 0
    for item in data:
        text = item.decode() if isinstance(item, bytes) else str(item)
        if "RFC822.SIZE" in text:
            size = int(text.split("RFC822.SIZE", 1)[1].strip(" ()").split()[0].rstrip(")"))
    part = "BODY.PEEK[]" if size <= max_bytes else "BODY.PEEK[HEADER]"
    data = _ok(conn.uid("FETCH", u, f"({part})"), "FETCH")
    raw = next((item[1] for item in data if isinstance(item, tuple)), None)
    if raw is None:
        raise imaplib.IMAP4.error(f"FETCH {uid!r}: no message")
    if size > max_bytes:
        # Stored in the ticket's text (every reader sees the same words), so both languages.
        mb, limit = f"{size / 1024 / 1024:.1f}", f"{max_bytes / 1024 / 1024:g}"
        note = (f"\r\n[الرسالة أكبر مما يستقبله النظام ({mb} ميجابايت، والحد {limit}): اقرأها في صندوق البريد. / "
                f"This message is {mb} MB, more than the desk takes in ({limit} MB): read it in the mailbox.]\r\n")
        header = raw.split(b"\r\n\r\n", 1)[0]
        header = b"\r\n".join(line for line in header.split(b"\r\n")
                              if not line.lower().startswith((b"content-type", b"content-transfer-encoding", b"mime-version")))
        raw = header + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + note.encode()
    return raw


def fetch_mailbox(session: Session, box: MailboxSettings, storage: Storage, mail: MailSettings,
                  own_addresses: set[str], *, timeout: float = 30.0, batch: int = 200,
                  max_bytes: int = 30 * 1024 * 1024, ack_limit: int = 3,
                  after_commit: Callable[[bytes], None] | None = None, gate: pipe.Gate | None = None) -> FetchResult:
    """One pass over one mailbox, each message through desk.channels.pipe.receive. Connection
    trouble raises (the caller records it); a message that fails is rolled back, logged and
    left for the next run, until it has failed ``gate.max_attempts`` times: then it is held
    in the quarantine and flagged. ``after_commit`` (tests) runs between a message's commit
    and its flag."""
    gate = gate or pipe.Gate(own_addresses=frozenset(own_addresses), ack_limit=ack_limit)
    department_id = pipe.department_of(session, box.department)
    result = FetchResult()
    conn = connect(box, timeout)
    try:
        _ok(conn.select(_quote(box.folder)), "SELECT")
        uids = _ok(conn.uid("SEARCH", "UNDELETED", "UNKEYWORD", FLAG), "SEARCH")[0].split()
        result.waiting = max(0, len(uids) - batch)
        for uid in uids[:batch]:
            raw = b""
            try:
                raw = _message(conn, uid, max_bytes)
                received = pipe.receive(session, raw, box.intake(), storage, mail, gate, department_id=department_id)
            except (imaplib.IMAP4.abort, OSError):
                raise  # the connection is gone: the rest waits for the next run
            except Exception as error:
                discard(session)
                if pipe.unreachable(error):
                    raise  # the database is gone, not this message: nothing is counted against it
                log.exception("fetch-mail %s: message %s failed", box.name, uid)
                if not raw or not pipe.attempt_failed(session, raw, box.intake(), gate, error):
                    result.failed += 1
                    continue
                received = pipe.Received("quarantined")
            if after_commit is not None:
                after_commit(uid)
            _mark(conn, uid, box)
            if received.outcome == "duplicate":
                result.duplicates += 1
            elif received.outcome == "ignored":
                result.ignored += 1
            elif received.outcome in ("quarantined", "unverified"):
                result.quarantined += 1
            else:
                result.taken += 1
        if box.move_to:
            conn.expunge()
    finally:
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return result


def fetch_all(session: Session, config: Mapping[str, Any], **options) -> dict[str, FetchResult | Exception]:
    """One pass over every mailbox in DESK_MAILBOXES; each mailbox's health is recorded."""
    boxes = mailboxes(config.get("DESK_MAILBOXES", ""))
    mail = MailSettings.from_config(config)
    gate = pipe.Gate.from_config(config, {box.address for box in boxes})
    own = set(gate.own_addresses)
    results: dict[str, FetchResult | Exception] = {}
    for box in boxes:
        name = f"email:{box.name}"
        try:
            storage = Storage.from_config(session, config)
            result = fetch_mailbox(session, box, storage, mail, own, timeout=config.get("DESK_IMAP_TIMEOUT", 30.0),
                                   max_bytes=int(config.get("DESK_MAIL_MAX_MB", 30) * 1024 * 1024),
                                   ack_limit=config.get("DESK_MAIL_ACK_LIMIT", 3), gate=gate, **options)
        except Exception as error:  # connection refused, bad login, timeout…: recorded, the others go on
            log.warning("fetch-mail %s: %s: %s", box.name, type(error).__name__, error)
            inbound.failed(session, name, f"{type(error).__name__}: {error}")
            results[box.name] = error
            continue
        inbound.healthy(session, name, received=result.taken + result.ignored, waiting=result.waiting + result.failed)
        if result.failed:
            inbound.failed(session, name, f"{result.failed} message(s) could not be taken in (see the log)")
        results[box.name] = result
    return results


def run(session: Session, config: Mapping[str, Any], *, once: bool, interval: float,
        should_stop: Callable[[], bool] = lambda: False, sleep: Callable[[float], object] = time.sleep,
        echo: Callable[[str], None] = print) -> None:
    while not should_stop():
        for name, result in fetch_all(session, config).items():
            echo(f"{name}: {result if isinstance(result, FetchResult) else f'failed: {result}'}")
        if once:
            return
        sleep(interval)
