"""What the forms of several areas share: a select the service checks, an optional id."""
from __future__ import annotations

from wtforms import SelectField, SelectMultipleField


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
