"""Media a WhatsApp message names (issue 22, points 2 and 3).

**Fetched by the worker, not in the webhook call.** The webhook writes the message (its ticket
or reply) and a pending ``MediaJob`` in one transaction and answers Meta at once
(``queue``). The worker (``flask desk worker``, beside the outbox: ``fetch_due``) claims due
jobs with a lease, downloads each within that lease, sniffs it through the attachment rules and
attaches it (desk.attachments.service.store) in one transaction with the job's outcome, written
only while the worker still holds the lease (compare-and-set, as the outbox does). A failure
that may pass (the Graph API down or slow, a 5xx) is tried again after the outbox's backoff,
for the outbox's retry window (DESK_OUTBOX_RETRY_HOURS); one that cannot pass (the host is
not allowed, the file is too large, Meta no longer has it), or the end of the window, gives up:
the ticket's timeline says "file could not be fetched", the ticket page lists it with a
"try again" button for staff (``retry``). A file the attachment rules refuse is said the same
way. Nothing is lost: the job stays until it is attached or given up and said.

**The bearer token goes only to Meta.** A media's URL comes from the Graph API's answer, so
from outside: it is fetched, with the token, only when its host is on DESK_WHATSAPP_MEDIA_HOSTS
(Meta's CDN by default) and over HTTPS. A redirect is followed only to a host on the same list
(at most MAX_REDIRECTS). Anything else is refused before a byte is sent, and said.
"""
from __future__ import annotations

import io
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy import CursorResult, and_, func, or_, select, update
from sqlalchemy.orm import Session

from desk.attachments import service as attachments
from desk.channels.graph import GraphClient
from desk.channels.inbound import acceptable
from desk.errors import ValidationFailed
from desk.models import EventKind, MediaJob, MediaStatus, Ticket, User, utcnow
from desk.notify.outbox import backoff
from desk.tickets import workflow
from desk.transaction import atomic, commit, discard

log = logging.getLogger("desk.channels.media")

MAX_REDIRECTS = 3


class FetchFailed(Exception):
    """A media that could not be fetched: ``permanent`` when trying again cannot help (the host
    is not allowed, the file is too large, Meta no longer has it)."""

    def __init__(self, reason: str, permanent: bool):
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


@dataclass(frozen=True)
class MediaHosts:
    """The hosts the token may be sent to. An entry ``host`` allows ``https://host``, ``.domain``
    every host under that domain over HTTPS, and ``http://host:port`` exactly that origin over
    plain HTTP (a fake Graph API on loopback in tests, never in production)."""

    entries: tuple[str, ...]

    @classmethod
    def parse(cls, value: str | None) -> MediaHosts:
        return cls(tuple(e.strip().lower().rstrip("/") for e in (value or "").split(",") if e.strip()))

    def allows(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port
        except ValueError:  # a port that is not a number, a malformed IPv6 address
            return False
        if not host or parts.username or parts.password:
            return False
        scheme = parts.scheme.lower()
        for entry in self.entries:
            if entry.startswith("http://"):
                if scheme == "http" and f"http://{host}:{port or 80}" == _origin(entry):
                    return True
            elif scheme == "https" and port in (None, 443):
                if entry.startswith(".") and host.endswith(entry) or host == entry:
                    return True
        return False


def _origin(entry: str) -> str:
    parts = urlsplit(entry)
    return f"http://{(parts.hostname or '').lower()}:{parts.port or 80}"


def download(client: GraphClient, hosts: MediaHosts, media_id: str, max_bytes: int,
             deadline: float | None = None) -> tuple[bytes, str]:
    """A media's bytes and its type (as the Graph API says: the bytes are sniffed later). Raises
    FetchFailed. ``deadline`` (time.monotonic()): a download still running then stops (a host
    that trickles bytes must not outlive the worker's lease)."""
    try:
        info = client.http.get(f"/{media_id}")
    except httpx.HTTPError as error:
        raise FetchFailed(f"the Graph API could not be reached: {type(error).__name__}", permanent=False) from None
    if info.status_code != 200:
        raise FetchFailed(f"the Graph API answered {info.status_code}",
                          permanent=400 <= info.status_code < 500 and info.status_code not in (408, 429))
    try:
        data = info.json()
        url, mime = data["url"], data.get("mime_type") or ""
        if not isinstance(url, str) or not isinstance(mime, str):
            raise TypeError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise FetchFailed("the Graph API's answer names no media URL", permanent=False) from None
    body = _fetch(client, hosts, url, max_bytes, deadline)
    return body, mime.split(";")[0].strip().lower()


def _late(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise FetchFailed("the media host is too slow", permanent=False)


def _fetch(client: GraphClient, hosts: MediaHosts, url: str, max_bytes: int, deadline: float | None) -> bytes:
    for _ in range(MAX_REDIRECTS + 1):
        _late(deadline)  # no new request past the deadline: each may take a few timeouts more
        if not hosts.allows(url):
            host = _host_of(url)
            log.warning("whatsapp: media URL on %s refused: not on DESK_WHATSAPP_MEDIA_HOSTS", host)
            raise FetchFailed(f"the media URL's host ({host}) is not on DESK_WHATSAPP_MEDIA_HOSTS", permanent=True)
        try:
            with client.http.stream("GET", url) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                if response.status_code != 200:
                    raise FetchFailed(f"the media host answered {response.status_code}",
                                      permanent=response.status_code in (403, 404, 410))
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchFailed(f"larger than {max_bytes // (1024 * 1024)} MB", permanent=True)
                    chunks.append(chunk)
                    _late(deadline)
                return b"".join(chunks)
        except httpx.HTTPError as error:
            raise FetchFailed(f"the media host could not be reached: {type(error).__name__}", permanent=False) from None
    raise FetchFailed(f"more than {MAX_REDIRECTS} redirects", permanent=True)


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "?")[:100]
    except ValueError:
        return "?"


# The queue ----------------------------------------------------------------------------------

# Said on the ticket's timeline (data, not interface: every reader sees the same words), so both languages.
NOT_FETCHED = "ملف لم يُجلب / File could not be fetched"
FILE_SENT = "ملف مرسل / File sent"
NOT_ATTACHED = "ملف لم يُقبل / File not attached"
FETCH_AGAIN = "إعادة محاولة جلب الملف / Fetching the file again"
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}


def queue(session: Session, ticket: Ticket, *, message_key: str, media_id: str, filename: str,
          mime_type: str | None, channel: str = "whatsapp") -> MediaJob:
    """A pending job for one message's media, in the caller's transaction (the one that writes
    the message), due at once."""
    if ticket.id is None:
        session.flush()
    job = MediaJob(ticket_id=ticket.id, channel=channel, message_key=message_key[:255], media_id=media_id,
                   filename=filename[:255], mime_type=(mime_type or None) and mime_type[:100],
                   status=MediaStatus.PENDING, attempts=0, next_attempt_at=utcnow(), created_at=utcnow())
    session.add(job)
    return job


@dataclass(frozen=True)
class MediaSettings:
    directory: str
    max_bytes: int
    hosts: MediaHosts
    lease: timedelta = timedelta(minutes=5)
    retry_window: timedelta = timedelta(hours=24)
    batch: int = 20
    graph: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MediaSettings:
        """The outbox's lease and retry window (one worker, one rule), the attachment limits."""
        return cls(directory=config["DESK_ATTACHMENT_DIR"],
                   max_bytes=int(config["DESK_ATTACHMENT_MAX_MB"] * 1024 * 1024),
                   hosts=MediaHosts.parse(config.get("DESK_WHATSAPP_MEDIA_HOSTS")),
                   lease=timedelta(seconds=int(config["DESK_OUTBOX_LEASE_SECONDS"])),
                   retry_window=timedelta(hours=float(config["DESK_OUTBOX_RETRY_HOURS"])),
                   graph={k: v for k, v in config.items() if k.startswith(("DESK_WHATSAPP_", "DESK_GRAPH_"))})


@dataclass(frozen=True)
class Claimed:
    id: int
    ticket_id: int
    media_id: str
    filename: str
    mime_type: str | None
    attempts: int
    lease: datetime
    failing_since: datetime | None


@dataclass
class FetchResult:
    claimed: int = 0
    attached: int = 0
    refused: int = 0     # fetched, but the attachment rules refuse it: said on the ticket
    retried: int = 0
    failed: int = 0      # given up: said on the ticket, staff may try again
    skipped: int = 0     # the lease ran out and another worker took it

    def __str__(self) -> str:
        return (f"media: claimed {self.claimed}, attached {self.attached}, refused {self.refused}, "
                f"retry later {self.retried}, failed {self.failed}, taken by another worker {self.skipped}")


def _due(now: datetime):
    return or_(and_(MediaJob.status == MediaStatus.PENDING, MediaJob.next_attempt_at <= now),
               and_(MediaJob.status == MediaStatus.FETCHING, MediaJob.locked_until <= now))


def claim(session: Session, settings: MediaSettings, now: datetime) -> list[Claimed]:
    """Take up to ``settings.batch`` due jobs (SKIP LOCKED on PostgreSQL) with a lease; commits."""
    query = (select(MediaJob.id, MediaJob.ticket_id, MediaJob.media_id, MediaJob.filename, MediaJob.mime_type,
                    MediaJob.attempts, MediaJob.failing_since)
             .where(_due(now)).order_by(MediaJob.next_attempt_at, MediaJob.id).limit(settings.batch))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        discard(session)
        return []
    lease = now + settings.lease
    session.execute(update(MediaJob).where(MediaJob.id.in_([r.id for r in rows]))
                    .values(status=MediaStatus.FETCHING, locked_until=lease, attempts=MediaJob.attempts + 1)
                    .execution_options(synchronize_session=False))
    commit(session)
    return [Claimed(r.id, r.ticket_id, r.media_id, r.filename, r.mime_type, r.attempts + 1, lease, r.failing_since)
            for r in rows]


def _ours(session: Session, claimed: Claimed, **values: Any) -> bool:
    """Write the job's outcome if this worker still holds its lease (compare-and-set)."""
    return bool(cast(CursorResult, session.execute(  # what an UPDATE returns; typed as any Result
        update(MediaJob)
        .where(MediaJob.id == claimed.id, MediaJob.status == MediaStatus.FETCHING,
               MediaJob.locked_until == claimed.lease, MediaJob.attempts == claimed.attempts)
        .values(locked_until=None, **values).execution_options(synchronize_session=False))).rowcount)


def _say(session: Session, ticket_id: int, text: str, now: datetime, actor: User | None = None) -> None:
    ticket = session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is not None:
        workflow.record(session, ticket, actor, EventKind.NOTE, body=text[:1000], at=now, bump=False)


def _named(filename: str, mime: str) -> str:
    if "." in filename:
        return filename
    return f"{filename}.{EXTENSIONS.get(mime, 'bin')}"


def store_fetched(session: Session, settings: MediaSettings, claimed: Claimed, data: bytes, mime: str,
                  now: datetime, result: FetchResult) -> None:
    """The fetched file attached (or its refusal said) with the job's outcome, in one
    transaction, if this worker still holds the job's lease; counted in ``result``."""
    name = _named(claimed.filename, mime or claimed.mime_type or "")
    why = acceptable(data, name, settings.max_bytes)
    with atomic(session) as written:
        if not _ours(session, claimed, status=MediaStatus.DONE, done_at=now, last_error=why):
            result.skipped += 1
            return
        ticket = session.get(Ticket, claimed.ticket_id, populate_existing=True)
        if ticket is None:
            return
        if ticket.anonymised_at is not None:  # its personal data were removed meanwhile: so is this file
            session.execute(update(MediaJob).where(MediaJob.id == claimed.id).values(last_error="anonymised")
                            .execution_options(synchronize_session=False))
            return
        if why is not None:
            _say(session, ticket.id, f"{NOT_ATTACHED}: {name} ({why})", now)
            result.refused += 1
            return
        try:
            stored = attachments.store(session, None, ticket, attachments.Upload(io.BytesIO(data), name),
                                       directory=settings.directory, max_bytes=settings.max_bytes, written=written,
                                       field="files", reason="whatsapp")
        except ValidationFailed as refused:  # the rules said no after all (checked first: should not happen)
            _say(session, ticket.id, f"{NOT_ATTACHED}: {name} ({'; '.join(str(m) for ms in refused.errors.values() for m in ms)})", now)
            session.execute(update(MediaJob).where(MediaJob.id == claimed.id).values(last_error="refused")
                            .execution_options(synchronize_session=False))
            result.refused += 1
            return
        session.flush()
        session.execute(update(MediaJob).where(MediaJob.id == claimed.id).values(attachment_id=stored.id)
                        .execution_options(synchronize_session=False))
        result.attached += 1


def _failed(session: Session, settings: MediaSettings, claimed: Claimed, error: FetchFailed, now: datetime,
            result: FetchResult) -> None:
    since = claimed.failing_since or now
    give_up = error.permanent or now - since >= settings.retry_window
    log.warning("media %s of ticket %s: %s (%s)", claimed.id, claimed.ticket_id, error.reason,
                "given up" if give_up else f"attempt {claimed.attempts}, tried again later")
    with atomic(session):
        if give_up:
            done = _ours(session, claimed, status=MediaStatus.FAILED, last_error=error.reason[:1000], done_at=now,
                         failing_since=since)
            if done:
                _say(session, claimed.ticket_id, f"{NOT_FETCHED}: {claimed.filename} ({error.reason})", now)
        else:
            done = _ours(session, claimed, status=MediaStatus.PENDING, last_error=error.reason[:1000],
                         failing_since=since, next_attempt_at=now + backoff(claimed.attempts))
    if not done:
        result.skipped += 1
    elif give_up:
        result.failed += 1
    else:
        result.retried += 1


def fetch_due(session: Session, settings: MediaSettings, now: datetime | None = None,
              client: GraphClient | None = None) -> FetchResult:
    """Claim one batch of due media jobs and try each once. ``now`` fixes the clock (tests)."""
    clock = (lambda: now) if now is not None else (lambda: utcnow())
    batch = claim(session, settings, clock())
    result = FetchResult(claimed=len(batch))
    if not batch:
        return result
    own = client is None
    client = client or GraphClient.from_config(settings.graph)
    # A download starts no request after half the lease. The lease is at least
    # LEASE_TIMEOUTS["whatsapp"] (17) Graph timeouts (desk.settings.check_outbox_lease), and a
    # request started just before that moment ends within four more (three connection attempts
    # and the answer): the outcome is written while the lease holds.
    budget = settings.lease.total_seconds() / 2
    try:
        for claimed in batch:
            try:
                data, mime = download(client, settings.hosts, claimed.media_id, settings.max_bytes,
                                      deadline=time.monotonic() + budget)
            except FetchFailed as error:
                _failed(session, settings, claimed, error, clock(), result)
                continue
            store_fetched(session, settings, claimed, data, mime, clock(), result)
    finally:
        if own:
            client.close()
    return result


# On the ticket page ---------------------------------------------------------------------------

def open_jobs(session: Session, ticket: Ticket) -> list[MediaJob]:
    """The ticket's media still to come or given up (the attached ones are in its documents)."""
    return list(session.scalars(select(MediaJob).where(
        MediaJob.ticket_id == ticket.id,
        MediaJob.status.in_((MediaStatus.PENDING, MediaStatus.FETCHING, MediaStatus.FAILED))).order_by(MediaJob.id)))


def counts(session: Session) -> dict[str, int]:
    """How many files are waiting to be fetched and how many were given up (the health page)."""
    rows = session.execute(select(MediaJob.status, func.count()).where(
        MediaJob.status.in_((MediaStatus.PENDING, MediaStatus.FETCHING, MediaStatus.FAILED)))
        .group_by(MediaJob.status)).all()
    found = {status: n for status, n in rows}
    return {"waiting": found.get(MediaStatus.PENDING, 0) + found.get(MediaStatus.FETCHING, 0),
            "failed": found.get(MediaStatus.FAILED, 0)}


def retry(session: Session, actor: User, ticket: Ticket, job_id: int, now: datetime | None = None) -> bool:
    """A staff member asks for a given-up file again: due at once, a fresh retry window, said on
    the timeline; one transaction. False if it is not this ticket's given-up job (already
    retried by someone else, or attached meanwhile)."""
    now = now or utcnow()
    with atomic(session):
        done = bool(cast(CursorResult, session.execute(
            update(MediaJob).where(MediaJob.id == job_id, MediaJob.ticket_id == ticket.id,
                                   MediaJob.status == MediaStatus.FAILED)
            .values(status=MediaStatus.PENDING, next_attempt_at=now, failing_since=None, done_at=None)
            .execution_options(synchronize_session=False))).rowcount)
        if done:
            name = session.scalar(select(MediaJob.filename).where(MediaJob.id == job_id)) or ""
            _say(session, ticket.id, f"{FETCH_AGAIN}: {name}", now, actor)
    return done
