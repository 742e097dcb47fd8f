from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from desk import error_pages
from desk.accounts import service as accounts
from desk.errors import StaleVersion, ValidationFailed
from desk.extensions import db
from desk.forms import optional_id
from desk.labels import MESSAGE_CHANNELS
from desk.submissions import AlreadyTaken, Kind, first
from desk.tickets import actions, merge, service
from desk.tickets.forms import ActionForm, ChangeForm, CommentForm, LinkForm
from desk.tickets.page import Panel, context, run_step, step_again
from desk.tickets.receipt import receipt_context
from desk.web import go_to, hx_target, is_htmx, merge_errors, posted_once, reader_number

bp = Blueprint("tickets", __name__)


# The parts of the ticket page an htmx request may ask for by its target's id.
FRAGMENTS = {
    "ticket-header": "tickets/_header.html",
    "ticket-props": "tickets/_props.html",
    "ticket-timeline": "tickets/_timeline.html",
    "ticket-compose": "tickets/_compose.html",
    "ticket-beneficiary": "tickets/_beneficiary.html",
    "ticket-actions": "tickets/_actions.html",
    "ticket-links": "tickets/_links.html",
}


@bp.get("/tickets/<reference>")
@login_required
def show(reference: str):
    ticket = service.get_ticket(db.session, current_user, reference)
    fragment = FRAGMENTS.get(hx_target())
    if fragment is None:  # the page itself opened: the beneficiary's new message is read
        service.mark_read(db.session, ticket)
    return render_template(fragment or "tickets/show.html", **context(ticket))


@bp.post("/tickets/<reference>/timeline-order")
@login_required
def timeline_order(reference: str):
    """Newest or oldest first: the person's choice, remembered for every ticket (on users)."""
    ticket = service.get_ticket(db.session, current_user, reference)
    accounts.set_timeline_order(db.session, current_user, request.form.get("order") == "newest")
    if is_htmx():
        return render_template("tickets/_timeline.html", **context(ticket))
    return redirect(url_for(".show", reference=ticket.reference) + "#ticket-timeline")


RECEIPT_WIDTHS = ("a4", "80mm")


@bp.get("/tickets/<reference>/receipt")
@login_required
def receipt(reference: str):
    """The printable receipt for a walk-in visitor (R19): the association's name, the reference,
    the dates in Hijri and Gregorian, the expected date and the private tracking link, in the
    language the requester used (``?lang=`` to print the other), on A4 or an 80 mm slip."""
    ticket = service.get_ticket(db.session, current_user, reference)
    if ticket.anonymous:
        abort(404)
    lang = request.args.get("lang") or (ticket.meta or {}).get("locale") or "ar"
    lang = lang if lang in current_app.config["DESK_LANGUAGES"] else "ar"
    width = request.args.get("width") if request.args.get("width") in RECEIPT_WIDTHS else "a4"
    with force_locale(lang):
        return render_template("tickets/receipt.html", **receipt_context(db.session, ticket),
                               width=width, lang=lang, widths=RECEIPT_WIDTHS)


def _change_again(reference: str, field: str):
    """The Handling panel with the value chosen and "Save again", when it could not be saved
    (desk.error_pages: 503)."""
    ticket = service.get_ticket(db.session, current_user, reference)
    page = context(ticket, attempted={field: ChangeForm().value.data})
    return render_template("tickets/_change_refused.html" if is_htmx() else "tickets/show.html", **page), 503


@bp.post("/tickets/<reference>/change/<field>")
@error_pages.form_page(_change_again, ChangeForm)
@login_required
def change(reference: str, field: str):
    ticket = service.get_ticket(db.session, current_user, reference)
    if field not in service.CHANGEABLE:
        abort(404)
    form = ChangeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        changed = service.change_field(db.session, current_user, ticket, field, form.value.data,
                                       expected_version=optional_id(form.version.data))
    except StaleVersion as stale:
        page = context(ticket, conflict=stale, attempted={field: form.value.data})
        return render_template("tickets/_after_change.html" if is_htmx() else "tickets/show.html", **page), 409
    except ValidationFailed as failed:
        # Choosing "resolved" opens the resolve form (the action taken is required); moving a
        # routed ticket opens the transfer or return form (the reason is required).
        leads_to = failed if isinstance(failed, service.UseActionForm) else None
        page = context(ticket, attempted={field: form.value.data}, errors=failed.errors,
                       open_action=leads_to.action if leads_to else "", typed=leads_to.typed if leads_to else None)
        return render_template("tickets/_change_refused.html" if is_htmx() else "tickets/show.html", **page), 422
    if is_htmx():
        return render_template("tickets/_after_change.html", **context(ticket))
    if changed:
        flash(_("Saved."), "success")
    return redirect(url_for(".show", reference=ticket.reference))


def _comment_again(reference: str):
    """The note or reply as typed, when it could not be saved (desk.error_pages: 503)."""
    ticket = service.get_ticket(db.session, current_user, reference)
    return _comment_failed(ticket, CommentForm(), {}, 503)


@bp.post("/tickets/<reference>/comments")
@error_pages.form_page(_comment_again, CommentForm)
@login_required
def comment(reference: str):
    ticket = service.get_ticket(db.session, current_user, reference)
    once = posted_once(Kind.COMMENT)
    if first(db.session, once) is not None:  # saved already (a double click, a retry): the same answer
        return _commented(ticket)
    form = CommentForm()
    if not form.validate_on_submit():
        return _comment_failed(ticket, form, {}, 422)
    try:
        service.add_comment(db.session, current_user, ticket, form.body.data,
                            public=form.visibility.data == "reply",
                            expected_version=optional_id(form.version.data),
                            send_files=request.form.getlist("send_files", type=int), once=once,
                            saved_replies=request.form.getlist("saved_reply", type=int))
    except AlreadyTaken:  # the same form, sent at the same moment, was saved by the other request
        return _commented(ticket)
    except StaleVersion as stale:
        form.version.data = str(stale.current_version)  # submitting again, after reading, is allowed
        return _comment_failed(ticket, form, {}, 409, conflict=stale)
    except ValidationFailed as failed:
        return _comment_failed(ticket, form, failed.errors, 422)
    return _commented(ticket)


def _commented(ticket):
    """After a note or reply is saved: the compose form emptied, the timeline with it."""
    if is_htmx():
        return render_template("tickets/_after_comment.html", **context(ticket))
    flash(_("Saved."), "success")
    return redirect(url_for(".show", reference=ticket.reference))


def _comment_failed(ticket, form, errors, status, conflict=None):
    merge_errors(form, errors)
    page = context(ticket, comment_form=form, conflict=conflict, errors=errors,
                   sent_files=request.form.getlist("send_files", type=int),
                   used_replies=request.form.getlist("saved_reply", type=int))
    return render_template("tickets/_after_comment.html" if is_htmx() else "tickets/show.html", **page), status


# Actions (desk.tickets.actions) ---------------------------------------------------------

# name in the URL -> the service call, given the ticket, the form and the version the user saw.
ACTIONS = {
    "take": lambda t, f, v: actions.take(db.session, current_user, t, expected_version=v),
    "request-info": lambda t, f, v: actions.request_info(db.session, current_user, t, f.message.data,
                                                         expected_version=v),
    "refer": lambda t, f, v: actions.refer(db.session, current_user, t, f.note.data),
    "return": lambda t, f, v: actions.return_to_queue(db.session, current_user, t, f.reason.data,
                                                      expected_version=v),
    "transfer": lambda t, f, v: actions.transfer(db.session, current_user, t, f.department.data, f.reason.data,
                                                 expected_version=v),
    "resolve": lambda t, f, v: actions.resolve(db.session, current_user, t, f.action_taken.data,
                                               expected_version=v, message=f.message.data),
    "remind": lambda t, f, v: actions.remind(db.session, current_user, t, f.note.data),
    "new-link": lambda t, f, v: actions.new_link(db.session, current_user, t, f.reason.data),
}

DONE = {
    "take": _l("The ticket is assigned to you."),
    "request-info": _l("The request for information is recorded; the ticket waits on the beneficiary."),
    "refer": _l("The referral to the social research officer is recorded."),
    "return": _l("The ticket is back in the shared queue."),
    "transfer": _l("The ticket is transferred."),
    "resolve": _l("The ticket is resolved."),
    # "remind": reminder_outcome, which says how many were emailed
}


def reminder_outcome(notified: int) -> str:
    """What a reminder did: how many focal points were emailed, or that nobody could be."""
    if notified:
        return _("The reminder is recorded; focal points to be emailed: %(n)s.",
                 n=reader_number(notified))  # in the reader's digits
    return _("The reminder is recorded, but nobody could be emailed: the focal points have no email "
             "address or have turned reminders off.")


def new_link_outcome(sent) -> str:
    """Where the new tracking link went, or that it could go nowhere."""
    if sent is None:
        return _("The old link no longer works. The beneficiary has no contact on this request, so the new "
                 "link could not be sent.")
    return _("The old link no longer works; the new one is sent to the beneficiary by %(channel)s.",
             channel=MESSAGE_CHANNELS.get(sent.channel, sent.channel))


ACTIONS_PANEL = Panel(answer="tickets/_after_action.html", open="open_action", typed="typed",
                      errors="action_errors", conflict="conflict", done="done")


@bp.post("/tickets/<reference>/actions/<name>")
@error_pages.form_page(step_again(ACTIONS_PANEL, ActionForm), ActionForm)
@login_required
def act(reference: str, name: str):
    """One action on the ticket (desk.tickets.page.run_step): htmx answers with the actions
    panel, the header, properties and timeline out of band."""
    ticket = service.get_ticket(db.session, current_user, reference)
    if name not in ACTIONS:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    done = {"remind": lambda result: reminder_outcome(result.notified),
            "new-link": new_link_outcome}.get(name, DONE.get(name, ""))
    return run_step(ACTIONS_PANEL, ticket, name, ACTIONS[name], form, done)


# Duplicates and related requests (desk.tickets.merge) -----------------------------------

@bp.get("/tickets/<reference>/duplicates")
@login_required
def find_duplicates(reference: str):
    """Tickets that may be the same request (by reference or search; with nothing typed, the
    beneficiary's others): the list under the panel's search (htmx), or the ticket page."""
    ticket = service.get_ticket(db.session, current_user, reference)
    typed = (request.args.get("q") or "")[:200]
    found = merge.candidates(db.session, current_user, ticket, typed)
    page = context(ticket, candidates=found, links_q=typed)
    return render_template("tickets/_link_candidates.html" if is_htmx() else "tickets/show.html", **page)


def _links_refused(ticket, form: LinkForm, errors: dict, status: int, other=None):
    """The panel again with the messages, the other ticket still offered (and, when the two
    beneficiaries differ, the merge to confirm)."""
    page = context(ticket, candidates=[other] if other is not None else [], link_errors=errors,
                   confirm_merge=form.direction.data if "confirm" in errors else None)
    return render_template("tickets/_links.html" if is_htmx() else "tickets/show.html", **page), status


def _link_form(reference: str):
    """The ticket (if the actor may see it) and the posted merge or link form (400 without its token)."""
    ticket = service.get_ticket(db.session, current_user, reference)
    form = LinkForm()
    if not form.validate_on_submit():
        abort(400)
    return ticket, form


@bp.post("/tickets/<reference>/merge")
@login_required
def merge_tickets(reference: str):
    ticket, form = _link_form(reference)
    other = None
    try:
        other = merge.find(db.session, current_user, form.other.data)
        this_is_duplicate = form.direction.data != "into_this"
        duplicate, into = (ticket, other) if this_is_duplicate else (other, ticket)
        versions = (optional_id(form.version.data), optional_id(form.other_version.data))
        merge.merge(db.session, current_user, duplicate, into,
                    duplicate_version=versions[0] if this_is_duplicate else versions[1],
                    into_version=versions[1] if this_is_duplicate else versions[0],
                    confirmed=form.confirm.data == "yes")
    except StaleVersion:
        return _links_refused(ticket, form, {"other": [_("One of the two requests changed meanwhile: look at it "
                                                          "again, then merge.")]}, 409, other)
    except ValidationFailed as failed:
        return _links_refused(ticket, form, failed.errors, 422, other)
    return go_to(url_for(".show", reference=into.reference),
                 _("%(duplicate)s is merged into %(into)s and closed.", duplicate=service.ltr(duplicate.reference),
                   into=service.ltr(into.reference)))


@bp.post("/tickets/<reference>/related")
@login_required
def relate(reference: str):
    ticket, form = _link_form(reference)
    other = None
    try:
        other = merge.find(db.session, current_user, form.other.data)
        if request.form.get("remove") == "yes":
            merge.unrelate(db.session, current_user, ticket, other)
        else:
            merge.relate(db.session, current_user, ticket, other)
    except ValidationFailed as failed:
        return _links_refused(ticket, form, failed.errors, 422, other)
    done = _("The link is removed.") if request.form.get("remove") == "yes" else _("The requests are linked.")
    if is_htmx():
        return render_template("tickets/_after_link.html", **context(ticket, links_done=done))
    flash(done, "success")
    return redirect(url_for(".show", reference=ticket.reference))
