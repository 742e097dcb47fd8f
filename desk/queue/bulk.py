"""Bulk actions in the queue (issue 18, point 2): assign, route to a department, change the
priority, add a tag, or close as a duplicate or spam, on up to MAX_SELECTED tickets at once.

Each ticket goes through the same use case a single action on its page uses
(desk.tickets.service.change_field, desk.tickets.actions.transfer and close_as,
desk.tags.service.add), with the version the person saw on the queue's row: so each is
checked for permission and version on its own, each change is its own timeline event and
its own transaction. A ticket refused, or one whose transaction failed (a database fault),
is rolled back alone and never half-changed; the others stand. The answer is one summary:
what was done, what was already so, and what was refused and why, ticket by ticket.

The service-level policy is loaded once for the batch (desk.sla.service.one_policy), not once
a ticket, and a commit does not make the session read the actor again (desk.transaction.batch).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from desk.errors import Forbidden, NotFound, StaleVersion, ValidationFailed
from desk.models import Department, Priority, Role, Ticket, User
from desk.permissions import sees_all, visible_tickets
from desk.sla.service import one_policy
from desk.tags import service as tags
from desk.tickets import actions
from desk.tickets.service import CLOSE_REASONS, change_field
from desk.transaction import batch, discard

log = logging.getLogger("desk.queue.bulk")

MAX_SELECTED = 500
CHUNK = 100  # tickets read per query
STALE = _l("Changed by someone else since you loaded the list: look at it again.")
NOT_SAVED = _l("Not saved: the database failed. Nothing of it was changed; try again.")
ACTIONS = ("assign", "route", "priority", "tag", "close")


def may_use(actor: User) -> bool:
    """Who sees the bulk form: whoever works tickets (the queue roles and focal points); each
    ticket still checks its own permission."""
    return actor.is_authenticated and (sees_all(actor) or actor.has_role(Role.FOCAL))


@dataclass(frozen=True)
class Request:
    """What the person chose in the bulk form, as typed."""

    action: str = ""
    assignee: str = ""
    department: str = ""
    priority: str = ""
    tag: str = ""
    close_as: str = ""
    reason: str = ""


FIELDS = tuple(Request.__dataclass_fields__)


@dataclass
class Outcome:
    reference: str
    message: object = ""   # why it was refused (a lazy text), or nothing


@dataclass
class Summary:
    action: str
    done: list[Outcome] = field(default_factory=list)
    unchanged: list[Outcome] = field(default_factory=list)  # it was already so
    refused: list[Outcome] = field(default_factory=list)


def parse_selection(values: Iterable[str]) -> list[tuple[int, int]]:
    """The checked rows: ``"<ticket id>:<version seen>"`` each; anything else is dropped, and a
    ticket checked twice counts once (the first version seen)."""
    picked: dict[int, int] = {}
    for value in values:
        ticket_id, _, version = str(value).partition(":")
        if ticket_id.isdigit() and version.isdigit():
            picked.setdefault(int(ticket_id), int(version))
    return list(picked.items())


def _check(session: Session, chosen: Request, selection: list[tuple[int, int]]) -> None:
    """The form's own rules, before any ticket is touched: ValidationFailed by the field."""
    errors: dict[str, list] = {}
    if not selection:
        errors["selection"] = [_l("Select at least one ticket in the list.")]
    elif len(selection) > MAX_SELECTED:
        errors["selection"] = [_l("Select at most %(n)s tickets at once.", n=MAX_SELECTED)]
    if chosen.action not in ACTIONS:
        errors["action"] = [_l("Choose what to do with the selected tickets.")]
    elif chosen.action == "assign" and not chosen.assignee.isdigit():
        errors["assignee"] = [_l("Choose the person to assign them to.")]
    elif chosen.action == "route":
        department = session.get(Department, int(chosen.department)) if chosen.department.isdigit() else None
        if department is None or not department.active:
            errors["department"] = [_l("Choose an active department.")]
    elif chosen.action == "priority" and chosen.priority not in {str(int(p)) for p in Priority}:
        errors["priority"] = [_l("Choose a priority from the list.")]
    elif chosen.action == "tag":
        try:
            tags.clean_name(chosen.tag, "tag")
        except ValidationFailed as failed:
            errors.update(failed.errors)
    elif chosen.action == "close":
        if chosen.close_as not in CLOSE_REASONS:
            errors["close_as"] = [_l("Choose why the tickets are closed.")]
        if not chosen.reason.strip():
            errors["reason"] = [_l("Write why the tickets are closed.")]
    if errors:
        raise ValidationFailed(errors)


def _step(session: Session, actor: User, chosen: Request) -> Callable[[Ticket, int], bool]:
    """The single action's use case for one ticket (True: changed, False: it was already so)."""
    if chosen.action == "assign":
        return lambda t, v: change_field(session, actor, t, "assignee", chosen.assignee, expected_version=v)
    if chosen.action == "priority":
        return lambda t, v: change_field(session, actor, t, "priority", chosen.priority, expected_version=v)
    if chosen.action == "tag":
        return lambda t, v: tags.add(session, actor, t, chosen.tag, expected_version=v)
    if chosen.action == "close":
        return lambda t, v: bool(actions.close_as(session, actor, t, chosen.close_as, chosen.reason,
                                                  expected_version=v))
    target = int(chosen.department)

    def route(t: Ticket, v: int) -> bool:
        if t.department_id == target:
            return False
        if t.department_id is None:  # an unrouted ticket is routed as on its page
            return change_field(session, actor, t, "department", str(target), expected_version=v)
        # a routed one moves only with a reason, as the transfer form asks
        return bool(actions.transfer(session, actor, t, target, chosen.reason, expected_version=v))
    return route


def _why(failed: ValidationFailed) -> object:
    messages = [m for ms in failed.errors.values() for m in ms]
    return " ".join(str(m) for m in messages) or _l("Refused.")


def run(session: Session, actor: User, chosen: Request, selection: list[tuple[int, int]]) -> Summary:
    """Apply ``chosen`` to each selected ticket (id, version seen), one transaction each."""
    _check(session, chosen, selection)
    summary = Summary(chosen.action)
    ids = [ticket_id for ticket_id, _ in selection]
    # Only what the actor may see: another department's ticket is "not found", as everywhere.
    references = dict(session.execute(select(Ticket.id, Ticket.reference)
                                      .where(Ticket.id.in_(ids), visible_tickets(actor))).all())
    step = _step(session, actor, chosen)
    with one_policy(session), batch(session):
        for start in range(0, len(selection), CHUNK):
            part = selection[start:start + CHUNK]
            # Read a chunk at a time, afresh. A row read here and changed by someone else before
            # its turn is still refused: the UPDATE carries the version read (StaleVersion).
            loaded = {t.id: t for t in session.scalars(
                select(Ticket).where(Ticket.id.in_([i for i, _ in part if i in references]))
                .execution_options(populate_existing=True))}
            for ticket_id, seen in part:
                _one(session, chosen, summary, step, loaded.get(ticket_id), ticket_id, seen, references)
    return summary


def _one(session: Session, chosen: Request, summary: Summary, step: Callable[[Ticket, int], bool], ticket: Ticket | None, ticket_id: int,
         seen: int, references: dict[int, str]) -> None:
    """One ticket of the batch, its outcome added to ``summary``."""
    if ticket is None:
        summary.refused.append(Outcome(f"#{ticket_id}", _l("Not found, or not a ticket you may see.")))
        return
    outcome = Outcome(references[ticket_id])
    try:
        changed = step(ticket, seen)
    except StaleVersion:
        outcome.message = STALE
    except (NotFound, Forbidden):
        outcome.message = _l("You may not do this on this ticket.")
    except ValidationFailed as failed:
        outcome.message = _why(failed)
    except SQLAlchemyError as error:  # atomic rolled this ticket back whole; the others stand
        log.error("bulk %s: ticket %s not saved (%s)", chosen.action, ticket_id, type(error).__name__)
        discard(session)
        outcome.message = NOT_SAVED
    else:
        (summary.done if changed else summary.unchanged).append(outcome)
        return
    summary.refused.append(outcome)
