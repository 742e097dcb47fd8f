"""Issue 20, point 7: a dispute records its attempts at amicable settlement (date, parties,
outcome: settled / referred to whom / pending, the agreement concerned), a compensation claim
its interim measures (what, from, until); each on the timeline, htmx with CSRF, validated,
object-level authorisation."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from desk.beneficiaries.service import NewBeneficiary
from desk.compensation import service as comp_service
from desk.disputes import service
from desk.errors import Forbidden, NotFound, StaleVersion, ValidationFailed
from desk.models import (
    Attachment,
    EventKind,
    InterimMeasure,
    Kind,
    SettlementAttempt,
    TicketEvent,
    utcnow,
)
from tests.test_committee import _national_id


@pytest.fixture
def dispute(make_ticket, people):
    return make_ticket(kind=Kind.DISPUTE, department_id=people.social.id)


@pytest.fixture
def claim_ticket(make_ticket):
    """A compensation ticket (identity required, attested)."""
    return make_ticket(kind=Kind.COMPENSATION, attested=True, verified=True, new_beneficiary=NewBeneficiary(
        name="سعد الدوسري", national_id=_national_id(), phone="+966555550001"))


def _attach(db, ticket, name="اتفاقية الصلح.pdf"):
    row = Attachment(ticket_id=ticket.id, filename=name, stored_name=secrets.token_hex(16),
                     content_type="application/pdf", size=10, sha256="0" * 64)
    db.session.add(row)
    db.session.commit()
    return row


def _events(db, ticket, kind):
    return list(db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                             TicketEvent.kind == kind)))


def _attempt(**overrides):
    data = {"attempted_on": "٢٠٢٦-١١-٣٠", "parties": "المستفيد ومدير البرامج", "outcome": "referred",
            "referred_to": "لجنة إصلاح ذات البين", "agreement_id": "", "agreement_ref": "اتفاقية ٤٥/١٤٤٨",
            "note": ""}
    data.update(overrides)
    return data


def test_a_referred_attempt_is_recorded_with_its_agreement_and_timeline_event(db, people, dispute):
    doc = _attach(db, dispute)
    version = dispute.version
    attempt = service.record_attempt(db.session, people.focal, dispute, **_attempt(agreement_id=str(doc.id)),
                                     expected_version=version)
    assert (attempt.attempted_on.isoformat(), attempt.outcome, attempt.referred_to) == (
        "2026-11-30", "referred", "لجنة إصلاح ذات البين")
    assert attempt.agreement_id == doc.id and attempt.agreement_ref == "اتفاقية ٤٥/١٤٤٨"
    event = _events(db, dispute, EventKind.SETTLEMENT_ATTEMPT)[0]
    assert (event.actor_id, event.new_value, event.old_value) == (people.focal.id, "referred", "2026-11-30")
    assert "لجنة إصلاح ذات البين" in event.body and "المستفيد ومدير البرامج" in event.body
    assert doc.filename in event.body and dispute.version == version + 1


@pytest.mark.parametrize("overrides, field", [
    ({"attempted_on": ""}, "attempted_on"),
    ({"attempted_on": "2026-13-45"}, "attempted_on"),
    ({"parties": "  "}, "parties"),
    ({"outcome": "won"}, "outcome"),
    ({"outcome": "referred", "referred_to": ""}, "referred_to"),
    ({"agreement_ref": "x" * 301}, "agreement_ref"),
])
def test_a_bad_attempt_is_refused_by_its_field_and_writes_nothing(db, people, dispute, overrides, field):
    with pytest.raises(ValidationFailed) as refused:
        service.record_attempt(db.session, people.focal, dispute, **_attempt(**overrides),
                               expected_version=dispute.version)
    assert field in refused.value.errors
    assert db.session.scalar(select(func.count(SettlementAttempt.id))) == 0
    assert not _events(db, dispute, EventKind.SETTLEMENT_ATTEMPT)


def test_an_attempt_in_the_future_or_with_another_tickets_document_is_refused(db, people, dispute, make_ticket):
    tomorrow = (utcnow().date() + timedelta(days=2)).isoformat()
    other = _attach(db, make_ticket(kind=Kind.DISPUTE))
    with pytest.raises(ValidationFailed) as refused:
        service.record_attempt(db.session, people.focal, dispute, **_attempt(attempted_on=tomorrow,
                               agreement_id=str(other.id)), expected_version=dispute.version)
    assert set(refused.value.errors) == {"attempted_on", "agreement_id"}


def test_a_stale_attempt_is_refused(db, people, dispute):
    with pytest.raises(StaleVersion):
        service.record_attempt(db.session, people.focal, dispute, **_attempt(outcome="settled"),
                               expected_version=dispute.version - 1)


def test_only_who_may_write_on_the_dispute_records_an_attempt(db, people, dispute, make_ticket):
    with pytest.raises(NotFound):  # the focal point of another department does not see it at all
        service.record_attempt(db.session, people.other_focal, dispute, **_attempt(), expected_version=dispute.version)
    complaint = make_ticket(kind=Kind.COMPLAINT)
    with pytest.raises(Forbidden):  # not a dispute
        service.record_attempt(db.session, people.staff, complaint, **_attempt(), expected_version=complaint.version)


def test_the_settlement_form_over_htmx(as_user, people, db, dispute, make_ticket):
    url = f"/tickets/{dispute.reference}/settlement/attempt"
    focal = as_user(people.focal)
    page = focal.get(f"/tickets/{dispute.reference}").get_data(as_text=True)
    assert 'id="ticket-settlement"' in page and 'id="settlement-attempt"' in page
    refused = focal.post(url, {**_attempt(parties=""), "version": dispute.version}, htmx=True)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="settlement-parties-error"' in html and "لجنة إصلاح ذات البين" in html  # what was typed is kept
    done = focal.post(url, {**_attempt(outcome="settled", referred_to=""), "version": dispute.version}, htmx=True)
    assert done.status_code == 200
    html = done.get_data(as_text=True)
    assert "تمت التسوية وديًا" in html and 'id="ticket-timeline"' in html and "hx-swap-oob" in html
    assert db.session.scalar(select(SettlementAttempt.outcome)) == "settled"
    # CSRF, another department's focal point (404), not a dispute (404).
    assert focal.post(url, {**_attempt(), "version": dispute.version}, htmx=True, csrf=False).status_code == 400
    assert as_user(people.other_focal).post(url, {**_attempt(), "version": dispute.version},
                                            htmx=True).status_code == 404
    complaint = make_ticket(kind=Kind.COMPLAINT)
    assert focal.post(f"/tickets/{complaint.reference}/settlement/attempt", _attempt(), htmx=True).status_code == 404
    assert 'id="ticket-settlement"' not in focal.get(f"/tickets/{complaint.reference}").get_data(as_text=True)
    assert db.session.scalar(select(func.count(SettlementAttempt.id))) == 1


# Interim measures on a compensation claim -------------------------------------------------

def test_an_interim_measure_is_recorded_with_its_dates(db, people, claim_ticket):
    row = comp_service.add_measure(db.session, people.staff, claim_ticket, "صرف سلة غذائية عاجلة ريثما يُبت في الطلب",
                                   "2026-11-20", "٢٠٢٦-١٢-٢٠")
    assert (row.taken_on.isoformat(), row.until.isoformat()) == ("2026-11-20", "2026-12-20")
    event = _events(db, claim_ticket, EventKind.INTERIM_MEASURE)[0]
    assert event.new_value == "2026-11-20" and "صرف سلة غذائية" in event.body and "2026-12-20" in event.body
    assert comp_service.measures_of(db.session, claim_ticket) == [row]


@pytest.mark.parametrize("measure, taken_on, until, field", [
    ("", "2026-11-20", "", "measure"),
    ("إجراء", "", "", "taken_on"),
    ("إجراء", "2026-11-20", "2026-11-01", "until"),
    ("إجراء", "not a date", "", "taken_on"),
])
def test_a_bad_measure_is_refused_and_writes_nothing(db, people, claim_ticket, measure, taken_on, until, field):
    with pytest.raises(ValidationFailed) as refused:
        comp_service.add_measure(db.session, people.staff, claim_ticket, measure, taken_on, until)
    assert field in refused.value.errors
    assert db.session.scalar(select(func.count(InterimMeasure.id))) == 0


def test_interim_measures_only_on_compensation_claims_by_the_queue_roles(db, people, claim_ticket, dispute):
    with pytest.raises(Forbidden):
        comp_service.add_measure(db.session, people.staff, dispute, "إجراء", "2026-11-20", "")
    with pytest.raises(Forbidden):
        comp_service.add_measure(db.session, people.focal, claim_ticket, "إجراء", "2026-11-20", "")


def test_the_measure_form_over_htmx(as_user, people, db, claim_ticket):
    url = f"/tickets/{claim_ticket.reference}/compensation/measure"
    staff = as_user(people.staff)
    assert 'id="compensation-measure"' in staff.get(f"/tickets/{claim_ticket.reference}").get_data(as_text=True)
    refused = staff.post(url, {"measure": "إيواء مؤقت", "taken_on": "", "until": "", "version": claim_ticket.version},
                         htmx=True)
    assert refused.status_code == 422
    assert 'id="compensation-measure-taken_on-error"' in refused.get_data(as_text=True)
    assert "إيواء مؤقت" in refused.get_data(as_text=True)
    done = staff.post(url, {"measure": "إيواء مؤقت", "taken_on": "2026-11-25", "until": "",
                            "version": claim_ticket.version}, htmx=True)
    assert done.status_code == 200 and "إيواء مؤقت" in done.get_data(as_text=True)
    assert staff.post(url, {"measure": "x", "taken_on": "2026-11-25"}, htmx=True, csrf=False).status_code == 400
    assert db.session.scalar(select(func.count(InterimMeasure.id))) == 1
