"""The audit trail: one append-only row per act the privacy law asks us to account for."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow


class AuditAction(StrEnum):
    """What was done. The values are stored: add new ones, never rename one."""

    SIGN_IN = "auth.sign_in"
    SIGN_IN_FAILED = "auth.sign_in_failed"
    SECOND_FACTOR = "auth.second_factor"
    SECOND_FACTOR_FAILED = "auth.second_factor_failed"
    SIGN_OUT = "auth.sign_out"
    PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105 - an action's name
    PASSWORD_RESET_REQUESTED = "auth.password_reset_requested"  # noqa: S105
    ACCESS_REFUSED = "access.refused"        # a ticket or record the person may not see (answered 404)
    REVEAL = "data.reveal"                   # a full national ID or phone number shown, with the reason
    DOWNLOAD = "data.download"               # a document of a ticket downloaded
    EXPORT = "data.export"                   # an export or a report
    RECORD_EDITED = "record.edited"          # a beneficiary's record changed: old → new
    ADMIN_CHANGE = "admin.change"            # users, roles, departments, rules, calendar, settings
    SUBJECT_REQUEST = "privacy.subject_request"  # a data-subject request: export, correction, erasure
    RETENTION = "privacy.retention"          # what the retention run anonymised or deleted
    LINK_REVOKED = "privacy.link_revoked"    # a tracking link revoked and a new one issued
    TWO_FACTOR_CHANGED = "auth.two_factor_changed"  # enrolled, removed, recovery codes renewed
    KB_PUBLISHED = "kb.published"            # a knowledge-base article published (a new version)
    KB_UNPUBLISHED = "kb.unpublished"        # a knowledge-base article taken off
    BROADCAST = "broadcast.sent"             # a message to many queued: group, counts (desk.broadcasts)
    MAIL_DECIDED = "mail.decided"            # a quarantined email taken, attached, discarded, accepted, rejected
    TRAINING = "staff.training"              # a training log entry recorded or removed (desk.training)


class AuditEntry(Base):
    """One act. Rows are never updated nor deleted; each carries the hash of the one before
    it, so ``flask desk audit-verify`` finds a row removed or edited (desk.audit)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_actor_at", "actor_id", "at"),
        Index("ix_audit_log_record", "record_type", "record_id"),
        Index("ix_audit_log_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Who: a staff account (kept as a label too, so the row still says who when the account is
    # removed), or a label alone for the portal, a worker or the command line.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40))
    # Whose record: "beneficiary", "ticket", "user", "department", "setting"… and its id.
    record_type: Mapped[str | None] = mapped_column(String(30))
    record_id: Mapped[str | None] = mapped_column(String(64))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    # The act's particulars: the field revealed and why, old → new values, what was exported.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    address: Mapped[str | None] = mapped_column(String(45))
    # sha256 over the previous row's hash and this row's content (desk.audit.digest).
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
