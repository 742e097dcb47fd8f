"""Demo training log for `flask desk demo`: a few courses for the staff, one with none in the
last 12 months. Only when the log is empty."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.models import TrainingEntry, utcnow
from desk.text import today_riyadh
from desk.training import service
from desk.transaction import commit

COURSES = (
    ("مهارات التواصل مع المستفيدين", "المركز الوطني لتنمية القطاع غير الربحي", 40, 600),
    ("التعامل مع الشكاوى وتسويتها وديا", "معهد الإدارة العامة", 120, 1250),
    ("حماية البيانات الشخصية", "الجمعية", 200, 150),
)


def load(session: Session) -> bool:
    if session.scalar(select(TrainingEntry.id).limit(1)) is not None:
        return False
    people = service.trainees(session)
    today = today_riyadh()
    for n, person in enumerate(people[:-1]):  # the last has no training: the report names them
        course, provider, days_ago, centihours = COURSES[n % len(COURSES)]
        session.add(TrainingEntry(user_id=person.id, course=course, provider=provider,
                                  day=today - timedelta(days=days_ago + n), centihours=centihours, created_at=utcnow()))
    commit(session)
    return True
