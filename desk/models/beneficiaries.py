"""The people the association serves, and the other stakeholders who write to it."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from desk.models.base import Base, utcnow
from desk.text import is_mobile, normalize_search


class RequesterKind(StrEnum):
    """Who a requester is (أصحاب المصالح, issue 20 point 1): the policies name "المستفيدون،
    العاملون في الجمعية، العملاء والموردون، الجهات الحكومية والأهلية، القطاع الخاص", and donors
    and volunteers. A person (the beneficiary) is the default."""

    PERSON = "person"
    EMPLOYEE = "employee"
    VOLUNTEER = "volunteer"
    DONOR = "donor"
    SUPPLIER = "supplier"
    CLIENT = "client"
    COMPANY = "company"
    CIVIL = "civil"
    GOVERNMENT = "government"


# The kinds that are an organisation: a name, a contact person, no personal ID. A donor is a
# person here; a company that donates is recorded as a private company.
ORGANISATIONS = frozenset({RequesterKind.SUPPLIER, RequesterKind.CLIENT, RequesterKind.COMPANY,
                           RequesterKind.CIVIL, RequesterKind.GOVERNMENT})
# The establishments with a commercial registration (السجل التجاري).
WITH_COMMERCIAL_REGISTRATION = frozenset({RequesterKind.SUPPLIER, RequesterKind.CLIENT, RequesterKind.COMPANY})
# The establishments with a unified national number (الرقم الموحد 700…): the same, and civil bodies.
WITH_UNIFIED_NUMBER = WITH_COMMERCIAL_REGISTRATION | {RequesterKind.CIVIL}


def is_organisation(kind: str | None) -> bool:
    return kind in ORGANISATIONS


class Beneficiary(Base):
    __tablename__ = "beneficiaries"
    __table_args__ = (Index("ix_beneficiaries_commercial_registration", "commercial_registration", unique=True),
                      Index("ix_beneficiaries_unified_number", "unified_number", unique=True),
                      Index("ix_beneficiaries_file_number", "file_number", unique=True))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    national_id: Mapped[str | None] = mapped_column(String(10), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164; the mobile (SMS, WhatsApp)
    # E.164; a landline, unified (920) or other number for calls. Numbers recorded in ``phone``
    # before the desk told them apart stay there and are flagged (desk.text.is_mobile).
    landline: Mapped[str | None] = mapped_column(String(20))
    # The identity document (desk.text.ID_TYPES); None on records made before: a national ID or
    # iqama by its first digit. A Saudi number is in ``national_id``, any other in ``id_document``.
    id_type: Mapped[str | None] = mapped_column(String(12))
    id_document: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(254))
    city: Mapped[str | None] = mapped_column(String(80))
    # normalize_search(name); the name's search key, written once on every change.
    search_name: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Erased at their request, or when the last of their requests passed its retention
    # (desk.privacy): the row stays, naming no one, so the requests keep their history.
    anonymised_at: Mapped[datetime | None]
    # Who the requester is (RequesterKind); every record made before is a person. For an
    # organisation ``name`` is the organisation's, ``contact_name`` its contact person, and
    # ``phone``/``email`` that person's mobile and email (where receipts and replies go).
    requester_kind: Mapped[str] = mapped_column(String(12), default=RequesterKind.PERSON,
                                                server_default=RequesterKind.PERSON.value)
    # Unique when given (unique indexes: added to the table without rebuilding it on SQLite).
    commercial_registration: Mapped[str | None] = mapped_column(String(10))
    unified_number: Mapped[str | None] = mapped_column(String(10))
    contact_name: Mapped[str | None] = mapped_column(String(160))

    # Registration (issue 20 point 5, desk.casefile): new, documents pending, registered (with
    # the file number, رقم الملف, unique), closed; every step in beneficiary_events.
    registration_state: Mapped[str] = mapped_column(String(20), default="new", server_default=text("'new'"))
    file_number: Mapped[str | None] = mapped_column(String(30))

    @property
    def is_organisation(self) -> bool:
        return is_organisation(self.requester_kind)

    @property
    def phone_is_mobile(self) -> bool:
        return not self.phone or is_mobile(self.phone)

    def refresh_search(self) -> None:
        self.search_name = normalize_search(self.name)
