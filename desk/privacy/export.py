"""A copy of everything the desk holds about one beneficiary, as one zip archive:

- ``index.html``: a summary a person can read, in Arabic, right to left, with no outside file
  (their record, each request with its timeline, satisfaction answer and compensation claim,
  their documents, the access log about them, their earlier requests about their data);
- ``data.json``: the same, for a machine;
- ``documents/<reference>/<id>-<name>``: every document of their requests.

The archive is written to a temporary file first; the request and its audit row are committed
only once it is complete, so an export that failed half-way is neither sent nor recorded.
"""
from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.attachments.service import path_of
from desk.models import (
    Attachment,
    AuditEntry,
    Beneficiary,
    BeneficiaryEvent,
    CompensationClaim,
    SatisfactionResponse,
    SubjectRequest,
    SubjectRequestKind,
    SubjectRequestOutcome,
    Ticket,
    TicketEvent,
    User,
    utcnow,
)
from desk.permissions import Action
from desk.privacy.service import access_log, clean_note, get, log_request, requests_of, tickets_of
from desk.transaction import atomic


@dataclass
class Request:
    """One of the person's tickets, with everything attached to it."""

    ticket: Ticket
    events: list[TicketEvent]
    satisfaction: SatisfactionResponse | None
    claim: CompensationClaim | None
    documents: list[tuple[Attachment, str | None]] = field(default_factory=list)  # (row, name in the archive)


@dataclass
class Held:
    person: Beneficiary
    requests: list[Request]
    access: list[AuditEntry]
    subject_requests: list[SubjectRequest]
    registration: list[BeneficiaryEvent] = field(default_factory=list)  # oldest first (desk.casefile)


def gather(session: Session, person: Beneficiary) -> Held:
    requests = []
    for ticket in tickets_of(session, person):
        requests.append(Request(
            ticket=ticket,
            events=list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                        .order_by(TicketEvent.id))),
            satisfaction=session.scalar(select(SatisfactionResponse).where(SatisfactionResponse.ticket_id == ticket.id)),
            claim=session.scalar(select(CompensationClaim).where(CompensationClaim.ticket_id == ticket.id)),
            documents=[(a, None) for a in session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)
                                                          .order_by(Attachment.id))],
        ))
    return Held(person=person, requests=requests, access=access_log(session, person),
                subject_requests=requests_of(session, person),
                registration=list(session.scalars(select(BeneficiaryEvent).where(
                    BeneficiaryEvent.beneficiary_id == person.id).order_by(BeneficiaryEvent.id))))


def _json(held: Held) -> dict[str, Any]:
    p = held.person
    return {
        "beneficiary": {"id": p.id, "name": p.name, "national_id": p.national_id, "phone": p.phone, "email": p.email,
                        "city": p.city, "created_at": p.created_at, "requester_kind": p.requester_kind,
                        "contact_name": p.contact_name, "commercial_registration": p.commercial_registration,
                        "unified_number": p.unified_number},
        "registration": {"state": p.registration_state, "file_number": p.file_number,
                         "history": [{"at": e.created_at, "old": e.old_value, "new": e.new_value,
                                      "file_number": e.file_number, "override": e.body} for e in held.registration]},
        "requests": [{
            "reference": r.ticket.reference, "kind": r.ticket.kind, "channel": r.ticket.channel,
            "status": r.ticket.status, "subject": r.ticket.subject, "body": r.ticket.body,
            "created_at": r.ticket.created_at, "resolved_at": r.ticket.resolved_at, "closed_at": r.ticket.closed_at,
            "action_taken": r.ticket.action_taken,
            "contact_given_on_the_portal": (r.ticket.meta or {}).get("contact"),
            "privacy_notice_accepted": r.ticket.privacy_notice_version,
            "consent_to_process_documents_at": r.ticket.sensitive_consent_at,
            "timeline": [{"at": e.created_at, "kind": e.kind, "old": e.old_value, "new": e.new_value, "text": e.body,
                          "internal": not e.public} for e in r.events],
            "satisfaction": r.satisfaction and {"rating": r.satisfaction.rating, "solved": r.satisfaction.solved,
                                                "comment": r.satisfaction.comment, "at": r.satisfaction.created_at},
            "compensation_claim": r.claim and {"amount_sar": r.claim.amount, "remedy": r.claim.remedy,
                                               "outcome": r.claim.outcome, "decision_note": r.claim.decision_note},
            "documents": [{"name": a.filename, "type": a.content_type, "size": a.size, "sha256": a.sha256,
                           "what": a.document_type, "file": name} for a, name in r.documents],
        } for r in held.requests],
        "access_log": [{"at": e.at, "who": e.actor, "action": e.action, "detail": e.detail} for e in held.access],
        "requests_about_their_data": [{"at": s.created_at, "request": s.kind, "outcome": s.outcome}
                                      for s in held.subject_requests],
    }


def write_archive(held: Held, attachment_dir: str | Path, target: IO[bytes]) -> int:
    """The archive into ``target``; returns how many documents it holds (a file missing from
    the disk is named in the summary as missing, not left out silently)."""
    count = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for request in held.requests:
            placed = []
            for document, _ in request.documents:
                source = path_of(document, attachment_dir)
                name = None
                if source.is_file():
                    name = f"documents/{request.ticket.reference}/{document.id}-{document.filename}"
                    archive.write(source, name)
                    count += 1
                placed.append((document, name))
            request.documents = placed
        with force_locale("ar"):
            archive.writestr("index.html", render_template("privacy/export.html", held=held, prepared_at=utcnow()))
        archive.writestr("data.json", json.dumps(_json(held), ensure_ascii=False, indent=2, default=str))
    return count


def export(session: Session, actor: User, beneficiary_id: int, note: str | None,
           attachment_dir: str | Path) -> tuple[IO[bytes], str]:
    """The archive (an open temporary file, at its start) and its download name. Recorded as a
    data-subject request once the archive is complete."""
    person = get(session, actor, beneficiary_id, Action.SUBJECT_REQUEST)
    note = clean_note(note)
    held = gather(session, person)
    target = tempfile.TemporaryFile()
    try:
        documents = write_archive(held, attachment_dir, target)
        with atomic(session):
            log_request(session, actor, person, SubjectRequestKind.EXPORT, SubjectRequestOutcome.DONE, note,
                        {"requests": len(held.requests), "documents": documents, "access_rows": len(held.access)})
    except BaseException:
        target.close()
        raise
    target.seek(0)
    return target, f"beneficiary-{person.id}-data.zip"
