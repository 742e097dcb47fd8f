"""Errors the domain services raise; views turn them into messages or status codes. With them,
the few helpers every service uses to collect field messages before refusing."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


class DeskError(Exception):
    """Base of every domain error. ``message`` is a lazy translatable string."""

    status = 400

    def __init__(self, message: str = "", *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DeskError):
    """The object does not exist, or the actor may not see it: the two look the same."""

    status = 404


class Forbidden(DeskError):
    """The actor sees the object but may not do this to it."""

    status = 403


class ValidationFailed(DeskError):
    """Input that breaks a domain rule. ``errors`` maps field name to messages."""

    status = 422

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(str(m) for ms in errors.values() for m in ms))
        self.errors = errors


class StaleVersion(DeskError):
    """Someone else changed the ticket since the actor loaded it (optimistic locking)."""

    status = 409

    def __init__(self, current_version: int, changes: list):
        super().__init__(_l("Someone else changed this ticket meanwhile. Reload the page to see it as it is now, "
                            "then try again."))
        self.current_version = current_version
        self.changes = changes


class InvalidTransition(ValidationFailed):
    """A status step the ticket workflow does not allow (desk.tickets.workflow.TRANSITIONS)."""

    def __init__(self, old: str, new: str):
        super().__init__({"status": [_l("This status cannot follow the current one.")]})
        self.old, self.new = old, new


# Collecting field messages: a service checks every field, then raises ValidationFailed(errors).

def add_error(errors: dict[str, list], field: str, message) -> None:
    errors.setdefault(field, []).append(message)


def too_long(limit: int):
    return _l("The text is too long (at most %(n)s characters).", n=limit)


def required_text(errors: dict[str, list], field: str, raw: str | None, missing, limit: int) -> str:
    """The text stripped; a message by ``field`` when it is empty (``missing``) or over ``limit``."""
    text = (raw or "").strip()
    if not text:
        add_error(errors, field, missing)
    elif len(text) > limit:
        add_error(errors, field, too_long(limit))
    return text
