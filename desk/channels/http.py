"""What an HTTP provider's refusal means to the outbox, for the senders that speak HTTP (the
WhatsApp Graph API, desk.channels.graph; the SMS gateway, desk.channels.sms):

- 429 (too many requests), 502, 503, 504 (the provider is down or overloaded), 401 and 403
  (our credentials), 404 and 405 (our setup: the address is wrong): the channel's trouble,
  not the message's: ``ConnectionFailed``, so the outbox postpones every message of that
  channel in the batch and counts nothing against them;
- 408, 500 and any other 5xx: this message's temporary failure, retried for a time;
- any other 4xx: the provider refused this message: a permanent failure.

A ``Retry-After`` header (seconds, or an HTTP date) is kept on the failure: the outbox does not
try again before it. An HTTP date is read against the answer's own ``Date`` header when it has
one, so a provider whose clock differs from ours still gets the wait it asked for.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from desk.notify.mail import ConnectionFailed, DeliveryError

CHANNEL_DOWN = frozenset({429, 502, 503, 504})
OUR_SETUP = frozenset({401, 403, 404, 405})


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def retry_after(response: httpx.Response, now: datetime) -> timedelta | None:
    """The wait the answer's ``Retry-After`` asks for (never negative), or None without one or
    with one that cannot be read. ``now``: the worker's clock, for a date when the answer has
    no ``Date`` of its own."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return timedelta(seconds=int(value))
    until = _http_date(value)
    if until is None:
        return None
    return max(until - (_http_date(response.headers.get("Date")) or now), timedelta(0))


def failure(response: httpx.Response, what: str, now: datetime,
            error: type[DeliveryError] = DeliveryError) -> DeliveryError:
    """The failure an answer other than 2xx means (see the module's docstring). ``what``
    names the provider in the message kept on the outbox row; ``error``: the class of a
    failure of the message itself (a provider's subclass carrying its own error code)."""
    status, wait = response.status_code, retry_after(response, now)
    text = f"{what} answered {status}: {response.text[:500]}"
    if status in CHANNEL_DOWN:
        return ConnectionFailed(text, retry_after=wait)
    if status in OUR_SETUP:
        return ConnectionFailed(f"{text} (our settings: not the message's fault)", retry_after=wait)
    if 400 <= status < 500 and status != 408:
        return error(text, permanent=True, cause="refused")
    return error(text, permanent=False, retry_after=wait)
