"""Recording a new ticket: one transaction for the beneficiary, the ticket and its first events."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from desk import audit
from desk.beneficiaries import service as beneficiaries
from desk.beneficiaries.service import NewBeneficiary
from desk.casefile import service as casefile
from desk.committee.service import expected_date
from desk.errors import Forbidden, ValidationFailed, add_error
from desk.intake.rules import KindRule, Need, may_be_anonymous, rule_for
from desk.models import (
    Beneficiary,
    Category,
    Channel,
    Department,
    EventKind,
    Kind,
    Priority,
    RequesterKind,
    Status,
    Ticket,
    User,
    is_organisation,
    utcnow,
)
from desk.models.beneficiaries import WITH_COMMERCIAL_REGISTRATION, WITH_UNIFIED_NUMBER
from desk.notify import service as notify_service  # called as notify_service.notify: tests replace it
from desk.permissions import Action, can
from desk.portal import tracking
from desk.portal.links import key_link
from desk.routing import service as routing
from desk.sla import tickets as sla_tickets
from desk.submissions import Once, take
from desk.tickets.search import ticket_search_text
from desk.tickets.service import REASON_NO_CONTACT, REASON_NO_RECEIPT, next_reference, record
from desk.transaction import atomic


@dataclass
class IntakeData:
    kind: str
    channel: str
    subject: str
    body: str = ""
    channel_detail: str | None = None
    priority: int = Priority.NORMAL
    beneficiary_id: int | None = None
    new_beneficiary: NewBeneficiary | None = None
    anonymous: bool = False
    verified: bool = False
    attested: bool = False
    department_id: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # The national ID typed for a chosen beneficiary whose record has none yet.
    complete_national_id: str | None = None
    # Staff confirmed a new beneficiary is not the one already registered with that phone.
    confirm_new: bool = False
    # تصنيف: a category of the ticket's kind.
    category_id: int | None = None
    # Route to the department the routing rules propose (department_id is then ignored).
    department_as_proposed: bool = False
    # The receipt (issue 20, R19): sent unless staff untick it, with a reason (no_receipt_reason).
    send_receipt: bool = True
    no_receipt_reason: str = ""


def check(session: Session, data: IntakeData) -> tuple[Beneficiary | None, dict[str, list[str]]]:
    """The kind's rules (DOMAIN.md handling steps 2 and 4); returns the chosen beneficiary and errors."""
    errors: dict[str, list[str]] = {}

    if data.kind not in set(Kind):
        add_error(errors, "kind", _l("Choose the kind of request."))
    if data.channel not in set(Channel):
        add_error(errors, "channel", _l("Choose the channel it came from."))
    if errors:
        return None, errors
    rule = casefile.intake_rule(session, data.kind) or rule_for(data.kind)  # the admin's attestation rule

    if data.channel == Channel.SOCIAL and not data.channel_detail:
        add_error(errors, "platform", _l("Choose the social media platform."))
    if not data.subject.strip():
        add_error(errors, "subject", _l("Enter a subject."))

    beneficiary = session.get(Beneficiary, data.beneficiary_id) if data.beneficiary_id else None
    if data.beneficiary_id and beneficiary is None:
        add_error(errors, "beneficiary_id", _l("That beneficiary no longer exists; search again."))
    if data.anonymous:
        if not may_be_anonymous(data.kind, data.channel):
            add_error(errors, "anonymous", _l("Only complaints and suggestions from the website may be anonymous."))
    elif beneficiary is None and data.new_beneficiary is None and rule.beneficiary == Need.REQUIRED:
        add_error(errors, "beneficiary_id", _l("Choose the beneficiary from the search, or enter a new one."))

    new = data.new_beneficiary
    organisation = not data.anonymous and _check_requester(session, data, rule, beneficiary, errors)
    if beneficiary is None and new is not None:
        if not new.name.strip():
            add_error(errors, "b_name", _l("Enter the organisation's name.") if organisation
                      else _l("Enter the beneficiary's name."))
        if rule.beneficiary == Need.REQUIRED and not (new.phone or new.landline):
            add_error(errors, "b_phone", _l("Enter the contact person's mobile or the organisation's phone so we can reach them.")
                      if organisation else _l("Enter a phone number so we can reach the beneficiary."))
        if organisation:
            new.national_id = new.id_document = new.id_type = None  # an organisation has no personal ID
        elif rule.national_id == Need.REQUIRED and not new.national_id:
            add_error(errors, "b_national_id", _l("A national ID or iqama number is required for this kind of request."))
        if rule.national_id == Need.NEVER:
            new.national_id = new.id_document = None  # PDPL: not asked for this kind, so not stored
            new.id_type = None
        elif new.national_id and beneficiaries.find_by_national_id(session, new.national_id):
            add_error(errors, "b_national_id", _l("A beneficiary with this national ID is already registered: choose them from the search results."))
    if new is not None and beneficiary is None and new.phone and not data.confirm_new:
        same_phone = beneficiaries.find_by_phone(session, new.phone)
        if same_phone:
            add_error(errors, "b_phone", _l("Already registered with this number: %(names)s. Choose them above, or confirm this is a different person.",
                              names="، ".join(b.name for b in same_phone[:3])))
    if (beneficiary is not None and rule.national_id == Need.REQUIRED and not beneficiary.national_id
            and not beneficiary.is_organisation):
        if not data.complete_national_id:
            add_error(errors, "chosen_national_id", _l("This kind of request needs the beneficiary's national ID, and it is not on record: enter it here to complete their record."))
        elif beneficiaries.find_by_national_id(session, data.complete_national_id):
            add_error(errors, "chosen_national_id", _l("A beneficiary with this national ID is already registered: choose them from the search results."))

    if rule.verification and not data.verified:
        add_error(errors, "verified", _l("Check the data against the documents and tick this box."))
    if rule.attestation and not data.attested:
        add_error(errors, "attested", _l("The applicant must confirm the data is correct (attestation)."))
    if not data.send_receipt and not data.anonymous and not data.no_receipt_reason.strip():
        add_error(errors, "no_receipt_reason", _l("Write why no receipt is sent (for example: the applicant refused it)."))
    elif len(data.no_receipt_reason) > MAX_RECEIPT_REASON:
        add_error(errors, "no_receipt_reason", _l("At most %(n)s characters.", n=MAX_RECEIPT_REASON))
    if data.department_id is not None and not data.department_as_proposed:
        department = session.get(Department, data.department_id)
        if department is None or not department.active:
            add_error(errors, "department_id", _l("Choose an active department."))
    if data.category_id is not None:
        category = session.get(Category, data.category_id)
        if category is None or not category.active or category.kind != data.kind:
            add_error(errors, "category_id", _l("Choose a category of the chosen kind of request."))
    return beneficiary, errors


def _check_requester(session: Session, data: IntakeData, rule: KindRule, chosen: Beneficiary | None,
                     errors: dict[str, list[str]]) -> bool:
    """Who files it (issue 20, point 1): whether the kind accepts an organisation (desk.intake.rules),
    and a new organisation's numbers and contact person. True when the requester is an organisation."""
    new = data.new_beneficiary if chosen is None else None
    kind = chosen.requester_kind if chosen is not None else (new.requester_kind if new is not None else RequesterKind.PERSON)
    if kind not in set(RequesterKind):
        add_error(errors, "b_requester_kind", _l("Choose who the requester is."))
        return False
    if not is_organisation(kind):
        if new is not None:  # a person: no organisation's numbers or contact person are kept
            new.commercial_registration = new.unified_number = new.contact_name = None
        return False
    where = "beneficiary_id" if chosen is not None else "b_requester_kind"
    if rule.organisation == Need.NEVER:
        add_error(errors, where, _l("A support request is for persons: an organisation cannot file it. Choose the person "
                                    "it is for, or record the organisation's request as a complaint or an inquiry."))
    if new is not None:
        if new.commercial_registration and kind not in WITH_COMMERCIAL_REGISTRATION:
            add_error(errors, "b_commercial_registration",
                      _l("Only a company, a supplier or a client has a commercial registration: leave this empty."))
        if new.unified_number and kind not in WITH_UNIFIED_NUMBER:
            add_error(errors, "b_unified_number", _l("A government body has no unified number: leave this empty."))
        if not (new.contact_name or "").strip():
            add_error(errors, "b_contact_name", _l("Enter the name of the organisation's contact person."))
        for name, messages in beneficiaries.registered_numbers(session, new).items():
            for message in messages:
                add_error(errors, name, message)
    if rule.organisation == Need.REQUIRED:
        numbers = ((chosen.commercial_registration, chosen.unified_number) if chosen is not None
                   else (new.commercial_registration, new.unified_number) if new is not None else (None, None))
        if kind not in WITH_UNIFIED_NUMBER:
            add_error(errors, where, _l("A compensation claim from an organisation is made by an establishment, with its "
                                        "commercial registration or unified number: a government body cannot file it here."))
        elif not any(numbers):
            add_error(errors, "beneficiary_id" if chosen is not None else "b_commercial_registration",
                      _l("A compensation claim from an organisation needs its commercial registration or its unified "
                         "number (700…) in place of a national ID."))
    return True


def routing_decision(session: Session, data: IntakeData) -> tuple[int | None, routing.Proposal]:
    """The department the ticket goes to and the routing proposal it was weighed against."""
    proposal = routing.propose(session, data.kind, data.channel, data.category_id, data.subject, data.body)
    department_id = proposal.department_id if data.department_as_proposed else data.department_id
    return department_id, proposal


def create_ticket(session: Session, actor: User, data: IntakeData, once: Once | None = None) -> Ticket:
    """Record a ticket at intake; with the form's token (``once``: desk.submissions), the same
    form sent again makes no second ticket (AlreadyTaken when it races the first)."""
    if not can(actor, Action.TICKET_CREATE):
        raise Forbidden(_l("You may not record tickets."))
    beneficiary, errors = check(session, data)
    if errors:
        raise ValidationFailed(errors)
    with atomic(session):  # nothing half-written: the beneficiary, ticket and events go together
        taken = take(session, once)
        ticket = add_ticket(session, actor, data, beneficiary)
        send_receipt(session, actor, ticket, data)
        taken.done(ticket)
    return ticket


MAX_RECEIPT_REASON = 300


def send_receipt(session: Session, actor: User, ticket: Ticket, data: IntakeData) -> None:
    """The receipt of a ticket recorded by staff (R19): a tracking key for the ticket, and the
    same "received" message the portal and the mailboxes send (reference, private link,
    expected date) by the requester's email and/or SMS in their language, unless staff
    declined it with a reason. Either way one RECEIPT event on the timeline. In the caller's
    transaction. The printed receipt carries a signed link tied to this key."""
    if ticket.anonymous:
        return
    key, ticket.access_key_hash = tracking.new_key()
    if not data.send_receipt:
        record(session, ticket, actor, EventKind.RECEIPT, reason=REASON_NO_RECEIPT,
               body=data.no_receipt_reason.strip(), bump=False)
        return
    sent = notify_service.notify_beneficiary(session, "received", ticket, link=key_link(ticket, key),
                                             expected=expected_date(session, ticket))
    record(session, ticket, actor, EventKind.RECEIPT, new=sent.channel if sent is not None else None,
           reason=None if sent is not None else REASON_NO_CONTACT, bump=False)


def add_ticket(session: Session, actor: User | None, data: IntakeData, beneficiary: Beneficiary | None,
               reason: str | None = None) -> Ticket:
    """The ticket, its first events, due times and routing, added to the caller's transaction
    (not committed). ``actor`` None: the beneficiary wrote it themselves, and ``reason`` says
    where (the portal's "portal"), on the events they caused."""
    if beneficiary is None and data.new_beneficiary is not None and not data.anonymous:
        beneficiary = beneficiaries.build(session, actor, data.new_beneficiary)
        session.flush()
    elif beneficiary is not None and data.complete_national_id and not beneficiary.national_id:
        beneficiary.national_id = data.complete_national_id
        audit.record_edit(session, actor or "portal", beneficiary.id, "national_id", None, data.complete_national_id,
                          at=reason or "intake")
    now = utcnow()
    department_id, proposal = routing_decision(session, data)
    taken = department_id is not None and department_id == proposal.department_id
    reference = next_reference(session, data.kind, now)
    ticket = Ticket(
        reference=reference, kind=data.kind, channel=data.channel,
        channel_detail=data.channel_detail or None, status=Status.NEW, priority=int(data.priority),
        subject=data.subject.strip(), body=data.body.strip(),
        beneficiary_id=None if data.anonymous else (beneficiary.id if beneficiary else None),
        anonymous=data.anonymous, department_id=department_id, created_by_id=actor.id if actor else None,
        category_id=data.category_id, routing_rule_id=proposal.rule.id if taken and proposal.rule else None,
        created_at=now, updated_at=now, version=0, meta=data.meta,
    )
    ticket.search_text = ticket_search_text(
        reference, ticket.subject, ticket.body, beneficiary.name if beneficiary and not data.anonymous else None)
    session.add(ticket)
    session.flush()
    record(session, ticket, actor, EventKind.CREATED, new=Status.NEW, at=now, reason=reason)
    sla_tickets.apply_due_times(session, ticket, now=now, changes=[])  # issue 5: due times
    if data.verified and actor is not None:
        ticket.verified_by_id, ticket.verified_at = actor.id, now
        record(session, ticket, actor, EventKind.VERIFIED, at=now, bump=False)
    if data.attested:
        ticket.attested, ticket.attested_at = True, now
        record(session, ticket, actor, EventKind.ATTESTED, at=now, bump=False, reason=reason)
    if department_id:  # routed at intake: by the proposal, or chosen by staff
        ticket.department = session.get(Department, department_id)
        record(session, ticket, actor, EventKind.ROUTED, old=None, new=department_id,
               reason=routing.reason_code(proposal, taken), at=now, bump=False)
        notify_service.notify(session, "routed", ticket,
                              notify_service.department_focal_points(session, department_id), actor=actor)
    return ticket
