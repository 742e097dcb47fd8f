"""The ticket page: every change an event, HTMX fragments with full-page fallbacks,
object-level authorisation, CSRF, and optimistic locking between two editors."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from desk.models import Ticket, TicketEvent


def events(db, ticket):
    return db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)).all()


def test_ticket_page_full_and_shows_everything(as_user, people, make_ticket):
    ticket = make_ticket()
    html = as_user(people.staff).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "<html" in html and ticket.subject in html and ticket.body in html
    assert ticket.beneficiary.name in html
    assert ticket.beneficiary.phone not in html  # masked
    assert "هـ" in html and "الموافق" in html      # Hijri beside Gregorian


@pytest.mark.parametrize("target", ["ticket-timeline", "ticket-props", "ticket-header", "ticket-beneficiary", "ticket-compose"])
def test_ticket_page_fragments_for_htmx(as_user, people, make_ticket, target):
    ticket = make_ticket()
    response = as_user(people.staff).get(f"/tickets/{ticket.reference}", htmx=True, headers={"HX-Target": target})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert f'id="{target}"' in html


def test_focal_point_gets_404_for_fragments_too(as_user, people, make_ticket):
    ticket = make_ticket(department_id=people.aid.id)
    response = as_user(people.focal).get(f"/tickets/{ticket.reference}", htmx=True, headers={"HX-Target": "ticket-timeline"})
    assert response.status_code == 404


def test_unknown_reference_is_404(as_user, people):
    assert as_user(people.staff).get("/tickets/C-1447-999999").status_code == 404


@pytest.mark.parametrize("path,method", [
    ("/tickets/{ref}", "get"),
    ("/tickets/{ref}/comments", "post"),
    ("/tickets/{ref}/change/status", "post"),
    ("/tickets/{ref}/change/assignee", "post"),
])
@pytest.mark.parametrize("htmx", [False, True])
def test_focal_point_gets_404_for_another_departments_ticket(as_user, people, make_ticket, db, path, method, htmx):
    ticket = make_ticket(department_id=people.aid.id)
    before = len(events(db, ticket))
    focal = as_user(people.focal)
    url = path.format(ref=ticket.reference)
    data = {"body": "x", "visibility": "note", "value": "open", "version": str(ticket.version)}
    response = focal.get(url, htmx=htmx) if method == "get" else focal.post(url, data, htmx=htmx)
    assert response.status_code == 404
    assert len(events(db, ticket)) == before  # nothing recorded


def test_focal_point_works_their_departments_ticket(as_user, people, make_ticket, db):
    ticket = make_ticket(department_id=people.social.id)
    focal = as_user(people.focal)
    assert focal.get(f"/tickets/{ticket.reference}").status_code == 200
    response = focal.post(f"/tickets/{ticket.reference}/change/status", {"value": "open", "version": ticket.version}, htmx=True)
    assert response.status_code == 200


def test_focal_point_may_not_move_a_ticket_to_another_department(as_user, people, make_ticket, db):
    ticket = make_ticket(department_id=people.social.id)
    response = as_user(people.focal).post(f"/tickets/{ticket.reference}/change/department",
                                          {"value": str(people.aid.id), "version": ticket.version})
    assert response.status_code == 403
    db.session.refresh(ticket)
    assert ticket.department_id == people.social.id


def test_change_status_htmx_returns_fragments_and_records_event(as_user, people, make_ticket, db):
    ticket = make_ticket()
    response = as_user(people.staff).post(f"/tickets/{ticket.reference}/change/status",
                                          {"value": "waiting", "version": ticket.version}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="ticket-props"' in html
    assert 'id="ticket-timeline" class="card mb-3" hx-swap-oob="true"' in html
    last = events(db, ticket)[-1]
    assert (last.kind, last.old_value, last.new_value, last.actor_id) == ("status", "new", "waiting", people.staff.id)


def test_change_status_full_page_fallback_redirects(as_user, people, make_ticket, db):
    ticket = make_ticket()
    response = as_user(people.staff).post(f"/tickets/{ticket.reference}/change/status", {"value": "open", "version": ticket.version})
    assert response.status_code == 302 and response.headers["Location"] == f"/tickets/{ticket.reference}"
    db.session.refresh(ticket)
    assert ticket.status == "open"


def test_full_lifecycle_with_reopen(as_user, people, make_ticket, db):
    ticket = make_ticket()
    staff = as_user(people.staff)
    for status in ("open", "waiting", "open", "resolved", "closed", "open"):
        db.session.refresh(ticket)
        if status == "resolved":  # the one way to resolve: with the action taken (desk.tickets.actions)
            response = staff.post(f"/tickets/{ticket.reference}/actions/resolve",
                                  {"action_taken": "صُرفت السلة", "version": ticket.version}, htmx=True)
        else:
            response = staff.post(f"/tickets/{ticket.reference}/change/status", {"value": status, "version": ticket.version}, htmx=True)
        assert response.status_code == 200, status
    db.session.refresh(ticket)
    assert ticket.status == "open" and ticket.resolved_at is None and ticket.closed_at is None
    assert [e.new_value for e in events(db, ticket) if e.kind in ("status", "resolved")] == ["open", "waiting", "open", "resolved", "closed", "open"]


def test_invalid_transition_refused_with_message(as_user, people, make_ticket, db):
    ticket = make_ticket()
    staff = as_user(people.staff)
    staff.post(f"/tickets/{ticket.reference}/change/status", {"value": "closed", "version": ticket.version})
    db.session.refresh(ticket)
    response = staff.post(f"/tickets/{ticket.reference}/change/status", {"value": "waiting", "version": ticket.version}, htmx=True)
    assert response.status_code == 422 and "invalid-feedback" in response.get_data(as_text=True)
    db.session.refresh(ticket)
    assert ticket.status == "closed"


def test_priority_department_and_assignee_changes_are_events(as_user, people, make_ticket, db):
    ticket = make_ticket(department_id=None)
    staff = as_user(people.staff)
    staff.post(f"/tickets/{ticket.reference}/change/priority", {"value": "3", "version": ticket.version}, htmx=True)
    db.session.refresh(ticket)
    staff.post(f"/tickets/{ticket.reference}/change/department", {"value": str(people.social.id), "version": ticket.version}, htmx=True)
    db.session.refresh(ticket)
    staff.post(f"/tickets/{ticket.reference}/change/assignee", {"value": str(people.focal.id), "version": ticket.version}, htmx=True)
    db.session.refresh(ticket)
    assert (ticket.priority, ticket.department_id, ticket.assignee_id) == (3, people.social.id, people.focal.id)
    assert ticket.status == "open"  # assigning a new ticket opens it
    kinds = [(e.kind, e.old_value, e.new_value, e.reason) for e in events(db, ticket)[1:] if e.kind != "receipt"]
    # choosing the department of an unrouted ticket routes it, "chosen by staff" (a code)
    assert kinds == [("priority", "2", "3", None), ("routed", None, str(people.social.id), "staff"),
                     ("assignee", None, str(people.focal.id), None), ("status", "new", "open", None)]


@pytest.mark.parametrize("htmx", [True, False])
@pytest.mark.parametrize("target", ["aid", "unrouted"])
def test_the_department_list_of_a_routed_ticket_leads_to_the_transfer_or_return_form(as_user, people, make_ticket, db,
                                                                                      htmx, target):
    """Re-routing needs a reason: the list opens the transfer form (the department chosen) or,
    for "unrouted", the return form; nothing changes until it is sent."""
    ticket = make_ticket(department_id=people.social.id)
    before = (len(events(db, ticket)), ticket.version)
    value = str(people.aid.id) if target == "aid" else ""
    response = as_user(people.staff).post(f"/tickets/{ticket.reference}/change/department",
                                          {"value": value, "version": ticket.version}, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and ("<html" in html) is not htmx
    if target == "aid":
        assert 'id="action-transfer" open' in html
        assert re.search(rf'<option value="{people.aid.id}" selected>', html)  # the department chosen
    else:
        assert 'id="action-return" open' in html
    assert "invalid-feedback" in html  # the message by the list
    if htmx:
        assert 'id="ticket-actions" class="card mb-3" hx-swap-oob="true"' in html
    db.session.refresh(ticket)
    assert ticket.department_id == people.social.id and (len(events(db, ticket)), ticket.version) == before


def test_assignee_must_work_on_the_department(as_user, people, make_ticket, db):
    ticket = make_ticket(department_id=people.social.id)
    response = as_user(people.focal).post(f"/tickets/{ticket.reference}/change/assignee",
                                          {"value": str(people.other_focal.id), "version": ticket.version}, htmx=True)
    assert response.status_code == 422
    db.session.refresh(ticket)
    assert ticket.assignee_id is None


def test_internal_note_and_public_reply(as_user, people, make_ticket, db):
    ticket = make_ticket()
    staff = as_user(people.staff)
    note = staff.post(f"/tickets/{ticket.reference}/comments", {"body": "اتصلت بالمستفيد", "visibility": "note", "version": ticket.version}, htmx=True)
    assert note.status_code == 200
    db.session.refresh(ticket)
    version_after_note = ticket.version
    reply = staff.post(f"/tickets/{ticket.reference}/comments", {"body": "تم استلام طلبك", "visibility": "reply", "version": ticket.version}, htmx=True)
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    assert "تم استلام طلبك" in html and 'id="ticket-compose"' in html
    db.session.refresh(ticket)
    assert ticket.first_response_at is not None and ticket.status == "open"
    assert ticket.version > version_after_note
    kinds = [(e.kind, e.public) for e in events(db, ticket)]
    assert ("note", False) in kinds and ("reply", True) in kinds


def test_empty_comment_keeps_form_and_writes_nothing(as_user, people, make_ticket, db):
    ticket = make_ticket()
    before = len(events(db, ticket))
    response = as_user(people.staff).post(f"/tickets/{ticket.reference}/comments", {"body": "   ", "visibility": "note", "version": ticket.version}, htmx=True)
    assert response.status_code == 422 and "invalid-feedback" in response.get_data(as_text=True)
    assert "Write the text first" in response.get_data(as_text=True) or "اكتب" in response.get_data(as_text=True)
    assert len(events(db, ticket)) == before


def test_comment_full_page_fallback(as_user, people, make_ticket, db):
    ticket = make_ticket()
    response = as_user(people.staff).post(f"/tickets/{ticket.reference}/comments", {"body": "ملاحظة", "visibility": "note", "version": ticket.version})
    assert response.status_code == 302


@pytest.mark.parametrize("htmx", [False, True])
def test_state_changes_without_csrf_are_refused(as_user, people, make_ticket, db, htmx):
    ticket = make_ticket()
    before = len(events(db, ticket))
    staff = as_user(people.staff)
    for path, data in ((f"/tickets/{ticket.reference}/comments", {"body": "x", "visibility": "note"}),
                       (f"/tickets/{ticket.reference}/change/status", {"value": "open"})):
        data["version"] = ticket.version
        assert staff.post(path, data, htmx=htmx, csrf=False).status_code == 400
    assert len(events(db, ticket)) == before


def test_two_editors_second_status_change_is_refused_and_told_what_changed(as_user, people, make_ticket, db):
    ticket = make_ticket()
    loaded_version = ticket.version
    first, second = as_user(people.staff), as_user(people.supervisor)
    assert first.post(f"/tickets/{ticket.reference}/change/status", {"value": "waiting", "version": loaded_version}, htmx=True).status_code == 200
    response = second.post(f"/tickets/{ticket.reference}/change/priority", {"value": "4", "version": loaded_version}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "desk-conflict" in html and "سارة" in html  # who changed it
    assert 'value="4" selected' in html                # their choice kept
    db.session.refresh(ticket)
    assert ticket.priority == 2 and ticket.status == "waiting"


def test_two_editors_second_reply_is_refused_and_text_kept(as_user, people, make_ticket, db):
    ticket = make_ticket()
    loaded_version = ticket.version
    first, second = as_user(people.staff), as_user(people.supervisor)
    first.post(f"/tickets/{ticket.reference}/comments", {"body": "الرد الأول", "visibility": "reply", "version": loaded_version}, htmx=True)
    response = second.post(f"/tickets/{ticket.reference}/comments", {"body": "نص كتبته بعناية", "visibility": "reply", "version": loaded_version}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "نص كتبته بعناية" in html and "desk-conflict" in html
    assert sum(1 for e in events(db, ticket) if e.kind == "reply") == 1
    # submitting again after reading works: the form now carries the current version
    db.session.refresh(ticket)
    again = second.post(f"/tickets/{ticket.reference}/comments", {"body": "نص كتبته بعناية", "visibility": "reply", "version": ticket.version}, htmx=True)
    assert again.status_code == 200


def test_internal_notes_never_conflict(as_user, people, make_ticket, db):
    ticket = make_ticket()
    stale = ticket.version
    as_user(people.staff).post(f"/tickets/{ticket.reference}/change/status", {"value": "open", "version": stale})
    response = as_user(people.supervisor).post(f"/tickets/{ticket.reference}/comments", {"body": "ملاحظة", "visibility": "note", "version": stale}, htmx=True)
    assert response.status_code == 200


def test_concurrent_write_between_check_and_commit_is_caught(app, people, make_ticket, db):
    """A write committed by another connection after this one loaded the ticket is refused."""
    from sqlalchemy import update

    from desk.errors import StaleVersion
    from desk.tickets import service

    ticket = make_ticket()
    loaded = ticket.version
    with db.engine.begin() as conn:  # someone else commits after we loaded the row
        conn.execute(update(Ticket).where(Ticket.id == ticket.id).values(version=loaded + 1))
    with pytest.raises(StaleVersion):
        service.change_field(db.session, people.staff, ticket, "priority", "4", expected_version=loaded)
    db.session.rollback()
    assert db.session.get(Ticket, ticket.id).priority == 2


def test_english_ticket_page(as_user, people, make_ticket):
    ticket = make_ticket()
    staff = as_user(people.staff)
    staff.post("/language", {"locale": "en"})
    html = staff.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert 'dir="ltr"' in html and "Timeline" in html and "\u00a0AH" in html


def test_user_text_is_escaped(as_user, people, make_ticket):
    ticket = make_ticket(subject='<script>alert(1)</script>', body='<img src=x onerror=alert(1)> hx-get="/x"')
    html = as_user(people.staff).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_verification_and_attestation_recorded_after_intake(as_user, people, make_ticket, db):
    ticket = make_ticket()
    staff = as_user(people.staff)
    page = staff.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "/change/verified" in page and "/change/attested" in page
    assert staff.post(f"/tickets/{ticket.reference}/change/verified", {"value": "1", "version": ticket.version}, htmx=True).status_code == 200
    db.session.refresh(ticket)
    assert staff.post(f"/tickets/{ticket.reference}/change/attested", {"value": "1", "version": ticket.version}, htmx=True).status_code == 200
    db.session.refresh(ticket)
    assert ticket.verified_by_id == people.staff.id and ticket.attested
    assert [e.kind for e in events(db, ticket)][-2:] == ["verified", "attested"]


def test_beneficiary_history_respects_visibility(as_user, people, make_ticket, db):
    first = make_ticket(department_id=people.social.id)
    hidden = make_ticket(department_id=people.aid.id, beneficiary_id=first.beneficiary_id, new_beneficiary=None)
    current = make_ticket(department_id=people.social.id, beneficiary_id=first.beneficiary_id, new_beneficiary=None)
    staff_html = as_user(people.staff).get(f"/tickets/{current.reference}").get_data(as_text=True)
    assert first.reference in staff_html and hidden.reference in staff_html
    focal_html = as_user(people.focal).get(f"/tickets/{current.reference}").get_data(as_text=True)
    assert first.reference in focal_html and hidden.reference not in focal_html
