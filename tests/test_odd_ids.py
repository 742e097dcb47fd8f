"""Odd numbers where an id is expected answer 404 or the form's message, never an error page:
superscript digits (``str.isdigit`` takes ², ``int`` refuses it) and ids past any row's
(the database cannot even be asked for them). Found by a second reader of issue 20's pages."""
from __future__ import annotations

import pytest

from desk.forms import MAX_ID, optional_id

HUGE = "9" * 30


@pytest.mark.parametrize("raw, expected", [("12", 12), ("١٢", 12), (" 7 ", 7), ("²", None), ("-3", None),
                                            ("", None), (None, None), (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None),
                                            (HUGE, None), ("1.5", None)])
def test_optional_id_takes_only_what_an_id_can_be(raw, expected):
    assert optional_id(raw) == expected


def test_huge_ids_in_urls_are_not_found(app, as_user, people):
    client = app.test_client()
    for path in (f"/portal/help/{HUGE}", f"/portal/appointments/{HUGE}", f"/portal/help/{MAX_ID + 1}"):
        assert client.get(path).status_code == 404, path
    staff = as_user(people.supervisor)
    for path in (f"/kb/{HUGE}", f"/appointments/{HUGE}", f"/kb/{MAX_ID + 1}"):
        assert staff.get(path).status_code == 404, path


def test_superscript_digits_in_forms_are_refused_not_a_crash(as_user, people):
    staff = as_user(people.supervisor)
    assert staff.get("/kb?category=²").status_code == 200
    assert staff.get("/appointments/availability?official=²").status_code == 200
    booked = staff.post("/appointments/book", {"slot_id": "²"})
    assert booked.status_code in (302, 404, 422)
