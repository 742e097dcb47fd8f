"""The desk-wide ceiling on anonymous portal requests (issue 16, point 8).

The portal's limits are per IP address and per mobile number; a request sent without a name has
no mobile number, so sixty addresses each sending one make sixty tickets. Beside those limits,
at most DESK_PORTAL_ANONYMOUS_PER_HOUR anonymous requests are accepted in any 60 minutes, the
whole desk together; past it an anonymous request is turned away with a calm message (what was
typed kept; sending it with a name and mobile number still works), and the supervisors are
told once per clock hour, not once per refused request.

Counted from the database (the tickets themselves), never from a process's memory: several
gunicorn workers share one ceiling. Two requests at the very same moment may both pass the
last place (each counts before the other commits): the ceiling is a brake on floods, not a
quota to the unit.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.models import Channel, PortalCeiling, Ticket, utcnow
from desk.notify import service as notify_service
from desk.notify.messages import absolute_url
from desk.sla.tickets import supervisors
from desk.transaction import atomic

WINDOW = timedelta(hours=1)


def anonymous_in_window(session: Session, now: datetime) -> int:
    """Anonymous requests from the portal (website, recorded by nobody at the desk) in the last hour."""
    return session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.created_at > now - WINDOW, Ticket.channel == Channel.WEBSITE, Ticket.anonymous.is_(True),
        Ticket.created_by_id.is_(None))) or 0


def reached(session: Session, limit: int, now: datetime | None = None) -> bool:
    """The ceiling is reached (``limit`` 0: there is none)."""
    return limit > 0 and anonymous_in_window(session, now or utcnow()) >= limit


def refuse(session: Session, limit: int, now: datetime | None = None) -> bool:
    """Record one anonymous request turned away. The first in its clock hour (whichever worker)
    creates the hour's row and queues the notice to the supervisors, in one transaction; the
    others count on that row. True when this call told the supervisors."""
    now = now or utcnow()
    hour = now.replace(minute=0, second=0, microsecond=0)
    with atomic(session):
        try:
            with session.begin_nested():
                session.add(PortalCeiling(hour=hour, reached_at=now, refused=1))
        except IntegrityError:  # this hour's notice is sent already
            session.execute(update(PortalCeiling).where(PortalCeiling.hour == hour)
                            .values(refused=PortalCeiling.refused + 1))
            return False
        notify_service.notify_users(session, "portal_ceiling", supervisors(session),
                                    "notify/portal_ceiling.txt", limit=limit, reached_at=now,
                                    link=absolute_url("queue.index"))
    return True
