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


def optional_id(value) -> int | None:
    """A chosen id, or None for nothing chosen (or anything that is not a number)."""
    return int(value) if value and str(value).isdigit() else None


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
