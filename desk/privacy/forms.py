"""The forms of a beneficiary's requests about their data and of the retention periods. What
they may say is checked by desk/privacy/service.py; the forms keep what was typed."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Length

from desk.forms import DeskForm, ServiceSelect
from desk.privacy.reveal import MAX_WHY, REASONS
from desk.privacy.service import CORRECTABLE, FIELD_LABELS, MAX_NOTE

NOTE_HINT = _l("How and when the beneficiary asked (in person, a letter, an email…), and how they proved who they are.")


class NoteForm(DeskForm):
    """A copy of their data: only how they asked."""

    note = TextAreaField(_l("The beneficiary's request"), validators=[Length(max=MAX_NOTE)], description=NOTE_HINT)


class CorrectionForm(NoteForm):
    field = ServiceSelect(_l("Field to correct"), choices=[SelectChoice("", "—")] + [
        SelectChoice(name, FIELD_LABELS[name]) for name in CORRECTABLE])
    value = StringField(_l("Correct value"), validators=[Length(max=254)],
                        description=_l("Leave it empty to remove the value (the name cannot be removed)."))


class ErasureForm(NoteForm):
    confirm = BooleanField(_l("I understand that the beneficiary's data and documents will be destroyed and "
                              "cannot be brought back."))


class RetentionForm(DeskForm):
    """One number of months per kind of request; read by the service from the posted form."""


class RevealForm(DeskForm):
    """Why a full number is shown (desk.privacy.reveal). Prefixed by the field, so two can be
    open on one page, and inside another form (intake) without mixing their values. CSRF: the
    app-wide check (the htmx header, or the page form's csrf_token), as the fragment is not a
    form of its own."""

    class Meta:
        csrf = False

    reason = ServiceSelect(_l("Reason"), choices=[SelectChoice("", "—")] + [
        SelectChoice(code, label) for code, label in REASONS.items()])
    why = StringField(_l("The reason in your words"), validators=[Length(max=MAX_WHY)],
                      description=_l("Needed when the reason is not in the list."))
