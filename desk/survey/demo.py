"""Demo field work for `flask desk demo`: the main office and two branch offices, a fortnight
of surveys (some findings), visitor counts, auxiliary services counted and one open emergency.
Only when there is no site."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.models import (
    AnswerState,
    AuxServiceTap,
    Emergency,
    EmergencyStatus,
    ItemCode,
    Role,
    Severity,
    Site,
    Survey,
    SurveyAnswer,
    SurveyStatus,
    User,
    UserRole,
    VisitorTap,
    utcnow,
)
from desk.survey import service
from desk.text import RIYADH, today_riyadh
from desk.transaction import commit

SITES = (
    ("المقر الرئيسي", "Main office"),
    ("المكتب الفرعي - حي النسيم", "Branch office - Al-Naseem"),
    ("المكتب الفرعي - حي الروضة", "Branch office - Al-Rawdah"),
)
NOTES: dict[str, str] = {  # by item code
    ItemCode.PUBLIC_ORDER: "ازدحام في صالة الانتظار وقت الذروة، تم تنظيم الدور.",
    ItemCode.GUIDELINES: "لوحة الإرشادات عند المدخل غير واضحة، طلبنا طباعتها من جديد.",
    ItemCode.OFFICES: "مكتب الاستقبال الثاني بدون موظف بعد الساعة ١٢.",
    ItemCode.WEBSITE: "رابط نموذج طلب المساعدة في الموقع لا يعمل.",
}


def load(session: Session, now: datetime | None = None) -> bool:
    if session.scalar(select(Site.id).limit(1)) is not None:
        return False
    now = now or utcnow()
    rng = random.Random(1447)  # noqa: S311 - seeded demo data, reproducible on purpose; no secret
    sites = [Site(name_ar=ar, name_en=en, position=n, active=True) for n, (ar, en) in enumerate(SITES, start=1)]
    session.add_all(sites)
    session.flush()
    supervisor = session.scalar(select(User).join(UserRole, UserRole.user_id == User.id)
                                .where(UserRole.role == Role.SUPERVISOR).order_by(User.id).limit(1))
    staff = session.scalar(select(User).join(UserRole, UserRole.user_id == User.id)
                           .where(UserRole.role == Role.STAFF).order_by(User.id).limit(1))
    items = service.items(session)
    aux = service.aux_services(session)
    from desk.sla.service import load_calendar
    calendar = load_calendar(session)
    today = today_riyadh(now)
    for back in range(1, 15):
        day = today - timedelta(days=back)
        if not calendar.is_working_day(day):
            continue
        for site in sites:
            if rng.random() < 0.15:
                continue  # a missing survey, as happens
            submitted = rng.random() < 0.9
            at = datetime.combine(day, datetime.min.time(), tzinfo=RIYADH) + timedelta(hours=9, minutes=rng.randint(0, 90))
            survey = Survey(site_id=site.id, day=day, status=SurveyStatus.SUBMITTED if submitted else SurveyStatus.DRAFT,
                            opened_by_id=supervisor.id if supervisor else None, opened_at=at, updated_at=at,
                            submitted_by_id=supervisor.id if supervisor and submitted else None,
                            submitted_at=at + timedelta(minutes=25) if submitted else None)
            session.add(survey)
            session.flush()
            for item in items:
                note = NOTES.get(item.code) if item.code else None
                attention = note is not None and rng.random() < 0.12
                session.add(SurveyAnswer(
                    survey_id=survey.id, item_id=item.id, item_text_ar=item.text_ar, item_text_en=item.text_en,
                    position=item.position, state=AnswerState.ATTENTION if attention else AnswerState.OK,
                    note=note if attention else None, answered_by_id=survey.opened_by_id, answered_at=at))
        for site in sites:
            for _ in range(rng.randint(4, 25) if site.position == 1 else rng.randint(1, 10)):
                at = datetime.combine(day, datetime.min.time(), tzinfo=RIYADH) + timedelta(minutes=rng.randint(480, 900))
                session.add(VisitorTap(site_id=site.id, day=day, created_at=at, recorded_by_id=staff.id if staff else None,
                                       reason=rng.choice(service.VISIT_REASONS)))
            for _ in range(rng.randint(0, 6)):
                at = datetime.combine(day, datetime.min.time(), tzinfo=RIYADH) + timedelta(minutes=rng.randint(480, 900))
                session.add(AuxServiceTap(site_id=site.id, service_id=rng.choice(aux).id, day=day, created_at=at,
                                          recorded_by_id=staff.id if staff else None))
    session.add(Emergency(
        site_id=sites[1].id, occurred_at=now - timedelta(hours=3),
        what_happened="انقطاع التكييف في صالة الانتظار مع وجود عدد من كبار السن.",
        action_taken="نقل المراجعين إلى قاعة الاجتماعات وطلب فني الصيانة فورا.",
        severity=Severity.MEDIUM, status=EmergencyStatus.OPEN, recorded_by_id=supervisor.id if supervisor else None,
        created_at=now - timedelta(hours=3)))
    commit(session)
    return True
