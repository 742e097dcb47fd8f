"""Issue 16, point 8: a desk-wide ceiling on anonymous portal requests per hour, beside the
per-address limits: many addresses each sending one anonymous complaint stop at the ceiling,
the person gets a calm message with what they typed, the supervisors one notice per hour.
Counted from the database, so every worker (and every process) sees the same ceiling."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from desk.models import OutboxMessage, PortalCeiling, Ticket, utcnow
from desk.portal import ceiling
from tests.conftest import Browser

LIMIT = 3


@pytest.fixture
def low_ceiling(app, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_PORTAL_ANONYMOUS_PER_HOUR", LIMIT)


def _anonymous(app, n: int, body="رائحة كريهة في مكتب الاستقبال"):
    """One anonymous complaint from address 198.51.100.<n> (a new visitor each time)."""
    browser = Browser(app.test_client())
    browser.client.environ_base["REMOTE_ADDR"] = f"198.51.100.{n}"
    browser.refresh_token("/portal/new")
    return browser.post("/portal/new", {"kind": "complaint", "anonymous": "y", "subject": f"شكوى {n}", "body": body},
                        content_type="multipart/form-data")


def _named(app, n: int):
    browser = Browser(app.test_client())
    browser.client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n}"
    browser.refresh_token("/portal/new")
    return browser.post("/portal/new", {"kind": "complaint", "name": "سارة العتيبي", "phone": f"05512345{n:02d}",
                                        "subject": "s", "body": "b"}, content_type="multipart/form-data")


def _count(db, model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_many_addresses_stop_at_the_ceiling_with_a_calm_message_and_one_notice(app, db, people, low_ceiling):
    codes = [_anonymous(app, n).status_code for n in range(1, LIMIT + 1)]
    assert codes == [303] * LIMIT
    refused = [_anonymous(app, n, body=f"نص كتبه الزائر {n}") for n in range(LIMIT + 1, LIMIT + 6)]
    assert [r.status_code for r in refused] == [429] * 5
    html = refused[0].get_data(as_text=True)
    assert f"نص كتبه الزائر {LIMIT + 1}" in html  # what they typed is kept
    assert 'id="anonymous-msg"' in html and "باسمك" in html  # the way forward, by the box
    assert _count(db, Ticket) == LIMIT
    # One notice to each supervisor, however many were turned away.
    notices = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "portal_ceiling")).all()
    assert [n.to_user_id for n in notices] == [people.supervisor.id]
    (row,) = db.session.scalars(select(PortalCeiling)).all()
    assert row.refused == 5


def test_a_request_with_a_name_is_still_accepted(app, db, people, low_ceiling):
    for n in range(1, LIMIT + 1):
        assert _anonymous(app, n).status_code == 303
    assert _anonymous(app, 50).status_code == 429
    assert _named(app, 1).status_code == 303
    assert _count(db, Ticket) == LIMIT + 1


def test_the_count_is_the_databases_last_hour(app, db, people, low_ceiling):
    for n in range(1, LIMIT + 1):
        assert _anonymous(app, n).status_code == 303
    # What another worker (or process) recorded counts the same; an hour later it no longer does.
    assert ceiling.reached(db.session, LIMIT)
    assert not ceiling.reached(db.session, LIMIT, now=utcnow() + timedelta(hours=1, seconds=1))
    assert not ceiling.reached(db.session, 0)  # 0: no ceiling
    for ticket in db.session.scalars(select(Ticket)):
        ticket.created_at = utcnow() - timedelta(minutes=61)
    db.session.commit()
    assert _anonymous(app, 99).status_code == 303


def test_the_next_hour_tells_the_supervisors_again(db, people):
    first = utcnow().replace(minute=10)
    assert ceiling.refuse(db.session, LIMIT, now=first) is True
    assert ceiling.refuse(db.session, LIMIT, now=first + timedelta(minutes=20)) is False
    assert ceiling.refuse(db.session, LIMIT, now=first + timedelta(hours=1)) is True
    assert _count(db, OutboxMessage, OutboxMessage.reason == "portal_ceiling") == 2
    assert sorted(r.refused for r in db.session.scalars(select(PortalCeiling))) == [1, 2]


def test_staff_tickets_and_named_requests_do_not_count(app, db, people, make_ticket, low_ceiling):
    for n in range(1, LIMIT + 2):
        assert _named(app, n).status_code == 303
    from desk.models import Channel
    make_ticket(channel=Channel.WEBSITE, anonymous=True, new_beneficiary=None)  # typed in at the desk
    assert ceiling.anonymous_in_window(db.session, utcnow()) == 0
    assert _anonymous(app, 1).status_code == 303
