"""What the audit trail records besides sign-ins and requests about personal data (issue 16,
point 3): refused access, document downloads, exports and reports, admin changes old → new,
beneficiary record edits wherever they happen; and the audit screen for admins and the DPO."""
from __future__ import annotations

from sqlalchemy import select

from desk import audit
from desk.models import AuditAction, AuditEntry


def _rows(db, action):
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == str(action)).order_by(AuditEntry.id)))


def test_a_ticket_one_may_not_see_is_a_404_recorded_as_refused(db, people, make_ticket, as_user):
    ticket = make_ticket()  # SOCIAL's
    browser = as_user(people.other_focal)  # AID's focal point
    assert browser.get(f"/tickets/{ticket.reference}").status_code == 404
    assert browser.get(f"/tickets/{ticket.reference}", htmx=True, headers={"HX-Target": "ticket-props"}).status_code == 404
    assert browser.get("/tickets/C-1448-999999").status_code == 404  # no such ticket: nobody's data, not recorded
    refused = _rows(db, AuditAction.ACCESS_REFUSED)
    assert [(r.actor_id, r.record_type, r.record_id, r.ticket_id) for r in refused] == [
        (people.other_focal.id, "ticket", ticket.reference, ticket.id)] * 2
    assert as_user(people.focal).get(f"/tickets/{ticket.reference}").status_code == 200
    assert len(_rows(db, AuditAction.ACCESS_REFUSED)) == 2
    assert audit.verify(db.session)[1] is None
