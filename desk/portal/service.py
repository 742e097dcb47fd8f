"""What a beneficiary does on the portal: submit a request, find it again, read its progress,
write back. Plain functions of (session, data); the views parse the request and render.

A portal request is an ordinary ticket (channel "website") that enters the shared queue and is
routed by the same rules as any other (desk.intake.service.add_ticket). What the visitor typed
to be reached (name, phone, email) is kept on the ticket (``meta["contact"]``): the tracking
by reference and phone compares with it, and it is never copied over a beneficiary's record.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _nl
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from desk.attachments import service as attachments
from desk.attachments.service import Upload
from desk.beneficiaries import service as beneficiaries
from desk.beneficiaries.service import NewBeneficiary
from desk.committee.service import committee_decided, expected_date
from desk.errors import ValidationFailed, add_error
from desk.intake.rules import Need, may_be_anonymous, rule_for
from desk.intake.service import IntakeData, add_ticket
from desk.models import (
    STATUS_EVENTS,
    Association,
    Attachment,
    Channel,
    Department,
    EventKind,
    Kind,
    Status,
    Ticket,
    TicketEvent,
    utcnow,
)
from desk.notify import service as notify_service
from desk.portal import ceiling, privacy, tracking
from desk.portal.links import key_link
from desk.settings import PORTAL_FILES as MAX_FILES
from desk.submissions import Once, take
from desk.text import normalize_reference, normalize_search
from desk.tickets import workflow
from desk.tickets.service import BENEFICIARY_VIAS, REASON_FOLLOWED, REASON_FOLLOWS, REASON_PORTAL
from desk.transaction import Files, atomic

# What a beneficiary may ask for on the website (the other kinds start at the desk).
PORTAL_KINDS = (Kind.COMPLAINT, Kind.INQUIRY, Kind.SUGGESTION, Kind.SUPPORT)
MAX_BODY = 5000
MAX_REPLY = 5000


@dataclass
class Submission:
    """Already-parsed values: phone in E.164, national ID as 10 digits (the form checks them)."""

    kind: str
    subject: str
    body: str
    name: str = ""
    phone: str | None = None
    email: str | None = None
    national_id: str | None = None
    anonymous: bool = False
    attested: bool = False
    locale: str = "ar"
    uploads: list[Upload] = field(default_factory=list)
    notice_version: int = privacy.DEFAULT_VERSION  # the privacy notice the form showed (privacy.accepted_version)
    consent: bool = False  # the tick for the documents' sensitive data (privacy.needs_consent)


@dataclass(frozen=True)
class Submitted:
    ticket: Ticket
    key: str  # the tracking key: shown once, on the confirmation page and in the message


def check(data: Submission) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if data.kind not in PORTAL_KINDS:
        add_error(errors, "kind", _l("Choose what you would like to send."))
        return errors
    rule = rule_for(data.kind)
    if not data.subject.strip():
        add_error(errors, "subject", _l("Enter a subject."))
    if not data.body.strip():
        add_error(errors, "body", _l("Describe your request."))
    elif len(data.body) > MAX_BODY:
        add_error(errors, "body", _l("The text is too long (at most %(n)s characters).", n=MAX_BODY))
    if data.anonymous:
        if not may_be_anonymous(data.kind, Channel.WEBSITE):
            add_error(errors, "anonymous", _l("Only complaints and suggestions may be sent anonymously."))
    else:
        if not data.name.strip():
            add_error(errors, "name", _l("Enter your name."))
        if not data.phone:
            add_error(errors, "phone", _l("Enter your mobile number, so we can reach you and you can follow your request."))
        if rule.national_id == Need.REQUIRED and not data.national_id:
            add_error(errors, "national_id", _l("A national ID or iqama number is required for this kind of request."))
    if rule.attestation and not data.attested:
        add_error(errors, "attested", _l("Confirm that the data is correct (attestation)."))
    if len(data.uploads) > MAX_FILES:
        add_error(errors, "files", _nl("Attach at most %(num)s file.", "Attach at most %(num)s files.", MAX_FILES))
    if privacy.needs_consent(data.uploads) and not data.consent:
        add_error(errors, "consent", privacy.CONSENT_MISSING)
    return errors


def _beneficiary(session: Session, data: Submission):
    """The beneficiary record this request joins: one with the same mobile number and the same
    name (Arabic-normalised), else a new record with the name, phone and email typed.

    A national ID typed on the website is never used to find a record and never written into
    the register (anyone can type anyone's ID): it stays with the request (``meta["contact"]``)
    until staff check it against the documents (handling step 2) and complete the record. Nothing
    typed on the portal changes an existing record."""
    from desk.intake.rules import may_be_requester
    wanted = normalize_search(data.name)
    for candidate in beneficiaries.find_by_phone(session, data.phone or ""):
        if candidate.search_name == wanted and may_be_requester(data.kind, candidate):
            return candidate, None
    return None, NewBeneficiary(name=data.name.strip(), phone=data.phone, email=data.email)


class CeilingReached(ValidationFailed):
    """An anonymous request past the desk-wide ceiling (desk.portal.ceiling): 429, said calmly
    by the "send without my name" box."""

    status = 429

    def __init__(self) -> None:
        super().__init__({"anonymous": [_l(
            "Many requests without a name reached us in the last hour, so we cannot take more without a name "
            "right now. What you wrote is kept: send it with your name and mobile number, or try again in an "
            "hour.")]})


def submit(session: Session, data: Submission, *, directory: str | os.PathLike, max_bytes: int,
           once: Once | None = None, anonymous_per_hour: int = 0) -> Submitted:
    """Record the request, its documents and the confirmation message in one transaction, and
    with them the form's token (``once``: desk.submissions), so the same form sent again makes
    nothing new (AlreadyTaken when it races a request carrying the same form).

    An anonymous request past ``anonymous_per_hour`` for the whole desk is refused
    (CeilingReached), the refusal counted and the supervisors told once (desk.portal.ceiling)."""
    errors = check(data)
    if errors:
        raise ValidationFailed(errors)
    if data.anonymous and ceiling.reached(session, anonymous_per_hour):
        ceiling.refuse(session, anonymous_per_hour)
        raise CeilingReached()
    rule = rule_for(data.kind)
    if rule.national_id == Need.NEVER:
        data.national_id = None  # PDPL: not asked for this kind, so not kept
    data.name = " ".join(data.name.split())  # one line: it becomes an email's "To" name
    if data.anonymous:
        data.name, data.phone, data.email, data.national_id = "", None, None, None
    with atomic(session) as written:
        taken = take(session, once)
        beneficiary, new = (None, None) if data.anonymous else _beneficiary(session, data)
        contact = {} if data.anonymous else {"name": data.name.strip(), "phone": data.phone, "email": data.email,
                                             "national_id": data.national_id}
        intake = IntakeData(
            kind=data.kind, channel=Channel.WEBSITE, subject=data.subject.strip()[:200], body=data.body.strip(),
            beneficiary_id=beneficiary.id if beneficiary else None, new_beneficiary=new,
            anonymous=data.anonymous, attested=data.attested, department_as_proposed=True,
            meta={"contact": contact, "locale": data.locale},
        )
        ticket = add_ticket(session, None, intake, beneficiary, reason=REASON_PORTAL)
        ticket.privacy_notice_version = data.notice_version
        if data.uploads:
            ticket.sensitive_consent_at = ticket.created_at
        key, ticket.access_key_hash = tracking.new_key()
        _store_files(session, ticket, data.uploads, directory, max_bytes, written)
        notify_service.notify_beneficiary(session, "received", ticket, link=key_link(ticket, key),
                                          expected=expected_date(session, ticket))
        taken.done(ticket, secret=key)  # the key: shown again to the same visitor only
    return Submitted(ticket, key)


# Finding a ticket ----------------------------------------------------------------------

def by_reference(session: Session, reference: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.reference == normalize_reference(reference)))


def find_by_key(session: Session, reference: str, key: str) -> Ticket | None:
    ticket = by_reference(session, reference)
    return ticket if tracking.key_matches(ticket, key) else None


def find_by_phone(session: Session, reference: str, phone: str) -> Ticket | None:
    ticket = by_reference(session, reference)
    return ticket if tracking.phone_matches(ticket, phone) else None


def find_by_signed(session: Session, secret: str, token: str) -> Ticket | None:
    read = tracking.read_signed_token(secret, token)
    if read is None:
        return None
    ticket = session.get(Ticket, read[0])
    return ticket if tracking.signed_token_matches(ticket, read[1]) else None


# What the beneficiary sees -------------------------------------------------------------

# Events a beneficiary reads: public ones (replies, requests for information, the committee's
# decision), their own messages, and the status in plain words. Never internal notes, never
# routing, assignment or SLA events.
PUBLIC_KINDS = (EventKind.CREATED, EventKind.STATUS, EventKind.RESOLVED, EventKind.BENEFICIARY_REPLY)


@dataclass(frozen=True)
class PublicEvent:
    at: datetime
    kind: str
    body: str | None
    status: str | None        # the status after it, for status events
    author: str | None        # a staff member's name, when the association shows them
    by_beneficiary: bool


def public_timeline(session: Session, ticket: Ticket, profile: Association) -> list[PublicEvent]:
    rows = session.scalars(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id,
            (TicketEvent.public.is_(True)) | TicketEvent.kind.in_([str(k) for k in PUBLIC_KINDS])
            | ((TicketEvent.kind == EventKind.ATTACHMENT) & TicketEvent.reason.in_(BENEFICIARY_VIAS)),
        ).order_by(TicketEvent.id))
    shown: list[PublicEvent] = []
    for e in rows:
        # What they did themselves; a status their reply changed is the association's doing.
        by_beneficiary = e.actor_id is None and e.reason in BENEFICIARY_VIAS and e.kind in (
            EventKind.CREATED, EventKind.BENEFICIARY_REPLY, EventKind.ATTACHMENT)
        status = e.new_value if e.kind in STATUS_EVENTS else None
        # A resolution's "action taken" is the desk's own record; the public reply says what the beneficiary reads.
        body = None if e.kind in (EventKind.RESOLVED, EventKind.STATUS, EventKind.CREATED) else e.body
        if e.kind == EventKind.COMMITTEE_DECISION:
            status = None
        author = e.actor.name if (e.actor is not None and profile.show_staff_names) else None
        shown.append(PublicEvent(e.created_at, e.kind, body, status, author, by_beneficiary))
    return shown


def _beneficiary_file(ticket: Ticket) -> ColumnElement[bool]:
    """A document the beneficiary of ``ticket`` attached themselves: on this ticket, or on a
    duplicate of theirs merged into it (desk.tickets.merge) — never one a different beneficiary
    sent on a duplicate that staff merged across beneficiaries."""
    own: ColumnElement[bool] = Attachment.merged_from.is_(None)
    if ticket.beneficiary_id is not None:
        own = own | Attachment.merged_from.in_(
            select(Ticket.reference).where(Ticket.beneficiary_id == ticket.beneficiary_id))
    return (Attachment.ticket_id == ticket.id) & Attachment.from_beneficiary.is_(True) & own


def beneficiary_files(session: Session, ticket: Ticket) -> list[Attachment]:
    """The documents the beneficiary attached themselves (shown by name; staff documents are not)."""
    return list(session.scalars(select(Attachment).where(_beneficiary_file(ticket)).order_by(Attachment.id)))


def beneficiary_file(session: Session, ticket: Ticket, attachment_id: int) -> Attachment | None:
    """One of ``beneficiary_files``, or None."""
    return session.scalar(select(Attachment).where(Attachment.id == attachment_id, _beneficiary_file(ticket)))


# Writing back --------------------------------------------------------------------------

# What became of a reply (kept with its form's token, to answer a resubmitted form the same way).
REPLY_SENT, REPLY_REOPENED, REPLY_FOLLOWED = "sent", "reopened", "followed"


@dataclass(frozen=True)
class Replied:
    ticket: Ticket              # where the reply went: the same ticket, or the new linked one
    reopened: bool = False
    woke: bool = False          # a ticket waiting on the beneficiary went back to the department
    follow_up_key: str | None = None  # the new linked ticket's tracking key


def reply(session: Session, ticket: Ticket, body: str, uploads: list[Upload], *, reopen_days: int,
          directory: str | os.PathLike, max_bytes: int, now: datetime | None = None,
          via: str = REASON_PORTAL, channel: str = Channel.WEBSITE, once: Once | None = None,
          also: Callable[[Ticket, Files], object] | None = None,
          consent: bool | None = None) -> Replied:
    """The beneficiary writes on their ticket (issue 6 item 3, issue 5 item 6), ``via`` the
    portal or, for the channels of issue 7, by email or WhatsApp (the events say which; a new
    linked ticket gets ``channel``):

    - waiting on the beneficiary → back to the department (open), the clock runs again;
    - resolved or closed within ``reopen_days`` of resolution → reopened, with an event;
    - later than that (or closed without a resolution), or a support request the research
      committee decided (only the committee reverses its decision) → a new linked ticket.
    The department's focal points (or the assignee) are told. One transaction, with the form's
    token (``once``: desk.submissions) when the reply came from the portal's form, and what
    ``also(ticket, written)`` adds to the same transaction for the ticket the reply landed on (a
    channel's message row, an email's original, pending media). ``consent``: the portal form's tick for the documents' sensitive data (refused
    without it when documents are sent); None where no form asks it (a channel)."""
    text = (body or "").strip()
    errors: dict[str, list[str]] = {}
    if not text and not uploads:
        errors["body"] = [_l("Write your message or attach a document.")]
    elif len(text) > MAX_REPLY:
        errors["body"] = [_l("The text is too long (at most %(n)s characters).", n=MAX_REPLY)]
    if len(uploads) > MAX_FILES:
        errors["files"] = [_nl("Attach at most %(num)s file.", "Attach at most %(num)s files.", MAX_FILES)]
    if consent is False and privacy.needs_consent(uploads):
        errors["consent"] = [privacy.CONSENT_MISSING]
    if errors:
        raise ValidationFailed(errors)
    now = now or utcnow()
    with atomic(session) as written:
        taken = take(session, once)
        if ticket.status in (Status.RESOLVED, Status.CLOSED) and (
                not _within(ticket, reopen_days, now) or committee_decided(ticket)):
            follow = _follow_up(session, ticket, text, now, via, channel)
            _store_files(session, follow.ticket, uploads, directory, max_bytes, written, via)
            if also is not None:
                also(follow.ticket, written)
            taken.done(follow.ticket, secret=follow.follow_up_key, outcome=REPLY_FOLLOWED)
        else:
            follow = None
            reopened, woke = ticket.status in (Status.RESOLVED, Status.CLOSED), ticket.status == Status.WAITING
            if reopened or woke:  # back to the department; the clock runs again
                workflow.change_status(session, ticket, Status.OPEN, actor=None, now=now, reason=via)
            if text:
                workflow.record(session, ticket, None, EventKind.BENEFICIARY_REPLY, body=text, public=True,
                               reason=via, at=now, bump=False)
            _store_files(session, ticket, uploads, directory, max_bytes, written, via)
            if also is not None:
                also(ticket, written)
            _tell_staff(session, ticket, text)
            taken.done(ticket, outcome=REPLY_REOPENED if reopened else REPLY_SENT)
        target = follow.ticket if follow is not None else ticket
        if consent and uploads and target.sensitive_consent_at is None:
            target.sensitive_consent_at = now
    if follow is not None:
        return follow
    return Replied(ticket, reopened=reopened, woke=woke)


def _within(ticket: Ticket, days: int, now: datetime) -> bool:
    return ticket.resolved_at is not None and now - ticket.resolved_at <= timedelta(days=days)


def _store_files(session, ticket, uploads, directory, max_bytes, written, via: str = REASON_PORTAL) -> None:
    for upload in uploads:
        attachments.store(session, None, ticket, upload, directory=directory, max_bytes=max_bytes,
                          written=written, field="files", reason=via)


def _tell_staff(session: Session, ticket: Ticket, text: str) -> None:
    """The assignee, else the department's focal points, else (unrouted) the intake staff."""
    if ticket.assignee is not None:
        recipients = [ticket.assignee]
    elif ticket.department_id is not None:
        recipients = notify_service.department_focal_points(session, ticket.department_id)
    else:
        recipients = notify_service.intake_staff(session)
    notify_service.notify(session, "beneficiary_wrote", ticket, recipients, note=text)


def _follow_up(session: Session, old: Ticket, text: str, now: datetime, via: str, channel: str) -> Replied:
    """A new ticket continuing ``old``: same kind, beneficiary and contact, to the same
    department if it is still active (else routed afresh), both ends linked by an event."""
    department = old.department if old.department is not None and old.department.active else None
    intake = IntakeData(
        kind=old.kind, channel=channel, subject=old.subject, body=text or old.subject,
        beneficiary_id=old.beneficiary_id, anonymous=old.anonymous,
        department_id=department.id if department else None, department_as_proposed=department is None,
        category_id=old.category_id,
        channel_detail=old.channel_detail if channel == old.channel else None,
        # How to reach them, as on the earlier request (the portal contact, a WhatsApp number).
        meta={**{k: v for k, v in (old.meta or {}).items() if k in ("contact", "locale", "whatsapp")},
              "follows": old.reference},
    )
    new = add_ticket(session, None, intake, old.beneficiary, reason=via)
    key, new.access_key_hash = tracking.new_key()
    workflow.record(session, new, None, EventKind.LINKED, reason=f"{REASON_FOLLOWS}:{old.id}", at=now, bump=False)
    workflow.record(session, old, None, EventKind.LINKED, reason=f"{REASON_FOLLOWED}:{new.id}", at=now, bump=False)
    if text:
        workflow.record(session, new, None, EventKind.BENEFICIARY_REPLY, body=text, public=True,
                       reason=via, at=now, bump=False)
    notify_service.notify_beneficiary(session, "received", new, link=key_link(new, key))
    return Replied(new, follow_up_key=key)


def published_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).where(
        Department.active.is_(True), Department.published.is_(True)).order_by(Department.name_ar)))
