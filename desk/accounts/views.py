"""Signing in (with the second factor), signing out, the user's own account page and the
password reset by email. The rules are in desk.accounts.service, .sessions, .twofactor, .reset."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_url, login_user, logout_user

from desk import audit, error_pages
from desk.accounts import reset, service, sessions, twofactor
from desk.accounts.forms import (
    ChangePasswordForm,
    CodeForm,
    ConfirmPasswordForm,
    EnrolForm,
    ForgotForm,
    LoginForm,
    NewPasswordForm,
)
from desk.errors import ValidationFailed
from desk.extensions import db, limiter
from desk.models import AuditAction, Role, User
from desk.permissions import sees_all
from desk.transaction import commit
from desk.web import is_htmx, merge_errors, safe_next

bp = Blueprint("accounts", __name__)

PENDING_KEY = "pending_sign_in"  # the session's record of a password accepted, second factor to come
PENDING_SECONDS = 600            # the second factor (or the enrolment) must follow within this


def _login_email_key() -> str:
    return "login:" + service.normalize_email(request.form.get("email", ""))


def _pending_key() -> str:
    pending = session.get(PENDING_KEY) or {}
    return f"second-factor:{pending.get('uid', '')}"


def _reset_email_key() -> str:
    return "reset:" + service.normalize_email(request.form.get("email", ""))


def _home(user) -> str:
    """Where a person lands after signing in: a research committee member who works no queue
    goes to the committee's list; the general manager (who works no queue) to the statistics;
    the data protection officer to the beneficiaries' records; everyone else to the queue (which opens in their own view)."""
    if user.has_role(Role.COMMITTEE) and not sees_all(user) and not user.department_ids:
        return url_for("committee.index")
    if user.has_role(Role.GENERAL_MANAGER) and not sees_all(user) and not user.department_ids:
        return url_for("stats.dashboard")
    if user.has_role(Role.DPO) and not sees_all(user) and not user.department_ids:
        return url_for("beneficiaries.index")  # the data protection officer: the beneficiaries' records
    return url_for("queue.index")


def _fresh_session(**keep) -> None:
    """A new session for a new stage of signing in: nothing from before carries over but the
    language the person chose."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    session.update(keep)


def _sign_in(user: User, detail: dict | None = None) -> None:
    """The session starts: a server-side row (recorded as SIGN_IN), and its token in the cookie."""
    token = sessions.start(db.session, user, request.remote_addr, detail)
    commit(db.session)
    locale = session.get("locale")
    _fresh_session()
    login_user(user)
    session[sessions.TOKEN_KEY] = token
    sessions.mark_seen(session)
    if locale and locale != user.locale:
        service.set_locale(db.session, user, locale)


def _pending_user() -> User | None:
    """The user whose password was accepted in this browser a moment ago, still as they were."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = db.session.get(User, pending.get("uid", 0))
    if user is None or not user.active or user.session_version != pending.get("v"):
        return None
    return user


def _pending_next(user: User) -> str:
    return safe_next((session.get(PENDING_KEY) or {}).get("next"), _home(user))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["DESK_LOGIN_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["DESK_LOGIN_LIMIT"], methods=["POST"], key_func=_login_email_key)
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data, _home(current_user)))
    if form.validate_on_submit():
        user = service.authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            if user.has_two_factor or twofactor.is_required(db.session, user):
                _fresh_session(**{PENDING_KEY: {"uid": user.id, "v": user.session_version, "at": int(time.time()),
                                                "next": form.next.data or ""}})
                return redirect(url_for("accounts.second_factor" if user.has_two_factor else "accounts.enrol"))
            _sign_in(user)
            return redirect(safe_next(form.next.data, _home(user)))
        form.password.errors.append(_("The email or password is not correct."))
        return render_template("accounts/login.html", form=form), 401
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form), status


def _start_again():
    session.pop(PENDING_KEY, None)
    flash(_("Signing in took too long. Enter your email and password again."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["DESK_LOGIN_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["DESK_LOGIN_LIMIT"], methods=["POST"], key_func=_pending_key)
def second_factor():
    """The second step of signing in: a code from the app, or a recovery code."""
    user = _pending_user()
    if user is None or not user.has_two_factor:
        return _start_again()
    form = CodeForm()
    if form.validate_on_submit():
        method = twofactor.verify(db.session, user, form.code.data or "")
        if method is not None:
            target = _pending_next(user)
            _sign_in(user, {"second_factor": method})  # commits the SECOND_FACTOR row with it
            if method == "recovery":
                left = twofactor.recovery_codes_left(db.session, user)
                flash(_("You signed in with a recovery code. Codes left: %(n)s. Make new ones from your account page if few are left.",
                        n=left), "warning")  # digits: desk.i18n
            return redirect(target)
        commit(db.session)  # the failure's record
        form.code.errors.append(_("The code is not correct, or was already used. Enter the code the app shows now."))
        form.code.data = ""  # spent or wrong: the next one is typed afresh
        return render_template("accounts/second_factor.html", form=form), 401
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/second_factor.html", form=form), status


def _enrol_page(user: User, form, status: int = 200, *, signed_in: bool):
    uri = twofactor.provisioning_uri(user, current_app.config.get("DESK_ASSOCIATION_NAME_EN") or twofactor.ISSUER)
    return render_template("accounts/enrol.html", form=form, qr=twofactor.qr_svg(uri),
                           secret=twofactor.grouped(user.totp_secret or ""), signed_in=signed_in), status


@bp.route("/login/enrol", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["DESK_LOGIN_LIMIT"], methods=["POST"], key_func=_pending_key)
def enrol():
    """A user whose role requires a second factor and who has none sets it up before going on."""
    user = _pending_user()
    if user is None:
        return _start_again()
    if user.has_two_factor:
        return redirect(url_for("accounts.second_factor"))
    form = EnrolForm()
    if request.method == "GET":
        twofactor.pending_secret(user)
        commit(db.session)
        return _enrol_page(user, form, signed_in=False)
    if form.validate_on_submit():
        codes = twofactor.confirm(db.session, user, form.code.data or "")
        if codes is not None:
            target = _pending_next(user)
            _sign_in(user, {"second_factor": "totp", "enrolled": True})
            return render_template("accounts/recovery_codes.html", codes=codes, next=target)
        form.code.errors.append(_("The code is not correct. Check the app's clock, and enter the code it shows now."))
    return _enrol_page(user, form, 422, signed_in=False)


@bp.post("/logout")
@login_required
def logout():
    sessions.end(db.session, session.get(sessions.TOKEN_KEY), "sign_out")
    audit.record(db.session, AuditAction.SIGN_OUT, actor=current_user, record_type="user", record_id=current_user.id)
    commit(db.session)
    logout_user()
    _fresh_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


def unauthorized():
    """No signed-in user (never signed in, signed out elsewhere, or timed out). An htmx request
    gets a message for #flashes with a link to sign in again (the page and what was typed on it
    stay); a page request goes to the sign-in page, told why."""
    reason = g.get("desk_signed_out")
    if is_htmx():
        current = urlsplit(request.headers.get("HX-Current-URL", ""))  # the page, not the fragment's address
        back = current.path + (f"?{current.query}" if current.query else "") if current.path else request.path
        return error_pages.answer(401, signed_out=reason or sessions.ENDED,
                                  login_link=login_url("accounts.login", next_url=back))
    if reason == sessions.IDLE:
        flash(ngettext("You were signed out after %(num)s minute without activity. Sign in again.",
                       "You were signed out after %(num)s minutes without activity. Sign in again.",
                       int(current_app.config["DESK_SESSION_IDLE_MINUTES"])), "info")
    elif reason == sessions.EXPIRED:
        flash(ngettext("Your session reached its limit of %(num)s hour. Sign in again.",
                       "Your session reached its limit of %(num)s hours. Sign in again.", int(current_app.config["DESK_SESSION_HOURS"])),
              "info")
    return redirect(login_url("accounts.login", next_url=request.url))


# The user's own account -----------------------------------------------------------------------

def _account_page(status: int = 200, **forms):
    return render_template(
        "accounts/account.html",
        password_form=forms.get("password_form") or ChangePasswordForm(formdata=None),
        confirm_form=forms.get("confirm_form") or ConfirmPasswordForm(formdata=None),
        required=twofactor.is_required(db.session, current_user), min_password=service.MIN_PASSWORD,
        codes_left=twofactor.recovery_codes_left(db.session, current_user)), status


def _renew_cookie() -> None:
    """After the user's own password change: every session ended, this browser carries on in a new one."""
    token = sessions.renew(db.session, current_user, request.remote_addr)
    commit(db.session)
    login_user(current_user._get_current_object())  # the new session_version
    session[sessions.TOKEN_KEY] = token
    sessions.mark_seen(session)


@bp.get("/account")
@login_required
def account():
    return _account_page()


@bp.post("/account/password")
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            service.change_password(db.session, current_user, form.current.data or "", form.password.data or "")
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            _renew_cookie()
            flash(_("Your password was changed. Every other session of yours was signed out."), "success")
            return redirect(url_for("accounts.account"))
    form.current.data = form.password.data = ""
    return _account_page(422, password_form=form)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def account_enrol():
    """Setting up the second factor from one's own account (by choice, or before a role needs it)."""
    user = current_user._get_current_object()
    if user.has_two_factor:
        return redirect(url_for("accounts.account"))
    form = EnrolForm()
    if request.method == "GET":
        twofactor.pending_secret(user)
        commit(db.session)
        return _enrol_page(user, form, signed_in=True)
    if form.validate_on_submit():
        codes = twofactor.confirm(db.session, user, form.code.data or "")
        if codes is not None:
            commit(db.session)
            return render_template("accounts/recovery_codes.html", codes=codes, next=url_for("accounts.account"))
        form.code.errors.append(_("The code is not correct. Check the app's clock, and enter the code it shows now."))
    return _enrol_page(user, form, 422, signed_in=True)


def _password_confirmed() -> ConfirmPasswordForm | None:
    """The form, with its message, when the password typed is not the user's; None when it is."""
    form = ConfirmPasswordForm()
    if form.validate_on_submit() and current_user.check_password(form.password.data or ""):
        return None
    if form.password.data:
        form.password.errors = [*form.password.errors, _("The password is not correct.")]
    form.password.data = ""
    return form


@bp.post("/account/two-factor/recovery-codes")
@login_required
def new_recovery_codes():
    user = current_user._get_current_object()
    if not user.has_two_factor:
        abort(404)
    refused = _password_confirmed()
    if refused is not None:
        return _account_page(422, confirm_form=refused)
    codes = twofactor.new_recovery_codes(db.session, user)
    audit.record(db.session, AuditAction.TWO_FACTOR_CHANGED, actor=user, record_type="user", record_id=user.id,
                 detail={"change": "recovery codes renewed"})
    commit(db.session)
    return render_template("accounts/recovery_codes.html", codes=codes, next=url_for("accounts.account"))


@bp.post("/account/two-factor/off")
@login_required
def two_factor_off():
    user = current_user._get_current_object()
    if not user.has_two_factor or twofactor.is_required(db.session, user):
        abort(404)
    refused = _password_confirmed()
    if refused is not None:
        return _account_page(422, confirm_form=refused)
    twofactor.remove(db.session, user, user, "self")
    commit(db.session)
    flash(_("Two-factor sign-in is off."), "success")
    return redirect(url_for("accounts.account"))


# Password reset by email ----------------------------------------------------------------------

@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["DESK_PASSWORD_RESET_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["DESK_PASSWORD_RESET_LIMIT"], methods=["POST"], key_func=_reset_email_key)
def forgot_password():
    form = ForgotForm()
    if form.validate_on_submit():
        reset.request_reset(db.session, form.email.data or "", current_app.config["DESK_PASSWORD_RESET_MINUTES"])
        commit(db.session)
        return render_template("accounts/forgot.html", form=form, sent=True,
                               minutes=current_app.config["DESK_PASSWORD_RESET_MINUTES"])
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/forgot.html", form=form, sent=False), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["DESK_LOGIN_LIMIT"], methods=["POST"])
def reset_password(token: str):
    if reset.valid(db.session, token) is None:
        return render_template("accounts/reset.html", form=None), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = reset.use(db.session, token, form.password.data or "")
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            if user is None:
                return render_template("accounts/reset.html", form=None), 404
            commit(db.session)
            if current_user.is_authenticated:
                logout_user()
            _fresh_session()
            flash(_("Your password was changed. Sign in with the new one."), "success")
            return redirect(url_for("accounts.login"))
    form.password.data = ""
    return (render_template("accounts/reset.html", form=form, min_password=service.MIN_PASSWORD),
            422 if request.method == "POST" else 200)


@bp.post("/language")
def language():
    """Switch between Arabic and English (a POST: it changes state)."""
    locale = request.form.get("locale", "ar")
    if locale in current_app.config["DESK_LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            service.set_locale(db.session, current_user, locale)
    return redirect(safe_next(request.form.get("next"), url_for("queue.index")))
