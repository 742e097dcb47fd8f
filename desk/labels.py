"""Translated labels for the desk's vocabulary (English msgids; Arabic from the policies)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _pl

from desk.models import (
    AuditAction,
    Channel,
    EventKind,
    Kind,
    Position,
    Priority,
    Role,
    SocialPlatform,
    Status,
    SubjectRequestKind,
    SubjectRequestOutcome,
)

KINDS = {
    Kind.COMPLAINT: _l("Complaint"),
    Kind.INQUIRY: _l("Inquiry"),
    Kind.SUGGESTION: _l("Suggestion"),
    Kind.SUPPORT: _l("Support request"),
    Kind.COMPENSATION: _l("Compensation claim"),
    Kind.DISPUTE: _l("Dispute"),
    Kind.THANKS: _l("Thanks"),
}

CHANNELS = {
    Channel.VISIT: _l("Visit / in-person interview"),
    Channel.PHONE: _l("Phone call"),
    Channel.EMAIL: _l("Email"),
    Channel.SOCIAL: _l("Social media"),
    Channel.LETTER: _l("Letter or fax"),
    Channel.HELP_REQUEST: _l("Help-request service"),
    Channel.VOLUNTEER: _l("Volunteer service"),
    Channel.WEBSITE: _l("Website"),
    Channel.BRANCH_DELEGATE: _l("Branch-office delegate"),
    Channel.OUTREACH: _l("Needs outreach"),
    Channel.TAWASUL: _l("Tawasul (government system)"),
}

PLATFORMS = {
    SocialPlatform.WHATSAPP: _l("WhatsApp"),
    SocialPlatform.X: _l("X (Twitter)"),
    SocialPlatform.INSTAGRAM: _l("Instagram"),
    SocialPlatform.SNAPCHAT: _l("Snapchat"),
    SocialPlatform.FACEBOOK: _l("Facebook"),
    SocialPlatform.TIKTOK: _l("TikTok"),
    SocialPlatform.OTHER: _l("Other platform"),
}

STATUSES = {
    Status.NEW: _l("New"),
    Status.OPEN: _l("Open"),
    Status.WAITING: _l("Waiting on beneficiary"),
    Status.AWAITING_COMMITTEE: _l("Awaiting the research committee"),
    Status.RESOLVED: _l("Resolved"),
    Status.CLOSED: _l("Closed"),
}

PRIORITIES = {
    Priority.LOW: _l("Low"),
    Priority.NORMAL: _l("Normal"),
    Priority.HIGH: _l("High"),
    Priority.URGENT: _l("Urgent"),
}

ROLES = {
    Role.STAFF: _l("Intake staff"),
    Role.FOCAL: _l("Focal point"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.ADMIN: _l("Administrator"),
    Role.COMMITTEE: _l("Research committee member"),
    Role.GENERAL_MANAGER: _l("General manager"),
    Role.DPO: _l("Data protection officer"),
}

# Noun phrases, not verbs: "<name> · Status changed" reads right whoever the actor is
# (Arabic verbs would have to agree with the actor's gender).
EVENTS = {
    EventKind.CREATED: _l("Ticket created"),
    EventKind.STATUS: _l("Status changed"),
    EventKind.PRIORITY: _l("Priority changed"),
    EventKind.DEPARTMENT: _l("Department changed"),
    EventKind.ASSIGNEE: _l("Assignee changed"),
    EventKind.NOTE: _l("Internal note"),
    EventKind.REPLY: _l("Reply to the beneficiary"),
    EventKind.VERIFIED: _l("Data verified"),
    EventKind.ATTESTED: _l("Attestation recorded"),
    EventKind.CATEGORY: _l("Category changed"),
    EventKind.ROUTED: _l("Routed to a department"),
    EventKind.RETURNED: _l("Returned to the shared queue"),
    EventKind.TRANSFERRED: _l("Transferred to another department"),
    EventKind.RESOLVED: _l("Resolved"),
    EventKind.INFO_REQUESTED: _l("Missing information requested"),
    EventKind.REFERRED: _l("Referred to the social research officer"),
    EventKind.REMINDER: _l("Follow-up reminder"),
    EventKind.SLA_BREACHED: _l("Resolution time exceeded"),
    EventKind.LINK_REISSUED: _l("Tracking link replaced"),
    EventKind.RECEIPT: _l("Receipt"),
    EventKind.SETTLEMENT_ATTEMPT: _l("Attempt at amicable settlement"),
    EventKind.INTERIM_MEASURE: _l("Interim measure to limit the harm"),
    EventKind.SLA_ESCALATED: _l("Escalated to the supervisors"),
    EventKind.SLA_FIRST_RESPONSE: _l("First-response time exceeded"),
    EventKind.COMMITTEE_REFERRED: _l("Referred to the research committee"),
    EventKind.COMMITTEE_DECISION: _l("Research committee decision"),
    EventKind.SERVICE_DELIVERED: _l("Service delivered"),
    EventKind.ATTACHMENT: _l("Document attached"),
    EventKind.COMPENSATION_CONDITION: _l("Compensation condition assessed"),
    EventKind.COMPENSATION_NOTE: _l("Negotiation note"),
    EventKind.COMPENSATION_PROPOSED: _l("Compensation proposed"),
    EventKind.COMPENSATION_DECISION: _l("Compensation decision"),
    EventKind.BENEFICIARY_REPLY: _l("The beneficiary wrote"),
    EventKind.SATISFACTION: _l("Satisfaction survey answered"),
    EventKind.LINKED: _l("Linked request"),
    EventKind.MERGED: _l("Duplicate merged"),
    EventKind.RELATED: _l("Related request linked"),
    EventKind.UNRELATED: _l("Related request unlinked"),
    EventKind.UNDELIVERED: _l("Message not delivered"),
    EventKind.ANONYMISED: _l("Personal data removed"),
    EventKind.TAG_ADDED: _l("Tag added"),
    EventKind.TAG_REMOVED: _l("Tag removed"),
    EventKind.APPOINTMENT: _l("Appointment"),
    EventKind.AID_DELAYED: _l("Aid delayed outside the association's control"),
}

# The channels a message leaves by (OutboxMessage.channel).
MESSAGE_CHANNELS = {
    "email": _l("Email"),
    "sms": _l("SMS"),
    "whatsapp": _l("WhatsApp"),
}

# Where an outgoing message stands, as the ticket page shows it (desk.notify.undelivered.state).
DELIVERY_STATES = {
    "queued": _l("Queued"),
    "retrying": _l("Being retried"),
    "sent": _l("Sent"),
    "delivered": _l("Delivered"),
    "read": _l("Read"),
    "failed": _l("Not delivered"),
}

# Why a message could not be delivered, in plain words (OutboxMessage.failure, and the reason
# "undelivered:<cause>" of its ticket's UNDELIVERED event). desk.notify.mail.DeliveryError.cause.
UNDELIVERED = {
    "recipient": _l("The address or number was refused: it may be wrong or no longer in use."),
    "address": _l("The address is not valid."),
    "refused": _l("The provider refused the message."),
    "window": _l("The beneficiary last wrote on WhatsApp more than 24 hours ago, and no approved template is set to write to them first."),
    "document_window": _l("A document can be sent on WhatsApp only within 24 hours of the beneficiary's last message there; send it another way."),
    "expired": _l("Every attempt failed for too long, and the desk stopped trying."),
    "failing": _l("Every attempt failed for too long, and the desk stopped trying."),
    "stalled": _l("The sending process stopped while sending it, again and again."),
    "unwritable": _l("The message could not be prepared (a document it carries may be missing)."),
    "channel": _l("The desk has no way to send on this channel."),
    "receipt": _l("WhatsApp reported that the message could not be delivered."),
    "bounce": _l("The recipient's mail server sent the message back: the address may be wrong or the mailbox full."),
    "unreachable": _l("The server could not be reached."),
}

# The status in plain words, as the beneficiary reads it on the portal.
PUBLIC_STATUSES = {
    Status.NEW: _l("Received: it will reach the competent department"),
    Status.OPEN: _l("Being handled by the competent department"),
    Status.WAITING: _l("Waiting for information from you"),
    Status.AWAITING_COMMITTEE: _l("Before the research committee"),
    Status.RESOLVED: _l("Resolved"),
    Status.CLOSED: _l("Closed"),
}

RATINGS = {
    5: _l("Very satisfied"), 4: _l("Satisfied"), 3: _l("Neutral"), 2: _l("Dissatisfied"), 1: _l("Very dissatisfied"),
}

# Compensation claims (desk.compensation): the policy's four conditions (seed 001), their
# states, the kinds of evidence and the general manager's outcome.
COMPENSATION_CONDITIONS = {
    1: _l("The breach came from the association failing its contractual obligations, due care or professional standards"),
    2: _l("The association directly caused the harm"),
    3: _l("The breach is proven by the association's admission or a final ruling"),
    4: _l("Compensation negotiated with the harmed party, preserving the association's rights"),
}
CONDITION_STATES = {"unknown": _l("Unknown"), "met": _l("Met"), "not_met": _l("Not met")}
EVIDENCE_KINDS = {"admission": _l("Admission by the association"), "ruling": _l("Final ruling")}
CLAIM_OUTCOMES = {"pending": _l("Awaiting the general manager"), "approved": _l("Approved"),
                  "rejected": _l("Rejected")}
# An attempt at amicable settlement of a dispute (desk.disputes), in SETTLEMENT_ATTEMPT events' new_value.
SETTLEMENT_OUTCOMES = {"settled": _l("Settled amicably"), "referred": _l("Referred"), "pending": _l("Still pending")}

# An appointment with an official (desk.appointments), in APPOINTMENT events' new_value.
APPOINTMENT_STATUSES = {"booked": _l("Booked"), "attended": _l("Attended"), "no_show": _l("Did not attend"),
                        "cancelled": _l("Cancelled")}

# The research committee's decision (desk.committee), in COMMITTEE_DECISION events' new_value.
DECISIONS = {
    "accepted": _l("Accepted"),
    "rejected": _l("Rejected"),
}

POSITIONS = {
    Position.PRIMARY: _l("Primary focal point"),
    Position.DEPUTY: _l("Deputy focal point"),
    Position.MEMBER: _l("Member"),
}

# A beneficiary's requests about their data (desk.privacy).
SUBJECT_REQUESTS = {
    SubjectRequestKind.EXPORT: _l("Copy of their data"),
    SubjectRequestKind.CORRECTION: _l("Correction"),
    SubjectRequestKind.ERASURE: _l("Erasure"),
}
SUBJECT_OUTCOMES = {SubjectRequestOutcome.DONE: _l("Done"), SubjectRequestOutcome.REFUSED: _l("Refused")}
# The audit trail's acts, in words (desk.audit).
AUDIT_ACTIONS = {
    AuditAction.SIGN_IN: _l("Signed in"), AuditAction.SIGN_IN_FAILED: _l("Sign-in failed"),
    AuditAction.SECOND_FACTOR: _l("Second factor checked"),
    AuditAction.SECOND_FACTOR_FAILED: _l("Second factor failed"), AuditAction.SIGN_OUT: _l("Signed out"),
    AuditAction.PASSWORD_CHANGED: _l("Password changed"),
    AuditAction.PASSWORD_RESET_REQUESTED: _l("Password reset requested"),
    AuditAction.ACCESS_REFUSED: _l("Access refused"), AuditAction.REVEAL: _l("Full number shown"),
    AuditAction.DOWNLOAD: _l("Document downloaded"), AuditAction.EXPORT: _l("Exported"),
    AuditAction.RECORD_EDITED: _l("Record edited"), AuditAction.ADMIN_CHANGE: _l("Administration changed"),
    AuditAction.SUBJECT_REQUEST: _l("Request about personal data"),
    AuditAction.RETENTION: _l("Removed at the end of its retention period"),
    AuditAction.LINK_REVOKED: _l("Tracking link revoked"),
    AuditAction.TWO_FACTOR_CHANGED: _l("Two-factor sign-in changed"),
    AuditAction.KB_PUBLISHED: _l("Knowledge-base article published"),
    AuditAction.KB_UNPUBLISHED: _l("Knowledge-base article unpublished"),
    AuditAction.TRAINING: _l("Training log changed"),
    AuditAction.BROADCAST: _l("Message to many sent"),
}

# Whether a site's reception is staffed during the opening hours (the survey's staff-readiness
# item, desk.survey.service.STAFFED).
STAFFED = {"yes": _l("Staffed"), "partly": _l("Partly staffed"), "no": _l("Not staffed")}

# Why a full national ID or mobile number was shown (desk.privacy.reveal), by the stored code;
# "other" is followed by the words typed.
REVEAL_REASONS = {
    "verification": _l("Matching it against the beneficiary's document (verification)"),
    "contact": _l("Calling the beneficiary back"),
    "referral": _l("Referring the beneficiary to a competent body"),
    "subject_request": _l("The beneficiary's own request about their data"),
    "other": _l("Another reason (write it)"),
}
# The fields an audit row may name (revealed, edited).
AUDIT_FIELDS = {
    "name": _l("Name"), "national_id": _l("National ID / iqama number"), "phone": _l("Mobile number"),
    "email": _l("Email"), "city": _l("City"),
    "registration_state": _l("Registration state"), "file_number": _l("File number"),  # desk.casefile
}

# The permissions the admin gives per role (desk.permissions.GRANTABLE), by their stored value.
GRANTS = {
    "reveal.national_id": _l("Reveal a full national ID / iqama number"),
    "reveal.phone": _l("Reveal a full mobile number"),
}


# The identity documents a beneficiary may hold (desk.text.ID_TYPES).
ID_TYPES = {
    "national_id": _l("National ID"), "iqama": _l("Iqama (residence permit)"), "gcc_id": _l("GCC national ID"),
    "passport": _l("Passport"), "border": _l("Border number"), "none": _l("No identity document"),
}

# Who a requester is (desk.models.RequesterKind; أصحاب المصالح in the policies).
REQUESTER_KINDS = {
    "person": _l("Beneficiary (a person)"), "employee": _l("Employee of the association"),
    "volunteer": _l("Volunteer"), "donor": _l("Donor"), "supplier": _l("Supplier"), "client": _l("Client"),
    "company": _l("Private sector company"), "civil": _l("Civil (non-profit) body"),
    "government": _l("Government body"),
}


# The case file (desk.casefile): the attestation each kind of request needs, what a document is,
# and a beneficiary's registration state.
ATTESTATION_MODES = {
    "none": _l("Not required"),
    "tick": _l("Required: recorded by a tick"),
    "signed": _l("Required: the signed case file, scanned and attached"),
}
DOCUMENT_TYPES = {
    "signed_attestation": _l("Signed attestation"),
    "national_id_copy": _l("Copy of the national ID"),
    "family_record": _l("Family record"),
    "income_proof": _l("Proof of income"),
    "lease": _l("Lease contract"),
    "medical_report": _l("Medical report"),
    "bank_account": _l("Bank account (IBAN) certificate"),
}
REGISTRATION_STATES = {
    "new": _l("New"),
    "documents_pending": _l("Documents pending"),
    "registered": _l("Registered"),
    "closed": _pl("registration", "Closed"),
}
# The service-level state of a ticket (desk.sla.calendar.SlaState) as its badge says it.
SLA_STATES = {
    "overdue": _pl("sla badge", "Overdue"),
    "at_risk": _l("At risk"),
    "paused": _l("Paused"),
    "due": _l("On time"),
}
# The queue's columns, named once a page for the narrow-screen layout (data-label).
QUEUE_COLUMNS = {
    "ref": _l("Reference"), "subject": _l("Subject"), "beneficiary": _l("Beneficiary"), "kind": _l("Kind"),
    "status": _l("Status"), "priority": _l("Priority"), "department": _l("Department"), "received": _l("Received"),
    "updated": _l("Updated"), "due": _l("Due"),
}


class Translated:
    """The vocabulary above as plain strings in the current locale, each table translated once.

    Templates render it as ``L``: a 50-row queue page looks up ~250 labels, and every lookup of
    a lazy string is a fresh gettext call. One instance per language and process
    (``for_locale``): the catalogs do not change while a process runs."""

    def __init__(self) -> None:
        self._tables: dict[str, dict] = {}

    def __getattr__(self, name: str) -> dict:
        if name.startswith("_") or name not in _TABLES:
            raise AttributeError(name)
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = {key: str(label) for key, label in _TABLES[name].items()}
        return table


_TABLES: dict[str, dict] = {"KINDS": KINDS, "CHANNELS": CHANNELS, "PLATFORMS": PLATFORMS, "STATUSES": STATUSES,
           "PRIORITIES": PRIORITIES, "ROLES": ROLES, "EVENTS": EVENTS, "POSITIONS": POSITIONS,
           "DECISIONS": DECISIONS, "COMPENSATION_CONDITIONS": COMPENSATION_CONDITIONS,
           "CONDITION_STATES": CONDITION_STATES, "EVIDENCE_KINDS": EVIDENCE_KINDS, "CLAIM_OUTCOMES": CLAIM_OUTCOMES,
           "SETTLEMENT_OUTCOMES": SETTLEMENT_OUTCOMES,
           "PUBLIC_STATUSES": PUBLIC_STATUSES, "RATINGS": RATINGS, "MESSAGE_CHANNELS": MESSAGE_CHANNELS,
           "DELIVERY_STATES": DELIVERY_STATES, "UNDELIVERED": UNDELIVERED,
           "SUBJECT_REQUESTS": SUBJECT_REQUESTS, "SUBJECT_OUTCOMES": SUBJECT_OUTCOMES, "AUDIT_ACTIONS": AUDIT_ACTIONS,
           "GRANTS": GRANTS, "REVEAL_REASONS": REVEAL_REASONS, "AUDIT_FIELDS": AUDIT_FIELDS,
           "ID_TYPES": ID_TYPES, "REQUESTER_KINDS": REQUESTER_KINDS,
           "ATTESTATION_MODES": ATTESTATION_MODES, "DOCUMENT_TYPES": DOCUMENT_TYPES,
           "REGISTRATION_STATES": REGISTRATION_STATES, "SLA_STATES": SLA_STATES,
           "QUEUE_COLUMNS": QUEUE_COLUMNS}

_BY_LOCALE: dict[str, Translated] = {}


def for_locale(locale: str) -> Translated:
    """The process's ``Translated`` of ``locale``; call it with that locale active (its tables
    are translated on first use, in the locale of the moment)."""
    translated = _BY_LOCALE.get(locale)
    if translated is None:
        translated = _BY_LOCALE[locale] = Translated()
    return translated
