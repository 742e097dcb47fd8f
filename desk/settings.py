"""Every setting of the desk, read from DESK_* environment variables.

The defaults make a fresh checkout run on SQLite under ``instance/``. Production
(``DESK_ENV=production``) refuses to start without ``DESK_SECRET_KEY``.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    """The environment does not describe a runnable desk."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _dev_secret(instance_path: Path) -> str:
    """A per-checkout secret kept under instance/, so development sessions survive restarts."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


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
    production = mode == "production"

    return {
        "DESK_ENV": mode,
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True} if not database_url.startswith("sqlite") else {},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("DESK_SECURE_COOKIES"), production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(env.get("DESK_SECURE_COOKIES"), production),
        "PERMANENT_SESSION_LIFETIME": int(env.get("DESK_SESSION_HOURS", "12")) * 3600,
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead; a long shift must not lose a form
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        "BABEL_DEFAULT_LOCALE": "ar",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Riyadh",
        "DESK_LANGUAGES": ("ar", "en"),
        "RATELIMIT_STORAGE_URI": env.get("DESK_RATELIMIT_STORAGE_URL", "memory://"),
        "RATELIMIT_ENABLED": _bool(env.get("DESK_RATELIMIT_ENABLED"), True),
        "DESK_LOGIN_LIMIT": env.get("DESK_LOGIN_LIMIT", "10 per minute;50 per hour"),
        "DESK_ASSOCIATION_NAME": env.get("DESK_ASSOCIATION_NAME", "جمعية البر الخيرية"),
        "DESK_ASSOCIATION_NAME_EN": env.get("DESK_ASSOCIATION_NAME_EN", "Al-Birr Charity Association"),
        "DESK_QUEUE_PAGE_SIZE": int(env.get("DESK_QUEUE_PAGE_SIZE", "50")),
        "DESK_QUEUE_REFRESH_SECONDS": int(env.get("DESK_QUEUE_REFRESH_SECONDS", "30")),
        "TESTING": mode == "testing",
    }
