"""Tags (وسوم, issue 18 point 4): free words with a colour from a small palette, put on a
ticket and taken off by whoever may act on it, each a timeline event; a queue filter, the
tags on the queue's rows and the counts per tag in the statistics. Admins rename, recolour
and delete them.

Putting a tag on changes nothing of the ticket's handling: like an internal note it does not
bump the version, so it never makes anyone's open form stale (the bulk actions still refuse a
ticket changed since the person saw it: desk.queue.bulk).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.errors import NotFound, ValidationFailed
from desk.models import EventKind, Tag, Ticket, TicketEvent, TicketTag, User, utcnow
from desk.permissions import Action
from desk.permissions import require as require_action
from desk.sqlhints import indexed_by
from desk.text.arabic import normalize_search
from desk.tickets.workflow import check_version, record, require
from desk.transaction import atomic

MAX_NAME = 40
TAG_TICKETS_INDEX = "ix_ticket_tags_tag"  # (tag_id, ticket_id)


@dataclass(frozen=True)
class Colour:
    background: str
    text: str
    label: object  # lazy text: the colour's name for the admin's choice


# A small fixed palette: dark text on a light tint, each pair above WCAG AA's 4.5:1 for small
# text (tests/test_tags.py computes it), and the tag's name always written: never colour alone.
PALETTE: dict[str, Colour] = {
    "grey": Colour("#e9ecef", "#343a40", _l("Grey")),
    "red": Colour("#f8d7da", "#842029", _l("Red")),
    "orange": Colour("#ffe5d0", "#7a3300", _l("Orange")),
    "yellow": Colour("#fff3cd", "#664d03", _l("Yellow")),
    "green": Colour("#d1e7dd", "#0f5132", _l("Green")),
    "teal": Colour("#d2f4ea", "#0b4a3a", _l("Teal")),
    "blue": Colour("#cfe2ff", "#084298", _l("Blue")),
    "purple": Colour("#e2d9f3", "#432874", _l("Purple")),
    "pink": Colour("#f7d6e6", "#7a1d4b", _l("Pink")),
}
DEFAULT_COLOUR = "grey"


def clean_name(raw: str | None, field: str = "tag") -> str:
    """The name as it is kept: spaces collapsed; ValidationFailed by ``field`` when empty or long."""
    name = " ".join((raw or "").split())
    if not name:
        raise ValidationFailed({field: [_l("Write the tag's name.")]})
    if len(name) > MAX_NAME:
        raise ValidationFailed({field: [_l("At most %(n)s characters.", n=MAX_NAME)]})
    return name


def _key(name: str) -> str:
    """Two spellings of one word (alef forms, taa marbuta, case…) name one tag."""
    return normalize_search(name)[:80] or name.casefold()[:80]


# Reading -------------------------------------------------------------------------------

def all_tags(session: Session) -> list[Tag]:
    return list(session.scalars(select(Tag).order_by(Tag.name)))


def tags_of(session: Session, ticket_ids: Iterable[int]) -> dict[int, list[Tag]]:
    """Each ticket's tags, by name: one query for a whole page of the queue."""
    ids = sorted(set(ticket_ids))
    found: dict[int, list[Tag]] = {}
    if not ids:
        return found
    rows = session.execute(select(TicketTag.ticket_id, Tag).join(Tag, Tag.id == TicketTag.tag_id)
                           .where(TicketTag.ticket_id.in_(ids)).order_by(Tag.name))
    for ticket_id, tag in rows:
        found.setdefault(ticket_id, []).append(tag)
    return found


def tagged(tag_id: int) -> ColumnElement[bool]:
    """A WHERE clause: the ticket carries the tag (the queue's filter; ix_ticket_tags_tag)."""
    return Ticket.id.in_(select(TicketTag.ticket_id).where(TicketTag.tag_id == tag_id))


def counts(session: Session, departments: list[int] | None, since: datetime, until: datetime) -> list[dict]:
    """Per tag: the tickets received in [since, until) that carry it, and the open ones that
    carry it now; within ``departments`` (None: all). The statistics' table."""
    received = func.sum(case(((Ticket.created_at >= since) & (Ticket.created_at < until), 1), else_=0))
    open_now = func.sum(case((Ticket.is_open, 1), else_=0))
    stmt = (select(Tag.name, Tag.colour, received, open_now)
            .join(TicketTag, TicketTag.tag_id == Tag.id).join(Ticket, Ticket.id == TicketTag.ticket_id)
            .group_by(Tag.id, Tag.name, Tag.colour).order_by(Tag.name))
    # Tag by tag through their tickets: SQLite, whose statistics may know nothing of these
    # small tables (empty when last analysed), otherwise scanned every ticket (55 ms at 1M).
    stmt = indexed_by(stmt, TicketTag.__table__, TAG_TICKETS_INDEX)
    if departments is not None:
        stmt = stmt.where(Ticket.department_id.in_(departments))
    return [dict(name=name, colour=colour, received=int(r or 0), open=int(o or 0))
            for name, colour, r, o in session.execute(stmt)]


# On a ticket -----------------------------------------------------------------------------

def _find_or_create(session: Session, actor: User, name: str) -> Tag:
    key = _key(name)
    tag = session.scalar(select(Tag).where(Tag.key == key))
    if tag is None:
        tag = Tag(name=name, key=key, colour=DEFAULT_COLOUR, created_by_id=actor.id)
        session.add(tag)
        session.flush()
    return tag


def add(session: Session, actor: User, ticket: Ticket, raw: str | None, *,
        expected_version: int | None = None, field: str = "tag") -> bool:
    """Put the tag named ``raw`` on the ticket (created when new), with a timeline event. False
    when the ticket carries it already. With ``expected_version`` (the bulk actions) a ticket
    changed since the person saw it is refused (StaleVersion)."""
    require(actor, Action.TICKET_TAG, ticket)
    name = clean_name(raw, field)
    seen = ticket.version if expected_version is None else check_version(session, ticket, expected_version)
    try:
        return _add(session, actor, ticket, name, seen)
    except IntegrityError:  # someone created the same tag, or put it on, at the same moment
        return _add(session, actor, ticket, name, seen)


def _add(session: Session, actor: User, ticket: Ticket, name: str, seen: int) -> bool:
    with atomic(session, ticket, seen):
        tag = _find_or_create(session, actor, name)
        if session.get(TicketTag, (ticket.id, tag.id)) is not None:
            return False
        session.execute(insert(TicketTag).values(ticket_id=ticket.id, tag_id=tag.id))
        record(session, ticket, actor, EventKind.TAG_ADDED, new=tag.name, bump=False)
    return True


def remove(session: Session, actor: User, ticket: Ticket, tag_id: int) -> bool:
    """Take the tag off the ticket, with a timeline event. False when it did not carry it."""
    require(actor, Action.TICKET_TAG, ticket)
    tag = session.get(Tag, tag_id)
    if tag is None or session.get(TicketTag, (ticket.id, tag.id)) is None:
        return False
    with atomic(session, ticket, ticket.version):
        session.execute(delete(TicketTag).where(TicketTag.ticket_id == ticket.id, TicketTag.tag_id == tag.id))
        record(session, ticket, actor, EventKind.TAG_REMOVED, old=tag.name, bump=False)
    return True


# The admin's ----------------------------------------------------------------------------

def get_tag(session: Session, tag_id: int) -> Tag:
    tag = session.get(Tag, tag_id)
    if tag is None:
        raise NotFound()
    return tag


def edit(session: Session, actor: User, tag_id: int, raw_name: str | None, colour: str | None) -> Tag:
    """Rename and recolour a tag (admins). Past timeline events keep the name they recorded."""
    require_action(actor, Action.ADMIN_MANAGE)
    tag = get_tag(session, tag_id)
    errors: dict[str, list] = {}
    try:
        name = clean_name(raw_name, "name")
    except ValidationFailed as failed:
        errors.update(failed.errors)
        name = tag.name
    if colour not in PALETTE:
        errors["colour"] = [_l("Choose a colour from the list.")]
    key = _key(name)
    if not errors and session.scalar(select(Tag.id).where(Tag.key == key, Tag.id != tag.id)) is not None:
        errors["name"] = [_l("Another tag has this name.")]
    if errors:
        raise ValidationFailed(errors)
    with atomic(session):
        tag.name, tag.key, tag.colour = name, key, str(colour)
    return tag


def remove_tag(session: Session, actor: User, tag_id: int) -> int:
    """Delete a tag (admins): it leaves every ticket that carried it, each with its "tag
    removed" event (by the admin), in one transaction. How many tickets carried it."""
    require_action(actor, Action.ADMIN_MANAGE)
    tag = get_tag(session, tag_id)
    with atomic(session):
        carried = session.execute(select(Ticket.id, Ticket.version).join(TicketTag, TicketTag.ticket_id == Ticket.id)
                                  .where(TicketTag.tag_id == tag.id)).all()
        if carried:
            now = utcnow()
            session.execute(insert(TicketEvent), [
                dict(ticket_id=ticket_id, actor_id=actor.id, created_at=now, kind=EventKind.TAG_REMOVED.value,
                     old_value=tag.name, new_value=None, body=None, reason=None, public=False, version=version)
                for ticket_id, version in carried])
        session.execute(delete(TicketTag).where(TicketTag.tag_id == tag.id))
        session.delete(tag)
    return len(carried)
