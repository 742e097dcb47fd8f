"""Every setting of the desk, read from DESK_* environment variables.

The defaults make a fresh checkout run on SQLite under ``instance/``. Production
(``DESK_ENV=production``) refuses to start without ``DESK_SECRET_KEY`` and ``DESK_BASE_URL``.
"""
from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    """The environment does not describe a runnable desk."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _positive_int(env: Mapping[str, str], name: str, default: int, unit: str = "seconds") -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a whole number of {unit}, 1 or more, not {raw!r}")
    return int(raw)


def engine_options(database_url: str, connect_timeout: int) -> dict[str, Any]:
    """The engine's options for the database the app ends up with (create_app recomputes them
    when its config names another database than the environment's).

    hide_parameters: a failed statement's message (logged, and kept as a channel's last error)
    names the statement, never the values it carried (national IDs, health details).
    connect_timeout (PostgreSQL): a database host that drops packets, rather than refusing,
    fails the request after these seconds, with the outage page, instead of hanging the worker."""
    options: dict[str, Any] = {"hide_parameters": True}
    if not database_url.startswith("sqlite"):
        options |= {"pool_pre_ping": True, "connect_args": {"connect_timeout": connect_timeout}}
    return options


def _dev_secret(instance_path: Path) -> str:
    """A per-checkout secret kept under instance/, so development sessions survive restarts."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


PORTAL_FILES = 5  # documents per portal request (desk.portal.service.MAX_FILES)

SMTP_PORTS = {"none": 25, "starttls": 587, "ssl": 465}  # the usual port of each DESK_SMTP_TLS mode

# How long one send may take at worst, in its channel's timeouts, one more counted for recording
# the outcome. An outbox lease shorter than the longest of these, over the channels the desk
# sends on, could run out while a message is still being sent, and another worker would send
# it again (desk.notify.outbox):
# - email: the mail server's five replies to one message (MAIL, RCPT, DATA, the message, the
#   final reply), each up to DESK_SMTP_TIMEOUT: 5 + 1;
# - sms: one HTTP request: up to three connection attempts (the transport retries twice), each
#   a TCP connect and a TLS handshake, then sending it and waiting for the answer, each up to
#   DESK_SMS_TIMEOUT: 8 + 1;
# - whatsapp: the same request twice (a text refused outside the 24-hour window goes again as
#   the approved template; a document is uploaded, then sent), each wait up to
#   DESK_GRAPH_TIMEOUT: 16 + 1. The media worker (desk.channels.media) uses the same lease.
LEASE_TIMEOUTS = {"email": 6, "sms": 9, "whatsapp": 17}
TIMEOUT_SETTINGS = {"email": "DESK_SMTP_TIMEOUT", "sms": "DESK_SMS_TIMEOUT", "whatsapp": "DESK_GRAPH_TIMEOUT"}
DEFAULT_LEASE_SECONDS = 300
WHATSAPP_MEDIA_HOSTS = "lookaside.fbsbx.com, .fbsbx.com, .fbcdn.net, .whatsapp.net"  # Meta's CDN


def _smtp_tls(value: str) -> str:
    value = (value or "none").strip().lower()
    if value not in SMTP_PORTS:
        raise SettingsError(f"DESK_SMTP_TLS must be none, starttls or ssl, not {value!r}")
    return value


LOG_FORMATS = ("text", "json")  # DESK_LOG_FORMAT: desk.logs writes either


def _log_format(value: str) -> str:
    value = (value or "text").strip().lower()
    if value not in LOG_FORMATS:
        raise SettingsError(f"DESK_LOG_FORMAT must be text or json, not {value!r}")
    return value


def channel_timeouts(config: Mapping[str, Any]) -> dict[str, float]:
    """The timeout of each channel the desk sends on, from the settings (the environment's
    strings or the app's config): email always, SMS when a gateway is set (DESK_SMS_URL),
    WhatsApp when its sending number or token is (DESK_WHATSAPP_PHONE_ID, DESK_WHATSAPP_TOKEN)."""
    timeouts = {"email": float(config.get("DESK_SMTP_TIMEOUT") or 30)}
    if str(config.get("DESK_SMS_URL") or "").strip():
        timeouts["sms"] = float(config.get("DESK_SMS_TIMEOUT") or 10)
    if config.get("DESK_WHATSAPP_PHONE_ID") or config.get("DESK_WHATSAPP_TOKEN"):
        timeouts["whatsapp"] = float(config.get("DESK_GRAPH_TIMEOUT") or 10)
    return timeouts


def longest_send(timeouts: Mapping[str, float]) -> tuple[float, str]:
    """The longest one send may take over ``timeouts``' channels (see LEASE_TIMEOUTS), in
    seconds, and the channel it is on."""
    return max((LEASE_TIMEOUTS[channel] * timeout, channel) for channel, timeout in timeouts.items())


def check_outbox_lease(lease_seconds: float, timeouts: Mapping[str, float]) -> None:
    """Refuse an outbox lease that one slow send on any channel in use could outlive."""
    floor, channel = longest_send(timeouts)
    if lease_seconds < floor:
        raise SettingsError(
            f"DESK_OUTBOX_LEASE_SECONDS ({lease_seconds:g}) must be at least {LEASE_TIMEOUTS[channel]} × "
            f"{TIMEOUT_SETTINGS[channel]} ({timeouts[channel]:g} s) = {floor:g}: one slow {channel} send "
            f"could outlive a shorter lease, and another worker would send the message again")


def _outbox_lease(env: Mapping[str, str]) -> int:
    """DESK_OUTBOX_LEASE_SECONDS, by default 300 s or more if a channel's timeout needs it."""
    timeouts = channel_timeouts(env)
    if env.get("DESK_OUTBOX_LEASE_SECONDS"):
        lease = int(env["DESK_OUTBOX_LEASE_SECONDS"])
        check_outbox_lease(lease, timeouts)
        return lease
    return max(DEFAULT_LEASE_SECONDS, math.ceil(longest_send(timeouts)[0]))


def load(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Flask config built from the environment."""
    env = os.environ if env is None else env
    mode = env.get("DESK_ENV", "development").strip().lower()
    if mode not in {"development", "production", "testing"}:
        raise SettingsError(f"DESK_ENV must be development, production or testing, not {mode!r}")

    instance_path = Path(env.get("DESK_INSTANCE_PATH") or PROJECT_ROOT / "instance").resolve()
    instance_path.mkdir(parents=True, exist_ok=True)

    secret = env.get("DESK_SECRET_KEY", "")
    if not secret:
        if mode == "production":
            raise SettingsError("DESK_SECRET_KEY is required when DESK_ENV=production")
        secret = _dev_secret(instance_path)

    database_url = env.get("DESK_DATABASE_URL") or f"sqlite:///{instance_path / 'desk.db'}"
    connect_timeout = _positive_int(env, "DESK_DB_CONNECT_TIMEOUT", 5)
    production = mode == "production"

    base_url = env.get("DESK_BASE_URL", "").strip().rstrip("/")
    if not base_url:
        if production:  # every link in every email would point nowhere
            raise SettingsError("DESK_BASE_URL is required when DESK_ENV=production "
                                "(the desk's address as users reach it, e.g. https://desk.example.org)")
        base_url = "http://127.0.0.1:5000"
    smtp_tls = _smtp_tls(env.get("DESK_SMTP_TLS", "none"))
    secure_cookies = _bool(env.get("DESK_SECURE_COOKIES"), production)
    smtp_timeout = float(env.get("DESK_SMTP_TIMEOUT") or 30)

    return {
        "DESK_ENV": mode,
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "DESK_DB_CONNECT_TIMEOUT": connect_timeout,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url, connect_timeout),
        # Over HTTPS (production) the cookie is Secure and named __Host-…: the browser keeps it
        # only if it came over HTTPS, for this host alone (no Domain) and the whole path, so a
        # sibling subdomain or a plain-HTTP page cannot set or overwrite it. Development and
        # the tests over plain HTTP keep the ordinary name (a browser refuses __Host- there).
        "SESSION_COOKIE_NAME": "__Host-session" if secure_cookies else "session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_DOMAIN": None,
        "SESSION_COOKIE_PATH": "/",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        # A signed-in session ends after this long without a request of the person's own (idle),
        # and this long after signing in whatever happens (absolute): desk.accounts.sessions.
        "DESK_SESSION_IDLE_MINUTES": _positive_int(env, "DESK_SESSION_IDLE_MINUTES", 30, "minutes"),
        "DESK_SESSION_HOURS": _positive_int(env, "DESK_SESSION_HOURS", 12, "hours"),
        "PERMANENT_SESSION_LIFETIME": _positive_int(env, "DESK_SESSION_HOURS", 12, "hours") * 3600,
        # Password reset by email (desk.accounts.reset): how long a link works, and how often
        # one address (and one client address) may ask.
        "DESK_PASSWORD_RESET_MINUTES": _positive_int(env, "DESK_PASSWORD_RESET_MINUTES", 30, "minutes"),
        "DESK_PASSWORD_RESET_LIMIT": env.get("DESK_PASSWORD_RESET_LIMIT", "3 per 15 minutes;10 per day"),
        # A Server-Timing header on every response (SQL, templates, the whole request) for the
        # HTTP benchmark: desk/timing.py. Never in production: it costs and it tells.
        "DESK_BENCH_TIMING": _bool(env.get("DESK_BENCH_TIMING"), False),
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead; a long shift must not lose a form
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        "BABEL_DEFAULT_LOCALE": "ar",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Riyadh",
        "DESK_LANGUAGES": ("ar", "en"),
        "RATELIMIT_STORAGE_URI": env.get("DESK_RATELIMIT_STORAGE_URL", "memory://"),
        # Reverse proxies in front of the desk (nginx, a load balancer): how many X-Forwarded-For
        # hops to trust. 0 (no proxy): the client address is the connection's. Wrong either way
        # and every visitor shares one address for the rate limits, or anyone can pick their own.
        "DESK_PROXY_HOPS": int(env.get("DESK_PROXY_HOPS") or 0),
        "RATELIMIT_ENABLED": _bool(env.get("DESK_RATELIMIT_ENABLED"), True),
        # Several desks (or a staging copy) sharing one Redis keep their counters apart.
        "RATELIMIT_KEY_PREFIX": env.get("DESK_RATELIMIT_KEY_PREFIX", "desk"),
        # Redis makes the limits shared; it must not be what the desk stands on. When the store
        # does not answer, each process counts the same limits in its own memory and goes back
        # to the store once it answers again (desk.ratelimits); an error the fallback does not
        # cover (one between checking a limit and spending it) is logged, never a 500.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # Seconds a request waits on the store (to connect, and for each reply) before counting
        # in memory: a store that hangs would otherwise hang every sign-in with it.
        "DESK_RATELIMIT_TIMEOUT": float(env.get("DESK_RATELIMIT_TIMEOUT") or 1),
        # Logs (desk.logs): "text", one line per record, or "json", one JSON object per line.
        "DESK_LOG_FORMAT": _log_format(env.get("DESK_LOG_FORMAT", "text")),
        "DESK_LOGIN_LIMIT": env.get("DESK_LOGIN_LIMIT", "10 per minute;50 per hour"),
        "DESK_ASSOCIATION_NAME": env.get("DESK_ASSOCIATION_NAME", "جمعية البر الخيرية"),
        "DESK_ASSOCIATION_NAME_EN": env.get("DESK_ASSOCIATION_NAME_EN", "Al-Birr Charity Association"),
        "DESK_QUEUE_PAGE_SIZE": int(env.get("DESK_QUEUE_PAGE_SIZE", "50")),
        "DESK_QUEUE_REFRESH_SECONDS": int(env.get("DESK_QUEUE_REFRESH_SECONDS", "30")),
        # The SLA sweep tells the supervisors this many (wall-clock) hours after a breach.
        "DESK_SLA_ESCALATE_AFTER_HOURS": float(env.get("DESK_SLA_ESCALATE_AFTER_HOURS") or 24),
        # Notifications and the outbox (desk.notify): links in messages, SMTP, the worker.
        "DESK_BASE_URL": base_url,
        "DESK_SMTP_HOST": env.get("DESK_SMTP_HOST", "127.0.0.1"),
        "DESK_SMTP_PORT": int(env.get("DESK_SMTP_PORT") or SMTP_PORTS[smtp_tls]),
        "DESK_SMTP_USER": env.get("DESK_SMTP_USER", ""),
        "DESK_SMTP_PASSWORD": env.get("DESK_SMTP_PASSWORD", ""),
        "DESK_SMTP_TLS": smtp_tls,
        "DESK_SMTP_TIMEOUT": smtp_timeout,
        "DESK_MAIL_FROM": env.get("DESK_MAIL_FROM", "desk@localhost"),
        # A message's own temporary failures are retried for this long after the first, then it
        # fails (desk.notify.outbox); attempts that end with no outcome at all (its worker stopped
        # while sending) fail it after DESK_OUTBOX_MAX_ATTEMPTS of them.
        "DESK_OUTBOX_RETRY_HOURS": float(env.get("DESK_OUTBOX_RETRY_HOURS") or 24),
        "DESK_OUTBOX_MAX_ATTEMPTS": int(env.get("DESK_OUTBOX_MAX_ATTEMPTS") or 3),
        "DESK_OUTBOX_BATCH": int(env.get("DESK_OUTBOX_BATCH") or 50),
        # Messages to many (desk.broadcasts): how many of a send's messages become due each minute.
        "DESK_BROADCAST_PER_MINUTE": max(1, int(env.get("DESK_BROADCAST_PER_MINUTE") or 60)),
        "DESK_OUTBOX_LEASE_SECONDS": _outbox_lease(env),
        # Documents attached to tickets (desk.attachments): the largest accepted, and where they live.
        "DESK_ATTACHMENT_MAX_MB": float(env.get("DESK_ATTACHMENT_MAX_MB") or 10),
        # The whole request's limit: the largest attachment and room for the form's other fields.
        "MAX_CONTENT_LENGTH": int((float(env.get("DESK_ATTACHMENT_MAX_MB") or 10) + 1) * 1024 * 1024),
        "DESK_ATTACHMENT_DIR": str(Path(env.get("DESK_ATTACHMENT_DIR") or instance_path / "attachments").resolve()),
        # The field survey's photos (desk.survey); the association's logo stays in <instance>/branding.
        "DESK_SURVEY_PHOTO_DIR": str(Path(env.get("DESK_SURVEY_PHOTO_DIR") or instance_path / "survey-photos").resolve()),
        # Where `desk backup` and `desk restore` look first for pg_dump and pg_restore of the
        # server's major version (then /usr/lib/postgresql/<major>/bin and the like, then PATH).
        "DESK_PG_BIN_DIR": env.get("DESK_PG_BIN_DIR", "").strip(),
        # The beneficiary portal (desk.portal): up to PORTAL_FILES documents per request, each at
        # most DESK_ATTACHMENT_MAX_MB; rate limits per IP address, per mobile number and per ticket.
        "DESK_PORTAL_MAX_REQUEST": int((PORTAL_FILES * float(env.get("DESK_ATTACHMENT_MAX_MB") or 10) + 1) * 1024 * 1024),
        "DESK_PORTAL_SUBMIT_LIMIT": env.get("DESK_PORTAL_SUBMIT_LIMIT", "5 per minute;20 per hour"),
        "DESK_PORTAL_TRACK_LIMIT": env.get("DESK_PORTAL_TRACK_LIMIT", "10 per minute;60 per hour"),
        "DESK_PORTAL_PHONE_LIMIT": env.get("DESK_PORTAL_PHONE_LIMIT", "5 per minute;20 per hour"),
        "DESK_PORTAL_REPLY_LIMIT": env.get("DESK_PORTAL_REPLY_LIMIT", "10 per minute;60 per hour"),
        # Beside those: anonymous portal requests accepted in any 60 minutes, the whole desk
        # together (desk.portal.ceiling); 0: no ceiling.
        "DESK_PORTAL_ANONYMOUS_PER_HOUR": int(env.get("DESK_PORTAL_ANONYMOUS_PER_HOUR") or 30),
        # Channels that flow in by themselves (desk.channels, README "Email and WhatsApp").
        "DESK_MAILBOXES": env.get("DESK_MAILBOXES", ""),  # JSON list: desk/channels/imap.py
        "DESK_IMAP_TIMEOUT": float(env.get("DESK_IMAP_TIMEOUT") or 30),
        "DESK_MAIL_MAX_MB": float(env.get("DESK_MAIL_MAX_MB") or 30),  # larger: the header only, and a note
        "DESK_MAIL_ACK_LIMIT": int(env.get("DESK_MAIL_ACK_LIMIT") or 3),  # acknowledgements per sender per hour
        "DESK_OWN_ADDRESSES": env.get("DESK_OWN_ADDRESSES", ""),  # more of our addresses (comma separated)
        # Authentication-Results of our own receiving server (desk/channels/mailgate.py): its authserv-id.
        "DESK_MAIL_AUTHSERV_ID": env.get("DESK_MAIL_AUTHSERV_ID", "").strip(),
        "DESK_MAIL_REQUIRE_AUTH": _bool(env.get("DESK_MAIL_REQUIRE_AUTH"), False),  # no trusted result: unverified
        "DESK_MAIL_MAX_ATTEMPTS": int(env.get("DESK_MAIL_MAX_ATTEMPTS") or 5),  # then the quarantine
        "DESK_WHATSAPP_APP_SECRET": env.get("DESK_WHATSAPP_APP_SECRET", ""),
        "DESK_WHATSAPP_VERIFY_TOKEN": env.get("DESK_WHATSAPP_VERIFY_TOKEN", ""),
        "DESK_WHATSAPP_TOKEN": env.get("DESK_WHATSAPP_TOKEN", ""),
        "DESK_WHATSAPP_PHONE_ID": env.get("DESK_WHATSAPP_PHONE_ID", ""),
        "DESK_WHATSAPP_TEMPLATE": env.get("DESK_WHATSAPP_TEMPLATE", ""),  # outside the 24-hour window
        "DESK_WHATSAPP_TEMPLATE_LANGUAGE": env.get("DESK_WHATSAPP_TEMPLATE_LANGUAGE", "ar"),
        "DESK_WHATSAPP_KIND": env.get("DESK_WHATSAPP_KIND", "inquiry"),
        "DESK_GRAPH_API_URL": env.get("DESK_GRAPH_API_URL", "https://graph.facebook.com/v21.0").rstrip("/"),
        "DESK_GRAPH_TIMEOUT": float(env.get("DESK_GRAPH_TIMEOUT") or 10),
        # The hosts a media URL may name (the token goes there): Meta's CDN; see desk.channels.media.
        "DESK_WHATSAPP_MEDIA_HOSTS": env.get("DESK_WHATSAPP_MEDIA_HOSTS", WHATSAPP_MEDIA_HOSTS),
        "DESK_INBOUND_SECRET": env.get("DESK_INBOUND_SECRET", ""),
        "DESK_WEBHOOK_MAX_KB": _positive_int(env, "DESK_WEBHOOK_MAX_KB", 256, "KB"),  # a webhook body, before parsing
        # SMS through an HTTP gateway (desk.channels.sms): none set, no SMS is ever queued.
        "DESK_SMS_URL": env.get("DESK_SMS_URL", "").strip(),
        "DESK_SMS_TOKEN": env.get("DESK_SMS_TOKEN", ""),
        "DESK_SMS_SENDER": env.get("DESK_SMS_SENDER", ""),
        "DESK_SMS_TIMEOUT": float(env.get("DESK_SMS_TIMEOUT") or 10),
        "TESTING": mode == "testing",
    }
