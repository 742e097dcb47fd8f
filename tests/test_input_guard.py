"""Bad bytes never reach the database (issue 14): a NUL or another control character in any part
of a request the desk reads is refused before anything is written, in the reader's language and
frame, and never repeated in the log (desk.input_guard)."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from desk.models import Beneficiary
from desk.transaction import atomic
from tests.conftest import VALID_NID

HEALTH = "مريض سكري ويحتاج إلى أنسولين"  # a health detail that must never reach the log


def test_a_failed_statement_does_not_carry_its_values_into_the_log(db, people):
    """The engine hides parameters: a database error's message (logged with a 500, and kept as a
    channel's last error) names the statement, not the national ID or the text it carried. (A
    missing author: PostgreSQL's own detail then names only that key.)"""
    with pytest.raises(IntegrityError) as failure, atomic(db.session):
        db.session.add(Beneficiary(name=HEALTH, national_id=VALID_NID, search_name=HEALTH, created_by_id=999_999))
    assert VALID_NID not in str(failure.value) and HEALTH not in str(failure.value)
    assert "hide_parameters" in str(failure.value)
