"""desk.memo: what the ticket page read in several panels is read once per request, and read
again as soon as the request writes anything."""
from __future__ import annotations

import re

from desk.accounts import admin as accounts_admin
from desk.attachments import service as attachments
from desk.casefile import service as casefile
from desk.disputes import service as disputes
from desk.memo import read_once
from desk.models import Kind
from desk.permissions import Action, can
from tests.conftest import statements_run
from tests.test_attachments import _add, store  # noqa: F401 (the fixture)


def _selects(seen, table):
    return [s for s in seen if re.search(rf"\bFROM {table}\b", s) and s.lstrip().upper().startswith("SELECT")]


def test_the_ticket_page_reads_its_attachments_and_grants_once(db, people, make_ticket, as_user, store):  # noqa: F811
    ticket = make_ticket()
    _add(db, people.staff, ticket, store=store)
    browser = as_user(people.staff)
    with statements_run(db) as seen:
        page = browser.get(f"/tickets/{ticket.reference}")
    assert page.status_code == 200 and "letter.pdf" in page.get_data(as_text=True)
    # the list, the reply's choices and the settlement's agreement choices: one read
    listed = [s for s in _selects(seen, "attachments") if "document_type =" not in s.replace('"', "")]
    assert len(listed) == 1, listed
    assert len(_selects(seen, "role_grants")) <= 1
    assert len(_selects(seen, "kind_requirements")) <= 1


def test_a_write_in_the_same_request_is_seen(db, people, make_ticket, store):  # noqa: F811
    """The test's request context is one request: each write makes the next read fresh."""
    ticket = make_ticket()
    assert attachments.for_ticket(db.session, ticket) == []
    added = _add(db, people.staff, ticket, store=store)
    assert attachments.for_ticket(db.session, ticket) == [added]
    assert disputes.agreement_choices(db.session, ticket) == [added]

    assert not can(people.staff, Action.REVEAL_PHONE, ticket)
    accounts_admin.set_grants(db.session, people.admin, ["staff:reveal.phone"])
    assert can(people.staff, Action.REVEAL_PHONE, ticket) and not can(people.staff, Action.REVEAL_NATIONAL_ID, ticket)

    assert casefile.requirement(db.session, Kind.COMPLAINT).attestation == "none"
    casefile.set_requirement(db.session, people.admin, Kind.COMPLAINT, "tick", [])
    assert casefile.requirement(db.session, Kind.COMPLAINT).attestation == "tick"


def test_reads_are_kept_only_while_nothing_is_written(db, people):
    calls = []

    def load():
        calls.append(1)
        return len(calls)

    assert read_once("x", 1, load) == read_once("x", 1, load) == 1
    assert read_once("x", 2, load) == 2  # another key: its own read
    people.staff.name = "اسم آخر"
    db.session.flush()  # a write: everything read is forgotten
    assert read_once("x", 1, load) == 3


def test_outside_a_request_nothing_is_kept(app):
    calls = []
    with app.app_context():
        read_once("x", 1, lambda: calls.append(1))
        read_once("x", 1, lambda: calls.append(1))
    assert len(calls) == 2
