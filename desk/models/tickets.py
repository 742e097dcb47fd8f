"""Tickets, their timeline events and the reference-number counter."""
from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    bindparam,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import Department, User
from desk.models.base import Base, utcnow
from desk.models.beneficiaries import Beneficiary
from desk.models.routing import Category


class Kind(StrEnum):
    COMPLAINT = "complaint"        # شكوى
    INQUIRY = "inquiry"            # استفسار
    SUGGESTION = "suggestion"      # مقترح
    SUPPORT = "support"            # طلب دعم مستفيد
    COMPENSATION = "compensation"  # طلب تعويض
    DISPUTE = "dispute"            # خلاف
    THANKS = "thanks"              # شكر


# The letter that starts a reference number, e.g. C-1447-000123.
KIND_LETTER: dict[str, str] = {  # keyed by the kind's value (a Kind is one)
    Kind.COMPLAINT: "C", Kind.INQUIRY: "I", Kind.SUGGESTION: "S", Kind.SUPPORT: "R",
    Kind.COMPENSATION: "K", Kind.DISPUTE: "D", Kind.THANKS: "T",
}


def format_reference(kind: str, hijri_year: int, seq: int) -> str:
    """``C-1447-000123``: the kind's letter, the Hijri year, the year's sequence number."""
    return f"{KIND_LETTER[kind]}-{hijri_year}-{seq:06d}"


class Channel(StrEnum):
    VISIT = "visit"                    # المقابلة، الحضور الشخصي
    PHONE = "phone"                    # الاتصالات الهاتفية
    EMAIL = "email"                    # البريد الإلكتروني
    SOCIAL = "social"                  # وسائل التواصل الاجتماعي (platform in channel_detail)
    LETTER = "letter"                  # الخطابات والفاكسات
    HELP_REQUEST = "help_request"      # خدمة طلب مساعدة
    VOLUNTEER = "volunteer"            # خدمة التطوع
    WEBSITE = "website"                # الموقع الإلكتروني
    BRANCH_DELEGATE = "branch_delegate"  # مناديب المكاتب الفرعية
    OUTREACH = "outreach"              # خدمة البحث عن محتاج
    TAWASUL = "tawasul"                # نظام تواصل


class SocialPlatform(StrEnum):
    WHATSAPP = "whatsapp"
    X = "x"
    INSTAGRAM = "instagram"
    SNAPCHAT = "snapchat"
    FACEBOOK = "facebook"
    TIKTOK = "tiktok"
    OTHER = "other"


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting"    # waiting on the beneficiary
    AWAITING_COMMITTEE = "awaiting_committee"  # a support request before the research committee (desk.committee)
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.WAITING, Status.AWAITING_COMMITTEE)


class Priority(IntEnum):
    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4


# The partial index's condition: the open statuses, spelled out (migration 0006). A status
# added to OPEN_STATUSES later needs the index re-created to keep the open views fast.
OPEN_DUE_WHERE = "status IN ('new', 'open', 'waiting', 'awaiting_committee')"
# The sweep's first-response check: open tickets still unanswered and unmarked (few, whatever
# the size of the desk: resolved tickets never answered in public stay out of it).
FIRST_RESPONSE_PENDING_WHERE = OPEN_DUE_WHERE + " AND first_response_at IS NULL AND first_response_breached_at IS NULL"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # The queue's filters and its default sort (newest first, id breaks ties).
        Index("ix_tickets_created", "created_at", "id"),
        Index("ix_tickets_status_created", "status", "created_at", "id"),
        Index("ix_tickets_department_status_created", "department_id", "status", "created_at", "id"),
        Index("ix_tickets_assignee_status_created", "assignee_id", "status", "created_at", "id"),
        Index("ix_tickets_updated", "updated_at", "id"),
        Index("ix_tickets_due", "due_at"),  # the Overdue view and its count (see migration 0002)
        # The SLA sweep: open, running tickets past due and not yet marked (migration 0006).
        Index("ix_tickets_status_due", "status", "due_at"),
        Index("ix_tickets_breached", "breached_at"),
        # The statistics' roll-up reads a range of resolutions and first responses (migration 0011).
        Index("ix_tickets_resolved", "resolved_at"),
        # New messages (issue 18, point 6): the workspace's unread count per department, and
        # the queue's change token (max(staff_read_at): a read clears a flag without an event).
        Index("ix_tickets_department_message", "department_id", "beneficiary_message_at"),
        Index("ix_tickets_staff_read", "staff_read_at"),
        Index("ix_tickets_first_response", "first_response_at"),
        # The statistics' "open and overdue now" per department in one index-only pass over the
        # open tickets (migration 0011).
        Index("ix_tickets_open_department", "department_id", "status", "due_at", postgresql_where=text(OPEN_DUE_WHERE),
              sqlite_where=text(OPEN_DUE_WHERE)),
        # The open views sorted by due time: resolved tickets keep their (past) due times, so a
        # plain due_at index would be walked through all of them first. Partial: open only.
        Index("ix_tickets_open_due", "due_at", "id", postgresql_where=text(OPEN_DUE_WHERE),
              sqlite_where=text(OPEN_DUE_WHERE)),
        # The open views newest first, desk-wide and per department: read in order and stopped
        # after a page, instead of sorting every open ticket (migration 0022_speed).
        Index("ix_tickets_open_created", "created_at", "id", postgresql_where=text(OPEN_DUE_WHERE),
              sqlite_where=text(OPEN_DUE_WHERE)),
        Index("ix_tickets_open_department_created", "department_id", "created_at", "id",
              postgresql_where=text(OPEN_DUE_WHERE), sqlite_where=text(OPEN_DUE_WHERE)),
        # A focal point's "unassigned" and "mine" counts: an index range per department, not a
        # table lookup per open ticket (74 ms -> 0.8 ms for two departments at 100,000).
        Index("ix_tickets_open_department_assignee", "department_id", "assignee_id", "status",
              postgresql_where=text(OPEN_DUE_WHERE), sqlite_where=text(OPEN_DUE_WHERE)),
        # The saved views' counts (migrations 0023_views, 0025_counts): the open tickets by kind,
        # by priority and by channel, then department, so each count is one range scan of one of
        # these, for the whole desk (the column) or a focal point (the column and each department).
        *(Index(f"ix_tickets_open_{column}", column, "department_id", "status", postgresql_where=text(OPEN_DUE_WHERE),
                sqlite_where=text(OPEN_DUE_WHERE)) for column in ("kind", "priority", "channel")),
        # The sweep's first-response check: only tickets still unanswered and unmarked.
        Index("ix_tickets_first_response_pending", "first_response_due_at",
              postgresql_where=text(FIRST_RESPONSE_PENDING_WHERE), sqlite_where=text(FIRST_RESPONSE_PENDING_WHERE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20), index=True)
    channel_detail: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default=Status.NEW)
    priority: Mapped[int] = mapped_column(SmallInteger, default=Priority.NORMAL)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # normalize_search(reference + subject + body + beneficiary name): written on every change.
    search_text: Mapped[str] = mapped_column(Text, default="")

    beneficiary_id: Mapped[int | None] = mapped_column(ForeignKey("beneficiaries.id", ondelete="SET NULL"), index=True)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"))
    # The rule that proposed the department at intake (None: chosen by hand, or unrouted).
    routing_rule_id: Mapped[int | None] = mapped_column(ForeignKey("routing_rules.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    # Handling steps 2 and 4 of the policy: who checked the data, and the applicant's attestation.
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    verified_at: Mapped[datetime | None]
    attested: Mapped[bool] = mapped_column(Boolean, default=False)
    attested_at: Mapped[datetime | None]

    # Room for the service-level and resolution issues.
    due_at: Mapped[datetime | None]  # resolution due (desk.sla.tickets.apply_due_times)
    # Service levels (migration 0006): the stored moments the queue and the sweep compare.
    at_risk_at: Mapped[datetime | None]                  # resolution: the last 20 % begins
    first_response_due_at: Mapped[datetime | None]
    first_response_at_risk_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]                 # the sweep marked the resolution breach
    first_response_breached_at: Mapped[datetime | None]  # the sweep marked the first-response breach
    escalated_at: Mapped[datetime | None]                # the sweep told the supervisors
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # الإجراء المتخذ: what the focal point did, required to resolve; the statistics report it.
    action_taken: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    # Channel-specific metadata (email Message-ID, WhatsApp wa_id, letter number…).
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The portal's tracking key: SHA-256 (hex) of the random key in the beneficiary's private
    # link; the key itself is never stored (desk.portal.tracking).
    access_key_hash: Mapped[str | None] = mapped_column(String(64))
    # When its personal data was removed (desk.privacy: the retention run, or the beneficiary's
    # erasure): the row stays for the statistics, with nothing left that names anyone.
    anonymised_at: Mapped[datetime | None]
    # The portal's privacy notice the sender accepted (PrivacyNotice.version; 0: the desk's
    # default text, before an admin wrote one), and when they consented to the processing of
    # the documents they attached (sensitive data, PDPL): desk.portal.privacy.
    privacy_notice_version: Mapped[int | None] = mapped_column(Integer)
    sensitive_consent_at: Mapped[datetime | None]
    # New messages stand out (issue 18, point 6): when the beneficiary last wrote (portal,
    # email, WhatsApp; set by workflow.record) and when a staff member who may see the ticket
    # last opened its page after that (desk.tickets.service.mark_read). Unread while the first
    # is later than the second: two columns on the row, so the queue needs no join.
    beneficiary_message_at: Mapped[datetime | None]
    staff_read_at: Mapped[datetime | None]

    @property
    def unread_message(self) -> bool:
        """A beneficiary message no staff member has read yet."""
        return self.beneficiary_message_at is not None and (
            self.staff_read_at is None or self.staff_read_at < self.beneficiary_message_at)

    beneficiary: Mapped[Beneficiary | None] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
    category: Mapped[Category | None] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])

    # Optimistic locking: the services set the next version themselves (notes do not bump it),
    # and every UPDATE carries "WHERE version = <loaded>", so a concurrent write cannot slip in.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @hybrid_property
    def is_open(self) -> bool:
        """New, in progress or waiting on the beneficiary: not yet resolved or closed. The one
        definition: in a query ``Ticket.is_open`` is the same condition (status IN …)."""
        return self.status in OPEN_STATUSES

    @is_open.inplace.expression
    @classmethod
    def _is_open_condition(cls) -> ColumnElement[bool]:
        # The statuses are written into the SQL as literals, not bound parameters: PostgreSQL
        # uses the partial indexes (OPEN_DUE_WHERE) only where it can prove the query's condition
        # implies theirs, which it cannot from parameters once psycopg prepares the statement
        # (after five runs) and the planner switches to a generic plan.
        return cls.status.in_(bindparam("open_statuses", [s.value for s in OPEN_STATUSES],
                                        expanding=True, literal_execute=True))


class EventKind(StrEnum):
    CREATED = "created"
    STATUS = "status"
    PRIORITY = "priority"
    DEPARTMENT = "department"
    ASSIGNEE = "assignee"
    NOTE = "note"          # internal
    REPLY = "reply"        # public, to the beneficiary
    VERIFIED = "verified"
    ATTESTED = "attested"
    CATEGORY = "category"
    ROUTED = "routed"              # department proposed by a rule (body: the rule) or chosen at intake
    RETURNED = "returned"          # a focal point sent it back to the shared queue (body: reason)
    TRANSFERRED = "transferred"    # to another department (old → new, body: reason)
    RESOLVED = "resolved"          # status → resolved (body: the action taken, الإجراء المتخذ)
    INFO_REQUESTED = "info_requested"  # asked the beneficiary for missing information (public)
    REFERRED = "referred"          # referred to the social research officer (body: why)
    REMINDER = "reminder"          # a follow-up nudge to the department's focal point
    SLA_BREACHED = "sla_breached"      # the sweep: resolution due time passed (new: the due time)
    SLA_ESCALATED = "sla_escalated"    # the sweep: still open long after the breach, supervisors told
    SLA_FIRST_RESPONSE = "sla_fr_breached"  # the sweep: no first response by its due time (new: the due time)
    COMMITTEE_REFERRED = "committee_referred"  # a support request sent to the research committee
    COMMITTEE_DECISION = "committee_decision"  # accepted/rejected (new_value), body: reasons and service (public)
    SERVICE_DELIVERED = "service_delivered"    # the accepted service was delivered (body: note)
    ATTACHMENT = "attachment"                  # a document attached (new: the file name, body: description)
    COMPENSATION_CONDITION = "comp_condition"  # a policy condition (old/new: "n:state"), body: note
    COMPENSATION_NOTE = "comp_note"            # the negotiation log (body: what was said)
    COMPENSATION_PROPOSED = "comp_proposed"    # amount and/or remedy proposed (new: amount), body: remedy
    COMPENSATION_DECISION = "comp_decision"    # approved/rejected by the general manager (new), body: note
    BENEFICIARY_REPLY = "ben_reply"            # the beneficiary wrote (portal, email, WhatsApp): public, body
    SATISFACTION = "satisfaction"              # a satisfaction answer recorded or changed (new: rating)
    LINKED = "linked"                          # a follow-up ticket opened from this one, or this one's origin
    UNDELIVERED = "undelivered"                # the desk could not deliver a message about it: internal, no
                                               # actor; new: the channel, old: the staff recipient's id (none:
                                               # the beneficiary), reason "undelivered:<cause>", body: the server's answer
    LINK_REISSUED = "link_reissued"            # the portal tracking link revoked and a new one sent (body: why;
                                               # new: the channel it went by, none when it could go nowhere)
    RECEIPT = "receipt"                        # the receipt at staff intake (issue 20): new: the channel it
                                               # went by; reason "no_receipt" (body: staff's why) or "no_contact"
    SETTLEMENT_ATTEMPT = "settlement"          # an attempt at amicable settlement of a dispute (new: the outcome,
                                               # body: the parties, to whom referred, the agreement; desk.disputes)
    INTERIM_MEASURE = "interim_measure"        # a measure limiting the harm on a compensation claim (new: the
                                               # date taken, body: the measure and until when)
    MERGED = "merged"                          # a duplicate merged into this ticket (reason "merged_from:<id>");
                                               # the duplicate's own closing carries "merged_into:<id>"
    RELATED = "related"                        # linked as related to another (reason "related:<id>"), on both
    UNRELATED = "unrelated"                    # that link removed (reason "related:<id>"), on both
    TAG_ADDED = "tag_added"                    # a tag put on the ticket (new: the tag's name; desk.tags)
    TAG_REMOVED = "tag_removed"                # a tag taken off (old: the tag's name)
    AID_DELAYED = "aid_delayed"                # an aid delay outside the association's control (desk.broadcasts):
                                               # public, body: the reason told to the beneficiary
    ANONYMISED = "anonymised"                  # personal data removed (desk.privacy); reason "retention" or
                                               # "erasure", new: how many documents were deleted
    APPOINTMENT = "appointment"                # an appointment with an official linked to the ticket (desk.appointments):
                                               # new: its status (booked, attended, no_show, cancelled), body: when,
                                               # with whom, the notes


# The events that carry a status change (old → new are statuses): the ticket's creation, and the
# kinds desk.tickets.workflow.change_status records — the one path a status changes by. Readers
# of the status history (service-level pauses, the portal's plain-words status) use this list.
STATUS_EVENTS = (EventKind.CREATED, EventKind.STATUS, EventKind.INFO_REQUESTED, EventKind.RESOLVED,
                 EventKind.COMMITTEE_REFERRED)


class TicketEvent(Base):
    """One line of a ticket's timeline: who, when, what (old → new), internal or public."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    # Why, when the desk itself decided (not typed by a person): a code the timeline translates
    # for each reader, e.g. "rule:12", "category:5", "staff", "deactivated:3" (see REASONS).
    reason: Mapped[str | None] = mapped_column(String(60))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    # The ticket's version after this event; tells a stale editor what changed since.
    version: Mapped[int] = mapped_column(Integer, default=1)

    actor: Mapped[User | None] = relationship(lazy="joined")


class ReferenceCounter(Base):
    """One sequence per Hijri year; the reference's number alone identifies a ticket in that year."""

    __tablename__ = "reference_counters"

    hijri_year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)
