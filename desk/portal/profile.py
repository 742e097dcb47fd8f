"""The association's public profile (branding and contact details) and portal policy.

One row (id 1) edited by an admin; until an admin saves it, the names come from the settings
(DESK_ASSOCIATION_NAME, DESK_ASSOCIATION_NAME_EN) and the policy from the model's defaults.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from desk.attachments.contents import UnsafeContent
from desk.attachments.service import IMAGES, directory_of, write_file
from desk.errors import ValidationFailed
from desk.files import branding_dir
from desk.models import Association, User, utcnow
from desk.transaction import atomic

LOGO_MAX_BYTES = 1024 * 1024
MAX_REOPEN_DAYS = 365


def get(session: Session, config) -> Association:
    """The profile row, or an unsaved one filled from the settings (never None)."""
    return session.get(Association, 1) or from_settings(config)


def from_settings(config) -> Association:
    """An unsaved profile with the settings' names and the default policy: before an admin saves
    one, and for a page shown while the database cannot be read (desk.outage)."""
    return Association(id=1, name_ar=config["DESK_ASSOCIATION_NAME"], name_en=config["DESK_ASSOCIATION_NAME_EN"],
                       show_staff_names=False, reopen_days=14)


@dataclass
class ProfileData:
    name_ar: str
    name_en: str
    phone: str | None = None
    whatsapp: str | None = None
    email: str | None = None
    website: str | None = None
    address_ar: str | None = None
    address_en: str | None = None
    working_hours_ar: str | None = None
    working_hours_en: str | None = None
    show_staff_names: bool = False
    reopen_days: int = 14
    x_account: str | None = None
    instagram: str | None = None
    snapchat: str | None = None
    youtube: str | None = None


# The association's social accounts (R48): each a handle ("@albirr") or an https address; the
# portal shows them as plain text links to these addresses (no third-party script or image).
SOCIAL = {
    "x_account": ("X", "https://x.com/"),
    "instagram": ("Instagram", "https://www.instagram.com/"),
    "snapchat": ("Snapchat", "https://www.snapchat.com/add/"),
    "youtube": ("YouTube", "https://www.youtube.com/@"),
}
_HANDLE = re.compile(r"@?([A-Za-z0-9_.\-]{1,60})")
_ADDRESS = re.compile(r"https://[^\s<>\"']{3,240}")


def social_link(field: str, value: str | None) -> tuple[str, str] | None:
    """(address, text shown) of one account, or None when it is empty or not a handle or an
    https address."""
    value = (value or "").strip()
    if not value:
        return None
    if _ADDRESS.fullmatch(value):
        return value, value.removeprefix("https://").removeprefix("www.").rstrip("/")
    handle = _HANDLE.fullmatch(value)
    if handle is None:
        return None
    return SOCIAL[field][1] + handle.group(1), "@" + handle.group(1)


def social_links(row: Association) -> list[tuple[str, str, str]]:
    """(name, address, text) of each account the association gave, WhatsApp's as a wa.me link."""
    from desk.text import InvalidPhone, parse_phone
    out = []
    for field, (name, _base) in SOCIAL.items():
        link = social_link(field, getattr(row, field, None))
        if link is not None:
            out.append((name, *link))
    if row.whatsapp:
        try:
            out.append(("WhatsApp", "https://wa.me/" + parse_phone(row.whatsapp).lstrip("+"), row.whatsapp))
        except InvalidPhone:
            pass
    return out


def save(session: Session, actor: User, config, data: ProfileData, logo: IO[bytes] | None = None,
         remove_logo: bool = False) -> Association:
    """Save the profile (and the logo, a PNG, JPEG or WebP up to 1 MB) in one transaction."""
    errors: dict[str, list[str]] = {}
    if not data.name_ar.strip():
        errors["name_ar"] = [_l("Enter the association's name in Arabic.")]
    if not 0 <= data.reopen_days <= MAX_REOPEN_DAYS:
        errors["reopen_days"] = [_l("Enter a number of days from 0 to %(n)s.", n=MAX_REOPEN_DAYS)]
    for field in SOCIAL:
        if (getattr(data, field) or "").strip() and social_link(field, getattr(data, field)) is None:
            errors[field] = [_l("Enter the account's name (e.g. @association) or its address starting with https://.")]
    if errors:
        raise ValidationFailed(errors)
    row = session.get(Association, 1) or Association(id=1)
    directory = directory_of(branding_dir(config))
    old_logo = row.logo_stored_name
    with atomic(session) as written:
        if logo is not None:
            refusal = _l("The logo must be a PNG, JPEG or WebP image.")
            try:
                stored = write_file(logo, directory=directory, max_bytes=LOGO_MAX_BYTES, accepted=IMAGES,
                                    refusal=refusal)
            except UnsafeContent as error:  # an image past the pixel limit, or unreadable
                raise ValidationFailed({"logo": error.errors["file"]}) from None
            except ValidationFailed as error:
                too_big = error.errors["file"] != [refusal]
                raise ValidationFailed({"logo": [_l("The logo is too large (at most 1 MB).") if too_big
                                                 else refusal]}) from None
            stored.stage(written)
            row.logo_stored_name, row.logo_content_type = stored.stored_name, stored.content_type
        elif remove_logo:
            row.logo_stored_name = row.logo_content_type = None
        for field in ("phone", "whatsapp", "email", "website", "address_ar", "address_en",
                      "working_hours_ar", "working_hours_en", *SOCIAL):
            setattr(row, field, (getattr(data, field) or "").strip() or None)
        row.name_ar, row.name_en = data.name_ar.strip(), data.name_en.strip()
        row.show_staff_names, row.reopen_days = data.show_staff_names, data.reopen_days
        row.updated_at, row.updated_by_id = utcnow(), actor.id
        session.add(row)
    if old_logo and old_logo != row.logo_stored_name:
        (directory / old_logo).unlink(missing_ok=True)
    return row


def logo_path(config, row: Association) -> Path | None:
    if not row.logo_stored_name:
        return None
    path = branding_dir(config) / row.logo_stored_name
    return path if path.is_file() else None
