"""What the registration panel (templates/casefile/_registration.html) reads, wherever it shows:
the beneficiary's record page, the panel beside a ticket, a refused form."""
from __future__ import annotations

from typing import Any

from desk.casefile import service
from desk.casefile.forms import RegistrationForm
from desk.extensions import db
from desk.models import Beneficiary


def registration_context(person: Beneficiary, form: RegistrationForm | None = None, done: str = "") -> dict[str, Any]:
    return {"person": person, "registration_form": form or RegistrationForm(formdata=None),
            "items": service.checklist(db.session, person), "states": service.next_states(person),
            "registration_history": service.history(db.session, person), "done": done}
