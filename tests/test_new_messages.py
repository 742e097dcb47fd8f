"""New messages stand out (issue 18, point 6): a beneficiary's message nobody on the staff has
read is flagged in the queue and counted in the focal point's workspace; it clears when someone
who may see the ticket opens its page, and only for the message they were shown."""
from __future__ import annotations

import re

from sqlalchemy import update

from desk.models import Ticket
from desk.portal import service as portal
from desk.queue import service as queue
from desk.tickets import service as tickets


def beneficiary_writes(db, app, ticket, text="هل من جديد؟"):
    ticket = db.session.get(Ticket, ticket.id)
    portal.reply(db.session, ticket, text, [], reopen_days=14, directory=app.config["DESK_ATTACHMENT_DIR"],
                 max_bytes=1_000_000)
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


def flagged(html):
    """The references of the flagged rows (each row's reference link, after its bulk checkbox)."""
    rows = re.findall(r'<tr class="desk-row[^"]*desk-row-unread">(.*?)</tr>', html, re.S)
    return [ref for row in rows for ref in re.findall(r'<a class="desk-ref" href="/tickets/([A-Z]-\d{4}-\d{6})"', row)]


def test_a_beneficiary_message_is_flagged_until_staff_open_the_ticket(db, app, people, make_ticket, as_user):
    quiet, written = make_ticket(), make_ticket()
    assert not written.unread_message
    version = written.version
    written = beneficiary_writes(db, app, written)
    assert written.unread_message and not db.session.get(Ticket, quiet.id).unread_message

    staff = as_user(people.staff)
    html = staff.get("/tickets").get_data(as_text=True)
    assert flagged(html) == [written.reference]
    assert "New message" in html or "رسالة جديدة" in html
    focal = as_user(people.focal)
    page = focal.get("/tickets").get_data(as_text=True)
    counts = dict(re.findall(r'id="workspace-(\w+)">([^<]+)<', page))
    assert counts["unread"] == "١" and flagged(page) == [written.reference]

    # an htmx fragment of the ticket page is not "opening" it
    focal.get(f"/tickets/{written.reference}", htmx=True, headers={"HX-Target": "ticket-props"})
    db.session.expire_all()
    assert db.session.get(Ticket, written.id).unread_message

    assert focal.get(f"/tickets/{written.reference}").status_code == 200
    db.session.expire_all()
    read = db.session.get(Ticket, written.id)
    assert not read.unread_message
    assert read.version == version  # reading is no change: no version bump, no conflict for editors
    assert flagged(staff.get("/tickets").get_data(as_text=True)) == []
    assert queue.department_counts(db.session, people.focal)["unread"] == 0

    # the next message flags it again
    assert beneficiary_writes(db, app, read, "وصلتني رسالة").unread_message


def test_someone_who_may_not_see_the_ticket_does_not_clear_it(db, app, people, make_ticket, as_user):
    ticket = beneficiary_writes(db, app, make_ticket())  # SOCIAL's
    other = as_user(people.other_focal)  # AID's focal point
    assert other.get(f"/tickets/{ticket.reference}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).unread_message
    assert queue.department_counts(db.session, people.other_focal)["unread"] == 0


def test_a_message_arriving_after_the_page_was_loaded_stays_unread(db, app, people, make_ticket):
    ticket = beneficiary_writes(db, app, make_ticket())
    shown = tickets.get_ticket(db.session, people.focal, ticket.reference)
    seen = shown.beneficiary_message_at
    # meanwhile another message lands; the loaded ticket still holds the time the page showed
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id)
                       .values(beneficiary_message_at=seen.replace(year=seen.year + 1))
                       .execution_options(synchronize_session=False))
    assert shown.beneficiary_message_at == seen
    assert tickets.mark_read(db.session, shown) is False
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).unread_message


def test_the_queue_refresh_notices_a_read(db, app, people, make_ticket):
    ticket = beneficiary_writes(db, app, make_ticket())
    filters = queue.parse_filters({})
    before = queue.change_token(db.session, people.staff, filters)
    assert queue.change_token(db.session, people.staff, filters) == before
    assert tickets.mark_read(db.session, tickets.get_ticket(db.session, people.staff, ticket.reference))
    assert queue.change_token(db.session, people.staff, filters) != before
