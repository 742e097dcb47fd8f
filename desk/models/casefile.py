"""The case file (ملف الحالة, issue 20 points 3 and 5): what the admin requires per kind of
request — the applicant's attestation (none, a tick, or a signed scan) and the documents that
complete registration — and a beneficiary's registration history.

The attestation the policies ask of the applicant: «التأكيد على صحة البيانات المقدمة من طالب
الخدمة والتوقيع عليها وأنه مسؤول مسؤولية مباشرة عن صحة المعلومات». Registration is completed
«مع اكتمال الطلبات»: when the documents are."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import User
from desk.models.base import Base, utcnow


class AttestationMode(StrEnum):
    NONE = "none"        # not required
    TICK = "tick"        # the staff member records it (the Handling panel's tick)
    SIGNED = "signed"    # the signed case file, scanned and attached as "signed attestation"


class DocumentType(StrEnum):
    """What an attached document is (attachments.document_type), as the checklist names it."""

    SIGNED_ATTESTATION = "signed_attestation"  # the case file's attestation, signed
    NATIONAL_ID = "national_id_copy"           # صورة الهوية الوطنية
    FAMILY_RECORD = "family_record"            # سجل الأسرة
    INCOME_PROOF = "income_proof"              # إثبات الدخل
    LEASE = "lease"                            # عقد الإيجار
    MEDICAL_REPORT = "medical_report"          # تقرير طبي
    BANK_ACCOUNT = "bank_account"              # شهادة الآيبان


# The documents a checklist may require (the signed attestation is the attestation's own rule).
CHECKLIST_DOCUMENTS = tuple(d for d in DocumentType if d != DocumentType.SIGNED_ATTESTATION)


class RegistrationState(StrEnum):
    NEW = "new"                        # جديد
    DOCUMENTS_PENDING = "documents_pending"  # بانتظار استكمال المستندات
    REGISTERED = "registered"          # مسجَّل (with a file number, رقم الملف)
    CLOSED = "closed"                  # مغلق


class KindRequirement(Base):
    """The admin's rule for one kind of request (a service): the attestation and the documents."""

    __tablename__ = "kind_requirements"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    attestation: Mapped[str] = mapped_column(String(10), default=AttestationMode.NONE)
    documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class BeneficiaryEvent(Base):
    """One line of a beneficiary's history: a registration step (who, when, old → new, why)."""

    __tablename__ = "beneficiary_events"
    __table_args__ = (Index("ix_beneficiary_events_beneficiary", "beneficiary_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiaries.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))   # "registration"
    old_value: Mapped[str | None] = mapped_column(String(40))
    new_value: Mapped[str | None] = mapped_column(String(40))
    file_number: Mapped[str | None] = mapped_column(String(30))
    body: Mapped[str | None] = mapped_column(Text)  # the admin's written override, when there was one

    actor: Mapped[User | None] = relationship(lazy="joined")
