from wtforms import HiddenField, StringField, TextAreaField

from desk.forms import DeskForm


class CompensationForm(DeskForm):
    """The claim panel's forms (assess a condition, negotiation note, propose, decide); each
    reads the fields it needs and the service checks them. ``version``: the ticket version seen."""

    number = HiddenField()
    state = HiddenField()           # a radio group: met / not met / unknown
    note = TextAreaField()
    evidence = HiddenField()        # a select of the ticket's attachments
    evidence_kind = HiddenField()   # a select: admission / ruling
    text = TextAreaField()
    amount = StringField()
    remedy = TextAreaField()
    decision = HiddenField()        # a radio group: approved / rejected
    decision_note = TextAreaField()
    measure = TextAreaField()       # an interim measure (issue 20): what, from, until
    taken_on = StringField()
    until = StringField()
    version = HiddenField()

    TYPED = ("number", "state", "note", "evidence", "evidence_kind", "text", "amount", "remedy",
             "decision", "decision_note", "measure", "taken_on", "until")

    def typed(self) -> dict[str, str]:
        return {name: getattr(self, name).data or "" for name in self.TYPED}
