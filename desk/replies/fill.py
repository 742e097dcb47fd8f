"""A saved reply filled for one ticket: in the ticket's language (the one its requester used),
its placeholders replaced by the ticket's values. A value the ticket does not have (no expected
date once resolved, no tracking link, no department) leaves its placeholder in the text, so the
writer sees it and edits it; a reply still holding one is refused on send
(desk.tickets.service.add_comment)."""
from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from desk.models import SavedReply, Ticket
from desk.notify.messages import beneficiary_language
from desk.portal import profile
from desk.replies.service import PLACEHOLDER, PLACEHOLDERS, article_ids
from desk.text import format_both
from desk.tickets.receipt import receipt_context


def values(session: Session, ticket: Ticket, lang: str) -> dict[str, str]:
    """The ticket's value of each placeholder it has (``lang``: the names and dates' language)."""
    receipt = receipt_context(session, ticket)  # the same name, expected date and link as the receipt
    found = {
        "name": "" if ticket.anonymous else receipt["name"],
        "reference": ticket.reference,
        "expected_date": format_both(receipt["expected"], lang, with_time=False) if receipt["expected"] else "",
        "department": ticket.department.name(lang) if ticket.department is not None else "",
        "phone": profile.get(session, current_app.config).phone or "",
        "link": receipt["link"] or "",
    }
    return {name: value for name, value in found.items() if name in PLACEHOLDERS and value}


def substitute(text: str, known: dict[str, str]) -> str:
    """``text`` with each ``{name}`` it holds replaced by its value in ``known``; a placeholder
    without a value stays as written (saved replies here, messages to many in desk.broadcasts)."""
    return PLACEHOLDER.sub(lambda m: known.get(" ".join(m.group(1).split()).replace(": ", ":"), m.group(0)), text)


def fill(session: Session, ticket: Ticket, reply: SavedReply) -> str:
    """The reply's text in the ticket's language (Arabic when it has no English), filled."""
    lang = beneficiary_language(ticket)
    text = reply.body_en if lang == "en" and reply.body_en else reply.body_ar
    return substitute(text, values(session, ticket, lang) | article_links(session, text))


def article_links(session: Session, text: str) -> dict[str, str]:
    """``article:N`` → the portal's address of each linked article the public can read now
    (an unpublished one stays a placeholder, and the reply is refused until it is replaced)."""
    from desk.errors import NotFound
    from desk.kb.service import public_get
    from desk.notify.messages import absolute_url
    found = {}
    for article_id in dict.fromkeys(article_ids(text)):
        try:
            public_get(session, article_id)
        except NotFound:
            continue
        found[f"article:{article_id}"] = absolute_url("help.help_article", article_id=article_id)
    return found
