"""The webhooks (WhatsApp, the generic one) and the admin's channel health page.

The webhooks are called by programs, not browsers: exempt from CSRF, authenticated instead by
an HMAC of the raw body, compared in constant time (403 otherwise)."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from werkzeug.exceptions import RequestEntityTooLarge

from desk.channels import inbound, media, payloads, service, whatsapp
from desk.channels.inbound import Storage
from desk.extensions import csrf, db
from desk.models import OutboxMessage, OutboxStatus
from desk.permissions import Action, can
from desk.tickets import service as tickets

log = logging.getLogger("desk.channels")
bp = Blueprint("channels", __name__)


def _signed_json(channel: str, secret_setting: str, header: str):
    """The request's JSON, if its body carries a valid HMAC signature (403 otherwise) and is
    well-formed JSON within the limits of desk.channels.payloads (400 otherwise, counted)."""
    raw = request.get_data(cache=False)
    if not inbound.signature_valid(current_app.config[secret_setting], raw, request.headers.get(header)):
        abort(403)
    try:
        return payloads.parse(raw)
    except payloads.Refused as refused:
        abort(_refused(channel, refused))


def _refused(channel: str, refused: payloads.Refused):
    """400 for a call the desk does not take: counted on the health page, logged without its content."""
    payloads.refused(channel, refused.reason, db.session)
    response = jsonify(error=refused.reason)
    response.status_code = 400
    return response


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    """A chunked body that grew past DESK_WEBHOOK_MAX_KB while it was read."""
    return payloads.too_large(payloads.HOOKS.get(request.path, "webhook"))


def _not_taken(channel: str, error: Exception):
    """The caller should deliver again later; what was committed is not taken twice."""
    log.exception("%s webhook failed", channel)
    inbound.failed(db.session, channel, f"{type(error).__name__}: {error}")
    return jsonify(error="not taken in; try again"), 500


@bp.get("/hooks/whatsapp")
@csrf.exempt
def whatsapp_verify():
    challenge = whatsapp.handshake(current_app.config, request.args.get("hub.mode"),
                                   request.args.get("hub.verify_token"), request.args.get("hub.challenge"))
    if challenge is None:
        abort(403)
    return challenge, 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/hooks/whatsapp")
@csrf.exempt
def whatsapp_hook():
    try:
        call = payloads.whatsapp_call(_signed_json("whatsapp", "DESK_WHATSAPP_APP_SECRET", "X-Hub-Signature-256"))
    except payloads.Refused as refused:
        return _refused("whatsapp", refused)
    try:
        taken = whatsapp.handle(db.session, call, current_app.config)
    except Exception as error:  # Meta calls again later
        return _not_taken("whatsapp", error)
    inbound.healthy(db.session, "whatsapp", received=taken.tickets + taken.replies)
    return jsonify(tickets=taken.tickets, replies=taken.replies, duplicates=taken.duplicates,
                   statuses=taken.statuses, ignored=taken.ignored)


@bp.post("/hooks/inbound")
@csrf.exempt
def inbound_hook():
    payload = _signed_json("inbound", "DESK_INBOUND_SECRET", "X-Desk-Signature")
    errors = service.check_form(payload)
    if errors:
        payloads.refused("inbound", "invalid fields: " + ", ".join(sorted(errors)), db.session)
        return jsonify(errors=errors), 422
    try:
        ticket, created = service.take_form(db.session, payload, Storage.from_config(db.session, current_app.config),
                                            source=request.headers.get("X-Desk-Source", "")[:80])
    except Exception as error:
        return _not_taken("inbound", error)
    reference = ticket.reference
    if created:
        inbound.healthy(db.session, "inbound", received=1)
    return jsonify(reference=reference, created=created), 201 if created else 200


@bp.app_context_processor
def _media_of():
    """``media_of(ticket)`` for the panel of files still to come (templates/channels/_media.html)."""
    return {"media_of": lambda ticket: media.open_jobs(db.session, ticket)}


@bp.post("/tickets/<reference>/media/<int:job_id>/retry")
@login_required
def media_retry(reference: str, job_id: int):
    """Fetch a given-up file again (whoever may attach a document to the ticket; 404 otherwise)."""
    ticket = tickets.get_ticket(db.session, current_user, reference)
    if not can(current_user, Action.ATTACHMENT_ADD, ticket):
        abort(404)
    if media.retry(db.session, current_user, ticket, job_id):
        flash(_("The file will be fetched again in a moment."), "success")
    else:
        flash(_("This file is no longer waiting to be fetched again."), "info")
    return redirect(url_for("tickets.show", reference=ticket.reference) + "#ticket-media")


@bp.get("/admin/channels")
@login_required
def health():
    if not can(current_user, Action.CHANNELS_VIEW):
        abort(404)
    waiting = dict(db.session.execute(
        select(OutboxMessage.channel, func.count())
        .where(OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
        .group_by(OutboxMessage.channel)).all())
    failed = dict(db.session.execute(
        select(OutboxMessage.channel, func.count())
        .where(OutboxMessage.status == OutboxStatus.FAILED).group_by(OutboxMessage.channel)).all())
    from desk.channels.imap import mailboxes
    from desk.settings import SettingsError
    try:
        configured = [f"email:{box.name}" for box in mailboxes(current_app.config["DESK_MAILBOXES"])]
        settings_error = None
    except SettingsError as error:
        configured, settings_error = [], str(error)
    states = {state.name: state for state in inbound.states(db.session)}
    names = sorted(set(configured) | set(states))
    return render_template("channels/health.html", names=names, states=states, waiting=waiting, failed=failed,
                           media_counts=media.counts(db.session),
                           settings_error=settings_error, active="channels",
                           whatsapp_ready=bool(current_app.config["DESK_WHATSAPP_APP_SECRET"]
                                               and current_app.config["DESK_WHATSAPP_TOKEN"]),
                           inbound_ready=bool(current_app.config["DESK_INBOUND_SECRET"]))
