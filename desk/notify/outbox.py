"""Delivering the outbox: claim what is due, send it, record the outcome.

A worker claims a batch in one short transaction (on PostgreSQL with ``FOR UPDATE SKIP
LOCKED``, so several workers take different rows), marking each row ``sending`` with a lease
(``locked_until``) and counting the attempt. It commits, sends over one SMTP connection (and
each other channel's sender), and records each outcome in its own transaction, only while it
still holds the lease. Every failure is one of three kinds (desk.notify.mail.DeliveryError,
desk.channels.http for the HTTP providers):

- **the channel is down** (``ConnectionFailed``): the server is unreachable, times out before
  greeting, hangs up or answers 421 and does not answer again, refuses our credentials, or an
  HTTP provider throttles us (429) or is unavailable (502–504). Not the message's fault:
  ``pending`` again with the attempt given back, due again after as long as it has already
  waited (1 min, 2, 4 … at most OUTAGE_CAP), and never before the ``Retry-After`` the provider
  asked for; every other message of that channel in the batch waits too. An outage of days
  fails nothing, and the supervisors see the messages waiting (desk.notify.undelivered);
- **this message's temporary failure** (SMTP 4xx, a 421 or a hang on this message when the
  server answers again, HTTP 408/500, a read timeout): ``pending`` again after an
  exponential backoff (1 min, 2, 4 … at most BACKOFF_CAP), or the provider's ``Retry-After``
  if longer. Tried again for ``retry_window`` (DESK_OUTBOX_RETRY_HOURS) after the first such
  failure (``failing_since``), whatever the number of attempts; then ``failed``;
- **a permanent failure** (SMTP 5xx, a refused recipient, another HTTP 4xx, a message that
  cannot be written): ``failed`` at once.

A message that fails is said on its ticket's timeline and counted in the supervisors' notice,
in the same transaction as its failure (desk.notify.undelivered).

A worker that dies leaves its rows ``sending``; when the lease runs out they are due again,
and the claim counts a stall. A message whose attempts end with no outcome ``max_stalls``
times (DESK_OUTBOX_MAX_ATTEMPTS: it may be what kills the worker) fails instead of looping.

A slow server may make a batch outlive its lease: before each send the worker renews a
lease that is running short, by a compare-and-set on ``locked_until`` that fails if another
worker has taken the message since, and then skips it. The lease itself outlasts the
slowest possible send of every channel in use (desk.settings.LEASE_TIMEOUTS). A message the
server accepted is marked sent in the next statement, so it is sent twice only if the worker
dies in between (at least once, never lost). On SQLite the same code runs without SKIP
LOCKED: run one worker there.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from email.policy import compat32
from typing import Any, cast

from sqlalchemy import CursorResult, and_, case, or_, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from desk.channels.senders import sender_for
from desk.models import OutboxMessage, OutboxStatus, utcnow
from desk.notify import undelivered
from desk.notify.mail import Claimed, ConnectionFailed, DeliveryError, MailSettings, SmtpSender, build
from desk.settings import channel_timeouts, check_outbox_lease, longest_send
from desk.transaction import atomic, commit, discard

log = logging.getLogger("desk.notify.outbox")

# SMTP wants CRLF line ends: smtplib sends bytes as they are, and a message with bare LFs is one
# "line" longer than 1000 octets to a strict server (aiosmtpd answers 500 "Line too long").
SMTP_POLICY = compat32.clone(linesep="\r\n")

BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)  # a day of retries is some thirty attempts, the last within the hour
OUTAGE_CAP = timedelta(minutes=30)  # while the server is down: a connection attempt per batch is cheap


@dataclass(frozen=True)
class OutboxSettings:
    mail: MailSettings = field(default_factory=MailSettings)
    max_stalls: int = 3  # attempts ending with no outcome (the worker stopped) before the message fails
    retry_window: timedelta = timedelta(hours=24)  # a message's temporary failures are retried this long
    batch: int = 50
    lease: timedelta = timedelta(minutes=5)
    # The other channels' settings (DESK_WHATSAPP_*, DESK_GRAPH_*, DESK_SMS_*, and DESK_ATTACHMENT_DIR for
    # the documents sent by WhatsApp), read by their senders.
    channels: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OutboxSettings:
        return cls(
            channels={k: v for k, v in config.items()
                      if k.startswith(("DESK_WHATSAPP_", "DESK_GRAPH_", "DESK_SMS_", "DESK_ATTACHMENT_DIR"))},
            mail=MailSettings.from_config(config),
            max_stalls=int(config["DESK_OUTBOX_MAX_ATTEMPTS"]),
            retry_window=timedelta(hours=float(config["DESK_OUTBOX_RETRY_HOURS"])),
            batch=int(config["DESK_OUTBOX_BATCH"]),
            lease=timedelta(seconds=int(config["DESK_OUTBOX_LEASE_SECONDS"])),
        )

    def __post_init__(self) -> None:
        check_outbox_lease(self.lease.total_seconds(), self.timeouts)

    @property
    def timeouts(self) -> dict[str, float]:
        """The timeout of each channel in use (desk.settings.channel_timeouts)."""
        return channel_timeouts({**self.channels, "DESK_SMTP_TIMEOUT": self.mail.timeout})

    @property
    def renew_below(self) -> timedelta:
        """Renew a lease before a send when less than this is left of it: the slowest send."""
        return max(self.lease / 2, timedelta(seconds=longest_send(self.timeouts)[0]))

    def wait_asked(self, error: DeliveryError) -> timedelta:
        """The wait the server asked for (``Retry-After``), at most ``retry_window``: a date
        years ahead would otherwise park a channel for good."""
        return min(error.retry_after or timedelta(0), self.retry_window)


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0     # this message's temporary failure: tried again later
    failed: int = 0
    postponed: int = 0   # the channel was down or throttled us: no attempt spent
    skipped: int = 0     # the lease ran out and another worker took the message

    def __str__(self) -> str:
        return (f"claimed {self.claimed}, sent {self.sent}, retry later {self.retried}, failed {self.failed}, "
                f"server unreachable {self.postponed}, taken by another worker {self.skipped}")

    def add(self, other: BatchResult) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed attempt: 1 min, 2 min, 4 min … at most BACKOFF_CAP."""
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
    """Take up to ``settings.batch`` due messages for this worker and commit. A message still
    ``sending`` (its worker's lease ran out with no outcome) counts a stall."""
    query = (
        select(OutboxMessage.id, OutboxMessage.to_address, OutboxMessage.subject,
               OutboxMessage.body_text, OutboxMessage.attempts, OutboxMessage.created_at,
               OutboxMessage.channel, OutboxMessage.meta, OutboxMessage.status, OutboxMessage.stalls,
               OutboxMessage.failing_since, OutboxMessage.ticket_id, OutboxMessage.to_user_id)
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
        .values(status=OutboxStatus.SENDING, locked_until=lease, attempts=OutboxMessage.attempts + 1,
                stalls=OutboxMessage.stalls + case((OutboxMessage.status == OutboxStatus.SENDING, 1), else_=0))
        .execution_options(synchronize_session=False)
    )
    commit(session)
    return [Claimed(row.id, row.to_address, row.subject, row.body_text, row.attempts + 1, lease, row.created_at,
                    row.channel or "email", row.meta,
                    stalls=(row.stalls or 0) + (1 if row.status == OutboxStatus.SENDING else 0),
                    failing_since=row.failing_since, ticket_id=row.ticket_id, to_user_id=row.to_user_id)
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


def _ours(session: Session, claimed: Claimed, **values: Any) -> bool:
    """Write an outcome on the message if this worker still holds its lease (compare-and-set:
    the row still carries our lease and our attempt), in the open transaction."""
    return bool(cast(CursorResult, session.execute(  # what an UPDATE returns; typed as any Result
        update(OutboxMessage)
        .where(OutboxMessage.id == claimed.id, OutboxMessage.status == OutboxStatus.SENDING,
               OutboxMessage.locked_until == claimed.lease, OutboxMessage.attempts == claimed.attempts)
        .values(locked_until=None, **values)
        .execution_options(synchronize_session=False)
    )).rowcount)


def _finish(session: Session, claimed: Claimed, **values: Any) -> bool:
    """Record an outcome if this worker still holds the message's lease.

    On PostgreSQL the commit does not wait for the disk (synchronous_commit off, this
    transaction only): a worker that dies loses nothing, and only a crash of the database
    server itself could forget the last outcomes, whose messages would then go out again."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    done = _ours(session, claimed, **values)
    commit(session)
    return done


TELL_TRIES = 5  # a person saving the same ticket at that very moment makes us write again


def _fail(session: Session, claimed: Claimed, cause: str, detail: str, now: datetime, result: BatchResult) -> None:
    """The message could not be delivered, for good: marked failed and said on its ticket's
    timeline in one transaction (desk.notify.undelivered), if this worker still holds it."""
    done = False
    for attempt in range(TELL_TRIES + 1):
        try:
            with atomic(session):
                done = _ours(session, claimed, **undelivered.failed_values(cause, detail, now))
                if done and attempt < TELL_TRIES:
                    undelivered.tell(session, ticket_id=claimed.ticket_id, to_user_id=claimed.to_user_id,
                                     channel=claimed.channel, cause=cause, detail=detail, now=now,
                                     address=claimed.to_address)
            break
        except StaleDataError:  # the ticket was saved between our read and our write: read it again
            done = False
            continue
    if attempt == TELL_TRIES and done:
        log.error("outbox: message %s failed; its ticket kept changing and does not say so", claimed.id)
    if done:
        result.failed += 1
        log.warning("outbox: message %s failed for good after %s attempt(s) (%s): %s",
                    claimed.id, claimed.attempts, cause, detail)
    else:  # its lease ran out meanwhile and another worker has it
        result.skipped += 1


def _failed_attempt(session: Session, settings: OutboxSettings, claimed: Claimed, error: DeliveryError,
                    now: datetime, result: BatchResult) -> None:
    """This message's failure: permanent, it fails now; temporary, it is tried again after a
    backoff (or the wait the server asked for) until ``retry_window`` has passed since its
    first temporary failure, and then it fails."""
    if error.permanent:
        _fail(session, claimed, error.cause, error.text, now, result)
        return
    since = claimed.failing_since or now
    if now - since >= settings.retry_window:
        hours = settings.retry_window.total_seconds() / 3600
        _fail(session, claimed, "expired", f"still failing after {hours:g} h: {error.text}", now, result)
        return
    wait = max(backoff(claimed.attempts), settings.wait_asked(error))
    if _finish(session, claimed, status=OutboxStatus.PENDING, last_error=error.text, failing_since=since,
               next_attempt_at=now + wait):
        result.retried += 1
    else:
        result.skipped += 1


def _postpone(session: Session, settings: OutboxSettings, claims: Sequence[Claimed], error: DeliveryError,
              now: datetime, result: BatchResult) -> None:
    """The channel is down (or throttles us): each message waits (outage_wait, and never less
    than the wait the server asked for) and gets its attempt back."""
    for claimed in claims:
        waited = now - claimed.created_at if claimed.created_at is not None else timedelta(0)
        wait = max(outage_wait(waited), settings.wait_asked(error))
        if _finish(session, claimed, status=OutboxStatus.PENDING, attempts=claimed.attempts - 1,
                   last_error=error.text, next_attempt_at=now + wait):
            result.postponed += 1
        else:  # its lease ran out meanwhile and another worker has it
            result.skipped += 1
    if claims:
        log.warning("outbox: %s unreachable, %s message(s) wait: %s", claims[0].channel, len(claims), error.text)


def _stalled(session: Session, settings: OutboxSettings, claimed: Claimed, now: datetime,
             result: BatchResult) -> bool:
    """Fail a message whose attempts keep ending with no outcome (it may be what stops its
    worker) instead of trying it forever. True if it was failed."""
    if claimed.stalls < settings.max_stalls:
        return False
    _fail(session, claimed, "stalled",
          f"no outcome after {claimed.stalls} attempt(s): the worker stopped while sending", now, result)
    return True


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
            if _stalled(session, settings, claimed, clock(), result):
                continue
            try:
                payload = build(claimed, settings.mail).as_bytes(policy=SMTP_POLICY)
            except Exception as error:  # a message that cannot be written will never go out
                _fail(session, claimed, "unwritable", f"cannot build the message: {type(error).__name__}: {error}",
                      clock(), result)
                continue
            try:
                sender.connect()
            except ConnectionFailed as error:  # every message left in the batch waits for the server
                _postpone(session, settings, batch[index:], error, clock(), result)
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
                # Lost while sending (a 421, a hang that timed out, a reset). If the server
                # answers again, this message may be the cause: its own temporary failure, and
                # the batch goes on. If not, it is an outage.
                try:
                    sender.connect()
                except ConnectionFailed as down:
                    _postpone(session, settings, [claimed, *batch[index + 1:]], down, clock(), result)
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
    """Messages of the other channels (WhatsApp, SMS), each through its channel's sender, with
    the same leases, failures and outage rule as email. A sender's ``send`` returns the
    provider's id for the message (kept in ``external_id``) or raises a DeliveryError; once a
    channel is down (or throttles us) the rest of its messages in the batch wait with it."""
    senders: dict[str, Any] = {}
    down: dict[str, ConnectionFailed] = {}
    for claimed in batch:
        if _stalled(session, settings, claimed, clock(), result):
            continue
        if claimed.channel in down:
            _postpone(session, settings, [claimed], down[claimed.channel], clock(), result)
            continue
        if claimed.channel not in senders:
            try:
                senders[claimed.channel] = sender_for(claimed.channel, settings.channels,
                                                      on_failed=undelivered.receipt_failed)
            except Exception as error:  # a sender that cannot even be built: its channel is down
                log.exception("outbox: cannot set up the %s sender", claimed.channel)
                senders[claimed.channel] = None
                down[claimed.channel] = ConnectionFailed(f"{type(error).__name__}: {error}")
                _postpone(session, settings, [claimed], down[claimed.channel], clock(), result)
                continue
        sender = senders[claimed.channel]
        if sender is None:
            _fail(session, claimed, "channel", f"no sender for the channel {claimed.channel!r}", clock(), result)
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
            discard(session)
            down[claimed.channel] = error
            _postpone(session, settings, [claimed], error, clock(), result)
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
        should_stop: Callable[[], bool] = lambda: False, sleep: Callable[[float], object] = time.sleep,
        also: Callable[[], int] = lambda: 0) -> BatchResult:
    """The worker loop. ``once``: deliver everything due now, then return. Otherwise batch after
    batch, sleeping ``interval`` seconds when the outbox has nothing more due, until
    ``should_stop()``. ``also()``: a sibling queue's batch after each of ours (the media to
    fetch, desk.channels.media), returning how many it took. Returns the totals."""
    total = BatchResult()
    while not should_stop():
        started = time.perf_counter()
        try:
            result = deliver(session, settings)
            extra = also()
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
        if extra:
            continue
        if result.claimed < settings.batch or result.sent == 0:
            if once:
                break
            sleep(interval)
    return total
