"""What each kind of ticket requires at intake (handling steps 2 and 4 of the policy).

PDPL: ask only what the kind needs, so inquiries, suggestions and thanks never ask for
a national ID.

Who may file each kind (issue 20, point 1): every stakeholder the policies name (أصحاب
المصالح) may complain, ask, suggest, thank or raise a dispute; an establishment may claim
compensation ("التعويض عند الإخلال بحقوق أصحاب المصالح") with its commercial registration or
unified number in place of a personal ID; a support request (طلب دعم مستفيد) stays for persons.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from desk.models import Channel, Kind


class Need(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    NEVER = "never"


@dataclass(frozen=True)
class KindRule:
    beneficiary: Need      # a named beneficiary with a phone number
    national_id: Need
    attestation: bool      # the applicant's إقرار must be recorded
    verification: bool     # staff must tick "data verified"
    # An organisation as the requester: NEVER refused; OPTIONAL accepted; REQUIRED accepted when it
    # is an establishment and gives its commercial registration or unified number (its "ID").
    organisation: Need = Need.OPTIONAL


RULES: dict[str, KindRule] = {
    Kind.COMPLAINT: KindRule(Need.REQUIRED, Need.OPTIONAL, False, False),
    Kind.INQUIRY: KindRule(Need.OPTIONAL, Need.NEVER, False, False),
    Kind.SUGGESTION: KindRule(Need.OPTIONAL, Need.NEVER, False, False),
    Kind.SUPPORT: KindRule(Need.REQUIRED, Need.REQUIRED, True, True, organisation=Need.NEVER),
    Kind.COMPENSATION: KindRule(Need.REQUIRED, Need.REQUIRED, True, True, organisation=Need.REQUIRED),
    Kind.DISPUTE: KindRule(Need.REQUIRED, Need.OPTIONAL, False, False),
    Kind.THANKS: KindRule(Need.OPTIONAL, Need.NEVER, False, False),
}

# Only the website may carry an anonymous complaint or suggestion (DOMAIN.md: people).
ANONYMOUS_CHANNELS = {Channel.WEBSITE}
ANONYMOUS_KINDS = {Kind.COMPLAINT, Kind.SUGGESTION}


def rule_for(kind: str) -> KindRule:
    return RULES[Kind(kind)]


def may_be_requester(kind: str, beneficiary) -> bool:
    """Whether a record found by its mobile, email or name may be this request's requester: an
    organisation never is for a kind that refuses organisations (a support request). The portal
    and the channels then leave the request without a record, its contact kept, for staff to
    complete, as staff intake refuses it by the field."""
    if beneficiary is None or not beneficiary.is_organisation:
        return True
    return rule_for(kind).organisation != Need.NEVER


def may_be_anonymous(kind: str, channel: str) -> bool:
    return kind in ANONYMOUS_KINDS and channel in ANONYMOUS_CHANNELS
