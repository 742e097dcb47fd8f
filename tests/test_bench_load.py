"""The load benchmark's accounting (tests/bench/load.py): requests against the tickets found.

Only the pure part: which outcome with which rows is lost, duplicated, or in flight at a kill.
The load itself, and its speed, are measured by `python -m tests.bench.load`, never here.
"""
from __future__ import annotations

import pytest

from desk.demo.generator import MOBILE_PREFIX
from desk.text import parse_phone
from tests.bench.load import MARKER, PHONE_PREFIX, STAFF, Attempt, Page, account, at_a_kill, check_database, percentile


def accepted(marker: str, reference: str, started: float = 1.0, ended: float = 1.2) -> Attempt:
    return Attempt("portal", marker, started, ended, "accepted", 303, reference)


def failed(marker: str, started: float, ended: float) -> Attempt:
    return Attempt("intake", marker, started, ended, "failed", detail="RemoteProtocolError")


def test_every_accepted_request_found_once_with_its_reference_is_nothing_lost():
    attempts = [accepted("La1b2c3-p0-1", "C-1447-000301"), accepted("La1b2c3-i1-1", "C-1447-000302")]
    rows = [("La1b2c3-p0-1", "C-1447-000301"), ("La1b2c3-i1-1", "C-1447-000302")]
    result = account(attempts, rows, kills=[])
    assert result["ok"]
    assert result["counts"]["accepted"] == result["counts"]["accepted_found_once"] == 2
    assert result["problems"] == {}


def test_an_accepted_request_without_its_ticket_is_lost():
    result = account([accepted("La1b2c3-p0-1", "C-1447-000301")], rows=[], kills=[])
    assert not result["ok"]
    assert result["counts"]["lost"] == 1
    assert result["problems"]["lost"] == ["La1b2c3-p0-1"]


def test_one_marker_on_two_tickets_is_duplicated():
    rows = [("La1b2c3-p0-1", "C-1447-000301"), ("La1b2c3-p0-1", "C-1447-000302")]
    result = account([accepted("La1b2c3-p0-1", "C-1447-000301")], rows, kills=[])
    assert not result["ok"]
    assert result["counts"]["duplicated"] == 1
    assert "accepted_found_once" not in result["counts"]


def test_a_ticket_whose_reference_differs_from_the_redirect_is_a_problem():
    result = account([accepted("La1b2c3-p0-1", "C-1447-000301")], [("La1b2c3-p0-1", "C-1447-000399")], kills=[])
    assert not result["ok"]
    assert result["counts"]["wrong_reference"] == 1


def test_a_refused_request_that_left_a_ticket_and_a_ticket_of_no_request_are_problems():
    refused = Attempt("portal", "La1b2c3-p0-2", 1.0, 1.1, "refused", 422)
    result = account([refused], [("La1b2c3-p0-2", "C-1447-000301"), ("La1b2c3-p9-9", "C-1447-000302")], kills=[])
    assert not result["ok"]
    assert result["counts"]["refused"] == 1
    assert result["counts"]["ticket_for_refused"] == 1
    assert result["counts"]["ticket_without_request"] == 1


def test_a_request_broken_by_a_kill_may_have_committed_or_not_and_both_are_counted():
    attempts = [failed("La1b2c3-i0-1", 9.8, 10.0), failed("La1b2c3-i1-1", 19.9, 20.0),
                failed("La1b2c3-i2-1", 33.0, 33.5)]  # no kill near this one
    rows = [("La1b2c3-i0-1", "C-1447-000301"), ("La1b2c3-i2-1", "C-1447-000302")]
    result = account(attempts, rows, kills=[10.02, 20.0, 40.0])
    counts = result["counts"]
    assert result["ok"]  # a failure is neither a loss nor a duplicate, whatever the database holds
    assert counts["in_flight_with_ticket"] == 1
    assert counts["in_flight_without_ticket"] == 1
    assert counts["failed_not_at_kill_with_ticket"] == 1
    assert counts["kills"] == 3
    assert counts["kills_catching_a_request"] == 2  # the one at 40 s caught nothing


def test_pages_broken_by_a_kill_are_told_apart_from_other_failures():
    pages = [Page("portal", 9.9, 10.01, False, "ReadError"), Page("portal", 12.0, 12.1, False, "500"),
             Page("intake", 12.0, 12.2, True)]
    result = account([], [], kills=[10.0], pages=pages)
    assert result["counts"]["pages_failed_at_kill"] == 1
    assert result["counts"]["pages_failed_not_at_kill"] == 1
    assert result["counts"]["kills_catching_a_request"] == 1


def test_at_a_kill_allows_a_small_margin_either_side():
    assert at_a_kill(1.0, 2.0, [2.04])
    assert at_a_kill(1.0, 2.0, [0.96])
    assert not at_a_kill(1.0, 2.0, [2.2])
    assert not at_a_kill(1.0, 2.0, [])


def test_the_marker_is_read_back_from_the_subject():
    found = MARKER.search("تأخر صرف السلة الغذائية لهذا الشهر [La1b2c3-p3-127]")
    assert found and found.group(1) == "La1b2c3-p3-127"
    assert MARKER.search("تأخر صرف السلة الغذائية [قياس 12]") is None


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([7.0], 95) == 7.0


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    "postgresql+psycopg://postgres@127.0.0.1:5432/template1",
    'postgresql+psycopg://postgres@127.0.0.1:5432/x"; DROP',
    "sqlite:///instance/desk.db",
])
def test_the_harness_refuses_a_database_it_must_not_drop(url):
    with pytest.raises(ValueError):
        check_database(url)


def test_the_harness_accepts_a_database_of_its_own():
    assert check_database("postgresql+psycopg://postgres@127.0.0.1:5432/desk_bench_load").database == "desk_bench_load"


def test_the_clients_numbers_are_valid_and_never_one_the_demo_gave_a_beneficiary():
    """The intake refuses a new beneficiary whose number is on record: a clash would read as a refusal."""
    assert PHONE_PREFIX[:2] == "05" and PHONE_PREFIX[2] not in MOBILE_PREFIX
    assert parse_phone(f"{PHONE_PREFIX}0000001") == f"+966{PHONE_PREFIX[1:]}0000001"


def test_the_intake_clients_sign_in_as_demo_intake_staff():
    assert "staff@demo.desk.sa" in STAFF and all(email.endswith("@demo.desk.sa") for email in STAFF)
