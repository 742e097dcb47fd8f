"""The portal's pages under /portal/: plain forms that work without JavaScript on a phone.

Access to a ticket is proven once (tracking link, signed link from a message, or reference and
phone) and then remembered in the visitor's session (desk.portal.tracking.grant); every page of
a ticket checks that grant. A wrong key, a wrong phone and a reference that does not exist all
get the same answer.
"""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import ValidationError

from desk import error_pages, outage
from desk.attachments.service import EXTENSIONS, Upload, record_download
from desk.attachments.views import download_response
from desk.broadcasts import optout
from desk.errors import ValidationFailed
from desk.extensions import csrf, db, limiter
from desk.portal import links, privacy, profile, satisfaction, service, tracking
from desk.portal.forms import ReplyForm, SubmitForm, SurveyForm, TrackForm
from desk.submissions import AlreadyTaken, Answered, Kind, first
from desk.tickets import merge
from desk.transaction import discard
from desk.web import current_locale, merge_errors, posted_once

bp = Blueprint("portal", __name__, url_prefix="/portal")
# The portal's forms are checked by check_csrf below, not by Flask-WTF's global check (see there).
csrf.exempt(bp)


@bp.before_request
def check_csrf():
    """The CSRF check of the portal's forms. Its pages send no Referer (``no_referrer``: a
    tracking link must not leave in one), and Flask-WTF refuses an HTTPS form without one, so
    the portal checks the same token itself and asks the browser's own word instead of the
    Referer: a form posted from another site carries ``Sec-Fetch-Site: cross-site``."""
    config = current_app.config
    if not config.get("WTF_CSRF_ENABLED", True) or request.method not in config["WTF_CSRF_METHODS"]:
        return
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        raise CSRFError("The form was sent from another site.")
    token = request.form.get(config["WTF_CSRF_FIELD_NAME"]) or next(
        (request.headers[name] for name in config["WTF_CSRF_HEADERS"] if request.headers.get(name)), None)
    try:
        validate_csrf(token)
    except ValidationError as error:
        raise CSRFError(error.args[0]) from None
    g.csrf_valid = True  # as Flask-WTF marks it: the forms do not check the token again


@bp.after_request
def no_referrer(response):
    """No page of the portal tells another site where the visitor came from: its addresses
    carry a ticket's reference, and a tracking link a key (issue 16, point 7)."""
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _limit(name: str):
    return lambda: current_app.config[name]


def limit_of(name: str) -> str:
    """A rate limit of the settings (DESK_PORTAL_*), for the portal's pages kept elsewhere."""
    return current_app.config[name]


def _typed_phone() -> str:
    """Rate-limit key: the mobile number typed in the form, digits only (any script)."""
    from desk.text import to_ascii_digits
    digits = "".join(c for c in to_ascii_digits(request.form.get("phone", "")) if c.isdigit())
    return "phone:" + digits[-9:]


def _typed_reference() -> str:
    """Rate-limit key: the reference typed, as the lookup reads it (guesses at one request's
    phone number from many addresses still count against that request)."""
    from desk.text import normalize_reference
    return "reference:" + normalize_reference(request.form.get("reference", ""))[:20]


def _no_phone() -> bool:
    return not any(c.isdigit() for c in request.form.get("phone", ""))


def _ticket_key() -> str:
    return "ticket:" + (request.view_args or {}).get("reference", "").strip().upper()


def _not_granted() -> bool:
    """A visitor without access to the ticket is refused anyway: they must not spend the
    ticket's own allowance (a stranger could otherwise silence its beneficiary)."""
    ticket = service.by_reference(db.session, (request.view_args or {}).get("reference", ""))
    return ticket is None or not tracking.granted(session, ticket)


def _sent_already(kind: Kind) -> bool:
    """This visitor's form was recorded already: it is answered again (the same confirmation),
    never refused as one attempt too many — a double click at the limit still shows it. (Asked
    by the limiter, which takes any error here for its store failing: a database error means
    "no", and the view meets it.)"""
    try:
        return first(db.session, posted_once(kind)) is not None
    except SQLAlchemyError:
        discard(db.session)
        return False


def _request_sent_already() -> bool:
    return _sent_already(Kind.PORTAL_REQUEST)


def _no_phone_or_sent_already() -> bool:
    return _no_phone() or _request_sent_already()


def _reply_sent_already() -> bool:
    return _sent_already(Kind.PORTAL_REPLY)


def _not_granted_or_sent_already() -> bool:
    return _not_granted() or _reply_sent_already()


def _max_file_bytes() -> int:
    return int(current_app.config["DESK_ATTACHMENT_MAX_MB"] * 1024 * 1024)


def _uploads(field: str = "files") -> list[Upload]:
    return [Upload(stream=f.stream, filename=f.filename or "") for f in request.files.getlist(field)
            if f and (f.filename or "").strip()]


def _profile():
    """The association's profile; the settings' names when the database cannot be read (the
    portal's frame around a page that says so, desk.error_pages)."""
    return outage.without_database(db.session, lambda: profile.get(db.session, current_app.config),
                                   lambda: profile.from_settings(current_app.config))


@bp.app_context_processor
def _portal_profile():
    """``portal_profile()`` for the portal's header and footer; the documents' limits."""
    from desk.channels import sms
    return {"portal_profile": _profile, "portal_max_files": service.MAX_FILES, "portal_sms": sms.enabled(),
            "social_links": profile.social_links,
            "portal_accept": ",".join(sorted("." + ext for exts in EXTENSIONS.values() for ext in exts)),
            "portal_max_mb": current_app.config['DESK_ATTACHMENT_MAX_MB']}  # a number: desk.i18n writes it


@bp.errorhandler(RequestEntityTooLarge)
@bp.errorhandler(429)
def refused_page(error):
    """Too large (413) or too many attempts (429), in the portal's frame and words."""
    status = error.code
    return render_template("portal/refused.html", status=status), status


# Home, directory, logo ----------------------------------------------------------------

@bp.get("/")
def home():
    return render_template("portal/home.html")


@bp.get("/directory")
def directory():
    return render_template("portal/directory.html", departments=service.published_departments(db.session))


@bp.get("/privacy")
@bp.get("/privacy/<int:number>")
def privacy_notice(number: int | None = None):
    """The full privacy notice in force, or an earlier version (the one a request accepted)."""
    from desk.privacy.service import period_for
    notice = privacy.current(db.session) if number is None else privacy.version(db.session, number)
    if notice is None:
        abort(404)
    latest = privacy.current(db.session).version
    months = {kind: period_for(db.session, kind) for kind in service.PORTAL_KINDS}
    return render_template("portal/privacy.html", notice=notice, latest=latest, months=months)


@bp.get("/logo")
def logo():
    row = _profile()
    path = profile.logo_path(current_app.config, row)
    if path is None:
        abort(404)
    response = send_file(path, mimetype=row.logo_content_type, max_age=3600)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


# Submitting ---------------------------------------------------------------------------

def _recorded(response) -> bool:
    """Only a request that was recorded spends the allowance: someone correcting their
    mistakes (a 422 answer) is never locked out, nor someone whose form was sent twice (the
    second answer repeats the first); nothing is written for them anyway."""
    return response.status_code < 400 and not g.get("portal_answered_again")


def _new_again():
    """The form as typed, when the request could not be recorded (desk.error_pages: 503)."""
    return render_template("portal/new.html", form=SubmitForm()), 503


@bp.route("/new", methods=["GET", "POST"])
@error_pages.form_page(_new_again, SubmitForm, signed_in=False)
@limiter.limit(_limit("DESK_PORTAL_SUBMIT_LIMIT"), methods=["POST"], deduct_when=_recorded,
               exempt_when=_request_sent_already)
@limiter.limit(_limit("DESK_PORTAL_PHONE_LIMIT"), methods=["POST"], key_func=_typed_phone,
               exempt_when=_no_phone_or_sent_already,
               deduct_when=_recorded)
def new():
    form = SubmitForm()
    if request.method == "GET":
        if request.args.get("kind") in service.PORTAL_KINDS:
            form.kind.data = request.args["kind"]
        form.notice_version.data = str(privacy.current(db.session).version)
        return render_template("portal/new.html", form=form)
    if form.leave_empty.data:  # the honeypot: a bot filled in the hidden field; nothing is recorded
        current_app.logger.info("portal: honeypot filled, submission dropped")
        return render_template("portal/received.html", ticket=None)
    once = posted_once(Kind.PORTAL_REQUEST)
    answered = first(db.session, once)
    if answered is not None:  # this form was sent already (a double click, a retry): the same answer
        return _received_again(answered)
    valid = form.validate()
    data = service.Submission(
        kind=form.kind.data or "", subject=form.subject.data or "", body=form.body.data or "",
        name=form.name.data or "", phone=getattr(form.phone, "parsed", None), email=(form.email.data or "").strip() or None,
        national_id=getattr(form.national_id, "parsed", None), anonymous=form.anonymous.data,
        attested=form.attested.data, locale=current_locale(), uploads=_uploads(),
        notice_version=privacy.accepted_version(db.session, form.notice_version.data), consent=form.consent.data,
    )
    # The service's "missing" message is not added where the form already said what is wrong.
    errors = {name: messages for name, messages in service.check(data).items()
              if not getattr(getattr(form, name, None), "errors", None)}
    if not valid or errors:
        merge_errors(form, errors)
        return render_template("portal/new.html", form=form), 422
    try:
        done = service.submit(db.session, data, directory=current_app.config["DESK_ATTACHMENT_DIR"],
                              max_bytes=_max_file_bytes(), once=once,
                              anonymous_per_hour=current_app.config["DESK_PORTAL_ANONYMOUS_PER_HOUR"])
    except ValidationFailed as failed:  # 422; 429 past the desk-wide ceiling on anonymous requests
        merge_errors(form, failed.errors)
        return render_template("portal/new.html", form=form), failed.status
    except AlreadyTaken:  # the same form, sent at the same moment, was recorded by the other request
        return _received_again(_answered(once))
    return _to_confirmation(done.ticket, done.key)


def _to_confirmation(ticket, key: str | None):
    """To the request's confirmation page, with access to it granted in this session. The key is
    shown there (after the redirect); the server keeps it only sealed with the form's token."""
    tracking.grant(session, ticket)
    session["portal_new"] = {"reference": ticket.reference, "key": key}
    return redirect(url_for("portal.received", reference=ticket.reference), 303)


def _answered(once) -> Answered:
    """The first answer to a form that another request took first (it committed: it is there)."""
    answered = first(db.session, once)
    if answered is None:
        raise AlreadyTaken()
    return answered


def _received_again(answered: Answered):
    """A request sent twice: the first one's confirmation, as if this were the first answer
    (the second request may carry a session from before the first answer's cookie)."""
    g.portal_answered_again = True
    if answered.ticket is None:
        abort(404)
    return _to_confirmation(answered.ticket, answered.secret)


@bp.get("/received/<reference>")
def received(reference: str):
    ticket = _granted_ticket(reference)
    fresh = session.get("portal_new") or {}
    key = fresh.get("key") if fresh.get("reference") == ticket.reference else None
    link = links.key_link(ticket, key) if key else None
    return render_template("portal/received.html", ticket=ticket, link=link,
                           expected=service.expected_date(db.session, ticket))


# Finding a request ---------------------------------------------------------------------

@bp.route("/track", methods=["GET", "POST"])
@limiter.limit(_limit("DESK_PORTAL_TRACK_LIMIT"), methods=["POST"])
@limiter.limit(_limit("DESK_PORTAL_TRACK_LIMIT"), methods=["POST"], key_func=_typed_reference)
@limiter.limit(_limit("DESK_PORTAL_PHONE_LIMIT"), methods=["POST"], key_func=_typed_phone, exempt_when=_no_phone)
def track():
    form = TrackForm()
    if request.method == "GET":
        form.reference.data = request.args.get("reference", "")[:20]
        return render_template("portal/track.html", form=form)
    if not form.validate():
        return render_template("portal/track.html", form=form), 422
    ticket = service.find_by_phone(db.session, form.reference.data, form.phone.parsed)
    if ticket is None:  # the same answer whether the reference exists or the phone is wrong
        form.form_errors.append(
            _("We found no request with this reference number and mobile number. Check both and try again."))
        return render_template("portal/track.html", form=form), 422
    tracking.grant(session, ticket)
    return redirect(url_for("portal.show", reference=ticket.reference), 303)


@bp.get("/t/<reference>/<key>")
@limiter.limit(_limit("DESK_PORTAL_TRACK_LIMIT"))
def open_key(reference: str, key: str):
    ticket = service.find_by_key(db.session, reference, key)
    return _enter(ticket, "portal.show")


@bp.get("/o/<token>")
@limiter.limit(_limit("DESK_PORTAL_TRACK_LIMIT"))
def open_signed(token: str):
    return _enter(service.find_by_signed(db.session, current_app.config["SECRET_KEY"], token), "portal.show")


@bp.get("/s/<token>")
@limiter.limit(_limit("DESK_PORTAL_TRACK_LIMIT"))
def open_survey(token: str):
    return _enter(service.find_by_signed(db.session, current_app.config["SECRET_KEY"], token), "portal.rate")


def _enter(ticket, endpoint: str):
    if ticket is None:
        return render_template("portal/link_invalid.html"), 404
    # A duplicate merged into another request (desk.tickets.merge): its link opens the survivor.
    ticket = merge.surviving(db.session, ticket)
    tracking.grant(session, ticket)
    # The key leaves the address bar: the next page's URL carries only the reference.
    return redirect(url_for(endpoint, reference=ticket.reference), 303)


def _granted_ticket(reference: str):
    ticket = service.by_reference(db.session, reference)
    if ticket is None or not tracking.granted(session, ticket):
        abort(_ask_to_track(reference))
    return ticket


def _ask_to_track(reference: str):
    """No grant in this session: the tracking form, the reference filled in. The same page
    whether or not the reference exists."""
    from flask import make_response
    form = TrackForm(formdata=None, reference=(reference or "")[:20])
    return make_response(render_template("portal/track.html", form=form, need_access=True), 403)


# The request's page ---------------------------------------------------------------------

def _show_context(ticket, reply_form=None) -> dict:
    row = _profile()
    return {
        "ticket": ticket, "events": service.public_timeline(db.session, ticket, row),
        "files": service.beneficiary_files(db.session, ticket),
        "expected": service.expected_date(db.session, ticket),
        "reply_form": reply_form or ReplyForm(formdata=None),
        "answer": links.survey_answer(db.session, ticket),
        "survey_open": satisfaction.open_for_answers(ticket),
        "reopen_days": row.reopen_days,
        "opted_out": optout.ticket_opted_out(db.session, ticket),
    }


@bp.get("/t/<reference>")
def show(reference: str):
    ticket = _granted_ticket(reference)
    survivor = merge.surviving(db.session, ticket)
    if survivor.id != ticket.id:  # merged since this visitor opened it: on to the request that goes on
        return _enter(survivor, "portal.show")
    return render_template("portal/show.html", **_show_context(ticket))


@bp.post("/t/<reference>/stop")
def stop_ticket(reference: str):
    """The beneficiary asks for no more general messages (messages to many): every address of
    theirs. Messages about their own requests still reach them."""
    ticket = _granted_ticket(reference)
    optout.stop_ticket(db.session, ticket)
    flash(_("You will receive no more general messages from us. Messages about your requests still reach you."),
          "success")
    return redirect(url_for("portal.show", reference=ticket.reference), 303)


@bp.route("/stop/<token>", methods=["GET", "POST"])
def stop(token: str):
    """The link at the foot of a message to many: a page that asks (a mail scanner that follows
    links changes nothing), then the address is opted out."""
    address = optout.link_address(db.session, current_app.config["SECRET_KEY"], token)
    if address is None:
        return render_template("portal/link_invalid.html"), 404
    done = request.method == "POST"
    if done:
        optout.stop(db.session, [address], None, "link")
    return render_template("portal/stop.html", token=token, done=done)


def _reply_again(reference: str):
    """The request's page with the message as typed, when it could not be recorded
    (desk.error_pages: 503)."""
    ticket = _granted_ticket(reference)
    return render_template("portal/show.html", **_show_context(ticket, ReplyForm())), 503


@bp.post("/t/<reference>/reply")
@error_pages.form_page(_reply_again, ReplyForm, signed_in=False)
@limiter.limit(_limit("DESK_PORTAL_REPLY_LIMIT"), exempt_when=_reply_sent_already)
@limiter.limit(_limit("DESK_PORTAL_REPLY_LIMIT"), key_func=_ticket_key, exempt_when=_not_granted_or_sent_already)
def reply(reference: str):
    ticket = _granted_ticket(reference)
    once = posted_once(Kind.PORTAL_REPLY)
    answered = first(db.session, once)
    if answered is not None:  # this reply was sent already (a double click, a retry): the same answer
        return _replied_again(answered)
    form = ReplyForm()
    if not form.validate():
        return render_template("portal/show.html", **_show_context(ticket, form)), 422
    try:
        done = service.reply(db.session, ticket, form.body.data or "", _uploads(),
                             reopen_days=_profile().reopen_days,
                             directory=current_app.config["DESK_ATTACHMENT_DIR"], max_bytes=_max_file_bytes(),
                             once=once, consent=bool(form.consent.data))
    except AlreadyTaken:  # the same reply, sent at the same moment, was recorded by the other request
        return _replied_again(_answered(once))
    except ValidationFailed as failed:
        merge_errors(form, failed.errors)
        return render_template("portal/show.html", **_show_context(ticket, form)), 422
    except StaleDataError:  # staff changed the request at that very moment: nothing was saved
        ticket = service.by_reference(db.session, reference)
        form.body.errors = [_("Your request changed while you were writing. Your text is kept: send it again "
                              "(choose your documents again).")]
        return render_template("portal/show.html", **_show_context(ticket, form)), 409
    if done.ticket.id != ticket.id:
        return _replied(done.ticket, service.REPLY_FOLLOWED, done.follow_up_key)
    return _replied(ticket, service.REPLY_REOPENED if done.reopened else service.REPLY_SENT)


def _replied(ticket, outcome: str, follow_up_key: str | None = None):
    """After a reply: its request's page, or the new linked request's confirmation."""
    if outcome == service.REPLY_FOLLOWED:
        flash(_("Your request was closed some time ago, so your message started a new request, %(reference)s, "
                "linked to the earlier one.", reference=ticket.reference), "info")
        return _to_confirmation(ticket, follow_up_key)
    flash(_("Your request was reopened and your message sent to the department.") if outcome == service.REPLY_REOPENED
          else _("Your message was sent to the department."), "success")
    return redirect(url_for("portal.show", reference=ticket.reference), 303)


def _replied_again(answered: Answered):
    """A reply sent twice: the first one's answer."""
    if answered.ticket is None:
        abort(404)
    return _replied(answered.ticket, answered.result.get("outcome", service.REPLY_SENT), answered.secret)


@bp.get("/t/<reference>/files/<int:attachment_id>")
def file(reference: str, attachment_id: int):
    ticket = _granted_ticket(reference)
    attachment = service.beneficiary_file(db.session, ticket, attachment_id)  # only what they sent themselves
    if attachment is None:
        abort(404)
    record_download(db.session, "portal", ticket, attachment)
    return download_response(attachment)


# The satisfaction survey -----------------------------------------------------------------

def _rate_context(ticket, form) -> dict:
    answer = links.survey_answer(db.session, ticket)
    return {"ticket": ticket, "form": form, "answer": answer, "editable": satisfaction.editable(answer),
            "survey_open": satisfaction.open_for_answers(ticket), "edit_days": satisfaction.EDIT_DAYS}


def _rate_again(reference: str):
    """The survey as answered, when the answer could not be recorded (desk.error_pages: 503)."""
    ticket = _granted_ticket(reference)
    return render_template("portal/rate.html", **_rate_context(ticket, SurveyForm(obj=None))), 503


@bp.route("/t/<reference>/rate", methods=["GET", "POST"])
@error_pages.form_page(_rate_again, SurveyForm, signed_in=False)
@limiter.limit(_limit("DESK_PORTAL_REPLY_LIMIT"), methods=["POST"])
def rate(reference: str):
    ticket = _granted_ticket(reference)
    form = SurveyForm(obj=None)
    context = _rate_context(ticket, form)
    answer = context["answer"]
    if request.method == "GET" and answer is not None:
        form.rating.data, form.solved.data, form.comment.data = answer.rating, "yes" if answer.solved else "no", answer.comment
    if request.method == "GET":
        return render_template("portal/rate.html", **context)
    if not form.validate():
        return render_template("portal/rate.html", **context), 422
    try:
        satisfaction.record(db.session, ticket, satisfaction.Answer(
            rating=form.rating.data if form.rating.data in (1, 2, 3, 4, 5) else None,
            solved={"yes": True, "no": False}.get(form.solved.data), comment=form.comment.data or ""))
    except ValidationFailed as failed:
        merge_errors(form, failed.errors)
        return render_template("portal/rate.html", **context), 422
    flash(_("Thank you: your answer was recorded."), "success")
    return redirect(url_for("portal.show", reference=ticket.reference), 303)
