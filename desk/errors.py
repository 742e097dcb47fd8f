"""Errors the domain services raise; views turn them into messages or status codes."""
from __future__ import annotations


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
        super().__init__("stale")
        self.current_version = current_version
        self.changes = changes


class InvalidTransition(DeskError):
    status = 422
