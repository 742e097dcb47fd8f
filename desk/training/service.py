"""The training log (R52): plain functions of (session, actor, …).

Supervisors and admins record and remove anyone's entries and read everyone's; every staff
account reads its own (desk.permissions: TRAINING_RECORD, TRAINING_OWN, may_read_training).
Each entry recorded or removed is one row of the audit trail, in the same transaction. A
certificate is written by desk.attachments' helpers under a random name and takes its final
name only once the entry is committed (desk.transaction.atomic).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import IO

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk import audit
from desk.attachments import service as attachments
from desk.errors import NotFound, ValidationFailed, add_error
from desk.models import AuditAction, Role, TrainingEntry, User, UserRole, utcnow
from desk.permissions import Action, can, may_read_training, require
from desk.sla.service import GREGORIAN, HIJRI, parse_day
from desk.text import to_ascii_digits, today_riyadh
from desk.transaction import atomic

MAX_TEXT = 200
MAX_HOURS = 1000
CERTIFICATES = frozenset({attachments.PDF, *attachments.IMAGES})
# Who keeps a training log: the people who serve beneficiaries.
TRAINEE_ROLES = (Role.STAFF, Role.SUPERVISOR, Role.FOCAL)
UNTRAINED_DAYS = 365   # "no training in the last 12 months"

_HOURS = re.compile(r"^([0-9]{1,4})(?:[.,٫]([0-9]{1,2}))?$")

Errors = dict[str, list]


def parse_hours(text: str | None) -> int | None:
    """"1.5", "١٫٥", "2,25", "3" → hundredths of an hour (150, 150, 225, 300); None if not a number
    of hours with at most two decimals."""
    match = _HOURS.match(to_ascii_digits((text or "").strip()))
    if not match:
        return None
    whole, fraction = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(fraction)


def trainees(session: Session) -> list[User]:
    """Active accounts that serve beneficiaries (intake staff, supervisors, focal points)."""
    return list(session.scalars(
        select(User).where(User.active.is_(True), User.id.in_(
            select(UserRole.user_id).where(UserRole.role.in_(TRAINEE_ROLES))))
        .order_by(User.name, User.id)))


@dataclass
class TrainingData:
    user_id: int | None = None
    course: str = ""
    provider: str = ""
    day: str = ""
    entered_as: str = GREGORIAN
    hours: str = ""


def add_entry(session: Session, actor: User, data: TrainingData, stream: IO[bytes] | None = None,
              filename: str | None = None, *, directory: str | os.PathLike, max_bytes: int) -> TrainingEntry:
    """Record one course taken by a staff member, with an optional certificate (PDF or image)."""
    require(actor, Action.TRAINING_RECORD)
    errors: Errors = {}
    person = session.get(User, data.user_id) if data.user_id else None
    if person is None or person.id not in {u.id for u in trainees(session)}:
        add_error(errors, "user_id", _l("Choose a staff member."))
    texts = {}
    for name in ("course", "provider"):
        value = " ".join((getattr(data, name) or "").split())
        if not value:
            add_error(errors, name, _l("This field is required."))
        elif len(value) > MAX_TEXT:
            add_error(errors, name, _l("The text is too long (at most %(n)s characters).", n=MAX_TEXT))
        texts[name] = value
    day = None
    if data.entered_as not in (GREGORIAN, HIJRI):
        add_error(errors, "entered_as", _l("Choose one of the answers listed."))
    elif not (data.day or "").strip():
        add_error(errors, "day", _l("This field is required."))
    else:
        try:
            day = parse_day(data.day, data.entered_as)
        except ValueError:
            add_error(errors, "day", _l("Enter a real date as year-month-day, e.g. 2026-01-31 or 1447-07-15."))
        else:
            if day > today_riyadh():
                add_error(errors, "day", _l("This date is in the future."))
    centihours = parse_hours(data.hours)
    if not (data.hours or "").strip():
        add_error(errors, "hours", _l("This field is required."))
    elif centihours is None:
        add_error(errors, "hours", _l("Enter the hours as a number, e.g. 6 or 1.5."))
    elif not 0 < centihours <= MAX_HOURS * 100:
        add_error(errors, "hours", _l("Enter between 0.01 and %(n)s hours.", n=MAX_HOURS))
    has_file = stream is not None and bool((filename or "").strip())
    if errors or person is None or day is None or centihours is None:
        raise ValidationFailed(errors)
    stored = None
    if has_file:
        stored = attachments.write_file(stream, directory=directory, max_bytes=max_bytes, accepted=CERTIFICATES,
                                        refusal=_l("A certificate is a PDF or an image (PNG, JPEG or WebP)."))
    with atomic(session) as written:
        entry = TrainingEntry(user_id=person.id, course=texts["course"], provider=texts["provider"], day=day,
                              centihours=centihours, recorded_by_id=actor.id, created_at=utcnow())
        if stored is not None:
            stored.stage(written)  # in place once the entry is committed, removed otherwise
            entry.certificate_filename = attachments.clean_filename(filename)
            entry.certificate_stored_name, entry.certificate_content_type = stored.stored_name, stored.content_type
            entry.certificate_size, entry.certificate_sha256 = stored.size, stored.sha256
        session.add(entry)
        session.flush()
        audit.record(session, AuditAction.TRAINING, actor=actor, record_type="training_entry", record_id=entry.id,
                     detail={"done": "added", "user_id": person.id, "course": entry.course,
                             "provider": entry.provider, "day": day.isoformat(), "hours": centihours / 100,
                             "certificate": entry.certificate_filename})
    return entry


def get_entry(session: Session, actor: User, entry_id: int) -> TrainingEntry:
    """An entry the actor may read (their own, or anyone's for supervisors and admins); 404 otherwise."""
    entry = session.get(TrainingEntry, entry_id)
    if entry is None or not may_read_training(actor, entry.user_id):
        raise NotFound()
    return entry


def remove_entry(session: Session, actor: User, entry: TrainingEntry, *, directory: str | os.PathLike) -> None:
    """Remove an entry recorded by mistake (its certificate too, once that is committed)."""
    require(actor, Action.TRAINING_RECORD)
    with atomic(session) as written:
        if entry.certificate_stored_name:
            written.delete(attachments.directory_of(directory) / entry.certificate_stored_name)
        audit.record(session, AuditAction.TRAINING, actor=actor, record_type="training_entry", record_id=entry.id,
                     detail={"done": "removed", "user_id": entry.user_id, "course": entry.course,
                             "day": entry.day.isoformat(), "hours": entry.hours})
        session.delete(entry)


def entries(session: Session, actor: User, *, user_id: int | None = None, start: date | None = None,
            end: date | None = None, limit: int = 500) -> list[TrainingEntry]:
    """Entries the actor may read, newest first: anyone's for supervisors and admins (one person's
    with ``user_id``), else only the actor's own."""
    if not may_read_training(actor, actor.id):
        raise NotFound()
    query = select(TrainingEntry).order_by(TrainingEntry.day.desc(), TrainingEntry.id.desc()).limit(limit)
    if not can(actor, Action.TRAINING_RECORD):  # not a reader of everyone's
        query = query.where(TrainingEntry.user_id == actor.id)
    elif user_id is not None:
        query = query.where(TrainingEntry.user_id == user_id)
    if start is not None:
        query = query.where(TrainingEntry.day >= start)
    if end is not None:
        query = query.where(TrainingEntry.day <= end)
    return list(session.scalars(query))


@dataclass(frozen=True)
class PersonHours:
    user: User
    centihours: int       # in the period
    courses: int          # in the period
    last_day: date | None  # their latest training, whenever it was

    @property
    def hours(self) -> float:
        return self.centihours / 100


def hours_by_person(session: Session, start: date, end: date,
                    people_list: list[User] | None = None) -> list[PersonHours]:
    """Every trainee (and anyone else with an entry in the period): hours and courses in the
    period, and their latest training ever. Two GROUP BY queries."""
    period = {user_id: (int(total or 0), int(n)) for user_id, total, n in session.execute(
        select(TrainingEntry.user_id, func.sum(TrainingEntry.centihours), func.count())
        .where(TrainingEntry.day >= start, TrainingEntry.day <= end).group_by(TrainingEntry.user_id))}
    latest = dict(session.execute(select(TrainingEntry.user_id, func.max(TrainingEntry.day))
                                  .group_by(TrainingEntry.user_id)).all())
    people = {u.id: u for u in (trainees(session) if people_list is None else people_list)}
    missing = set(period) - set(people)
    if missing:
        people.update({u.id: u for u in session.scalars(select(User).where(User.id.in_(missing)))})
    rows = [PersonHours(user, *period.get(user.id, (0, 0)), _as_date(latest.get(user.id)))
            for user in people.values()]
    rows.sort(key=lambda r: (-r.centihours, r.user.name, r.user.id))
    return rows


def untrained(session: Session, as_of: date, people_list: list[User] | None = None) -> list[PersonHours]:
    """Trainees with no training in the 12 months up to ``as_of`` (their latest, if any, is older).
    ``people_list``: the trainees when the caller has them already."""
    since = as_of - timedelta(days=UNTRAINED_DAYS)
    latest = dict(session.execute(select(TrainingEntry.user_id, func.max(TrainingEntry.day))
                                  .where(TrainingEntry.day <= as_of).group_by(TrainingEntry.user_id)).all())
    found = []
    for user in trainees(session) if people_list is None else people_list:
        last = _as_date(latest.get(user.id))
        if last is None or last < since:
            found.append(PersonHours(user, 0, 0, last))
    return found


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@dataclass(frozen=True)
class MonthHours:
    month: str            # "2026-11"
    centihours: int
    courses: int

    @property
    def hours(self) -> float:
        return self.centihours / 100


def hours_by_month(session: Session, start: date, end: date) -> list[MonthHours]:
    """Hours and courses per calendar month of the period (every month listed, zeros included)."""
    totals: dict[str, list[int]] = {}
    for day, centihours in session.execute(select(TrainingEntry.day, TrainingEntry.centihours)
                                           .where(TrainingEntry.day >= start, TrainingEntry.day <= end)):
        month = _as_date(day).strftime("%Y-%m")  # type: ignore[union-attr]
        pair = totals.setdefault(month, [0, 0])
        pair[0] += int(centihours)
        pair[1] += 1
    months, cursor = [], start.replace(day=1)
    while cursor <= end:
        key = cursor.strftime("%Y-%m")
        total, n = totals.get(key, [0, 0])
        months.append(MonthHours(key, total, n))
        cursor = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
    return months


@dataclass
class TrainingFigures:
    start: date
    end: date
    people: list[PersonHours]
    months: list[MonthHours] | None   # None: not read (the statistics dashboard shows no months)
    untrained: list[PersonHours]

    @property
    def centihours(self) -> int:
        return sum(p.centihours for p in self.people)

    @property
    def courses(self) -> int:
        return sum(p.courses for p in self.people)


def figures(session: Session, start: date, end: date, months: bool = True) -> TrainingFigures:
    """The report's training section: hours per person and per month of the period (``months``),
    and who had no training in the 12 months up to the period's end. The trainees are read once
    for both."""
    people = trainees(session)
    return TrainingFigures(start, end, hours_by_person(session, start, end, people),
                           hours_by_month(session, start, end) if months else None, untrained(session, end, people))
