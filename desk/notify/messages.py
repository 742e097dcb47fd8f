"""Writing a notification: its subject and body from ``templates/notify/<kind>.txt``, in the
recipient's language, with links built from DESK_BASE_URL, and with every national ID or
phone number masked (``scrub``). desk.notify.service decides who is told what; this module
only writes the words.
"""
from __future__ import annotations

import re

from flask import current_app, render_template
from flask_babel import force_locale

from desk.labels import PUBLIC_STATUSES
from desk.models import Status, Ticket, User

SUBJECT_MAX = 300  # OutboxMessage.subject
MASK = "•" * 6


# Personal numbers ------------------------------------------------------------------------

def _digit(ascii_digits: str) -> str:
    """A character class of ``ascii_digits`` in Latin, Arabic-Indic (٠-٩) and Eastern
    Arabic-Indic (۰-۹) form: ``_digit("12")`` matches 1, 2, ١, ٢, ۱, ۲."""
    return "[" + "".join(d + chr(0x660 + int(d)) + chr(0x6F0 + int(d)) for d in ascii_digits) + "]"


_D = _digit("0123456789")
_SEP = r"[ \u00a0().\-\u2010-\u2013]{0,3}"  # what people put between digit groups: 055 123-4567, (011) 234 5678


def _groups(*atoms: str, more: int = 0) -> str:
    """``atoms`` then ``more`` digits, any separators between any two of them."""
    return _SEP.join(list(atoms) + [_D] * more)


_COUNTRY = rf"(?:(?:\+{_SEP}|{_groups(_digit('0'), _digit('0'))}{_SEP})?{_groups(_digit('9'), _digit('6'), _digit('6'))}{_SEP})?"
_TRUNK = rf"(?:{_digit('0')}{_SEP})?"
# A Saudi national ID or iqama (10 digits from 1 or 2), mobile (05x xxx xxxx, +966 5x …) or
# landline (01x xxx xxxx, +966 1x …), however its groups are separated.
_PERSONAL_NUMBER = re.compile(
    rf"(?<!{_D})(?:"
    rf"{_groups(_digit('12'), more=9)}"
    rf"|{_COUNTRY}{_TRUNK}{_groups(_digit('5'), more=8)}"
    rf"|{_COUNTRY}{_TRUNK}{_groups(_digit('1'), _digit('1234567'), more=7)}"
    rf")(?!{_D})"
)
# Any other seven digits or more in a row.
_LONG_NUMBER = re.compile(rf"\+?{_D}{{7,}}")
# A ticket reference, exactly: C-1447-000123. The only digits a message keeps whatever their count.
_REFERENCE = re.compile(rf"(?<!\w)[A-Z]-{_D}{{4}}-{_D}{{6}}(?!\w|-{_D})")


def _mask(text: str) -> str:
    return _LONG_NUMBER.sub(MASK, _PERSONAL_NUMBER.sub(MASK, text))


def scrub(text: str) -> str:
    """``text`` with every national ID, iqama and phone number (and any other run of seven
    digits or more) masked. Only exact ticket references are kept; other digits stay as typed."""
    text, kept, start = text or "", [], 0
    for reference in _REFERENCE.finditer(text):
        kept += [_mask(text[start:reference.start()]), reference.group()]
        start = reference.end()
    return "".join(kept + [_mask(text[start:])])


# Writing a message -----------------------------------------------------------------------

def absolute_url(endpoint: str, **values) -> str:
    """An absolute URL from the configured base URL (never the request's Host header), so a
    message built by a request and one built by the worker carry the same link."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["DESK_BASE_URL"] + path


def render(kind: str, ticket: Ticket, recipient: User, actor: User | None = None,
           note: str = "") -> tuple[str, str]:
    """(subject, body) of ``kind`` about ``ticket``, in the recipient's language."""
    locale = recipient.locale if recipient.locale in current_app.config["DESK_LANGUAGES"] else "ar"
    with force_locale(locale):
        text = render_template(
            f"notify/{kind}.txt", ticket=ticket, recipient=recipient, actor=actor,
            subject=scrub(ticket.subject), note=scrub(note).strip(),
            link=absolute_url("tickets.show", reference=ticket.reference),
            preferences_link=absolute_url("notify.preferences"),
            department=ticket.department.name(locale) if ticket.department else "",
        )
    subject, _, body = text.strip().partition("\n")
    return subject.strip()[:SUBJECT_MAX], body.strip() + "\n"


def beneficiary_language(ticket: Ticket) -> str:
    """The language the beneficiary wrote in (the portal remembers it; Arabic otherwise)."""
    locale = str((ticket.meta or {}).get("locale") or "")
    return locale if locale in current_app.config["DESK_LANGUAGES"] else "ar"


def render_for_beneficiary(kind: str, ticket: Ticket, note: str = "", link: str | None = None,
                           expected=None) -> tuple[str, str]:
    """(subject, body) of ``notify/beneficiary_<kind>.txt`` to the ticket's beneficiary: in the
    language they wrote in (the portal remembers it; Arabic otherwise), never a link into the
    desk (``link`` is a portal link), numbers masked (scrub)."""
    contact = (ticket.meta or {}).get("contact") or {}
    name = contact.get("name") or (ticket.beneficiary.name if ticket.beneficiary else "")
    with force_locale(beneficiary_language(ticket)):
        text = render_template(f"notify/beneficiary_{kind}.txt", ticket=ticket, name=scrub(name),
                               note=scrub(note).strip(), link=link, expected=expected)
    subject, _, body = text.strip().partition("\n")
    return subject.strip()[:SUBJECT_MAX], body.strip() + "\n"


def render_short(kind: str, ticket: Ticket, link: str | None = None) -> tuple[str, str]:
    """(subject, body) of a message to the beneficiary by SMS or WhatsApp: the subject line of
    ``kind`` (reference and what happened), the request's status in words and the private link
    (``notify/beneficiary_short.txt``). Never the reply's text nor any other free text: what
    leaves the building through a phone company stays the minimum (issue 16, point 7)."""
    subject, _body = render_for_beneficiary(kind, ticket, link=link)
    with force_locale(beneficiary_language(ticket)):
        text = render_template("notify/beneficiary_short.txt", ticket=ticket, subject=subject,
                               status=str(PUBLIC_STATUSES[Status(ticket.status)]), link=link)
    return subject, text.strip() + "\n"


def render_for_user(template: str, recipient: User, **context) -> tuple[str, str]:
    """(subject, body) of ``templates/<template>`` (first line: the subject) in the recipient's
    language, for a message that is not about a ticket (e.g. an emergency report). The caller
    scrubs any free text it passes."""
    locale = recipient.locale if recipient.locale in current_app.config["DESK_LANGUAGES"] else "ar"
    with force_locale(locale):
        text = render_template(template, recipient=recipient, locale=locale,
                               preferences_link=absolute_url("notify.preferences"), **context)
    subject, _, body = text.strip().partition("\n")
    return subject.strip()[:SUBJECT_MAX], body.strip() + "\n"
