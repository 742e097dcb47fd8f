"""The one place that decides what a ticket's free-text search covers."""
from __future__ import annotations

from desk.text import normalize_search


def ticket_search_text(reference: str, subject: str, body: str | None, beneficiary_name: str | None) -> str:
    """Normalised text the queue's free-text filter matches against (reference, subject, body, name)."""
    return normalize_search(" ".join(p for p in (reference, subject, body or "", beneficiary_name or "") if p))
