from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, TextAreaField

from desk.forms import DeskForm


class CommitteeForm(DeskForm):
    """The committee's forms (refer, decide, deliver); each reads the fields it needs and the
    service checks them (required, length). ``version`` is the ticket version the user saw."""

    decision = HiddenField()  # a radio group in the template: accepted / rejected
    reasons = TextAreaField(_l("Reasons for the decision"))
    service = TextAreaField(_l("The service that follows"))
    note = TextAreaField(_l("Note"))
    version = HiddenField()

    TYPED = ("decision", "reasons", "service", "note")

    def typed(self) -> dict[str, str]:
        return {name: getattr(self, name).data or "" for name in self.TYPED}
