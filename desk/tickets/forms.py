from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import Length

from desk.forms import DeskForm


class CommentForm(DeskForm):
    """An internal note or a public reply. ``version`` is the ticket version the writer saw."""

    body = TextAreaField(_l("Text"), validators=[Length(max=20_000)])
    visibility = RadioField(_l("Visibility"), choices=[SelectChoice("note", _l("Internal note")), SelectChoice("reply", _l("Reply to the beneficiary"))],
                            default="note")
    version = HiddenField()


class ChangeForm(DeskForm):
    """One property change: the field comes from the URL, the value and version from the form."""

    value = HiddenField()
    version = HiddenField()


class ActionForm(DeskForm):
    """The fields of the ticket actions (take, request info, refer, return, transfer, resolve,
    remind); each action reads the ones it needs. Lengths are checked by the service."""

    message = TextAreaField(_l("Message to the beneficiary"))
    note = TextAreaField(_l("Note"))
    reason = TextAreaField(_l("Reason"))
    action_taken = TextAreaField(_l("Action taken"))
    department = HiddenField()
    version = HiddenField()

    TYPED = ("message", "note", "reason", "action_taken", "department")

    def typed(self) -> dict[str, str]:
        """What the user typed, to give back on a refusal or a conflict."""
        return {name: getattr(self, name).data or "" for name in self.TYPED}


class LinkForm(DeskForm):
    """Merge a duplicate or link a related request (desk.tickets.merge): the other ticket's
    reference and the version shown of it, which way the merge goes, and the confirmation when
    the two beneficiaries differ."""

    other = HiddenField()
    other_version = HiddenField()
    direction = HiddenField()  # "into_other": this ticket is the duplicate; "into_this": the other one is
    confirm = HiddenField()
    version = HiddenField()
