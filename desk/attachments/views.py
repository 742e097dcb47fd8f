"""Attach a document on the ticket page, and download it: never shown inline."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from desk.attachments import service
from desk.attachments.forms import AttachmentForm
from desk.errors import NotFound, ValidationFailed
from desk.extensions import db
from desk.tickets import service as tickets
from desk.web import is_htmx, merge_errors

bp = Blueprint("attachments", __name__)


def _max_bytes() -> int:
    return int(current_app.config["DESK_ATTACHMENT_MAX_MB"] * 1024 * 1024)


@bp.app_context_processor
def _attachments_of():
    """``attachments_of(ticket)`` for the panel (templates/attachments/_list.html)."""
    return {"attachments_of": lambda ticket: service.for_ticket(db.session, ticket),
            "attachment_max_mb": f"{current_app.config['DESK_ATTACHMENT_MAX_MB']:g}"}


@bp.post("/tickets/<reference>/attachments")
@login_required
def upload(reference: str):
    ticket = tickets.get_ticket(db.session, current_user, reference)
    form = AttachmentForm()
    if not form.validate_on_submit():  # only the CSRF token can fail here (CSRFProtect refuses first)
        abort(400)
    sent = request.files.get("file")
    upload = service.Upload(stream=sent.stream if sent else None, filename=sent.filename if sent else "",
                            description=form.description.data or "")
    try:
        service.add(db.session, current_user, ticket, upload,
                    directory=current_app.config["DESK_ATTACHMENT_DIR"], max_bytes=_max_bytes())
    except ValidationFailed as failed:
        return _refused(ticket, form, failed.errors)
    done = _("The document is attached.")
    if is_htmx():
        return render_template("attachments/_after_upload.html", **_page(ticket), done=done)
    flash(done, "success")
    return redirect(url_for("tickets.show", reference=ticket.reference))


def _page(ticket, **extra) -> dict:
    from desk.tickets.views import _context  # the ticket page's context, one definition
    return {**_context(ticket), **extra}


def _refused(ticket, form, errors):
    """The panel (htmx) or the ticket page again, the messages by the fields, the description kept."""
    merge_errors(form, errors)
    context = _page(ticket, attachment_form=form)
    if is_htmx():
        return render_template("attachments/_list.html", **context), 422
    return render_template("tickets/show.html", **context), 422


@bp.app_errorhandler(RequestEntityTooLarge)
def _request_too_large(error):
    """A request over MAX_CONTENT_LENGTH is refused before any view runs: on the upload
    endpoint say so by the file field, as for any file over the limit."""
    if request.blueprint == "portal":  # a beneficiary: the portal's own frame and words
        from desk.portal.views import refused_page
        return refused_page(413)
    if request.endpoint != "attachments.upload" or not current_user.is_authenticated:
        return render_template("errors.html", error=None, status=413), 413
    try:
        ticket = tickets.get_ticket(db.session, current_user, request.view_args["reference"])
    except NotFound:  # (raised here, it would not reach the DeskError handler)
        return render_template("errors.html", error=None, status=404), 404
    form = AttachmentForm(formdata=None)
    merge_errors(form, service.too_big(_max_bytes()).errors)
    context = _page(ticket, attachment_form=form)
    template = "attachments/_list.html" if is_htmx() else "tickets/show.html"
    return render_template(template, **context), 413


@bp.get("/tickets/<reference>/attachments/<int:attachment_id>")
@login_required
def download(reference: str, attachment_id: int):
    _ticket, attachment = service.get(db.session, current_user, reference, attachment_id)
    return download_response(attachment)


def download_response(attachment):
    """The file as a download (also the portal's, for the beneficiary's own documents)."""
    path = service.path_of(attachment, current_app.config["DESK_ATTACHMENT_DIR"])
    if not path.is_file():
        abort(404)
    # Always a download with the stored (sniffed) type, never rendered by the browser:
    # send_file writes filename*=UTF-8''… (RFC 5987) for a name that is not ASCII.
    response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.filename, etag=attachment.sha256, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
