"""The retention run (``flask --app wsgi desk retention``, daily): each closed request older
than its kind's period is anonymised, its documents deleted, and what was done recorded.

One ticket, one transaction: the ticket's text, its messages, its documents' rows, its
timeline event and its audit row commit together or not at all, and the files go only once
the rows are committed; a run stopped half-way leaves each ticket either done or untouched,
and the next run takes up the rest (a ticket done carries ``anonymised_at`` and is not taken
again). The person's own record is anonymised with their last request.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from desk import audit
from desk.models import AuditAction, Ticket, utcnow
from desk.privacy import scrub
from desk.privacy.anonymise import anonymise_person, anonymise_ticket
from desk.privacy.service import months_before, periods
from desk.tickets.service import REASON_RETENTION
from desk.transaction import atomic, discard

ACTOR = "cli:retention"
log = logging.getLogger("desk.privacy.retention")


@dataclass
class Run:
    """What a run did (or, dry, would do)."""

    tickets: Counter[str] = field(default_factory=Counter)  # by kind
    documents: int = 0
    people: int = 0
    references: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)          # references left for the next run


def _ended_before(cutoff: datetime):
    return func.coalesce(Ticket.closed_at, Ticket.resolved_at, Ticket.updated_at) <= cutoff  # as service.ended_at


def due(session: Session, kind: str, months: int, now: datetime, after: int = 0, limit: int = 200) -> list[int]:
    """Ids (above ``after``) of the closed requests of ``kind`` whose period has passed, not yet anonymised."""
    cutoff = months_before(now, months)
    return list(session.scalars(
        select(Ticket.id).where(Ticket.kind == kind, ~Ticket.is_open, Ticket.anonymised_at.is_(None),
                                _ended_before(cutoff), Ticket.id > after).order_by(Ticket.id).limit(limit)))


def run(session: Session, attachment_dir: str | Path, *, dry_run: bool = False, now: datetime | None = None) -> Run:
    now = now or utcnow()
    report = Run()
    for kind, months in sorted(periods(session).items()):
        after = 0
        while ids := due(session, kind, months, now, after):
            after = ids[-1]
            for ticket_id in ids:
                if dry_run:
                    report.tickets[kind] += 1
                    report.references.append(session.scalar(select(Ticket.reference).where(Ticket.id == ticket_id)) or "")
                    continue
                try:
                    _one(session, ticket_id, kind, months, now, attachment_dir, report)
                except Exception as error:  # atomic rolled it back whole: reported, left for the next run
                    discard(session)
                    reference = session.scalar(select(Ticket.reference).where(Ticket.id == ticket_id))
                    log.error("retention: %s left for the next run (%s)", reference, type(error).__name__)
                    report.failed.append(reference or str(ticket_id))
    if not dry_run:
        # SQLite: the merge an erasure left finished, the index merged whole if this run changed it, the WAL emptied
        scrub.after_retention(session, anonymised=bool(sum(report.tickets.values()) or report.people))
    return report


def _one(session: Session, ticket_id: int, kind: str, months: int, now: datetime, attachment_dir: str | Path,
         report: Run) -> None:
    with atomic(session) as files:
        ticket = session.get(Ticket, ticket_id, populate_existing=True)
        if (ticket is None or ticket.anonymised_at is not None or ticket.is_open
                or ticket.kind != kind):  # taken by another run, or reopened, meanwhile
            return
        person = ticket.beneficiary
        documents = anonymise_ticket(session, None, ticket, files, attachment_dir, reason=REASON_RETENTION, now=now)
        erased_person = False
        if person is not None and person.anonymised_at is None and not session.scalar(select(exists().where(
                Ticket.beneficiary_id == person.id, Ticket.id != ticket.id, Ticket.anonymised_at.is_(None)))):
            anonymise_person(session, person, now)
            erased_person = True
        audit.record(session, AuditAction.RETENTION, actor=ACTOR, record_type="ticket", record_id=ticket.reference,
                     ticket_id=ticket.id, detail={"kind": kind, "months": months, "documents": documents,
                                                  "beneficiary": person.id if erased_person and person else None})
    report.tickets[kind] += 1
    report.documents += documents
    report.people += erased_person
    report.references.append(ticket.reference)
