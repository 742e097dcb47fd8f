"""The case file (ملف الحالة) and registration (issue 20, points 3 and 5; R17, R21).

- The admin decides per kind of request whether the applicant's attestation is required, and
  whether a tick will do or the signed case file must be scanned and attached
  (``set_requirement``); where it is required a ticket is neither resolved nor approved without
  it (``check_attestation``, asked by desk.tickets.actions.resolve, desk.committee.service.decide
  and desk.compensation.service.decide). Staff intake asks for the tick where the rule is a
  tick (``intake_rule``); the portal keeps its own box, the beneficiary's confirmation online.
- A document attached as "signed attestation" records the attestation as signed, on the
  timeline (``on_attached``, from desk.attachments.service.store).
- A beneficiary's registration: new → documents pending → registered (with a file number)
  → closed (``change_registration``), "registered" only once every document the checklist
  asks for is attached to one of their requests, or with an admin's written override. Every
  step is a line of the beneficiary's history and a row of the audit trail.

Plain functions of (session, actor, data); nothing here reads the request.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk import audit
from desk.errors import ValidationFailed, add_error, too_long
from desk.intake.rules import RULES, KindRule
from desk.memo import read_once
from desk.models import (
    CHECKLIST_DOCUMENTS,
    Attachment,
    AttestationMode,
    AuditAction,
    Beneficiary,
    BeneficiaryEvent,
    DocumentType,
    EventKind,
    Kind,
    KindRequirement,
    RegistrationState,
    Role,
    Ticket,
    User,
    utcnow,
)
from desk.permissions import Action, require
from desk.text import to_ascii_digits
from desk.tickets.workflow import record
from desk.transaction import atomic

MAX_OVERRIDE = 2000
MAX_FILE_NUMBER = 30

# The policy's words (seed 000, handling step 4), printed on the case file for the applicant.
POLICY_ATTESTATION = ("التأكيد على صحة البيانات المقدمة من طالب الخدمة والتوقيع عليها وأنه مسؤول مسؤولية "
                      "مباشرة عن صحة المعلومات")


# What the admin requires per kind --------------------------------------------------------------

def requirement(session: Session, kind: str) -> KindRequirement:
    """The rule for ``kind``: the admin's, or none required (not added to the session)."""
    rule = requirements(session).get(kind)
    return rule if rule is not None else KindRequirement(kind=kind, attestation=AttestationMode.NONE, documents=[])


def requirements(session: Session) -> dict[str, KindRequirement]:
    """Every kind's rule, in the kinds' order (read once per page: desk.memo; the ticket page
    asks for its kind's rule and the registration panel for all)."""
    def read() -> dict[str, KindRequirement]:
        rows = {r.kind: r for r in session.scalars(select(KindRequirement))}
        return {k.value: rows.get(k.value) or KindRequirement(kind=k.value, attestation=AttestationMode.NONE,
                                                              documents=[]) for k in Kind}
    return dict(read_once("kind_requirements", None, read))


def set_requirement(session: Session, actor: User, kind: str, attestation: str | None,
                    documents: list[str]) -> KindRequirement:
    """The admin's rule for one kind (on the audit trail as an admin change, desk.audit)."""
    require(actor, Action.ADMIN_MANAGE)
    errors: dict[str, list] = {}
    if kind not in {k.value for k in Kind}:
        add_error(errors, "kind", _l("Choose a kind of request."))
    if attestation not in {m.value for m in AttestationMode}:
        add_error(errors, f"attestation-{kind}", _l("Choose whether an attestation is required, and how."))
    chosen = [d for d in CHECKLIST_DOCUMENTS if d.value in documents]
    if len(chosen) != len(set(documents)):
        add_error(errors, f"documents-{kind}", _l("Choose documents from the list."))
    if errors:
        raise ValidationFailed(errors)
    with atomic(session):
        row = session.get(KindRequirement, kind)
        old = {"attestation": row.attestation, "documents": list(row.documents)} if row is not None else None
        if row is None:
            row = KindRequirement(kind=kind)
            session.add(row)
        row.attestation = str(attestation)
        row.documents = [d.value for d in chosen]
        row.updated_at, row.updated_by_id = utcnow(), actor.id
        new = {"attestation": row.attestation, "documents": list(row.documents)}
        if new != old:
            audit.record(session, AuditAction.ADMIN_CHANGE, actor=actor, record_type="kind_requirement", record_id=kind,
                         detail={"change": "created" if old is None else "edited", "old": old, "new": new})
    return row


def intake_rule(session: Session, kind: str) -> KindRule | None:
    """What intake (staff's and the portal's) asks for ``kind`` (desk.intake.rules), with the
    admin's attestation rule once one is set: a tick is asked at intake; the signed scan comes
    after (attached to the ticket); none is not asked. None for a kind that does not exist."""
    rule = RULES.get(kind)
    row = session.get(KindRequirement, kind) if rule is not None else None
    if rule is None or row is None:
        return rule
    return replace(rule, attestation=row.attestation == AttestationMode.TICK)


def intake_rules(session: Session) -> dict[str, KindRule]:
    return {kind: rule for kind in RULES if (rule := intake_rule(session, kind)) is not None}


# The attestation on a ticket ---------------------------------------------------------------------

def signed_scan(session: Session, ticket: Ticket) -> Attachment | None:
    """The newest document attached to the ticket as its signed attestation."""
    return session.scalar(select(Attachment).where(
        Attachment.ticket_id == ticket.id, Attachment.document_type == DocumentType.SIGNED_ATTESTATION,
    ).order_by(Attachment.id.desc()).limit(1))


def attestation_refusal(session: Session, ticket: Ticket) -> str | None:
    """Why the ticket may not be resolved or approved yet for want of the attestation, or None."""
    mode = requirement(session, ticket.kind).attestation
    if mode == AttestationMode.SIGNED and signed_scan(session, ticket) is None:
        return str(_l("The applicant's signed attestation is required for this kind of request: print the case "
                      "file, have the applicant sign it, and attach the scan as \"Signed attestation\" first."))
    if mode == AttestationMode.TICK and not ticket.attested:
        return str(_l("The applicant's attestation is required for this kind of request: record it in the "
                      "Handling panel first."))
    return None


def check_attestation(session: Session, ticket: Ticket, field: str) -> None:
    """ValidationFailed on ``field`` when the attestation the admin requires is missing."""
    refusal = attestation_refusal(session, ticket)
    if refusal:
        raise ValidationFailed({field: [refusal]})


def on_attached(session: Session, actor: User | None, ticket: Ticket, attachment: Attachment) -> None:
    """In the attaching transaction: a signed attestation records the attestation as signed (who,
    when: the ATTESTED event, naming the document). Any other document: nothing more."""
    if attachment.document_type != DocumentType.SIGNED_ATTESTATION:
        return
    now = utcnow()
    if not ticket.attested:
        ticket.attested, ticket.attested_at = True, now
    record(session, ticket, actor, EventKind.ATTESTED, new=attachment.filename[:200], reason="signed_scan", at=now)


# Registration ------------------------------------------------------------------------------------

# Which registration state may follow which.
TRANSITIONS: dict[str, frozenset[str]] = {
    RegistrationState.NEW: frozenset({RegistrationState.DOCUMENTS_PENDING, RegistrationState.REGISTERED,
                                      RegistrationState.CLOSED}),
    RegistrationState.DOCUMENTS_PENDING: frozenset({RegistrationState.REGISTERED, RegistrationState.CLOSED}),
    RegistrationState.REGISTERED: frozenset({RegistrationState.DOCUMENTS_PENDING, RegistrationState.CLOSED}),
    RegistrationState.CLOSED: frozenset({RegistrationState.DOCUMENTS_PENDING}),
}


@dataclass(frozen=True)
class Item:
    """One line of the checklist: the document asked for, and the newest one attached (or None)."""

    document: str
    attachment: Attachment | None
    reference: str | None  # the ticket it is attached to

    @property
    def done(self) -> bool:
        return self.attachment is not None


def required_documents(session: Session, person: Beneficiary) -> list[str]:
    """What the checklist asks of this beneficiary: the documents the admin requires for the kinds
    of request they made, in the list's order."""
    kinds = set(session.scalars(select(Ticket.kind).where(Ticket.beneficiary_id == person.id).distinct()))
    rules = requirements(session)
    wanted = {d for k in kinds for d in (rules[k].documents if k in rules else [])}
    return [d.value for d in CHECKLIST_DOCUMENTS if d.value in wanted]


def checklist(session: Session, person: Beneficiary) -> list[Item]:
    """Each required document, ticked from what is attached to the beneficiary's requests."""
    wanted = required_documents(session, person)
    if not wanted:
        return []
    found: dict[str, tuple[Attachment, str]] = {}
    rows = session.execute(
        select(Attachment, Ticket.reference).join(Ticket, Ticket.id == Attachment.ticket_id)
        .where(Ticket.beneficiary_id == person.id, Attachment.document_type.in_(wanted))
        .order_by(Attachment.id.desc()))
    for attachment, reference in rows:
        found.setdefault(attachment.document_type or "", (attachment, reference))
    return [Item(d, *(found.get(d) or (None, None))) for d in wanted]


def missing_documents(session: Session, person: Beneficiary) -> list[str]:
    return [i.document for i in checklist(session, person) if not i.done]


def next_states(person: Beneficiary) -> list[str]:
    return [s.value for s in RegistrationState if s in TRANSITIONS.get(person.registration_state, ())]


def clean_file_number(raw: str | None) -> str:
    """The file number as typed, Arabic-Indic digits read as their Western forms, spaces trimmed."""
    return "".join(to_ascii_digits((raw or "").strip()).split())


def file_number_taken(session: Session, number: str, person: Beneficiary) -> bool:
    """Another beneficiary has this file number (the unique index decides a race: see below)."""
    return session.scalar(select(Beneficiary.id).where(Beneficiary.file_number == number,
                                                       Beneficiary.id != person.id)) is not None


def change_registration(session: Session, actor: User, person: Beneficiary, state: str | None,
                        file_number: str | None = None, override: str | None = None) -> BeneficiaryEvent:
    """Move the beneficiary's registration to ``state``, in one transaction with its history line
    and its audit row. "Registered" needs a file number (unique; Arabic-Indic digits accepted)
    and every document of the checklist, or an admin's written override (``override``)."""
    require(actor, Action.BENEFICIARY_REGISTER)
    errors: dict[str, list] = {}
    old = person.registration_state
    if state not in {s.value for s in RegistrationState} or state not in TRANSITIONS.get(old, ()):
        add_error(errors, "state", _l("This registration state cannot follow the current one."))
    number = clean_file_number(file_number)
    reason = (override or "").strip()
    if len(reason) > MAX_OVERRIDE:
        add_error(errors, "override", too_long(MAX_OVERRIDE))
    if state == RegistrationState.REGISTERED:
        if not number:
            add_error(errors, "file_number", _l("Enter the file number."))
        elif len(number) > MAX_FILE_NUMBER or not all(c.isascii() and (c.isalnum() or c in "-/") for c in number):
            add_error(errors, "file_number", _l("A file number is letters and digits, with - or / (at most 30)."))
        elif file_number_taken(session, number, person):
            add_error(errors, "file_number", _l("Another beneficiary has this file number."))
        missing = missing_documents(session, person)
        if missing and not reason:
            add_error(errors, "override", _l(
                "Documents are missing, so registration is not complete: attach them, or an admin writes why "
                "the beneficiary is registered without them."))
        elif missing and not actor.has_role(Role.ADMIN):
            add_error(errors, "override", _l("Only an admin may register a beneficiary whose documents are missing."))
        if not missing:
            reason = ""  # nothing to override
    else:
        reason = ""
    if errors:
        raise ValidationFailed(errors)
    try:
        return _register(session, actor, person, old, str(state), number, reason)
    except IntegrityError:  # the same file number given to another beneficiary at the same moment
        raise ValidationFailed({"file_number": [_l("Another beneficiary has this file number.")]}) from None


def _register(session: Session, actor: User, person: Beneficiary, old: str, state: str, number: str,
              reason: str) -> BeneficiaryEvent:
    with atomic(session):
        now = utcnow()
        person.registration_state = str(state)
        if state == RegistrationState.REGISTERED:
            old_number, person.file_number = person.file_number, number
        else:
            old_number = person.file_number
        event = BeneficiaryEvent(beneficiary_id=person.id, actor_id=actor.id, created_at=now, kind="registration",
                                 old_value=old, new_value=state, file_number=person.file_number, body=reason or None)
        session.add(event)
        # the override's words stay in the history (an erasure clears them there; the trail is
        # never rewritten): here only that there was one
        audit.record(session, AuditAction.RECORD_EDITED, actor=actor, record_type="beneficiary", record_id=person.id,
                     detail={"field": "registration_state", "old": old, "new": state,
                             **({"override": True} if reason else {})})
        if old_number != person.file_number:
            audit.record_edit(session, actor, person.id, "file_number", old_number, person.file_number)
    return event


def history(session: Session, person: Beneficiary, limit: int = 20) -> list[BeneficiaryEvent]:
    """The beneficiary's registration steps, newest first."""
    return list(session.scalars(select(BeneficiaryEvent).where(BeneficiaryEvent.beneficiary_id == person.id)
                                .order_by(BeneficiaryEvent.id.desc()).limit(limit)))
