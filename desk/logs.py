"""What the desk writes to its logs, and what it never writes.

Logs are read by whoever runs the servers, kept for months and shipped to other systems: they
must not become a second, unguarded copy of the beneficiaries' file. So:

- one filter (``Scrub``) sits on every handler — the root logger's, the app's, gunicorn's when
  gunicorn serves the desk — and rewrites each record before anything formats it:
  national ID / iqama numbers, phone numbers (+9665…, 009665…, 9665…, 05…, in any digits,
  Arabic-Indic included), email addresses and any other long run of digits are masked;
  query strings are dropped from every URL (searches carry names and phone numbers there);
  the private keys of the portal's links are masked (they open a beneficiary's request);
  Flask-Limiter's "ratelimit … (login:EMAIL) exceeded" keeps the limit's kind, not its key;
- an exception keeps its type and its traceback's code locations (file, line, function,
  source line) but never its message: messages quote the value that failed (a duplicate
  national ID in PostgreSQL's DETAIL line, the text a parser refused). A database error adds
  what names no value: the SQLSTATE, table, column and constraint (PostgreSQL), the error
  code (SQLite); an OSError its errno;
- every line of a request carries that request's id (``request_id``), which the response
  returns in ``X-Request-ID`` and the 500 page shows, so a supervisor can quote it.

Free text (a request's body, a ticket's details, a name) is never passed to a log call in the
first place; the filter is the net under that rule, not a licence to log.

``DESK_LOG_FORMAT``: ``text`` (one line per record, the default) or ``json`` (one JSON object
per line: time, level, logger, message, request_id, and exception when there is one).
"""
from __future__ import annotations

import errno
import ipaddress
import json
import logging
import re
import secrets
import sys
import time
import traceback
from collections.abc import Mapping
from typing import IO, Any

from flask import Flask, Response, current_app, g, has_request_context, request

from desk.text import strip_invisible, to_ascii_digits

HANDLER_NAME = "desk"  # the root logger's handler this module adds (once per process)
REQUEST_ID_HEADER = "X-Request-ID"
# Loggers that do not pass their records to the root (gunicorn sets propagate = False on both).
GUNICORN_LOGGERS = ("gunicorn.error", "gunicorn.access")

# An id a proxy may hand us (nginx's $request_id, a UUID, a load balancer's trace id): letters,
# digits and a few separators, 8 to 64 characters. Anything else, and anything the filter
# would mask, is replaced by our own.
_INCOMING_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")

# What the filter masks, in this order (after the digits were made ASCII).
_SEP = r"[\s-]?"
_RATELIMIT = re.compile(r"(ratelimit [^(]* \()(.*)(\) exceeded at endpoint: )", re.S)
_PORTAL_TOKEN = re.compile(r"(/portal/[os]/)[^/\s?\"'#<>]+")            # signed links: /portal/o/<token>
_PORTAL_KEY = re.compile(r"(/portal/t/[^/\s?\"'#<>]+/)[A-Za-z0-9_-]{20,}")  # /portal/t/<reference>/<key>
_QUERY = re.compile(r"(/[^\s?\"'#<>]*)\?[^\s\"'#<>]+")
_EMAIL = re.compile(r"[\w.!#$%&*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_INTERNATIONAL = re.compile(rf"(?<![\w+])(?:\+|00)\s?\d(?:{_SEP}\d){{7,14}}(?!\d)")
_PHONE_SAUDI = re.compile(rf"(?<!\d)(?:966{_SEP}|0)?5(?:{_SEP}\d){{8}}(?!\d)")
_NATIONAL_ID = re.compile(r"(?<!\d)[12]\d{9}(?!\d)")
_LONG_NUMBER = re.compile(r"(?<!\d)\d{9,}(?!\d)")


def _limit_key(match: re.Match[str]) -> str:
    """A rate limit's key without its value: "login:[redacted]"; a client address stays (the
    access log has it anyway, and it is what an administrator blocks)."""
    key = match.group(2)
    try:
        ipaddress.ip_address(key)
    except ValueError:
        kind, colon, _value = key.partition(":")
        key = f"{kind}:[redacted]" if colon and re.fullmatch(r"[a-z_]{1,20}", kind) else "[redacted]"
    return match.group(1) + key + match.group(3)


def scrub(text: str) -> str:
    """``text`` with every value that could identify a person masked."""
    # One kind of digit (Arabic-Indic ones become ASCII), and no bidi mark pasted between two.
    text = to_ascii_digits(strip_invisible(text))
    text = _RATELIMIT.sub(_limit_key, text)
    text = _PORTAL_TOKEN.sub(r"\1[key]", text)
    text = _PORTAL_KEY.sub(r"\1[key]", text)
    text = _QUERY.sub(r"\1?[query]", text)
    text = _EMAIL.sub("[email]", text)
    text = _PHONE_INTERNATIONAL.sub("[phone]", text)
    text = _PHONE_SAUDI.sub("[phone]", text)
    text = _NATIONAL_ID.sub("[national-id]", text)
    return _LONG_NUMBER.sub("[number]", text)


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _details(exc: BaseException) -> list[str]:
    """What an exception says that names no value: a database's codes, an OS error's errno."""
    source = getattr(exc, "orig", None) or exc  # SQLAlchemy's DBAPIError wraps the driver's error
    details = []
    sqlstate = getattr(source, "sqlstate", None)  # psycopg
    if isinstance(sqlstate, str):
        details.append(f"sqlstate={sqlstate}")
        diag = getattr(source, "diag", None)
        for field in ("table_name", "column_name", "constraint_name"):
            value = getattr(diag, field, None)
            if isinstance(value, str) and value:
                details.append(f"{field.removesuffix('_name')}={value}")
    sqlite = getattr(source, "sqlite_errorname", None)
    if isinstance(sqlite, str):
        details.append(f"code={sqlite}")
    if isinstance(source, OSError) and isinstance(source.errno, int):
        details.append(f"errno={errno.errorcode.get(source.errno, source.errno)}")
    return details


def describe(exc: BaseException) -> str:
    """The exception's line: its type and what ``_details`` allows, never its message."""
    details = "; ".join(["message not logged", *_details(exc)])
    return f"{_type_name(exc)} [{details}]"


def safe_traceback(exc: BaseException) -> str:
    """The traceback as Python prints it (the chain of causes too), each exception's message
    replaced by ``describe``: the code's locations stay, the values go."""
    lines: list[str] = []
    seen: set[int] = set()

    def walk(error: BaseException) -> None:
        seen.add(id(error))
        cause, context = error.__cause__, error.__context__
        if cause is not None and id(cause) not in seen:
            walk(cause)
            lines.append("\nThe above exception was the direct cause of the following exception:\n\n")
        elif context is not None and not error.__suppress_context__ and id(context) not in seen:
            walk(context)
            lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
        if error.__traceback__ is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_list(traceback.extract_tb(error.__traceback__)))
        lines.append(describe(error) + "\n")

    walk(exc)
    return "".join(lines).rstrip("\n")


def request_id() -> str | None:
    """This request's id (None outside a request): a proxy's sane X-Request-ID when the desk is
    configured behind one (DESK_PROXY_HOPS), else a new one; the same for the whole request."""
    if not has_request_context():
        return None
    value = g.get("desk_request_id")
    if value is None:
        value = _incoming_id() or secrets.token_hex(8)
        g.desk_request_id = value
    return value


def _incoming_id() -> str | None:
    if not current_app.config.get("DESK_PROXY_HOPS"):
        return None  # no proxy: the header is the client's own, and the desk's logs are not theirs to label
    value = request.headers.get(REQUEST_ID_HEADER, "")
    return value if _INCOMING_ID.fullmatch(value) and scrub(value) == value else None


class Scrub(logging.Filter):
    """The one filter on every handler: masks the record's message, replaces its exception by
    ``safe_traceback`` (exc_info is dropped: nothing later can format the message) and adds
    ``request_id``. A record is scrubbed once, whichever handler sees it first; if scrubbing
    itself fails, the record is withheld rather than written as it came."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "desk_scrubbed", False):
            return True
        try:
            record.__dict__["request_id"] = self._request_id(record) or "-"
            record.msg = scrub(record.getMessage())
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = safe_traceback(record.exc_info[1])
            elif record.exc_text:
                record.exc_text = scrub(record.exc_text)
        except Exception as error:  # a log call must never fail, nor leak instead
            record.msg = f"[record withheld: the log filter failed ({type(error).__name__})]"
            record.exc_text = None
            record.__dict__.setdefault("request_id", "-")
        record.args = ()
        record.exc_info = None
        record.__dict__["desk_scrubbed"] = True
        return True

    @staticmethod
    def _request_id(record: logging.LogRecord) -> str | None:
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            # After the request: gunicorn's access line reads the id from the response's header.
            value = record.args.get("{" + REQUEST_ID_HEADER.lower() + "}o")
            return value if isinstance(value, str) and value != "-" else None
        return request_id()


SCRUB = Scrub()


def _utc(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    """``2025-01-05T09:30:00.123Z ERROR [3f2a91bc07de55a1] desk: Exception on /tickets/new [POST]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s",
                         defaults={"request_id": "-"})

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        # One line per record, whatever the message holds (a path with %0A in it, decoded):
        # nobody forges a line of their own. The traceback follows on its own lines.
        return super().formatMessage(record).replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per line (a traceback's newlines are escaped inside its string)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc(record), "level": record.levelname, "logger": record.name,
            "message": record.getMessage(), "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info and not record.exc_text:  # a handler without the filter: still one line
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def _loggers() -> list[logging.Logger]:
    manager = logging.Logger.manager
    named = [logger for logger in list(manager.loggerDict.values()) if isinstance(logger, logging.Logger)]
    return [logging.getLogger(), *named]


def protect() -> None:
    """Put the filter on every handler of every logger there is now (idempotent)."""
    for logger in _loggers():
        for handler in list(logger.handlers):
            if SCRUB not in handler.filters:
                handler.addFilter(SCRUB)


def setup(fmt: str, stream: IO[str] | None = None) -> logging.Handler:
    """The process's logging: one handler on the root logger (on ``stream``, standard error by
    default), INFO and above, in ``fmt``; gunicorn's handlers in the same format when it is JSON
    (so every line a log shipper reads is JSON); the filter on every handler. Run again (another
    app in the same process), it reuses its handler."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.name == HANDLER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.name = HANDLER_NAME
        root.addHandler(handler)
    elif stream is not None and isinstance(handler, logging.StreamHandler):
        handler.setStream(stream)
    handler.setFormatter(formatter(fmt))
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    gunicorn(fmt)
    protect()
    return handler


def gunicorn(fmt: str) -> None:
    """gunicorn's handlers (its error log, its access log; none when gunicorn does not serve the
    desk): the filter, and the desk's format when it is JSON, so every line a log shipper reads is
    JSON. The app does this when it loads; gunicorn.conf.py each time gunicorn sets up its
    logging (in the master, and again on a reload), before any app is loaded."""
    for name in GUNICORN_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if fmt == "json":
                handler.setFormatter(JsonFormatter())
            if SCRUB not in handler.filters:
                handler.addFilter(SCRUB)


def init_app(app: Flask) -> None:
    """Logging for the process, the request id on every response."""
    setup(app.config["DESK_LOG_FORMAT"])
    app.logger  # noqa: B018 - made now, after the root's handler: Flask then adds no handler of its own
    protect()

    @app.after_request
    def _request_id_header(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = request_id() or ""
        return response
