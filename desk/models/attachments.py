"""Documents attached to a ticket: evidence for a compensation claim (the association's
admission, a final ruling), a photo, a letter. The file lives on disk under a random name
(``stored_name``, never the uploader's); the row keeps the original name for display, the
sniffed content type, the size and the SHA-256 of the bytes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.models.accounts import User
from desk.models.base import Base, utcnow


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    filename: Mapped[str] = mapped_column(String(255))          # sanitised original name, for display only
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)  # random token: the name on disk
    content_type: Mapped[str] = mapped_column(String(100))     # from the content, not from the browser
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(500))
    # Sent by the beneficiary themselves (the portal, later email or WhatsApp): the only documents
    # the portal shows them back. Staff documents stay inside whatever becomes of their uploader.
    from_beneficiary: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The reference of the duplicate it came from, when that ticket was merged into this one
    # (desk.tickets.merge): the document moved, marked "merged from".
    merged_from: Mapped[str | None] = mapped_column(String(20))
    # What the document is (desk.models.casefile.DocumentType): the signed attestation, or one of
    # the documents a registration checklist asks for. None: a document like any other.
    document_type: Mapped[str | None] = mapped_column(String(30))

    uploaded_by: Mapped[User | None] = relationship(lazy="joined")
