"""Saved replies (الردود الجاهزة): what they may hold, who keeps which, which a ticket offers,
and counting their use.

A reply is desk-wide (``department_id`` None, kept by admins) or one department's (kept by
its focal points and by admins). A ticket offers the desk-wide ones and its own department's:
a focal point of another department never sees them, here or on the management screen.

Placeholders are written ``{name}`` (PLACEHOLDERS); an unknown one is refused by the field on
save. Filling them for a ticket is desk.replies.fill. A use is counted when the public reply
that used it is sent (desk.tickets.service.add_comment, in its transaction), not on insert.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, false, or_, select, update
from sqlalchemy.orm import Session

from desk.errors import NotFound, ValidationFailed, add_error, required_text, too_long
from desk.models import Department, Role, SavedReply, Ticket, User, utcnow
from desk.permissions import Action, require
from desk.text import normalize_search
from desk.transaction import atomic

# The placeholders and what each is filled with (desk.replies.fill), in the words the form shows.
PLACEHOLDERS = {
    "name": _l("the beneficiary's name"),
    "reference": _l("the request's reference"),
    "expected_date": _l("the expected date (Hijri and Gregorian)"),
    "department": _l("the department"),
    "phone": _l("the association's phone"),
    "link": _l("the private tracking link on the portal"),
}
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# A link to a public knowledge-base article (desk.kb): ``{article:12}``, filled with the
# article's address on the portal while it is published.
ARTICLE = re.compile(r"article:\s*([0-9]+)")


def article_ids(text: str) -> list[int]:
    """The knowledge-base articles the text links with ``{article:N}``."""
    return [int(m.group(1)) for name in PLACEHOLDER.findall(text) if (m := ARTICLE.fullmatch(name.strip()))]
MAX_TITLE = 120
MAX_BODY = 5_000
PICKER_LIMIT = 8


@dataclass
class ReplyData:
    title: str
    body_ar: str
    body_en: str
    department_id: int | None  # None: desk-wide


# Who sees and keeps which -------------------------------------------------------------

def kept_by(actor: User) -> ColumnElement[bool]:
    """The replies the actor keeps (lists, edits, deletes): every one for an admin, their own
    departments' for a focal point."""
    if actor.has_role(Role.ADMIN):
        return SavedReply.id.is_not(None)
    if actor.has_role(Role.FOCAL) and actor.department_ids:
        return SavedReply.department_id.in_(sorted(actor.department_ids))
    return false()


def may_edit(actor: User, reply: SavedReply) -> bool:
    if actor.has_role(Role.ADMIN):
        return True
    return reply.department_id is not None and actor.has_role(Role.FOCAL) and reply.department_id in actor.department_ids


def offered_for(ticket: Ticket) -> ColumnElement[bool]:
    """What a ticket's reply box offers: the desk-wide replies and the ticket's department's."""
    if ticket.department_id is None:
        return SavedReply.department_id.is_(None)
    return or_(SavedReply.department_id.is_(None), SavedReply.department_id == ticket.department_id)


def scopes(session: Session, actor: User) -> list[tuple[int | None, Department | None]]:
    """Where the actor may keep a reply: (None: desk-wide) for an admin, then departments."""
    query = select(Department).where(Department.active.is_(True)).order_by(Department.code)
    if not actor.has_role(Role.ADMIN):
        query = query.where(Department.id.in_(sorted(actor.department_ids)))
    return ([(None, None)] if actor.has_role(Role.ADMIN) else []) + [(d.id, d) for d in session.scalars(query)]


# Reading ---------------------------------------------------------------------------------

def listing(session: Session, actor: User) -> list[SavedReply]:
    """The management screen: the replies the actor keeps, desk-wide first, most used first."""
    require(actor, Action.REPLIES_MANAGE)
    return list(session.scalars(
        select(SavedReply).where(kept_by(actor))
        .order_by(SavedReply.department_id.is_not(None), SavedReply.department_id, SavedReply.use_count.desc(),
                  SavedReply.title)))


def get(session: Session, actor: User, reply_id: int) -> SavedReply:
    """A reply the actor keeps; NotFound otherwise (the same for one that does not exist)."""
    require(actor, Action.REPLIES_MANAGE)
    reply = session.scalar(select(SavedReply).where(SavedReply.id == reply_id, kept_by(actor)))
    if reply is None:
        raise NotFound()
    return reply


def search(session: Session, ticket: Ticket, query: str, limit: int = PICKER_LIMIT) -> list[SavedReply]:
    """The picker: the replies ``ticket`` offers whose title or text holds ``query`` (Arabic
    normalised: any alef, taa marbuta or digits), most used first. The caller has checked that
    the actor may reply on the ticket."""
    words = normalize_search(query).split()
    conditions = [SavedReply.search_text.contains(word, autoescape=True) for word in words]
    return list(session.scalars(
        select(SavedReply).where(offered_for(ticket), *conditions)
        .order_by(SavedReply.use_count.desc(), SavedReply.title, SavedReply.id).limit(limit)))


def offered(session: Session, ticket: Ticket, reply_id: int | None) -> SavedReply | None:
    """One reply ``ticket`` offers, or None."""
    if reply_id is None:
        return None
    return session.scalar(select(SavedReply).where(SavedReply.id == reply_id, offered_for(ticket)))


# Writing ---------------------------------------------------------------------------------

def _known(name: str) -> bool:
    return name.strip() in PLACEHOLDERS or ARTICLE.fullmatch(name.strip()) is not None


def unknown_placeholders(text: str) -> list[str]:
    return [name for name in dict.fromkeys(PLACEHOLDER.findall(text)) if not _known(name)]


def remaining_placeholders(text: str) -> list[str]:
    """The known placeholders still in a reply about to be sent (one the desk could not fill,
    an article that is no longer published for the public among them)."""
    return [name for name in dict.fromkeys(PLACEHOLDER.findall(text)) if _known(name)]


def _body(errors: dict[str, list], field: str, raw: str, required: bool) -> str:
    text = (raw or "").strip()
    if required:
        text = required_text(errors, field, text, _l("Write the reply's Arabic text."), MAX_BODY)
    elif len(text) > MAX_BODY:
        add_error(errors, field, too_long(MAX_BODY))
    unknown = unknown_placeholders(text)
    if unknown:
        add_error(errors, field, _l("Unknown placeholder: %(names)s. Use only: %(known)s.",
                                    names="، ".join("{" + n + "}" for n in unknown),
                                    known=" ".join("{" + n + "}" for n in [*PLACEHOLDERS, "article:N"])))
    return text


def _articles(session: Session, errors: dict[str, list], field: str, text: str) -> None:
    """Every ``{article:N}`` names a public article of the knowledge base."""
    from desk.models import Audience, KbArticle
    for article_id in dict.fromkeys(article_ids(text)):
        article = session.get(KbArticle, article_id)
        if article is None or article.audience != Audience.PUBLIC:
            add_error(errors, field, _l("{article:%(n)s} is not a public article of the knowledge base.",
                                        n=article_id))


def check(session: Session, actor: User, data: ReplyData) -> dict[str, list]:
    """Every message at once, by field."""
    errors: dict[str, list] = {}
    required_text(errors, "title", data.title, _l("Give the reply a short title."), MAX_TITLE)
    _body(errors, "body_ar", data.body_ar, required=True)
    _body(errors, "body_en", data.body_en, required=False)
    _articles(session, errors, "body_ar", data.body_ar or "")
    _articles(session, errors, "body_en", data.body_en or "")
    allowed = {scope for scope, _ in scopes(session, actor)}
    if data.department_id not in allowed:
        add_error(errors, "department_id", _l("Choose where the reply is shared."))
    return errors


def save(session: Session, actor: User, data: ReplyData, reply: SavedReply | None = None) -> SavedReply:
    """Create (``reply`` None) or change a reply the actor keeps."""
    require(actor, Action.REPLIES_MANAGE)
    if reply is not None and not may_edit(actor, reply):
        raise NotFound()
    errors = check(session, actor, data)
    if errors:
        raise ValidationFailed(errors)
    with atomic(session):
        if reply is None:
            reply = SavedReply(created_by_id=actor.id, use_count=0)
            session.add(reply)
        reply.title = data.title.strip()
        reply.body_ar = data.body_ar.strip()
        reply.body_en = (data.body_en or "").strip()
        reply.department_id = data.department_id
        reply.search_text = normalize_search(" ".join((reply.title, reply.body_ar, reply.body_en)))
        reply.updated_at = utcnow()
    return reply


def delete(session: Session, actor: User, reply: SavedReply) -> None:
    if not may_edit(actor, reply):
        raise NotFound()
    with atomic(session):
        session.delete(reply)


def count_use(session: Session, ticket: Ticket, reply_ids: Sequence[int], at: datetime) -> int:
    """A public reply on ``ticket`` that used these saved replies was sent: count each once, in
    the caller's transaction. Ids the ticket does not offer are ignored. How many were counted."""
    ids = sorted({i for i in reply_ids if isinstance(i, int)})
    if not ids:
        return 0
    result = session.execute(
        update(SavedReply).where(SavedReply.id.in_(ids), offered_for(ticket))
        .values(use_count=SavedReply.use_count + 1, last_used_at=at).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
