"""The supervisors' field work: sites and survey items (admin settings), the daily field survey
(المسح الميداني اليومي), emergencies (الحالات الطارئة) and the visitor counter (حصر أعداد المترددين).

Plain functions of (session, actor, …). Days are Riyadh-local calendar days.

Concurrency: a survey is one row per (site, day), kept so by the unique constraint
``uq_surveys_site_day``: opening inserts and, when another request inserted first, rolls back
and reads that row. Submitting claims the row with ``UPDATE … WHERE status = 'draft'`` before
writing anything, so of two simultaneous submits exactly one wins (the other waits on the row
lock, then matches nothing) and nothing changes a survey once submitted.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import IO, Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.attachments import service as attachments
from desk.errors import Forbidden, NotFound, ValidationFailed, add_error
from desk.models import (
    AnswerState,
    AuxService,
    AuxServiceTap,
    Department,
    Emergency,
    EmergencyStatus,
    ItemCode,
    Role,
    Severity,
    Site,
    Survey,
    SurveyAnswer,
    SurveyItem,
    SurveyPhoto,
    SurveyStatus,
    Ticket,
    User,
    UserRole,
    VisitorTap,
    utcnow,
)
from desk.notify.messages import scrub
from desk.notify.service import notify_users
from desk.permissions import Action, can, require, visible_tickets
from desk.submissions import Once, take
from desk.text import RIYADH, riyadh_midnight, today_riyadh
from desk.transaction import atomic, commit

MAX_NAME = 120
MAX_ITEM = 400
MAX_NOTE = 2000
MAX_TEXT = 4000
MAX_REASON_TEXT = 200
UNDO_SECONDS = 60

Errors = dict[str, list]

# The seven items of the policy, as migration 0010 inserts them (``desk init`` re-creates them in
# a database that has no item at all; reading never writes).
POLICY_ITEMS = (
    (ItemCode.PUBLIC_ORDER, "النظام العام", "Public order"),
    (ItemCode.GUIDELINES, "التأكد من وضوح إرشادات تقديم الخدمة في الجمعية",
     "The service guidelines are clear to visitors"),
    (ItemCode.WORKFLOW, "الإشراف العام على سير العمل في موقع تقديم الخدمة",
     "General supervision of the workflow at the service site"),
    (ItemCode.EMERGENCIES, "الحالات الطارئة: اتخاذ إجراءات تصحيحية في حينها ثم الرفع بتقرير للمدير العام",
     "Emergencies: corrective action on the spot, then a report to the general manager"),
    (ItemCode.OFFICES, "الإشراف على مكاتب خدمة المستفيد في الواقع التابعة للجمعية",
     "Supervision of the beneficiary service offices at the association's sites"),
    (ItemCode.COMPLAINTS, "الإشراف على استقبال شكاوى المستفيدين عبر جميع القنوات ومتابعتها لدى الإدارات لحين حلها",
     "Supervision of complaint intake across all channels, and follow-up with the departments until resolved"),
    (ItemCode.WEBSITE, "الإشراف على صفحة مركز خدمة المستفيد على موقع الجمعية وتفعيل تقديم الخدمات من خلالها",
     "The service centre's page on the association's website, and the services offered through it"),
)

# The auxiliary services the policy names (تقديم الخدمات المساعدة للمستفيدين/ات (التصوير – الاتصال ... الخ)),
# as migration 0024 inserts them (``desk init`` re-creates them in a database that has none); admins add others.
POLICY_SERVICES = (
    ("copying", "تصوير المستندات", "Copying documents"),
    ("call", "اتصال لصالح المستفيد", "A call made for the beneficiary"),
    ("form", "تعبئة نموذج للمستفيد", "A form filled in for the beneficiary"),
)

# The visitor counter's common reasons (the free text covers the rest).
VISIT_REASONS = ("inquiry", "complaint", "support", "follow_up", "documents", "other")


def _clean(text: str | None) -> str:
    return (text or "").strip()


# Days in Riyadh ------------------------------------------------------------------------

# Sites -----------------------------------------------------------------------------------

def sites(session: Session, active_only: bool = True) -> list[Site]:
    query = select(Site).order_by(Site.position, Site.id)
    if active_only:
        query = query.where(Site.active.is_(True))
    return list(session.scalars(query))


def get_site(session: Session, site_id: int | None, active_only: bool = True) -> Site:
    site = session.get(Site, site_id) if site_id else None
    if site is None or (active_only and not site.active):
        raise NotFound()
    return site


@dataclass
class SiteData:
    name_ar: str = ""
    name_en: str = ""
    position: int = 0
    active: bool = True


def save_site(session: Session, actor: User, data: SiteData, site: Site | None = None) -> Site:
    """Add or rename a site, or (de)activate it. A site is never deleted: its surveys, taps and
    emergencies keep pointing at it."""
    require(actor, Action.SURVEY_SETUP)
    errors: Errors = {}
    for name in ("name_ar", "name_en"):
        value = _clean(getattr(data, name))
        if not value:
            add_error(errors, name, _l("This field is required."))
        elif len(value) > MAX_NAME:
            add_error(errors, name, _l("The text is too long (at most %(n)s characters).", n=MAX_NAME))
    if errors:
        raise ValidationFailed(errors)
    site = site or Site()
    site.name_ar, site.name_en = _clean(data.name_ar), _clean(data.name_en)
    site.position, site.active = int(data.position or 0), bool(data.active)
    session.add(site)
    commit(session)
    return site


# Survey items ----------------------------------------------------------------------------

def ensure_default_items(session: Session) -> None:
    """The seven items of the policy, if the table is empty (migration 0010 inserts them; ``desk
    init`` calls this for a database emptied since, never a page). Two at once: the unique code
    keeps one."""
    _seed_once(session, SurveyItem, lambda now: (
        SurveyItem(code=code, text_ar=ar, text_en=en, position=n, active=True, created_at=now)
        for n, (code, ar, en) in enumerate(POLICY_ITEMS, start=1)))


def items(session: Session, active_only: bool = True) -> list[SurveyItem]:
    return _in_order(session, SurveyItem, active_only)


def _seed_once(session: Session, model: Any, rows: Callable[[datetime], Iterable[Any]]) -> None:
    """``rows(now)`` added and committed when ``model``'s table is empty (the survey's items, the
    auxiliary services): another process creating them at that moment keeps its own. It writes:
    call it from a command (``desk init``, ``desk demo``), never from a page or its context."""
    if session.scalar(select(func.count()).select_from(model)):
        return
    session.add_all(rows(utcnow()))
    try:
        commit(session)
    except IntegrityError:  # another request created them at that moment
        pass


def _in_order(session: Session, model: Any, active_only: bool) -> list[Any]:
    """A list the admin orders (position, then id), the active rows only unless asked."""
    query = select(model).order_by(model.position, model.id)
    if active_only:
        query = query.where(model.active.is_(True))
    return list(session.scalars(query))


def get_item(session: Session, item_id: int) -> SurveyItem:
    item = session.get(SurveyItem, item_id)
    if item is None:
        raise NotFound()
    return item


@dataclass
class ItemData:
    text_ar: str = ""
    text_en: str = ""
    position: int = 0
    active: bool = True
    kind: str = ""    # "" (a plain item) or ItemCode.STAFF_READINESS; a policy item keeps its code


# The kinds of item an admin may add: a plain item, or the staff-readiness item (one at most).
ITEM_KINDS = ("", ItemCode.STAFF_READINESS.value)


def save_item(session: Session, actor: User, data: ItemData, item: SurveyItem | None = None) -> SurveyItem:
    """Add an item or change one. Answers already given keep the text they were given under."""
    require(actor, Action.SURVEY_SETUP)
    errors: Errors = {}
    for name in ("text_ar", "text_en"):
        value = _clean(getattr(data, name))
        if not value:
            add_error(errors, name, _l("This field is required."))
        elif len(value) > MAX_ITEM:
            add_error(errors, name, _l("The text is too long (at most %(n)s characters).", n=MAX_ITEM))
    kind = _clean(data.kind)
    if kind not in ITEM_KINDS:
        add_error(errors, "kind", _l("Choose one of the answers listed."))
    elif item is not None and item.code:
        kind = item.code  # one of the policy's seven, or the readiness item, keeps its code (its answers' meaning)
    elif kind:
        other = session.scalar(select(SurveyItem).where(SurveyItem.code == kind))
        if other is not None and (item is None or other.id != item.id):
            add_error(errors, "kind", _l("The survey already has a staff-readiness item."))
    if errors:
        raise ValidationFailed(errors)
    item = item or SurveyItem()
    item.code = kind or None
    item.text_ar, item.text_en = _clean(data.text_ar), _clean(data.text_en)
    item.position, item.active = int(data.position or 0), bool(data.active)
    session.add(item)
    commit(session)
    return item


# Live figures for item 6 -------------------------------------------------------------------

def live_figures(session: Session, actor: User, now: datetime | None = None) -> dict[str, Any]:
    """What item 6 asks the supervisor to check: tickets received per channel since yesterday
    00:00 (Riyadh), and open and overdue tickets per department now. Two GROUP BY queries.
    Plain JSON-able values, so the answer can keep them as the supervisor saw them."""
    now = now or utcnow()
    since = riyadh_midnight(today_riyadh(now) - timedelta(days=1))
    channels = dict(session.execute(
        select(Ticket.channel, func.count()).where(Ticket.created_at >= since, visible_tickets(actor))
        .group_by(Ticket.channel)).all())
    overdue = func.sum(case((Ticket.due_at < now, 1), else_=0))
    rows = session.execute(
        select(Ticket.department_id, func.count(), overdue)
        .where(Ticket.is_open, visible_tickets(actor))
        .group_by(Ticket.department_id)).all()
    names = {d.id: d for d in session.scalars(select(Department).where(
        Department.id.in_([r[0] for r in rows if r[0] is not None])))}
    departments = []
    for department_id, open_count, overdue_count in rows:
        department = names.get(department_id)
        departments.append({
            "id": department_id,
            "name_ar": department.name_ar if department else None,
            "name_en": department.name_en if department else None,
            "open": int(open_count), "overdue": int(overdue_count or 0),
        })
    departments.sort(key=lambda d: (d["id"] is None, -d["overdue"], -d["open"], d["name_en"] or ""))
    return {
        "since": since.astimezone(RIYADH).isoformat(), "at": now.isoformat(),
        "channels": {k: int(v) for k, v in sorted(channels.items(), key=lambda kv: (-kv[1], kv[0]))},
        "received": int(sum(channels.values())),
        "departments": departments,
        "open": sum(d["open"] for d in departments), "overdue": sum(d["overdue"] for d in departments),
    }


# The daily field survey ----------------------------------------------------------------------

def find_survey(session: Session, site_id: int, day: date) -> Survey | None:
    return session.scalar(select(Survey).where(Survey.site_id == site_id, Survey.day == day))


def open_survey(session: Session, actor: User, site: Site, day: date | None = None) -> Survey:
    """Today's survey of the site, created as a draft if there is none. Two requests opening it
    at once end with one row: the second insert breaks the unique (site, day) and reads the first's."""
    require(actor, Action.SURVEY_RUN)
    day = day or today_riyadh()
    survey = find_survey(session, site.id, day)
    if survey is not None:
        return survey
    survey = Survey(site_id=site.id, day=day, status=SurveyStatus.DRAFT, opened_by_id=actor.id,
                    opened_at=utcnow(), updated_at=utcnow())
    session.add(survey)
    try:
        commit(session)
    except IntegrityError:
        survey = find_survey(session, site.id, day)
        if survey is None:  # pragma: no cover - the row that broke the constraint is committed
            raise
    return survey


def get_survey(session: Session, actor: User, survey_id: int) -> Survey:
    require(actor, Action.SURVEY_VIEW)
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise NotFound()
    return survey


def answers_by_item(survey: Survey) -> dict[int, SurveyAnswer]:
    return {answer.item_id: answer for answer in survey.answers}


# Staff readiness (R49): is the reception staffed during the opening hours?
STAFFED = ("yes", "partly", "no")
MAX_ON_DUTY = 30


@dataclass
class ReadinessData:
    """The staff-readiness item's particulars: staff accounts on duty (ids), names typed for
    anyone without an account (one a line), and whether the reception is staffed."""

    staffed: str | None = None
    user_ids: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    @classmethod
    def from_saved(cls, saved: dict[str, Any] | None) -> ReadinessData:
        saved = saved or {}
        people = saved.get("on_duty") or []
        return cls(saved.get("staffed"), [p["user_id"] for p in people if p.get("user_id")],
                   [p["name"] for p in people if not p.get("user_id")])


@dataclass
class AnswerData:
    state: str | None = None
    note: str = ""
    readiness: ReadinessData | None = None   # the staff-readiness item only


def duty_staff(session: Session) -> list[User]:
    """The accounts that can be on duty at a reception: active intake staff and supervisors.
    (Accounts carry no site: every one is offered at every site.)"""
    return list(session.scalars(
        select(User).where(User.active.is_(True), User.id.in_(
            select(UserRole.user_id).where(UserRole.role.in_((Role.STAFF, Role.SUPERVISOR)))))
        .order_by(User.name, User.id)))


def _check_readiness(session: Session, errors: Errors, item_id: int, state: str | None, data: ReadinessData | None,
                     required: bool) -> dict[str, Any] | None:
    """The readiness particulars as the answer keeps them, or errors on staffed_<id> and on_duty_<id>.
    Required to submit unless the item is answered "not applicable"."""
    data = data or ReadinessData()
    staffed = _clean(data.staffed) or None
    names = [_clean(n) for n in data.names if _clean(n)]
    known = {u.id: u for u in duty_staff(session)} if data.user_ids else {}
    on_duty: list[dict[str, Any]] = []
    for user_id in dict.fromkeys(data.user_ids):
        if user_id not in known:
            add_error(errors, f"on_duty_{item_id}", _l("Choose one of the answers listed."))
            break
        on_duty.append({"user_id": user_id, "name": known[user_id].name})
    for name in names:
        if len(name) > MAX_NAME:
            add_error(errors, f"on_duty_{item_id}", _l("The text is too long (at most %(n)s characters).", n=MAX_NAME))
            break
        on_duty.append({"user_id": None, "name": name})
    if len(on_duty) > MAX_ON_DUTY:
        add_error(errors, f"on_duty_{item_id}", _l("At most %(n)s people.", n=MAX_ON_DUTY))
    if staffed is not None and staffed not in STAFFED:
        add_error(errors, f"staffed_{item_id}", _l("Choose one of the answers listed."))
    elif staffed is None and (on_duty or (required and state != AnswerState.NOT_APPLICABLE)):
        add_error(errors, f"staffed_{item_id}", _l("Say whether the reception is staffed during the opening hours."))
    elif staffed in ("yes", "partly") and not on_duty and (required or data.user_ids or names):
        add_error(errors, f"on_duty_{item_id}", _l("Name who is on duty."))
    elif staffed == "no" and on_duty:
        add_error(errors, f"on_duty_{item_id}", _l("Nobody can be on duty at a reception that is not staffed."))
    if staffed is None and not on_duty:
        return None
    return {"staffed": staffed, "on_duty": on_duty}


def _check_answer(errors: Errors, item_id: int, data: AnswerData, required: bool,
                  item: SurveyItem | None = None, session: Session | None = None) -> dict[str, Any] | None:
    """Errors of one answer; for the staff-readiness item, its particulars as the answer keeps them."""
    state = _clean(data.state) or None
    if state is not None and state not in set(AnswerState):
        add_error(errors, f"state_{item_id}", _l("Choose one of the answers listed."))
    elif state is None and required:
        add_error(errors, f"state_{item_id}", _l("Answer this item."))
    if len(_clean(data.note)) > MAX_NOTE:
        add_error(errors, f"note_{item_id}", _l("The text is too long (at most %(n)s characters).", n=MAX_NOTE))
    if item is not None and session is not None and item.code == ItemCode.STAFF_READINESS:
        return _check_readiness(session, errors, item_id, state, data.readiness, required)
    return None


def _lock_draft(session: Session, survey: Survey, **values) -> bool:
    """Touch the survey row if it is still a draft (taking its row lock): False if submitted."""
    done = cast(CursorResult, session.execute(  # what an UPDATE returns; typed as any Result
        update(Survey).where(Survey.id == survey.id, Survey.status == SurveyStatus.DRAFT)
        .values(updated_at=utcnow(), **values).execution_options(synchronize_session=False))).rowcount
    return bool(done)


def _write_answer(session: Session, actor: User, survey: Survey, item: SurveyItem, data: AnswerData,
                  readiness: dict[str, Any] | None = None) -> SurveyAnswer:
    answer = session.scalar(select(SurveyAnswer).where(SurveyAnswer.survey_id == survey.id,
                                                       SurveyAnswer.item_id == item.id))
    if answer is None:
        answer = SurveyAnswer(survey_id=survey.id, item_id=item.id)
        session.add(answer)
    answer.item_text_ar, answer.item_text_en, answer.position = item.text_ar, item.text_en, item.position
    answer.state = _clean(data.state) or None
    answer.note = _clean(data.note) or None
    if item.code == ItemCode.STAFF_READINESS:
        answer.readiness = readiness
    answer.answered_by_id, answer.answered_at = actor.id, utcnow()
    return answer


def already_submitted() -> ValidationFailed:
    return ValidationFailed({"survey": [_l("This survey has already been submitted; it can no longer be changed.")]})


def save_answer(session: Session, actor: User, survey: Survey, item: SurveyItem, data: AnswerData) -> SurveyAnswer:
    """Save one item's answer to a draft (the autosave): refused once the survey is submitted."""
    require(actor, Action.SURVEY_RUN)
    errors: Errors = {}
    readiness = _check_answer(errors, item.id, data, False, item, session)
    if errors:
        raise ValidationFailed(errors)
    try:
        with atomic(session):
            if not _lock_draft(session, survey):
                raise already_submitted()
            answer = _write_answer(session, actor, survey, item, data, readiness)
    except IntegrityError:  # the same item's first answer saved twice at once: save over it
        return save_answer(session, actor, survey, item, data)
    return answer


def save_draft(session: Session, actor: User, survey: Survey, answers: dict[int, AnswerData]) -> Survey:
    """Save every answer given (the page without JavaScript), still a draft."""
    require(actor, Action.SURVEY_RUN)
    by_id = {item.id: item for item in items(session)}
    errors: Errors = {}
    kept = {item_id: _check_answer(errors, item_id, data, False, by_id[item_id], session)
            for item_id, data in answers.items() if item_id in by_id}
    if errors:
        raise ValidationFailed(errors)
    with atomic(session):
        if not _lock_draft(session, survey):
            raise already_submitted()
        for item_id, data in answers.items():
            if item_id in by_id:
                _write_answer(session, actor, survey, by_id[item_id], data, kept[item_id])
    session.refresh(survey)
    return survey


def submit(session: Session, actor: User, survey: Survey, answers: dict[int, AnswerData] | None = None,
           now: datetime | None = None) -> Survey:
    """Submit the survey, once: every active item must be answered (``answers`` given now or
    saved before). Item 6's live figures are frozen into its answer. Of two simultaneous
    submits one wins; the other is refused (already_submitted) and changes nothing."""
    require(actor, Action.SURVEY_RUN)
    now = now or utcnow()
    answers = dict(answers or {})
    active = items(session)
    session.refresh(survey)
    saved = answers_by_item(survey)
    errors: Errors = {}
    kept: dict[int, dict[str, Any] | None] = {}
    for item in active:
        data = answers.get(item.id)
        if data is None and item.id in saved:
            data = AnswerData(saved[item.id].state, saved[item.id].note or "",
                              ReadinessData.from_saved(saved[item.id].readiness))
        kept[item.id] = _check_answer(errors, item.id, data or AnswerData(), True, item, session)
    if survey.submitted:
        raise already_submitted()
    if errors:
        raise ValidationFailed(errors)
    figures = live_figures(session, actor, now)
    try:
        with atomic(session):
            # Claim the row first: a concurrent submit waits here, then matches nothing.
            if not _lock_draft(session, survey, status=SurveyStatus.SUBMITTED, submitted_by_id=actor.id,
                               submitted_at=now):
                raise already_submitted()
            for item in active:
                if item.id in answers:
                    answer = _write_answer(session, actor, survey, item, answers[item.id], kept[item.id])
                else:  # saved before: an item neither answered now nor saved was refused above
                    answer = saved[item.id]
                    # The text as it is at submission (an admin may have edited it since the draft).
                    answer.item_text_ar, answer.item_text_en, answer.position = item.text_ar, item.text_en, item.position
                    if item.code == ItemCode.STAFF_READINESS:
                        answer.readiness = kept[item.id]  # the names as they are at submission
                if item.code == ItemCode.COMPLAINTS:
                    answer.figures = figures
    except IntegrityError:
        raise already_submitted() from None
    session.refresh(survey)
    return survey


def submit_for_day(session: Session, actor: User, site: Site, day: date, answers: dict[int, AnswerData],
                   now: datetime | None = None) -> Survey:
    """Open the site's survey of ``day`` (or find it) and submit it with ``answers``."""
    return submit(session, actor, open_survey(session, actor, site, day), answers, now)


# Photos ------------------------------------------------------------------------------------

def add_photo(session: Session, actor: User, survey: Survey, item: SurveyItem, stream: IO[bytes] | None,
              filename: str | None, *, directory: str | os.PathLike, max_bytes: int) -> SurveyPhoto:
    """A photo on an item of a draft survey: only PNG, JPEG or WebP (by their bytes), written under
    a random name by desk.attachments' helpers; the answer row is created if needed."""
    require(actor, Action.SURVEY_RUN)
    if stream is None or not _clean(filename):
        raise ValidationFailed({"file": [_l("Choose a file first.")]})
    stored = attachments.write_file(stream, directory=directory, max_bytes=max_bytes, accepted=attachments.IMAGES,
                               refusal=_l("Only a photo can be added here (PNG, JPEG or WebP)."))
    with atomic(session) as written:
        stored.stage(written)  # in place once the photo's row is committed, removed otherwise
        if not _lock_draft(session, survey):
            raise already_submitted()
        answer = session.scalar(select(SurveyAnswer).where(SurveyAnswer.survey_id == survey.id,
                                                           SurveyAnswer.item_id == item.id))
        if answer is None:
            answer = _write_answer(session, actor, survey, item, AnswerData())
            session.flush()
        photo = SurveyPhoto(answer_id=answer.id, uploaded_by_id=actor.id, filename=attachments.clean_filename(filename),
                            stored_name=stored.stored_name, content_type=stored.content_type, size=stored.size,
                            sha256=stored.sha256)
        session.add(photo)
    return photo


def get_photo(session: Session, actor: User, photo_id: int) -> SurveyPhoto:
    require(actor, Action.SURVEY_VIEW)
    photo = session.get(SurveyPhoto, photo_id)
    if photo is None:
        raise NotFound()
    return photo


# Emergencies ---------------------------------------------------------------------------------

@dataclass
class EmergencyData:
    site_id: int | None = None
    occurred_at: datetime | None = None
    what_happened: str = ""
    action_taken: str = ""
    severity: str = Severity.MEDIUM
    survey_id: int | None = None


def general_managers(session: Session) -> list[User]:
    return list(session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.GENERAL_MANAGER, User.active.is_(True)).order_by(User.id)))


def record_emergency(session: Session, actor: User, data: EmergencyData, now: datetime | None = None) -> Emergency:
    """Record an emergency and the corrective action taken on the spot, and report it to every
    active general manager (outbox rows in the same transaction). It stays open until a general
    manager acknowledges it."""
    require(actor, Action.EMERGENCY_RECORD)
    now = now or utcnow()
    errors: Errors = {}
    site = session.get(Site, data.site_id) if data.site_id else None
    if site is None or not site.active:
        add_error(errors, "site_id", _l("Choose a site."))
    if data.occurred_at is None:
        add_error(errors, "occurred_at", _l("Enter when it happened."))
    elif data.occurred_at > now + timedelta(minutes=5):
        add_error(errors, "occurred_at", _l("This time is in the future."))
    for name in ("what_happened", "action_taken"):
        value = _clean(getattr(data, name))
        if not value:
            add_error(errors, name, _l("This field is required."))
        elif len(value) > MAX_TEXT:
            add_error(errors, name, _l("The text is too long (at most %(n)s characters).", n=MAX_TEXT))
    if data.severity not in set(Severity):
        add_error(errors, "severity", _l("Choose one of the answers listed."))
    survey = session.get(Survey, data.survey_id) if data.survey_id else None
    if errors or site is None:  # site is None only with its error: this narrows it
        raise ValidationFailed(errors)
    emergency = Emergency(
        site_id=site.id, survey_id=survey.id if survey else None, occurred_at=data.occurred_at,
        what_happened=_clean(data.what_happened), action_taken=_clean(data.action_taken), severity=data.severity,
        status=EmergencyStatus.OPEN, recorded_by_id=actor.id, created_at=now,
    )
    session.add(emergency)
    with atomic(session):
        session.flush()
        _report_to_managers(session, actor, emergency, site)
    return emergency


def _report_to_managers(session: Session, actor: User, emergency: Emergency, site: Site) -> None:
    from desk.notify.messages import absolute_url
    notify_users(session, "emergency", general_managers(session), "notify/emergency.txt", actor=actor,
                 emergency=emergency, site=site, what_happened=scrub(emergency.what_happened),
                 action_taken=scrub(emergency.action_taken),
                 link=absolute_url("survey.emergency", emergency_id=emergency.id),
                 print_link=absolute_url("survey.emergency_print", emergency_id=emergency.id))


def emergencies(session: Session, actor: User, limit: int = 200) -> list[Emergency]:
    """Open ones first (oldest open first: the longest waiting), then the rest, newest first."""
    require(actor, Action.EMERGENCY_VIEW)
    is_open = case((Emergency.status == EmergencyStatus.OPEN, 0), else_=1)
    return list(session.scalars(select(Emergency).order_by(is_open, Emergency.occurred_at.desc(), Emergency.id.desc())
                                .limit(limit)))


def open_emergency_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Emergency)
                          .where(Emergency.status == EmergencyStatus.OPEN)) or 0


def get_emergency(session: Session, actor: User, emergency_id: int) -> Emergency:
    require(actor, Action.EMERGENCY_VIEW)
    emergency = session.get(Emergency, emergency_id)
    if emergency is None:
        raise NotFound()
    return emergency


def acknowledge(session: Session, actor: User, emergency: Emergency, note: str = "",
                now: datetime | None = None) -> Emergency:
    """The general manager acknowledges the report (who, when, an optional note); once only."""
    if not can(actor, Action.EMERGENCY_ACKNOWLEDGE):
        raise Forbidden(_l("Only the general manager acknowledges an emergency report."))
    note = _clean(note)
    if len(note) > MAX_NOTE:
        raise ValidationFailed({"note": [_l("The text is too long (at most %(n)s characters).", n=MAX_NOTE)]})
    done = cast(CursorResult, session.execute(  # what an UPDATE returns; typed as any Result
        update(Emergency).where(Emergency.id == emergency.id, Emergency.status == EmergencyStatus.OPEN)
        .values(status=EmergencyStatus.ACKNOWLEDGED, acknowledged_by_id=actor.id, acknowledged_at=now or utcnow(),
                acknowledgement_note=note or None)
        .execution_options(synchronize_session=False))).rowcount
    commit(session)
    session.refresh(emergency)
    if not done:
        raise ValidationFailed({"note": [_l("This emergency has already been acknowledged.")]})
    return emergency


# The visitor counter ----------------------------------------------------------------------

def tap(session: Session, actor: User, site: Site, reason: str | None = None, reason_text: str = "",
        now: datetime | None = None, once: Once | None = None) -> VisitorTap:
    """Count one walk-in visitor at the site (one row: who, when, site, reason). With the
    counter's form token (``once``, desk.submissions) the same tap sent twice counts once: the
    second is refused with AlreadyTaken and the caller shows the counter as it is."""
    require(actor, Action.VISITOR_COUNT)
    if not site.active:
        raise NotFound()
    reason = _clean(reason) or None
    errors: Errors = {}
    if reason is not None and reason not in VISIT_REASONS:
        add_error(errors, "reason", _l("Choose one of the answers listed."))
    if len(_clean(reason_text)) > MAX_REASON_TEXT:
        add_error(errors, "reason_text", _l("The text is too long (at most %(n)s characters).", n=MAX_REASON_TEXT))
    if errors:
        raise ValidationFailed(errors)
    now = now or utcnow()
    with atomic(session):
        taken = take(session, once)
        row = VisitorTap(site_id=site.id, day=today_riyadh(now), created_at=now, recorded_by_id=actor.id,
                         reason=reason, reason_text=_clean(reason_text) or None)
        session.add(row)
        session.flush()
        taken.done(None, visitor_tap=row.id)
    return row


def undo_tap(session: Session, actor: User, tap_id: int, now: datetime | None = None) -> bool:
    """Take back one's own tap within UNDO_SECONDS; False when there is nothing to undo."""
    require(actor, Action.VISITOR_COUNT)
    now = now or utcnow()
    done = cast(CursorResult, session.execute(delete(VisitorTap).where(  # what a DELETE returns; typed as any Result
        VisitorTap.id == tap_id, VisitorTap.recorded_by_id == actor.id,
        VisitorTap.created_at >= now - timedelta(seconds=UNDO_SECONDS)))).rowcount
    commit(session)
    return bool(done)


def last_tap(session: Session, actor: User, now: datetime | None = None) -> VisitorTap | None:
    """The actor's latest tap, if still within the undo minute."""
    now = now or utcnow()
    return session.scalar(select(VisitorTap).where(
        VisitorTap.recorded_by_id == actor.id, VisitorTap.created_at >= now - timedelta(seconds=UNDO_SECONDS))
        .order_by(VisitorTap.created_at.desc(), VisitorTap.id.desc()).limit(1))


def taps_today(session: Session, day: date | None = None) -> dict[int, int]:
    """Visitors counted per site on ``day`` (today)."""
    day = day or today_riyadh()
    return dict(session.execute(select(VisitorTap.site_id, func.count()).where(VisitorTap.day == day)
                                .group_by(VisitorTap.site_id)).all())


# The survey calendar and findings ------------------------------------------------------------

@dataclass(frozen=True)
class CalendarDay:
    day: date
    hijri: tuple[int, int, int] | None
    working: bool
    future: bool


@dataclass
class SurveyCalendar:
    year: int
    month: int
    days: list[CalendarDay]
    sites: list[Site]
    status: dict[tuple[int, date], tuple[str, int]] = field(default_factory=dict)  # (site, day) → (status, id)
    hijri_months: list[tuple[int, int]] = field(default_factory=list)
    previous: str = ""
    next: str = ""

    def cell(self, site: Site, day: CalendarDay) -> tuple[str, int | None]:
        """("submitted" | "draft", survey id), or ("missing" | "off" | "future" | "", None)."""
        found = self.status.get((site.id, day.day))
        if found:
            return found
        if day.future:
            return "future", None
        return ("missing" if day.working else "off"), None


def survey_calendar(session: Session, actor: User, year: int, month: int, now: datetime | None = None) -> SurveyCalendar:
    """Every active site × every day of the month: submitted, draft or missing (one query), with
    the day's Hijri date and whether it is a working day (desk.sla's calendar)."""
    import calendar as gregorian_calendar

    from desk.sla.service import load_calendar
    from desk.text import hijri_date

    require(actor, Action.SURVEY_VIEW)
    business = load_calendar(session)
    first = date(year, month, 1)
    last = date(year, month, gregorian_calendar.monthrange(year, month)[1])
    current = today_riyadh(now)
    days, hijri_months = [], []
    for n in range(1, last.day + 1):
        day = date(year, month, n)
        h = hijri_date(day)
        if h and (h[0], h[1]) not in hijri_months:
            hijri_months.append((h[0], h[1]))
        days.append(CalendarDay(day, h, business.is_working_day(day), day > current))
    status = {(site_id, day): (state, survey_id) for survey_id, site_id, day, state in session.execute(
        select(Survey.id, Survey.site_id, Survey.day, Survey.status).where(Survey.day >= first, Survey.day <= last))}
    previous = date(year - 1, 12, 1) if month == 1 else date(year, month - 1, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return SurveyCalendar(year, month, days, sites(session), status, hijri_months,
                          f"{previous:%Y-%m}", f"{following:%Y-%m}")


# Auxiliary services (الخدمات المساعدة, R51): counted at the visitor counter ---------------------

def ensure_default_services(session: Session) -> None:
    """The policy's services, if the table is empty (migration 0024 inserts them; ``desk init``
    calls this for a database emptied since, never a page: the visitor counter is in every page's
    context). Two at once: the unique code keeps one."""
    _seed_once(session, AuxService, lambda now: (
        AuxService(code=code, name_ar=ar, name_en=en, position=n, active=True, created_at=now)
        for n, (code, ar, en) in enumerate(POLICY_SERVICES, start=1)))


def aux_services(session: Session, active_only: bool = True) -> list[AuxService]:
    return _in_order(session, AuxService, active_only)


def get_aux_service(session: Session, service_id: int | None, active_only: bool = True) -> AuxService:
    row = session.get(AuxService, service_id) if service_id else None
    if row is None or (active_only and not row.active):
        raise NotFound()
    return row


def save_aux_service(session: Session, actor: User, data: SiteData, row: AuxService | None = None) -> AuxService:
    """Add or rename an auxiliary service, or (de)activate it (admins; on the audit trail as an
    admin change, desk.audit). Never deleted: its taps keep pointing at it."""
    require(actor, Action.SURVEY_SETUP)
    errors: Errors = {}
    for name in ("name_ar", "name_en"):
        value = _clean(getattr(data, name))
        if not value:
            add_error(errors, name, _l("This field is required."))
        elif len(value) > MAX_NAME:
            add_error(errors, name, _l("The text is too long (at most %(n)s characters).", n=MAX_NAME))
    if errors:
        raise ValidationFailed(errors)
    row = row or AuxService()
    row.name_ar, row.name_en = _clean(data.name_ar), _clean(data.name_en)
    row.position, row.active = int(data.position or 0), bool(data.active)
    session.add(row)
    commit(session)
    return row


def tap_service(session: Session, actor: User, site: Site, service: AuxService, now: datetime | None = None,
                once: Once | None = None) -> AuxServiceTap:
    """Count one auxiliary service given at the site (one row: who, when, site, which service).
    Idempotent like the visitor tap: the same form token counts once (AlreadyTaken the second time)."""
    require(actor, Action.VISITOR_COUNT)
    if not site.active or not service.active:
        raise NotFound()
    now = now or utcnow()
    with atomic(session):
        taken = take(session, once)
        row = AuxServiceTap(site_id=site.id, service_id=service.id, day=today_riyadh(now), created_at=now,
                            recorded_by_id=actor.id)
        session.add(row)
        session.flush()
        taken.done(None, aux_service_tap=row.id)
    return row


def undo_service_tap(session: Session, actor: User, tap_id: int, now: datetime | None = None) -> bool:
    """Take back one's own service tap within UNDO_SECONDS; False when there is nothing to undo."""
    require(actor, Action.VISITOR_COUNT)
    now = now or utcnow()
    done = cast(CursorResult, session.execute(delete(AuxServiceTap).where(  # what a DELETE returns
        AuxServiceTap.id == tap_id, AuxServiceTap.recorded_by_id == actor.id,
        AuxServiceTap.created_at >= now - timedelta(seconds=UNDO_SECONDS)))).rowcount
    commit(session)
    return bool(done)


def last_service_tap(session: Session, actor: User, now: datetime | None = None) -> AuxServiceTap | None:
    now = now or utcnow()
    return session.scalar(select(AuxServiceTap).where(
        AuxServiceTap.recorded_by_id == actor.id, AuxServiceTap.created_at >= now - timedelta(seconds=UNDO_SECONDS))
        .order_by(AuxServiceTap.created_at.desc(), AuxServiceTap.id.desc()).limit(1))


def service_taps_today(session: Session, site_id: int, day: date | None = None) -> dict[int, int]:
    """Auxiliary services given at the site on ``day`` (today), per service."""
    day = day or today_riyadh()
    return dict(session.execute(select(AuxServiceTap.service_id, func.count())
                                .where(AuxServiceTap.day == day, AuxServiceTap.site_id == site_id)
                                .group_by(AuxServiceTap.service_id)).all())
