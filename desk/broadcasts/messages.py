"""Writing one message to many for one person (desk.broadcasts.service decides who): the
author's text in the language they wrote in (Arabic when there is no English), any personal
number in it masked (desk.notify.messages.scrub), its placeholders filled as saved replies fill
theirs (desk.replies.fill.substitute), and how to receive no more: a link by email and SMS,
a STOP reply on WhatsApp (desk.broadcasts.optout)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import render_template
from flask_babel import force_locale
from sqlalchemy.orm import Session

from desk.models import Ticket
from desk.notify.messages import SUBJECT_MAX, absolute_url, beneficiary_language, scrub
from desk.portal import profile
from desk.replies.fill import substitute

from . import optout


def write(session: Session, config: Mapping[str, Any], ticket: Ticket, channel: str, address: str,
          body_ar: str, body_en: str, reason: str = "", *, aid_delay: bool = False) -> tuple[str, str]:
    """(subject, body) to the beneficiary of ``ticket`` (their latest in the group) at ``address``."""
    lang = beneficiary_language(ticket)
    text = body_en if lang == "en" and body_en else body_ar
    contact = (ticket.meta or {}).get("contact") or {}
    name = contact.get("name") or (ticket.beneficiary.name if ticket.beneficiary else "")
    association = profile.get(session, config)
    known = {"name": name, "reference": ticket.reference, "phone": association.phone or "",
             "link": absolute_url("portal.home")}
    filled = substitute(scrub(text), known)  # a value this person lacks (a name) leaves nothing, never a brace
    stop_link = (absolute_url("portal.stop", token=optout.token(config["SECRET_KEY"], ticket, address))
                 if channel != "whatsapp" else None)
    with force_locale(lang):
        rendered = render_template("notify/broadcast.txt", ticket=ticket, text=filled, stop_link=stop_link,
                                   aid_delay=aid_delay, reason=scrub(reason), association=association.name(lang))
    subject, _, body = rendered.strip().partition("\n")
    return subject.strip()[:SUBJECT_MAX], body.strip() + "\n"


def meta(ticket: Ticket, channel: str) -> dict[str, Any] | None:
    """What the channel's sender needs beside the text (desk.channels): the reference, and on
    WhatsApp the link its template carries outside the 24-hour window."""
    if channel == "whatsapp":
        return {"reference": ticket.reference, "link": absolute_url("portal.home")}
    if channel == "sms":
        return {"reference": ticket.reference}
    return None
