from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from desk.accounts import service
from desk.accounts.forms import LoginForm
from desk.extensions import db, limiter
from desk.models import Role
from desk.permissions import sees_all
from desk.web import safe_next

bp = Blueprint("accounts", __name__)


def _login_email_key() -> str:
    return "login:" + service.normalize_email(request.form.get("email", ""))


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
            locale = session.get("locale")
            session.clear()  # a fresh session on sign-in: nothing from before carries over
            login_user(user)
            if locale and locale != user.locale:
                service.set_locale(db.session, user, locale)
            return redirect(safe_next(form.next.data, _home(user)))
        form.password.errors.append(_("The email or password is not correct."))
        return render_template("accounts/login.html", form=form), 401
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.post("/language")
def language():
    """Switch between Arabic and English (a POST: it changes state)."""
    locale = request.form.get("locale", "ar")
    if locale in current_app.config["DESK_LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            service.set_locale(db.session, current_user, locale)
    return redirect(safe_next(request.form.get("next"), url_for("queue.index")))
