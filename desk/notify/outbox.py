"""Delivering the outbox: claim what is due, send it, record the outcome.

A worker claims a batch in one short transaction (on PostgreSQL with ``FOR UPDATE SKIP
LOCKED``, so several workers take different rows), marking each row ``sending`` with a lease
(``locked_until``) and counting the attempt. It commits, sends over one SMTP connection,
and records each outcome in its own transaction, only while it still holds the lease:

- accepted by the server → ``sent``;
- the server is unreachable, hangs up or answers 421 (an outage: not the message's fault)
  → ``pending`` again with the attempt given back, due again after as long as the message
  has already waited (1 min, 2, 4 … at most OUTAGE_CAP): an outage of days fails nothing;
- this message's own temporary failure (4xx) → ``pending`` again, due after an exponential
  backoff (1 min, 2, 4 … capped at 6 h), or ``failed`` once the attempts run out;
- a permanent failure (5xx, recipient refused) → ``failed`` at once;
- a worker that dies leaves its rows ``sending``; when the lease runs out they are due again.

A slow server may make a batch outlive its lease: before each send the worker renews a
lease that is running short, by a compare-and-set on ``locked_until`` that fails if another
worker has taken the message since, and then skips it. The lease itself outlasts the
slowest possible send (desk.settings.LEASE_TIMEOUTS). A message the server accepted is
marked sent in the next statement, so it is sent twice only if the worker dies in between
(at least once, never lost). On SQLite the same code runs without SKIP LOCKED: run one
worker there.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from email.policy import compat32
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, select, text, update
from sqlalchemy.orm import Session

from desk.channels.senders import sender_for
from desk.models import OutboxMessage, OutboxStatus, utcnow
from desk.notify.mail import Claimed, ConnectionFailed, DeliveryError, MailSettings, SmtpSender, build
from desk.settings import LEASE_TIMEOUTS, check_outbox_lease
from desk.transaction import commit, discard

log = logging.getLogger("desk.notify.outbox")

# SMTP wants CRLF line ends: smtplib sends bytes as they are, and a message with bare LFs is one
# "line" longer than 1000 octets to a strict server (aiosmtpd answers 500 "Line too long").
SMTP_POLICY = compat32.clone(linesep="\r\n")

BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
OUTAGE_CAP = timedelta(minutes=30)  # while the server is down: a connection attempt per batch is cheap


@dataclass(frozen=True)
class OutboxSettings:
    mail: MailSettings = field(default_factory=MailSettings)
    max_attempts: int = 8
    batch: int = 50
    lease: timedelta = timedelta(minutes=5)
    # The other channels' settings (DESK_WHATSAPP_*, DESK_GRAPH_*, DESK_SMS_*), read by their senders.
    channels: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OutboxSettings:
        return cls(
            channels={k: v for k, v in config.items() if k.startswith(("DESK_WHATSAPP_", "DESK_GRAPH_", "DESK_SMS_"))},
            mail=MailSettings.from_config(config),
            max_attempts=int(config["DESK_OUTBOX_MAX_ATTEMPTS"]),
            batch=int(config["DESK_OUTBOX_BATCH"]),
            lease=timedelta(seconds=int(config["DESK_OUTBOX_LEASE_SECONDS"])),
        )

    def __post_init__(self) -> None:
        check_outbox_lease(self.lease.total_seconds(), self.mail.timeout)

    @property
    def renew_below(self) -> timedelta:
        """Renew a lease before a send when less than this is left of it."""
        return max(self.lease / 2, timedelta(seconds=LEASE_TIMEOUTS * self.mail.timeout))


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0     # this message's temporary failure: an attempt spent
    failed: int = 0
    postponed: int = 0   # the server was unreachable: no attempt spent
    skipped: int = 0     # the lease ran out and another worker took the message

    def __str__(self) -> str:
        return (f"claimed {self.claimed}, sent {self.sent}, retry later {self.retried}, failed {self.failed}, "
                f"server unreachable {self.postponed}, taken by another worker {self.skipped}")

    def add(self, other: BatchResult) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed attempt: 1 min, 2 min, 4 min … at most 6 h."""
    return min(BACKOFF_FIRST * 2 ** min(max(attempts - 1, 0), 20), BACKOFF_CAP)


def outage_wait(waited: timedelta) -> timedelta:
    """Wait after the server was unreachable, for a message that has waited ``waited`` since it
    was queued: as long again (plus a minute), so 1 min, 2, 4 … at most OUTAGE_CAP."""
    return min(max(waited, timedelta(0)) + BACKOFF_FIRST, OUTAGE_CAP)


def due_clause(now: datetime):
    return or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.locked_until <= now),
    )


def claim(session: Session, settings: OutboxSettings, now: datetime) -> list[Claimed]:
    """Take up to ``settings.batch`` due messages for this worker and commit."""
    query = (
        select(OutboxMessage.id, OutboxMessage.to_address, OutboxMessage.subject,
               OutboxMessage.body_text, OutboxMessage.attempts, OutboxMessage.created_at,
               OutboxMessage.channel, OutboxMessage.meta)
        .where(due_clause(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(settings.batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        discard(session)
        return []
    lease = now + settings.lease
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([row.id for row in rows]))
        .values(status=OutboxStatus.SENDING, locked_until=lease, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    commit(session)
    return [Claimed(row.id, row.to_address, row.subject, row.body_text, row.attempts + 1, lease, row.created_at,
                    row.channel or "email", row.meta)
            for row in rows]


def renew(session: Session, settings: OutboxSettings, claimed: Claimed, now: datetime) -> Claimed | None:
    """``claimed`` with a fresh lease if this worker still holds it, else None (another worker
    has taken it since our lease ran out). Compare-and-set: the row must still carry our
    lease and our attempt."""
    lease = now + settings.lease
    done = cast(CursorResult, session.execute(  # what an UPDATE returns; typed as any Result
        update(OutboxMessage)
        .where(OutboxMessage.id == claimed.id, OutboxMessage.status == OutboxStatus.SENDING,
               OutboxMessage.locked_until == claimed.lease, OutboxMessage.attempts == claimed.attempts)
        .values(locked_until=lease)
        .execution_options(synchronize_session=False)
    )).rowcount
    commit(session)
    return replace(claimed, lease=lease) if done else None


def _finish(session: Session, claimed: Claimed, **values: Any) -> bool:
    """Record an outcome if this worker still holds the message's lease.

    On PostgreSQL the commit does not wait for the disk (synchronous_commit off, this
    transaction only): a worker that dies loses nothing, and only a crash of the database
    server itself could forget the last outcomes, whose messages would then go out again."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    done = cast(CursorResult, session.execute(  # what an UPDATE returns; typed as any Result
        update(OutboxMessage)
        .where(OutboxMessage.id == claimed.id, OutboxMessage.status == OutboxStatus.SENDING,
               OutboxMessage.locked_until == claimed.lease, OutboxMessage.attempts == claimed.attempts)
        .values(locked_until=None, **values)
        .execution_options(synchronize_session=False)
    )).rowcount
    commit(session)
    return bool(done)


def _failed_attempt(session: Session, settings: OutboxSettings, claimed: Claimed, error: DeliveryError,
                    now: datetime, result: BatchResult) -> None:
    if error.permanent or claimed.attempts >= settings.max_attempts:
        _finish(session, claimed, status=OutboxStatus.FAILED, last_error=error.text)
        result.failed += 1
        log.warning("outbox: message %s failed for good after %s attempt(s): %s",
                    claimed.id, claimed.attempts, error.text)
    else:
        _finish(session, claimed, status=OutboxStatus.PENDING, last_error=error.text,
                next_attempt_at=now + backoff(claimed.attempts))
        result.retried += 1


def _postpone(session: Session, claims: Sequence[Claimed], error: DeliveryError, now: datetime,
              result: BatchResult) -> None:
    """The server is unreachable: each message waits (outage_wait) and gets its attempt back."""
    for claimed in claims:
        waited = now - claimed.created_at if claimed.created_at is not None else timedelta(0)
        if _finish(session, claimed, status=OutboxStatus.PENDING, attempts=claimed.attempts - 1,
                   last_error=error.text, next_attempt_at=now + outage_wait(waited)):
            result.postponed += 1
        else:  # its lease ran out meanwhile and another worker has it
            result.skipped += 1
    if claims:
        log.warning("outbox: mail server unreachable, %s message(s) wait: %s", len(claims), error.text)


def deliver(session: Session, settings: OutboxSettings, now: datetime | None = None) -> BatchResult:
    """Claim one batch of due messages and try each once. ``now`` (for tests) fixes the
    worker's clock; otherwise it reads the time before every step."""
    clock = (lambda: now) if now is not None else (lambda: utcnow())
    batch = claim(session, settings, clock())
    result = BatchResult(claimed=len(batch))
    others = [claimed for claimed in batch if claimed.channel != "email"]
    batch = [claimed for claimed in batch if claimed.channel == "email"]
    with SmtpSender(settings.mail) as sender:
        for index, claimed in enumerate(batch):
            if claimed.attempts > settings.max_attempts:
                # Claimed again and again without an outcome: its worker keeps dying on it.
                _failed_attempt(session, settings, claimed, DeliveryError(
                    "no outcome after the last attempt (did the worker stop while sending?)", permanent=True),
                    clock(), result)
                continue
            try:
                payload = build(claimed, settings.mail).as_bytes(policy=SMTP_POLICY)
            except Exception as error:  # a message that cannot be written will never go out
                _failed_attempt(session, settings, claimed, DeliveryError(
                    f"cannot build the message: {type(error).__name__}: {error}", permanent=True), clock(), result)
                continue
            try:
                sender.connect()
            except ConnectionFailed as error:  # every message left in the batch waits for the server
                _postpone(session, batch[index:], error, clock(), result)
                break
            if claimed.lease - clock() < settings.renew_below:
                renewed = renew(session, settings, claimed, clock())
                if renewed is None:
                    result.skipped += 1
                    log.info("outbox: message %s was taken by another worker after our lease ran out", claimed.id)
                    continue
                claimed = renewed
            try:
                sender.send(claimed.to_address, payload)
            except ConnectionFailed as error:
                # Lost while sending. If the server answers again, this message may be the
                # cause: it spends an attempt and the batch goes on. If not, it is an outage.
                try:
                    sender.connect()
                except ConnectionFailed as down:
                    _postpone(session, [claimed, *batch[index + 1:]], down, clock(), result)
                    break
                _failed_attempt(session, settings, claimed, error, clock(), result)
            except DeliveryError as error:
                _failed_attempt(session, settings, claimed, error, clock(), result)
            else:
                _finish(session, claimed, status=OutboxStatus.SENT, sent_at=clock(), last_error=None)
                result.sent += 1
    if others:
        _deliver_channels(session, settings, others, clock, result)
    return result


def _deliver_channels(session: Session, settings: OutboxSettings, batch: list[Claimed],
                      clock: Callable[[], datetime], result: BatchResult) -> None:
    """Messages of the other channels (WhatsApp), each through its channel's sender, with the
    same leases, attempts, backoff and outage rule as email. A sender's ``send`` returns the
    provider's id for the message (kept in ``external_id``) or raises a DeliveryError."""
    senders: dict[str, Any] = {}
    down: dict[str, ConnectionFailed] = {}
    for claimed in batch:
        if claimed.attempts > settings.max_attempts:
            _failed_attempt(session, settings, claimed, DeliveryError(
                "no outcome after the last attempt (did the worker stop while sending?)", permanent=True),
                clock(), result)
            continue
        if claimed.channel in down:
            _postpone(session, [claimed], down[claimed.channel], clock(), result)
            continue
        if claimed.channel not in senders:
            try:
                senders[claimed.channel] = sender_for(claimed.channel, settings.channels)
            except Exception as error:  # a sender that cannot even be built: its channel is down
                log.exception("outbox: cannot set up the %s sender", claimed.channel)
                senders[claimed.channel] = None
                down[claimed.channel] = ConnectionFailed(f"{type(error).__name__}: {error}")
                _postpone(session, [claimed], down[claimed.channel], clock(), result)
                continue
        sender = senders[claimed.channel]
        if sender is None:
            _failed_attempt(session, settings, claimed, DeliveryError(
                f"no sender for the channel {claimed.channel!r}", permanent=True), clock(), result)
            continue
        if claimed.lease - clock() < settings.renew_below:
            renewed = renew(session, settings, claimed, clock())
            if renewed is None:
                result.skipped += 1
                continue
            claimed = renewed
        try:
            external_id = sender.send(session, claimed, clock())
        except ConnectionFailed as error:
            down[claimed.channel] = error
            _postpone(session, [claimed], error, clock(), result)
        except DeliveryError as error:
            discard(session)
            _failed_attempt(session, settings, claimed, error, clock(), result)
        except Exception as error:  # a sender's own bug: one message's attempt, never the whole batch
            log.exception("outbox: the %s sender failed on message %s", claimed.channel, claimed.id)
            discard(session)
            _failed_attempt(session, settings, claimed, DeliveryError(
                f"{type(error).__name__}: {error}", permanent=False), clock(), result)
        else:
            if _finish(session, claimed, status=OutboxStatus.SENT, sent_at=clock(), last_error=None,
                       external_id=external_id):
                try:
                    sender.sent(session, claimed.id, external_id)
                except Exception:  # what follows a send (late statuses) must not undo it
                    log.exception("outbox: after sending message %s", claimed.id)
                    discard(session)
                result.sent += 1
            else:  # its lease ran out meanwhile and another worker has it
                result.skipped += 1
    for sender in senders.values():
        if sender is not None:
            sender.close()


def run(session: Session, settings: OutboxSettings, *, once: bool = False, interval: float = 10.0,
        should_stop: Callable[[], bool] = lambda: False, sleep: Callable[[float], object] = time.sleep) -> BatchResult:
    """The worker loop. ``once``: deliver everything due now, then return. Otherwise batch after
    batch, sleeping ``interval`` seconds when the outbox has nothing more due, until
    ``should_stop()``. Returns the totals."""
    total = BatchResult()
    while not should_stop():
        started = time.perf_counter()
        try:
            result = deliver(session, settings)
        except Exception:
            discard(session)
            if once:
                raise
            log.exception("outbox: batch failed; trying again in %s s", interval)
            sleep(interval)
            continue
        total.add(result)
        if result.claimed or once:
            log.info("outbox: %s in %.2f s", result, time.perf_counter() - started)
        if result.claimed < settings.batch or result.sent == 0:
            if once:
                break
            sleep(interval)
    return total
