"""Attach a document on the ticket page, and download it: never shown inline."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from desk import error_pages
from desk.attachments import service
from desk.attachments.forms import AttachmentForm
from desk.errors import NotFound, ValidationFailed
from desk.extensions import db
from desk.submissions import AlreadyTaken, Kind, first
from desk.tickets import service as tickets
from desk.tickets.page import context
from desk.web import is_htmx, merge_errors, posted_once, send_download

bp = Blueprint("attachments", __name__)


def _max_bytes() -> int:
    return int(current_app.config["DESK_ATTACHMENT_MAX_MB"] * 1024 * 1024)


@bp.app_context_processor
def _attachments_of():
    """``attachments_of(ticket)`` for the panel (templates/attachments/_list.html)."""
    return {"attachments_of": lambda ticket: service.for_ticket(db.session, ticket),
            "attachment_max_mb": f"{current_app.config['DESK_ATTACHMENT_MAX_MB']:g}"}


def _upload_again(reference: str):
    """The upload form with its description, when the document could not be stored (desk.error_pages:
    503; the file must be chosen again)."""
    ticket = tickets.get_ticket(db.session, current_user, reference)
    return _refused(ticket, AttachmentForm(), {}, 503)


@bp.post("/tickets/<reference>/attachments")
@error_pages.form_page(_upload_again, AttachmentForm)
@login_required
def upload(reference: str):
    ticket = tickets.get_ticket(db.session, current_user, reference)
    form = AttachmentForm()
    if not form.validate_on_submit():  # only the CSRF token can fail here (CSRFProtect refuses first)
        abort(400)
    once = posted_once(Kind.ATTACHMENT)
    if first(db.session, once) is not None:  # attached already (a double click, a retry): the same answer
        return _attached(ticket)
    sent = request.files.get("file")
    upload = service.Upload(stream=sent.stream if sent else None, filename=sent.filename if sent else "",
                            description=form.description.data or "", document_type=form.document_type.data or "")
    try:
        service.add(db.session, current_user, ticket, upload,
                    directory=current_app.config["DESK_ATTACHMENT_DIR"], max_bytes=_max_bytes(), once=once)
    except AlreadyTaken:  # the same form, sent at the same moment, was saved by the other request
        return _attached(ticket)
    except ValidationFailed as failed:
        return _refused(ticket, form, failed.errors)
    return _attached(ticket)


def _attached(ticket):
    """After a document is attached: the panel with it (and the timeline), or the ticket page."""
    done = _("The document is attached.")
    if is_htmx():
        return render_template("attachments/_after_upload.html", **context(ticket), done=done)
    flash(done, "success")
    return redirect(url_for("tickets.show", reference=ticket.reference))


def _refused(ticket, form, errors, status: int = 422):
    """The panel (htmx) or the ticket page again, the messages by the fields, the description kept."""
    merge_errors(form, errors)
    page = context(ticket, attachment_form=form)
    return render_template("attachments/_list.html" if is_htmx() else "tickets/show.html", **page), status


@bp.errorhandler(RequestEntityTooLarge)
def _request_too_large(error):
    """A request over MAX_CONTENT_LENGTH is refused before any view runs: on the upload
    endpoint say so by the file field, as for any file over the limit."""
    if request.endpoint != "attachments.upload" or request.view_args is None or not current_user.is_authenticated:
        return error_pages.answer(413)
    try:
        ticket = tickets.get_ticket(db.session, current_user, request.view_args["reference"])
    except NotFound:  # (raised here, it would not reach the DeskError handler)
        return error_pages.answer(404)
    form = AttachmentForm(formdata=None)
    merge_errors(form, service.too_big(_max_bytes()).errors)
    page = context(ticket, attachment_form=form)
    return render_template("attachments/_list.html" if is_htmx() else "tickets/show.html", **page), 413


@bp.get("/tickets/<reference>/attachments/<int:attachment_id>")
@login_required
def download(reference: str, attachment_id: int):
    ticket, attachment = service.get(db.session, current_user, reference, attachment_id)
    service.record_download(db.session, current_user, ticket, attachment)
    return download_response(attachment)


def download_response(attachment):
    """The file as a download (also the portal's, for the beneficiary's own documents)."""
    return send_download(service.path_of(attachment, current_app.config["DESK_ATTACHMENT_DIR"]),
                         filename=attachment.filename, content_type=attachment.content_type, etag=attachment.sha256)
