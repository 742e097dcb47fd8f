"""The portal's forms. The phone and national ID checks are the intake form's (one rule)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, MultipleFileField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from desk import labels
from desk.forms import DeskForm
from desk.intake.forms import mobile_check, national_id_check, phone_check
from desk.portal.service import MAX_BODY, MAX_REPLY, PORTAL_KINDS
from desk.text import normalize_reference

# Explicit consent (PDPL): the documents may hold sensitive data; needed only when some are sent.
CONSENT_LABEL = _l("I agree that the association processes the documents I attach, which may include sensitive "
                   "data (health, family situation, financial hardship), to handle my request")


class SubmitForm(DeskForm):
    kind = RadioField(_l("What would you like to send?"), validators=[DataRequired(_l("Choose what you would like to send."))])
    anonymous = BooleanField(_l("Send without my name (complaints and suggestions only)"))
    name = StringField(_l("Full name"), validators=[Optional(), Length(max=160)])
    phone = StringField(_l("Mobile number"), validators=[Optional(), mobile_check])
    email = StringField(_l("Email (optional)"), validators=[
        Optional(), Email(_l("Enter a valid email address.")), Length(max=254)])
    national_id = StringField(_l("National ID / iqama number"), validators=[Optional(), national_id_check])
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Enter a subject.")), Length(max=200)])
    body = TextAreaField(_l("Details"), validators=[DataRequired(_l("Describe your request.")), Length(max=MAX_BODY)])
    files = MultipleFileField(_l("Documents (optional)"))
    attested = BooleanField(_l("I confirm that the data I gave is correct and I am responsible for it (attestation)"))
    consent = BooleanField(CONSENT_LABEL)
    notice_version = HiddenField()  # the privacy notice shown with the form (desk.portal.privacy)
    # The honeypot: hidden from people by CSS, filled in by bots that fill in every field. Its
    # name is one no browser's autofill recognises (not "website", "url" or "company").
    leave_empty = StringField(_l("Leave this field empty"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(str(k), labels.KINDS[k]) for k in PORTAL_KINDS]


class TrackForm(DeskForm):
    reference = StringField(_l("Reference number"), validators=[
        DataRequired(_l("Enter the reference number.")), Length(max=20)],
        filters=[lambda v: normalize_reference(v) if v else v])
    phone = StringField(_l("The mobile number you gave"), validators=[
        DataRequired(_l("Enter the mobile number you gave with the request.")), phone_check])


class ReplyForm(DeskForm):
    body = TextAreaField(_l("Your message"), validators=[Length(max=MAX_REPLY)])
    files = MultipleFileField(_l("Documents (optional)"))
    consent = BooleanField(CONSENT_LABEL)


class SurveyForm(DeskForm):
    rating = RadioField(_l("Overall, how satisfied are you with the service?"), coerce=int,
                        choices=[SelectChoice(n, labels.RATINGS[n]) for n in (5, 4, 3, 2, 1)],
                        validators=[DataRequired(_l("Choose how satisfied you are."))])
    solved = RadioField(_l("Was your issue solved?"), choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
                        validators=[DataRequired(_l("Answer yes or no."))])
    comment = TextAreaField(_l("Anything you would like to tell us (optional)"), validators=[Length(max=2000)])
