"""Revealing a full national ID or mobile number (desk.privacy.reveal, issue 16 point 2): a
permission the admin gives per role, a reason chosen or typed, one audit row per reveal (who,
whose record, which field, why, from which ticket) shown in the record's access log, and every
refusal recorded too."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from desk import audit
from desk.accounts import admin as accounts_admin
from desk.beneficiaries.service import NewBeneficiary
from desk.errors import Forbidden, NotFound, ValidationFailed
from desk.models import AuditAction, AuditEntry, RoleGrant
from desk.permissions import Action, can, grants
from desk.privacy import reveal
from desk.transaction import commit
from tests.conftest import VALID_NID, count


def _grant(db, *pairs):
    for role, permission in pairs:
        db.session.add(RoleGrant(role=role, permission=permission))
    commit(db.session)


def _rows(db, action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == str(action)).order_by(AuditEntry.id)))


@pytest.fixture
def ticket(make_ticket):
    return make_ticket(new_beneficiary=NewBeneficiary(name="هند سالم", national_id=VALID_NID, phone="+966501234567"))


def test_the_permission_is_the_admins_choice_per_role(db, people, ticket):
    assert not can(people.staff, Action.REVEAL_NATIONAL_ID)
    with pytest.raises(ValidationFailed):  # not a box of the table: nothing saved
        accounts_admin.set_grants(db.session, people.admin, ["staff:reveal.national_id", "admin:nonsense"])
    assert grants(db.session) == set()
    accounts_admin.set_grants(db.session, people.admin, ["staff:reveal.national_id"])
    assert grants(db.session) == {("staff", "reveal.national_id")}
    assert can(people.staff, Action.REVEAL_NATIONAL_ID, ticket)
    assert not can(people.staff, Action.REVEAL_PHONE, ticket)
    # the grant holds only on tickets the holder may see
    _grant(db, ("focal", "reveal.national_id"))
    assert can(people.focal, Action.REVEAL_NATIONAL_ID, ticket)
    assert not can(people.other_focal, Action.REVEAL_NATIONAL_ID, ticket)
    change = _rows(db, AuditAction.ADMIN_CHANGE)[0]
    assert change.record_id == "role_grants" and change.detail == {"old": [], "new": ["staff:reveal.national_id"]}
    with pytest.raises(NotFound):
        accounts_admin.set_grants(db.session, people.staff, ["staff:reveal.phone"])


def test_a_reveal_from_a_ticket_is_recorded_with_its_reason(db, people, ticket):
    _grant(db, ("staff", "reveal.national_id"))
    found = reveal.target(db.session, people.staff, ticket.beneficiary_id, "national_id", ticket.reference.lower())
    assert reveal.reveal(db.session, people.staff, found, "verification", "") == VALID_NID
    row = _rows(db, AuditAction.REVEAL)[0]
    assert (row.actor_id, row.record_type, row.record_id, row.ticket_id) == (
        people.staff.id, "beneficiary", str(ticket.beneficiary_id), ticket.id)
    assert row.detail == {"field": "national_id", "reason": "verification", "ticket": ticket.reference}
    assert audit.verify(db.session)[1] is None


def test_the_reason_is_required_and_other_needs_words(db, people, ticket):
    _grant(db, ("staff", "reveal.phone"))
    found = reveal.target(db.session, people.staff, ticket.beneficiary_id, "phone")
    with pytest.raises(ValidationFailed) as missing:
        reveal.reveal(db.session, people.staff, found, "", "")
    assert "reason" in missing.value.errors
    with pytest.raises(ValidationFailed) as no_words:
        reveal.reveal(db.session, people.staff, found, "other", "   ")
    assert "why" in no_words.value.errors
    with pytest.raises(ValidationFailed):
        reveal.reveal(db.session, people.staff, found, "other", "x" * 201)
    assert count(db, AuditEntry, AuditEntry.action == str(AuditAction.REVEAL)) == 0
    assert reveal.reveal(db.session, people.staff, found, "other", "طلب الجهة المحيلة") == "+966501234567"
    assert _rows(db, AuditAction.REVEAL)[0].detail == {"field": "phone", "reason": "other", "why": "طلب الجهة المحيلة"}


def test_refusals_are_recorded(db, people, ticket):
    # sees the ticket, without the permission: 403, recorded
    with pytest.raises(Forbidden):
        reveal.target(db.session, people.staff, ticket.beneficiary_id, "national_id", ticket.reference)
    # another department's focal point, even with the permission: the ticket does not exist for them
    _grant(db, ("focal", "reveal.national_id"))
    with pytest.raises(NotFound):
        reveal.target(db.session, people.other_focal, ticket.beneficiary_id, "national_id", ticket.reference)
    # a focal point may not open the record without a ticket
    with pytest.raises(NotFound):
        reveal.target(db.session, people.focal, ticket.beneficiary_id, "national_id")
    # a ticket of someone else does not reveal this person
    _grant(db, ("staff", "reveal.national_id"))
    with pytest.raises(NotFound):
        reveal.target(db.session, people.staff, ticket.beneficiary_id + 999, "national_id", ticket.reference)
    refused = _rows(db, AuditAction.ACCESS_REFUSED)
    assert [(r.actor_id, r.detail.get("refused"), r.record_type) for r in refused] == [
        (people.staff.id, "permission", "beneficiary"),
        (people.other_focal.id, None, "ticket"),          # get_ticket's own refusal
        (people.focal.id, "record", "beneficiary"),
        (people.staff.id, "record", "beneficiary"),
    ]
    assert audit.verify(db.session)[1] is None


def _enable(db, people):
    _grant(db, ("staff", "reveal.national_id"), ("staff", "reveal.phone"))


def test_the_ticket_page_offers_it_and_htmx_reveals(db, people, ticket, as_user, en):
    browser = as_user(people.staff)
    page = browser.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "1•••••••08" in page and "/reveal/national_id" not in page  # no permission: no control
    _enable(db, people)
    page = browser.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert f"/beneficiaries/{ticket.beneficiary_id}/reveal/national_id?ticket={ticket.reference}" in page
    url = f"/beneficiaries/{ticket.beneficiary_id}/reveal/national_id"
    asked = browser.get(f"{url}?ticket={ticket.reference}&reason=verification", htmx=True)
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert 'name="reveal-national_id-reason"' in html and 'selected value="verification"' in html
    assert count(db, AuditEntry, AuditEntry.action == str(AuditAction.REVEAL)) == 0  # asking reveals nothing
    refused = browser.post(url, {"ticket": ticket.reference, "reveal-national_id-reason": "other",
                                 "reveal-national_id-why": ""}, htmx=True)
    assert refused.status_code == 422
    assert "Write why you need the full number." in refused.get_data(as_text=True)
    assert VALID_NID not in refused.get_data(as_text=True)
    shown = browser.post(url, {"ticket": ticket.reference, "reveal-national_id-reason": "verification"}, htmx=True)
    assert shown.status_code == 200 and VALID_NID in shown.get_data(as_text=True)
    assert _rows(db, AuditAction.REVEAL)[0].ticket_id == ticket.id
    # without the CSRF header nothing is shown
    assert browser.post(url, {"reveal-national_id-reason": "verification"}, htmx=True,
                        csrf=False).status_code == 400
    # the masked value again on cancel
    assert "1•••••••08" in browser.get(f"{url}?ticket={ticket.reference}&masked=1", htmx=True).get_data(as_text=True)


def test_without_javascript_the_reveal_is_its_own_page(db, people, ticket, as_user, en):
    _enable(db, people)
    browser = as_user(people.staff)
    url = f"/beneficiaries/{ticket.beneficiary_id}/reveal/phone"
    page = browser.get(url)
    assert page.status_code == 200 and "<form" in page.get_data(as_text=True)
    shown = browser.post(url, {"reveal-phone-reason": "contact"})
    assert shown.status_code == 200 and "+966501234567" in shown.get_data(as_text=True)


def test_refused_over_http_answers_403_or_404(db, people, ticket, as_user, en):
    url = f"/beneficiaries/{ticket.beneficiary_id}/reveal/national_id"
    assert as_user(people.staff).post(url, {"reveal-national_id-reason": "verification"}).status_code == 403
    assert as_user(people.other_focal).get(f"{url}?ticket={ticket.reference}").status_code == 404
    assert as_user(people.staff).get(f"/beneficiaries/{ticket.beneficiary_id}/reveal/email").status_code == 404
    assert count(db, AuditEntry, AuditEntry.action == str(AuditAction.ACCESS_REFUSED)) == 2


def test_the_record_shows_the_access_log_about_the_person(db, people, ticket, as_user, en):
    _enable(db, people)
    browser = as_user(people.staff)
    url = f"/beneficiaries/{ticket.beneficiary_id}/reveal/national_id"
    browser.post(url, {"reveal-national_id-reason": "other", "reveal-national_id-why": "مطابقة مع الصك"}, htmx=True)
    page = browser.get(f"/beneficiaries/{ticket.beneficiary_id}").get_data(as_text=True)
    assert 'id="access-log"' in page and "مطابقة مع الصك" in page and "staff@example.org" in page
    assert "/reveal/national_id" in page  # the record offers it too


def test_the_intake_search_offers_the_reveal_for_verification(db, people, ticket, as_user, en):
    _enable(db, people)
    results = as_user(people.staff).get("/beneficiaries/search?beneficiary_q=هند", htmx=True).get_data(as_text=True)
    assert f"/beneficiaries/{ticket.beneficiary_id}/reveal/national_id?reason=verification" in results


def test_the_admin_ticks_the_roles(db, people, admin):
    page = admin.get("/admin/users").get_data(as_text=True)
    assert 'value="staff:reveal.national_id"' in page
    saved = admin.post("/admin/users/grants", {"grant": ["staff:reveal.national_id", "dpo:reveal.phone"]})
    assert saved.status_code == 302
    assert grants(db.session) == {("staff", "reveal.national_id"), ("dpo", "reveal.phone")}
    page = admin.get("/admin/users").get_data(as_text=True)
    assert re.search(r'value="dpo:reveal.phone"[^>]* checked', page)
    refused = admin.post("/admin/users/grants", {"grant": ["staff:reveal.national_id", "staff:admin.manage"]})
    assert refused.status_code == 422 and 'id="grant-msg"' in refused.get_data(as_text=True)
    assert grants(db.session) == {("staff", "reveal.national_id"), ("dpo", "reveal.phone")}
    assert not re.search(r'value="admin:reveal.phone"[^>]* checked', page)
