"""The one way a service ends its transaction: commit, or roll back and re-raise, so a failed
commit never leaves the session half-applied for the next use (nothing half-written)."""
from __future__ import annotations

from sqlalchemy.orm import Session


def commit(session: Session) -> None:
    try:
        session.commit()
    except Exception:
        session.rollback()
        raise
