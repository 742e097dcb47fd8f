"""The ticket page as the views of every area build it: its context (``context``) and the one
way a panel's form runs a step on the ticket (``run_step``) — the actions panel, the research
committee's panel and the compensation claim's panel all answer alike: the panel with a
message, or the refused form open again with what was typed and why."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import select

from desk.errors import StaleVersion, ValidationFailed
from desk.extensions import db
from desk.forms import optional_id
from desk.models import Department, Ticket, User
from desk.permissions import Action, can
from desk.tags import service as tags
from desk.tickets import merge, service, workflow
from desk.tickets.forms import CommentForm
from desk.web import go_to, is_htmx


def _names(events) -> dict[str, dict]:
    """Display names for the ids that department and assignee events carry (and the staff an
    undelivered message was for), and each reason
    code in words (service.describe_reasons), in the reader's language: one query per kind."""
    locale = str(get_locale())
    departments = {d.id: d.name(locale) for d in db.session.query(Department)}
    ids = {int(v) for e in events if e.kind == "assignee" for v in (e.old_value, e.new_value) if v and v.isdigit()}
    ids |= {int(e.old_value) for e in events if e.kind == "undelivered" and e.old_value and e.old_value.isdigit()}
    users = {uid: name for uid, name in db.session.execute(select(User.id, User.name).where(User.id.in_(ids)))} if ids else {}
    reasons = service.describe_reasons(db.session, (e.reason for e in events), locale)
    return {"department": departments, "assignee": users, "reason": reasons}


class Permissions:
    """``may`` of the ticket page: ``may.ticket_note`` is ``can(actor, Action.TICKET_NOTE, ticket)``,
    asked when the template first reads it and remembered. The page reads ~25 of the ~60 actions:
    the others are never asked. An unknown name reads as undefined, as a missing key of a dict."""

    __slots__ = ("_actor", "_ticket", "_known")

    def __init__(self, actor: User, ticket: Ticket) -> None:
        self._actor, self._ticket = actor, ticket
        self._known: dict[str, bool] = {}

    def __getitem__(self, name: str) -> bool:
        known = self._known.get(name)
        if known is None:
            if name != name.lower():
                raise KeyError(name)
            try:
                action = Action[name.upper()]
            except KeyError:
                raise KeyError(name) from None
            known = self._known[name] = can(self._actor, action, self._ticket)
        return known

    def __getattr__(self, name: str) -> bool:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def context(ticket: Ticket, comment_form=None, conflict=None, attempted=None, errors=None,
            open_action="", typed=None, action_errors=None, **extra: Any) -> dict:
    """Everything templates/tickets/show.html and its fragments read; ``extra`` for a panel's own."""
    links = merge.links(db.session, current_user, ticket)
    events = service.timeline(db.session, ticket, current_user.timeline_newest_first,
                              merged=[t.id for t in links.merged_from])
    return {
        "ticket": ticket,
        "events": events,
        "links": links,
        "merged_from": {t.id: t.reference for t in links.merged_from},  # the timeline's "merged from" marks
        "names": _names(events),
        "comment_form": comment_form or CommentForm(formdata=None, version=ticket.version),
        "statuses": workflow.allowed_statuses(current_user, ticket),
        "departments": service.active_departments(db.session),
        "assignees": service.assignable_users(db.session, current_user, ticket)
                     if can(current_user, Action.TICKET_ASSIGN, ticket) else [],
        "may": Permissions(current_user, ticket),
        "history": service.beneficiary_history(db.session, current_user, ticket),
        "conflict": conflict,
        "attempted": attempted or {},
        "errors": errors or {},
        # The action forms (templates/tickets/_actions.html): which one is open, with what typed.
        "open_action": open_action,
        "typed": typed or {},
        "action_errors": action_errors or {},
        # The tags panel (templates/tickets/_tags.html): the ticket's, and every name to choose from.
        "tags": tags.tags_of(db.session, [ticket.id]).get(ticket.id, []),
        "tag_names": [t.name for t in tags.all_tags(db.session)],
        "tag_typed": "", "tag_errors": [],
        **extra,
    }


@dataclass(frozen=True)
class Panel:
    """A panel of the ticket page whose forms run steps: the htmx answer's template (the panel,
    with the rest of the page out of band) and the names its template reads for the open
    form, what was typed, the messages, a conflict and the success message."""

    answer: str
    open: str
    typed: str
    errors: str
    conflict: str
    done: str


# A step: the service call, given the ticket, the form and the version the user saw.
Step = Callable[[Ticket, Any, int | None], Any]


def run_step(panel: Panel, ticket: Ticket, name: str, step: Step, form, done: str | Callable[[Any], str]):
    """Run one step from ``panel``'s form ``name``. Done: the panel with the message (htmx) or
    back to the ticket page; a ticket the actor can no longer see (returned or transferred
    away) sends them to their queue. Refused: the form again, open, with what was typed and
    the messages (422), or with what changed meanwhile (409)."""
    try:
        result = step(ticket, form, optional_id(form.version.data))
    except StaleVersion as stale:
        return _refused(panel, ticket, name, form, {}, 409, stale)
    except ValidationFailed as failed:
        return _refused(panel, ticket, name, form, failed.errors, 422, None)
    message = done(result) if callable(done) else done
    if not can(current_user, Action.TICKET_VIEW, ticket):
        return go_to(url_for("queue.index"), message)
    if is_htmx():
        return render_template(panel.answer, **context(ticket, **{panel.done: message}))
    flash(message, "success")
    return redirect(url_for("tickets.show", reference=ticket.reference))


def step_again(panel: Panel, form_class) -> Callable[[str, str], Any]:
    """For desk.error_pages.form_page: the step's form open again as typed, when the database or
    the disk failed it (503)."""
    def again(reference: str, name: str):
        ticket = service.get_ticket(db.session, current_user, reference)
        return _refused(panel, ticket, name, form_class(), {}, 503, None)
    return again


def _refused(panel: Panel, ticket: Ticket, name: str, form, errors: dict, status: int, conflict):
    page = context(ticket, **{panel.open: name, panel.typed: form.typed(), panel.errors: errors,
                              panel.conflict: conflict})
    return render_template(panel.answer if is_htmx() else "tickets/show.html", **page), status
