"""What the forms of several areas share: their base (DeskForm), a select the service checks,
an optional id."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField

from desk import input_guard


class ServiceSelect(SelectField):
    """A select whose value the service checks, with its own message in the desk's words
    (WTForms' "Not a valid choice" is not shown; the choices may depend on another field)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.type = "SelectField"  # styled as one by templates/macros/forms.html

    def pre_validate(self, form) -> None:
        pass


class ServiceMultiSelect(SelectMultipleField):
    """Checkboxes rendered by the template; unknown values are the service's business."""

    def pre_validate(self, form) -> None:
        pass


# The largest id a row can have (PostgreSQL's integer): a larger number names no row, and
# asking the database for it would fail (SQLite: OverflowError; PostgreSQL: out of range).
MAX_ID = 2**31 - 1


def optional_id(value) -> int | None:
    """A chosen id, or None for nothing chosen or anything that is not one: only ASCII or
    Arabic-Indic digits count (``str.isdigit`` also takes ² and other digits ``int`` refuses),
    and never more than an id can be."""
    from desk.text import to_ascii_digits
    text = to_ascii_digits(str(value or "")).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) > MAX_ID:
        return None
    return int(text)


class DeskForm(FlaskForm):
    """The base of every form of the desk. A field whose text held control characters (which
    desk.input_guard removed from the request) fails, with the message by it: the form comes
    back (422) with the rest of what was typed. A hidden field says so above the form."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        refused = input_guard.refused_fields()
        for field in self:
            if field.name in refused:
                field.errors = [*field.errors, input_guard.FIELD_MESSAGE]
                if field.type in ("HiddenField", "CSRFTokenField") and input_guard.FIELD_MESSAGE not in self.form_errors:
                    self.form_errors.append(input_guard.FIELD_MESSAGE)
                valid = False
        return valid
