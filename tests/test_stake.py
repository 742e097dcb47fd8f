"""Requesters of every kind (issue 20, point 1): the stakeholders the policies name (أصحاب
المصالح) as requesters, their identifiers, which kinds of request accept an organisation, the
lookup, the pages, and the statistics by stakeholder type."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from desk.beneficiaries import service as beneficiaries
from desk.beneficiaries.service import NewBeneficiary
from desk.models import Beneficiary, Kind, RequesterKind, Ticket, TicketEvent
from desk.stats import rollup, service
from desk.stats.service import DateRange
from desk.stats.tables import build, by_key
from desk.text import InvalidRegistration, parse_commercial_registration, parse_unified_number, ten_digits
from tests.conftest import VALID_NID

CR = "1010123456"
UNIFIED = "7001234567"


def _form(**overrides):
    data = {
        "kind": "complaint", "channel": "letter", "subject": "تأخر صرف مستحقات التوريد", "body": "تفاصيل",
        "priority": "2", "department_id": "", "b_requester_kind": "supplier", "b_name": "مؤسسة النخبة للتوريدات",
        "b_contact_name": "خالد العتيبي", "b_phone": "0501234567", "b_email": "khalid@example.org",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# The identifiers -----------------------------------------------------------------------------

def test_a_commercial_registration_is_ten_digits_in_either_script():
    assert parse_commercial_registration("١٠١٠١٢٣٤٥٦") == CR
    assert parse_commercial_registration(" 1010-123-456 ") == CR
    assert parse_commercial_registration("\u200f1010123456") == CR
    for raw, reason in (("101012345", "length"), ("10101234567", "length"), ("10101234a6", "chars"),
                        ("0010123456", "prefix"), ("", "length")):
        with pytest.raises(InvalidRegistration) as error:
            parse_commercial_registration(raw)
        assert error.value.reason == reason, raw


def test_a_unified_number_starts_with_seven():
    assert parse_unified_number("٧٠٠١٢٣٤٥٦٧") == UNIFIED
    assert parse_unified_number("700 123 4567") == UNIFIED
    for raw, reason in (("1001234567", "prefix"), ("700123456", "length"), ("70012x4567", "chars")):
        with pytest.raises(InvalidRegistration) as error:
            parse_unified_number(raw)
        assert error.value.reason == reason, raw
    assert ten_digits("٧٠٠-١٢٣-٤٥٦٧") == UNIFIED and ten_digits("نورة") is None and ten_digits("12345") is None


def test_identifiers_are_checked_at_intake_with_the_message_by_the_field(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(b_commercial_registration="١٠١٠١٢٣٤٥",
                                                                b_unified_number="1001234567"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="b_commercial_registration-msg"' in html and 'id="b_unified_number-msg"' in html
    assert gettext("This number has 10 digits.") in html
    assert gettext("A unified number starts with 7 (700…).") in html
    assert 'value="١٠١٠١٢٣٤٥"' in html and "مؤسسة النخبة للتوريدات" in html  # what was typed is kept
    assert _count(db, Ticket) == 0 and _count(db, Beneficiary) == 0


def test_a_government_body_has_no_commercial_registration(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(b_requester_kind="government", b_name="أمانة المنطقة",
                                                                b_commercial_registration=CR))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="b_commercial_registration-msg"' in html
    assert _count(db, Ticket) == 0


def test_an_organisation_needs_its_contact_person(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(b_contact_name=""))
    assert response.status_code == 422 and 'id="b_contact_name-msg"' in response.get_data(as_text=True)
    assert _count(db, Beneficiary) == 0


def test_a_registered_number_is_not_registered_twice(as_user, people, db):
    beneficiaries.build(db.session, people.staff, NewBeneficiary(
        name="شركة قائمة", requester_kind="company", commercial_registration=CR, contact_name="س"))
    db.session.commit()
    response = as_user(people.staff).post("/tickets/new", _form(b_commercial_registration="١٠١٠١٢٣٤٥٦"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="b_commercial_registration-msg"' in html
    assert gettext("An organisation with this number is already registered: choose it from the search results.") in html
    assert _count(db, Beneficiary) == 1


# The rules per kind of request ---------------------------------------------------------------

def test_a_supplier_files_a_compensation_claim_without_a_national_id(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(
        kind="compensation", subject="تعويض عن إلغاء عقد التوريد", b_commercial_registration="١٠١٠١٢٣٤٥٦",
        verified="y", attested="y"))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    ticket = db.session.scalar(select(Ticket))
    assert ticket.kind == Kind.COMPENSATION and ticket.reference.startswith("K-")
    supplier = ticket.beneficiary
    assert (supplier.requester_kind, supplier.commercial_registration, supplier.national_id) == ("supplier", CR, None)
    assert supplier.contact_name == "خالد العتيبي" and supplier.phone == "+966501234567"
    assert supplier.is_organisation and supplier.id_type is None


def test_a_company_claims_compensation_with_its_unified_number(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(
        kind="compensation", b_requester_kind="company", b_name="شركة الريادة", b_unified_number="٧٠٠١٢٣٤٥٦٧",
        verified="y", attested="y"))
    assert response.status_code == 302
    assert db.session.scalar(select(Beneficiary.unified_number)) == UNIFIED


def test_a_compensation_claim_from_an_organisation_needs_its_registration(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(kind="compensation", verified="y", attested="y",
                                                                b_national_id=VALID_NID))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="b_commercial_registration-msg"' in html
    assert 'id="b_national_id-msg"' not in html  # no personal ID is asked of an organisation
    assert _count(db, Ticket) == 0 and _count(db, Beneficiary) == 0


def test_a_government_body_cannot_claim_compensation_here(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(kind="compensation", b_requester_kind="government",
                                                                b_name="أمانة المنطقة", verified="y", attested="y"))
    assert response.status_code == 422 and 'id="b_requester_kind-msg"' in response.get_data(as_text=True)
    assert _count(db, Ticket) == 0


def test_a_support_request_from_an_organisation_is_refused_by_the_field(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(
        kind="support", subject="طلب دعم", b_commercial_registration=CR, verified="y", attested="y"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="b_requester_kind-msg"' in html
    assert gettext("A support request is for persons: an organisation cannot file it. Choose the person it is for, "
                   "or record the organisation's request as a complaint or an inquiry.") in html
    assert '<option selected value="supplier">' in html  # kept as chosen
    assert _count(db, Ticket) == 0 and _count(db, Beneficiary) == 0


def test_a_support_request_for_an_organisation_on_record_is_refused(as_user, people, db):
    civil = beneficiaries.build(db.session, people.staff, NewBeneficiary(
        name="جمعية البر", requester_kind="civil", unified_number=UNIFIED, contact_name="س", phone="+966501234567"))
    db.session.commit()
    response = as_user(people.staff).post("/tickets/new", _form(
        kind="support", beneficiary_id=str(civil.id), b_requester_kind=None, b_name=None, b_contact_name=None,
        b_phone=None, b_email=None, verified="y", attested="y"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "beneficiary_id" in html
    assert gettext("A support request is for persons: an organisation cannot file it. Choose the person it is for, "
                   "or record the organisation's request as a complaint or an inquiry.") in html
    assert _count(db, Ticket) == 0


def test_an_organisation_on_record_claims_compensation_only_with_its_numbers(as_user, people, db):
    bare = beneficiaries.build(db.session, people.staff, NewBeneficiary(
        name="شركة بلا سجل", requester_kind="company", contact_name="س", phone="+966501234567"))
    registered = beneficiaries.build(db.session, people.staff, NewBeneficiary(
        name="شركة مسجلة", requester_kind="company", unified_number=UNIFIED, contact_name="ص", phone="+966501234568"))
    db.session.commit()
    chosen = dict(kind="compensation", b_requester_kind=None, b_name=None, b_contact_name=None, b_phone=None,
                  b_email=None, verified="y", attested="y")
    refused = as_user(people.staff).post("/tickets/new", _form(beneficiary_id=str(bare.id), **chosen))
    assert refused.status_code == 422
    assert gettext("A compensation claim from an organisation needs its commercial registration or its unified "
                   "number (700…) in place of a national ID.") in refused.get_data(as_text=True)
    accepted = as_user(people.staff).post("/tickets/new", _form(beneficiary_id=str(registered.id), **chosen))
    assert accepted.status_code == 302
    assert db.session.scalar(select(Ticket.beneficiary_id)) == registered.id


@pytest.mark.parametrize("requester", [k.value for k in RequesterKind])
@pytest.mark.parametrize("kind", ["complaint", "inquiry"])
def test_a_complaint_or_inquiry_may_come_from_any_kind(as_user, people, db, requester, kind):
    response = as_user(people.staff).post("/tickets/new", _form(kind=kind, b_requester_kind=requester,
                                                                b_name=f"مقدم {requester}"))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    record = db.session.scalar(select(Beneficiary))
    assert record.requester_kind == requester
    # A person keeps no organisation's contact person; an organisation keeps it.
    assert record.contact_name == ("خالد العتيبي" if record.is_organisation else None)


def test_a_person_still_needs_a_national_id_for_support(as_user, people, db):
    response = as_user(people.staff).post("/tickets/new", _form(
        kind="support", b_requester_kind="person", b_name="عبدالله", verified="y", attested="y",
        b_commercial_registration=CR))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="b_national_id-msg"' in html
    ok = as_user(people.staff).post("/tickets/new", _form(
        kind="support", b_requester_kind="person", b_name="عبدالله", verified="y", attested="y",
        b_national_id=VALID_NID, b_commercial_registration=CR))
    assert ok.status_code == 302
    person = db.session.scalar(select(Beneficiary))
    assert (person.requester_kind, person.national_id, person.commercial_registration) == ("person", VALID_NID, None)


def test_a_fault_half_way_leaves_no_organisation_behind(as_user, people, db, monkeypatch):
    from desk.intake import service as intake
    real = intake.record

    def failing(session, ticket, *args, **kwargs):
        real(session, ticket, *args, **kwargs)
        session.flush()  # the organisation, the ticket and its first event are written…
        raise OperationalError("INSERT INTO ticket_events", {}, Exception("server closed the connection"))
    monkeypatch.setattr(intake, "record", failing)
    response = as_user(people.staff).post("/tickets/new", _form(b_commercial_registration=CR))
    assert response.status_code == 503
    assert "مؤسسة النخبة للتوريدات" in response.get_data(as_text=True)  # the form as typed
    assert _count(db, Beneficiary) == 0 and _count(db, Ticket) == 0 and _count(db, TicketEvent) == 0


def test_a_record_made_before_is_a_person(db):
    db.session.execute(sa.text("INSERT INTO beneficiaries (name, search_name, created_at) "
                               "VALUES ('قديم', 'قديم', CURRENT_TIMESTAMP)"))
    db.session.commit()
    old = db.session.scalar(select(Beneficiary))
    assert old.requester_kind == "person" and not old.is_organisation


# The lookup and the pages ------------------------------------------------------------------

@pytest.fixture
def supplier(db, people):
    record = beneficiaries.build(db.session, people.staff, NewBeneficiary(
        name="مؤسسة النخبة للتوريدات", requester_kind="supplier", commercial_registration=CR,
        unified_number=UNIFIED, contact_name="خالد العتيبي", phone="+966501234567"))
    person = beneficiaries.build(db.session, people.staff, NewBeneficiary(name="نورة سالم", national_id=VALID_NID))
    db.session.commit()
    return record, person


def test_the_lookup_finds_an_organisation_by_name_registration_or_unified_number(db, supplier):
    record, person = supplier
    for typed in ("النخبة", "مؤسسة النخبه", "١٠١٠١٢٣٤٥٦", "1010-123-456", "٧٠٠١٢٣٤٥٦٧"):
        assert beneficiaries.search_people(db.session, typed) == [record], typed
    assert beneficiaries.search_people(db.session, VALID_NID) == [person]
    assert beneficiaries.search_people(db.session, "0501234567") == [record]
    assert beneficiaries.search_people(db.session, "1010123457") == []


def test_the_intake_lookup_shows_the_organisation_masked(as_user, people, supplier):
    html = as_user(people.staff).get("/beneficiaries/search?beneficiary_q=٧٠٠١٢٣٤٥٦٧").get_data(as_text=True)
    assert "مؤسسة النخبة للتوريدات" in html and gettext("Supplier") in html
    assert UNIFIED not in html and "7•••••••67" in html


def test_the_ticket_and_record_pages_show_the_organisation_masked(as_user, people, db, supplier):
    record, _ = supplier
    response = as_user(people.staff).post("/tickets/new", _form(beneficiary_id=str(record.id), b_requester_kind=None,
                                                                b_name=None, b_contact_name=None, b_phone=None,
                                                                b_email=None))
    assert response.status_code == 302
    html = as_user(people.supervisor).get(response.headers["Location"]).get_data(as_text=True)
    assert gettext("Commercial registration number") in html and "1•••••••56" in html and CR not in html
    assert gettext("Unified number (700)") in html and UNIFIED not in html
    assert gettext("Contact person") in html and "خالد العتيبي" in html
    assert gettext("National ID / iqama number") not in html.split('id="ticket-beneficiary"')[1].split("</section>")[0]
    page = as_user(people.supervisor).get(f"/beneficiaries/{record.id}").get_data(as_text=True)
    assert gettext("Supplier") in page and "1•••••••56" in page and CR not in page and "خالد العتيبي" in page
    found = as_user(people.supervisor).get("/beneficiaries?q=1010123456").get_data(as_text=True)
    assert "مؤسسة النخبة للتوريدات" in found and CR not in found.split("</form>")[1]


def test_a_focal_point_does_not_open_an_organisations_record(as_user, people, supplier):
    record, _ = supplier
    assert as_user(people.focal).get(f"/beneficiaries/{record.id}").status_code in (403, 404)


# Statistics by stakeholder type ------------------------------------------------------------

JAN = DateRange(date(2026, 1, 1), date(2026, 1, 31))


@pytest.fixture
def filed(db, people, supplier):
    """January 2026: two tickets from the supplier (one resolved), one from a person, one
    anonymous; one from the supplier in February (outside)."""
    record, person = supplier
    rows = ((record, utc(2026, 1, 5, 8), utc(2026, 1, 6, 8)), (record, utc(2026, 1, 20, 8), None),
            (person, utc(2026, 1, 7, 8), None), (None, utc(2026, 1, 9, 8), None), (record, utc(2026, 2, 3, 8), None))
    for n, (who, created, resolved) in enumerate(rows, start=1):
        db.session.add(Ticket(reference=f"C-1447-8{n:05d}", kind="complaint", channel="letter",
                              status="resolved" if resolved else "new", subject=f"ت {n}", body="",
                              beneficiary_id=who.id if who else None, anonymous=who is None,
                              created_at=created, updated_at=created, resolved_at=resolved))
    db.session.commit()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _by_requester(stats) -> dict[str, tuple[int, int]]:
    return {k: (v["received"], v["resolved"]) for k, v in stats.by_requester.items() if v["received"] or v["resolved"]}


def test_statistics_count_by_requester_kind_live_and_rolled_up(db, filed):
    expected = {"supplier": (2, 1), "person": (1, 0), "": (1, 0)}
    assert _by_requester(service.compute(db.session, None, JAN)) == expected
    rollup.refresh(db.session, date(2026, 1, 1), date(2026, 1, 31))  # the whole month rolled up
    rolled = service.compute(db.session, None, JAN)
    assert rolled.rolled_through == date(2026, 1, 31) and _by_requester(rolled) == expected
    half = DateRange(date(2026, 1, 1), date(2026, 2, 28))  # January rolled up, February live
    assert _by_requester(service.compute(db.session, None, half)) == {**expected, "supplier": (3, 1)}
    table = by_key(build(rolled, "ar"))["requesters"]
    assert [row[:3] for row in table.rows][0] == ["مورد", 2, 1]


def test_the_rollup_keeps_one_row_per_requester_kind(db, filed):
    rollup.refresh(db.session, date(2026, 1, 1), date(2026, 1, 31))
    from desk.models import StatsRollup
    from desk.models.stats import Grain
    kinds = db.session.scalars(select(StatsRollup.requester_kind).where(StatsRollup.grain == Grain.MONTH)
                               .distinct()).all()
    assert sorted(kinds) == ["", "person", "supplier"]


def test_the_statistics_page_and_its_exports_count_by_stakeholder_type(as_user, people, filed):
    page = as_user(people.supervisor).get("/stats?start=2026-01-01&end=2026-01-31").get_data(as_text=True)
    assert gettext("Tickets by stakeholder type") in page and "مورد" in page
    response = as_user(people.supervisor).get("/stats/export.csv?start=2026-01-01&end=2026-01-31")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    start = next(i for i, row in enumerate(rows) if row and row[0] == gettext("Tickets by stakeholder type"))
    assert rows[start + 2][:3] == ["مورد", "2", "1"]


# Personal data: the contact person is theirs to see and to have erased ---------------------

def test_an_organisations_export_holds_its_numbers_and_erasure_forgets_its_contact(db, people, supplier, tmp_path):
    from desk.privacy import anonymise
    from desk.privacy.export import _json, gather, write_archive
    record, _ = supplier
    held = _json(gather(db.session, record))["beneficiary"]
    assert (held["requester_kind"], held["contact_name"], held["commercial_registration"], held["unified_number"]) == \
        ("supplier", "خالد العتيبي", CR, UNIFIED)
    archive = io.BytesIO()
    write_archive(gather(db.session, record), tmp_path, archive)
    with zipfile.ZipFile(archive) as opened:
        page = opened.read("index.html").decode()
    assert CR in page and UNIFIED in page and "خالد العتيبي" in page and "مورد" in page
    anonymise.anonymise_person(db.session, record, datetime.now(UTC))
    db.session.commit()
    assert record.contact_name is None and record.phone is None and record.anonymised_at is not None


def test_an_organisation_is_never_the_requester_of_a_support_request_from_another_door(app, db, supplier):
    """A second reader's finding: the generic webhook (and the portal, email, WhatsApp) matched
    the supplier's record by its contact's mobile and filed a support request on it. The request
    is taken, without that record (its contact kept for staff); other kinds still join it."""
    from desk.channels import service as channels
    from desk.channels.inbound import Storage
    record, _ = supplier
    storage = Storage.from_config(db.session, app.config)
    ticket, created = channels.take_form(db.session, {"id": "sup-1", "kind": "support", "phone": "0501234567",
                                                      "name": "خالد", "body": "نحتاج سلة غذائية"}, storage)
    assert created and ticket.kind == Kind.SUPPORT and ticket.beneficiary_id != record.id
    complaint, _ = channels.take_form(db.session, {"id": "sup-2", "kind": "complaint", "phone": "0501234567",
                                                   "body": "تأخر سداد الفاتورة"}, storage)
    assert complaint.beneficiary_id == record.id
