"""Follow-up (/followup): per active department what is open, waiting and unassigned, and how
long the oldest open ticket has sat; the nudge records a reminder and notifies the focal points."""
from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select, update

from desk.cli import ensure_department
from desk.followup import service as followup
from desk.models import Status, Ticket, TicketEvent, utcnow


def set_(db, ticket, **values):
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(**values))
    db.session.commit()


def reminders(db):
    db.session.expire_all()
    return db.session.scalars(select(TicketEvent).where(TicketEvent.kind == "reminder")).all()


@pytest.fixture
def sent(monkeypatch):
    calls = []

    def fake(session, kind, ticket, recipients, actor=None, note=""):
        calls.append(SimpleNamespace(kind=kind, reference=ticket.reference, recipients={u.id for u in recipients},
                                     actor=actor.id if actor else None, note=note))
        return []

    monkeypatch.setattr("desk.notify.service.notify", fake)
    return calls


@pytest.fixture
def spread(db, people, make_ticket, sent):
    """SOCIAL: an old new one (9 days), an assigned open one, a waiting one, a resolved one;
    AID: nothing open; one unrouted; an inactive department with an open ticket."""
    now = utcnow()
    made = {"old": make_ticket(), "assigned": make_ticket(), "waiting": make_ticket(), "resolved": make_ticket(),
            "aid_resolved": make_ticket(department_id=people.aid.id), "unrouted": make_ticket(department_id=None)}
    set_(db, made["old"], created_at=now - timedelta(days=9, hours=1))
    set_(db, made["assigned"], status=Status.OPEN, assignee_id=people.focal.id, created_at=now - timedelta(days=3))
    set_(db, made["waiting"], status=Status.WAITING, created_at=now - timedelta(days=1))
    set_(db, made["resolved"], status=Status.RESOLVED, created_at=now - timedelta(days=30))
    set_(db, made["aid_resolved"], status=Status.RESOLVED)
    closed = ensure_department("OLD", "قسم سابق", "Former")
    made["inactive"] = make_ticket(department_id=closed.id)
    closed.active = False  # deactivated afterwards, its ticket still open
    db.session.commit()
    sent.clear()  # what intake notified is not under test here
    return made


def test_board_counts_per_active_department(db, people, spread):
    rows = followup.board(db.session, people.staff)
    by_code = {(r.department.code if r.department else None): r for r in rows}
    assert list(by_code) == ["AID", "SOCIAL", None]  # active departments by code, then unrouted
    social = by_code["SOCIAL"]
    assert (social.open, social.waiting, social.unassigned, social.days) == (3, 1, 2, 9)
    assert social.oldest == db.session.get(Ticket, spread["old"].id).created_at
    aid = by_code["AID"]
    assert (aid.open, aid.waiting, aid.unassigned, aid.oldest, aid.days) == (0, 0, 0, None, None)
    assert (by_code[None].open, by_code[None].unassigned) == (1, 1)


def test_board_is_two_queries_whatever_the_number_of_tickets(db, people, spread, make_ticket):
    statements = []

    def count(conn, cursor, statement, *args):
        if "FROM tickets" in statement or "FROM departments" in statement:  # not the actor's reload
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        followup.board(db.session, people.staff)
        first = len(statements)
        for _ in range(5):
            make_ticket()
        statements.clear()
        followup.board(db.session, people.staff)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == first <= 2
    assert any("GROUP BY" in s for s in statements)


@pytest.mark.parametrize("role", ["staff", "supervisor", "admin"])
def test_board_page_for_staff_supervisors_and_admins(as_user, people, spread, role):
    response = as_user(getattr(people, role)).get("/followup")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert people.social.name_ar in html and people.aid.name_ar in html and "قسم سابق" not in html
    row = re.search(rf'<tr class="desk-followup-row" id="followup-{people.social.id}">(.*?)</tr>', html, re.S).group(1)
    assert [c.strip() for c in re.findall(r"<td>([^<]*)</td>", row)][:4] == ["٣", "١", "٢", "٩"]
    assert "هـ" in row and "م" in row                                  # Hijri and Gregorian
    assert f"/tickets?department={people.social.id}&amp;dir=asc" in row  # the queue, oldest first
    assert f"/followup/{people.social.id}/nudge" in row
    assert f"/followup/{people.aid.id}/nudge" not in html              # nothing open: nothing to nudge
    assert 'href="/followup"' in html                                   # the nav link


def test_board_fragment_for_htmx(as_user, people, spread):
    response = as_user(people.staff).get("/followup", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and html.lstrip().startswith('<div id="followup-board"')


def test_focal_points_have_no_follow_up(as_user, people, spread):
    focal = as_user(people.focal)
    assert focal.get("/followup").status_code == 403
    assert 'href="/followup"' not in focal.get("/tickets").get_data(as_text=True)


def test_signed_out_is_sent_to_sign_in(browser):
    response = browser.get("/followup")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("htmx", [True, False])
def test_nudge_reminds_about_the_oldest_open_ticket(as_user, people, spread, db, sent, htmx):
    staff = as_user(people.staff)
    response = staff.post(f"/followup/{people.social.id}/nudge", {"note": "نرجو الإسراع"}, htmx=htmx)
    if htmx:
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "<html" not in html
        assert spread["old"].reference in html and "text-success" in html
    else:
        assert response.status_code == 302 and response.headers["Location"] == "/followup"
        assert spread["old"].reference in staff.get("/followup").get_data(as_text=True)  # the flash
    [reminder] = reminders(db)
    assert (reminder.ticket_id, reminder.actor_id, reminder.body) == (spread["old"].id, people.staff.id, "نرجو الإسراع")
    assert [(c.kind, c.reference, c.recipients, c.note) for c in sent] == [
        ("reminder", spread["old"].reference, {people.focal.id}, "نرجو الإسراع")]
    # the reminder is on the ticket's timeline, for the focal point too
    page = as_user(people.focal).get(f"/tickets/{spread['old'].reference}").get_data(as_text=True)
    assert "desk-event-reminder" in page


def test_nudge_a_department_with_nothing_open_is_refused(as_user, people, spread, db, sent):
    response = as_user(people.supervisor).post(f"/followup/{people.aid.id}/nudge", {}, htmx=True)
    assert response.status_code == 422 and "text-danger" in response.get_data(as_text=True)
    assert reminders(db) == [] and sent == []


def test_nudge_a_department_without_focal_points_is_refused(as_user, people, db, make_ticket, sent):
    empty = ensure_department("EMPTY", "قسم بلا ضابط اتصال", "No focal point")
    make_ticket(department_id=empty.id)
    sent.clear()
    response = as_user(people.staff).post(f"/followup/{empty.id}/nudge", {}, htmx=True)
    assert response.status_code == 422
    assert reminders(db) == [] and sent == []


@pytest.mark.parametrize("htmx", [True, False])
def test_nudge_without_csrf_is_refused(as_user, people, spread, db, sent, htmx):
    response = as_user(people.staff).post(f"/followup/{people.social.id}/nudge", {}, htmx=htmx, csrf=False)
    assert response.status_code == 400
    assert reminders(db) == [] and sent == []


def test_focal_point_may_not_nudge(as_user, people, spread, db, sent):
    response = as_user(people.focal).post(f"/followup/{people.social.id}/nudge", {}, htmx=True)
    assert response.status_code == 403
    assert reminders(db) == [] and sent == []


def test_nudge_unknown_department_is_refused(as_user, people, spread, db):
    assert as_user(people.staff).post("/followup/99999/nudge", {}, htmx=True).status_code == 422
    assert reminders(db) == []


def test_follow_up_in_english(as_user, people, spread):
    staff = as_user(people.staff)
    staff.post("/language", {"locale": "en"})
    html = staff.get("/followup").get_data(as_text=True)
    assert "Follow-up of departments" in html and "Social research" in html and "\u00a0AH" in html


# The nudge's ticket (review #8), its outcome (#9) and a conflict (#11) ---------------------------

def test_nudge_skips_a_ticket_waiting_on_the_beneficiary(as_user, people, spread, db, sent):
    """The waiting ticket is made the oldest: the department cannot hurry it, so the nudge is
    about the oldest new or in-progress one, and the board's oldest date is that one's."""
    set_(db, spread["waiting"], created_at=utcnow() - timedelta(days=20))
    row = {r.department.code: r for r in followup.board(db.session, people.staff) if r.department}["SOCIAL"]
    assert row.oldest == db.session.get(Ticket, spread["old"].id).created_at and row.days == 9
    response = as_user(people.staff).post(f"/followup/{people.social.id}/nudge", {}, htmx=True)
    assert response.status_code == 200 and spread["old"].reference in response.get_data(as_text=True)
    [reminder] = reminders(db)
    assert reminder.ticket_id == spread["old"].id


def test_a_department_with_only_waiting_tickets_has_nothing_to_nudge(as_user, people, spread, db, sent):
    for key in ("old", "assigned"):
        set_(db, spread[key], status=Status.WAITING)
    staff = as_user(people.staff)
    html = staff.get("/followup").get_data(as_text=True)
    assert f"/followup/{people.social.id}/nudge" not in html       # no button
    row = {r.department.code: r for r in followup.board(db.session, people.staff) if r.department}["SOCIAL"]
    assert (row.open, row.waiting, row.oldest, row.days) == (3, 3, None, None)
    response = staff.post(f"/followup/{people.social.id}/nudge", {}, htmx=True)
    assert response.status_code == 422 and reminders(db) == []


def test_nudge_says_how_many_focal_points_were_emailed(as_user, people, spread, db, monkeypatch):
    monkeypatch.setattr("desk.notify.service.notify",
                        lambda session, kind, ticket, recipients, actor=None, note="": [u for u in recipients])
    staff = as_user(people.staff)
    staff.post("/language", {"locale": "en"})
    html = staff.post(f"/followup/{people.social.id}/nudge", {}, htmx=True).get_data(as_text=True)
    assert f"About {spread['old'].reference}: The reminder is recorded; focal points to be emailed: 1." in html


def test_nudge_says_when_nobody_could_be_emailed(as_user, people, spread, db, sent):
    staff = as_user(people.staff)
    staff.post("/language", {"locale": "en"})
    response = staff.post(f"/followup/{people.social.id}/nudge", {}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "nobody could be emailed" in html  # (`sent` queues nothing)
    assert len(reminders(db)) == 1


@pytest.mark.parametrize("htmx", [True, False])
def test_nudge_that_meets_a_concurrent_change_re_renders_the_board(as_user, people, spread, db, sent, monkeypatch, htmx):
    """Someone changes the ticket between the nudge loading it and committing the reminder: the
    reminder is not recorded and the board comes back with a clear message (not an error page)."""
    real = followup.oldest_awaiting_ticket

    def loaded_then_changed(session, actor, department_id):
        ticket = real(session, actor, department_id)
        with db.engine.begin() as other:  # another editor commits first
            other.execute(update(Ticket).where(Ticket.id == ticket.id).values(version=Ticket.version + 1))
        return ticket

    monkeypatch.setattr(followup, "oldest_awaiting_ticket", loaded_then_changed)
    staff = as_user(people.staff)
    staff.post("/language", {"locale": "en"})
    response = staff.post(f"/followup/{people.social.id}/nudge", {"note": "نرجو الإسراع"}, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and ("<html" in html) is not htmx
    assert "The ticket changed while the reminder was being recorded" in html and 'id="followup-board"' in html
    assert reminders(db) == []  # rolled back, and the outbox rows with it (one transaction)
