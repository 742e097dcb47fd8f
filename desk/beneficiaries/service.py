"""Finding and creating beneficiaries."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from desk.errors import ValidationFailed
from desk.models import Beneficiary, User
from desk.text import normalize_search, to_ascii_digits

MIN_QUERY = 2


@dataclass
class NewBeneficiary:
    """Already-parsed values: national ID as 10 digits, phone in E.164."""

    name: str
    national_id: str | None = None
    phone: str | None = None
    email: str | None = None
    city: str | None = None
    landline: str | None = None   # E.164; a phone for calls (the mobile is for SMS and WhatsApp)
    id_type: str | None = None    # desk.text.ID_TYPES
    id_document: str | None = None  # the number of a document that is not a Saudi ID


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, query: str, limit: int = 8) -> list[Beneficiary]:
    """By national ID / iqama (prefix), phone (any part of the digits) or name (Arabic-normalised)."""
    text = normalize_search(query)
    if len(text) < MIN_QUERY:
        return []
    digits = "".join(ch for ch in to_ascii_digits(text) if ch.isdigit())
    conditions = []
    if digits and len(digits) >= MIN_QUERY and len(digits) >= len(text.replace(" ", "").replace("+", "")) - 1:
        conditions.append(Beneficiary.national_id.like(_like_escape(digits) + "%", escape="\\"))
        if digits.startswith(("966", "00966")) or (digits[0] == "0" and digits[1:2] not in ("", "0")):
            # Written from its start (05…, 9665…, 009665…): match from the start of the number.
            local = digits.removeprefix("00").removeprefix("966").lstrip("0")
            if local:
                conditions.append(Beneficiary.phone.like("+966" + _like_escape(local) + "%", escape="\\"))
        else:  # a fragment: the last digits someone remembers
            conditions.append(Beneficiary.phone.like("%" + _like_escape(digits) + "%", escape="\\"))
    else:
        conditions.append(Beneficiary.search_name.like("%" + _like_escape(text) + "%", escape="\\"))
    return list(session.scalars(select(Beneficiary).where(or_(*conditions)).order_by(Beneficiary.name).limit(limit)))


def find_by_phone(session: Session, phone: str) -> list[Beneficiary]:
    return list(session.scalars(select(Beneficiary).where(Beneficiary.phone == phone).order_by(Beneficiary.id).limit(5)))


def find_by_national_id(session: Session, national_id: str) -> Beneficiary | None:
    return session.scalar(select(Beneficiary).where(Beneficiary.national_id == national_id))


def build(session: Session, actor: User | None, data: NewBeneficiary) -> Beneficiary:
    """A new beneficiary added to the session (not committed: it joins the caller's transaction).
    ``actor`` None: the beneficiary registered themselves through the portal."""
    if not data.name.strip():
        raise ValidationFailed({"b_name": [_l("Enter the beneficiary's name.")]})
    if data.national_id and find_by_national_id(session, data.national_id):
        raise ValidationFailed({"b_national_id": [
            _l("A beneficiary with this national ID is already registered: choose them from the search results.")]})
    beneficiary = Beneficiary(
        name=data.name.strip(), national_id=data.national_id or None, phone=data.phone or None,
        email=(data.email or "").strip().lower() or None, city=(data.city or "").strip() or None,
        landline=data.landline or None, id_type=data.id_type or None, id_document=data.id_document or None,
        created_by_id=actor.id if actor else None,
    )
    beneficiary.refresh_search()
    session.add(beneficiary)
    return beneficiary
