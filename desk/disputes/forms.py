from wtforms import HiddenField, StringField, TextAreaField

from desk.forms import DeskForm


class SettlementForm(DeskForm):
    """An attempt at amicable settlement (desk.disputes.service.record_attempt checks every
    field). ``version``: the ticket version the user saw."""

    attempted_on = StringField()
    parties = TextAreaField()
    outcome = HiddenField()         # a radio group: settled / referred / pending
    referred_to = StringField()
    agreement_id = HiddenField()    # a select of the ticket's documents
    agreement_ref = StringField()
    note = TextAreaField()
    version = HiddenField()

    TYPED = ("attempted_on", "parties", "outcome", "referred_to", "agreement_id", "agreement_ref", "note")

    def typed(self) -> dict[str, str]:
        return {name: getattr(self, name).data or "" for name in self.TYPED}
