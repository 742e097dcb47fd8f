"""The administrator's user screens under /admin/users: the list, a new user, editing one and
resetting a password. Registered on the admin blueprint, so everyone but an admin gets 404."""
from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, PasswordField, SelectChoice, StringField
from wtforms.validators import Length

from desk import labels
from desk.accounts import admin as service
from desk.accounts import twofactor
from desk.admin.blueprint import bp
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.forms import DeskForm, ServiceMultiSelect, ServiceSelect
from desk.permissions import GRANTABLE, grants
from desk.web import current_locale, go_to, is_htmx, merge_errors, page_or_fragment


class UserForm(DeskForm):
    name = StringField(_l("Name"), validators=[Length(max=service.NAME_MAX)])
    email = StringField(_l("Email"), validators=[Length(max=254)])
    locale = ServiceSelect(_l("Language"), default="ar")
    roles = ServiceMultiSelect(_l("Roles"))
    department_codes = ServiceMultiSelect(_l("Departments (for a focal point)"),
                              description=_l("A department's first focal point becomes its primary; later ones join as members."))
    password = PasswordField(_l("Initial password"),
                             description=_l("At least %(n)s characters. Give it to the person privately.", n=service.MIN_PASSWORD))
    active = BooleanField(_l("Active"), default=True)

    def set_choices(self, departments, locale: str) -> None:
        self.locale.choices = [SelectChoice("ar", "العربية"), SelectChoice("en", "English")]
        self.roles.choices = [SelectChoice(r.value, label) for r, label in labels.ROLES.items()]
        self.department_codes.choices = [SelectChoice(d.code, f"{d.name(locale)} (\u2066{d.code}\u2069)") for d in departments]

    def data_(self) -> service.UserData:
        return service.UserData(name=self.name.data or "", email=self.email.data or "", locale=self.locale.data or "",
                                roles=list(self.roles.data or []), department_codes=list(self.department_codes.data or []),
                                password=self.password.data or "", active=bool(self.active.data))


class PasswordForm(DeskForm):
    password = PasswordField(_l("New password"),
                             description=_l("At least %(n)s characters. The user is signed out everywhere.", n=service.MIN_PASSWORD))


def _form(user=None, from_object: bool = False) -> UserForm:
    if (request.method == "GET" or from_object) and user is not None:
        form = UserForm(formdata=None, obj=user)
        form.roles.data = sorted(user.roles)
        departments = service.departments_by_id(db.session)
        form.department_codes.data = [departments[m.department_id].code for m in user.memberships if m.department_id in departments]
    else:
        form = UserForm()
    form.set_choices(service.departments_by_id(db.session).values(), current_locale())
    return form


@bp.get("/users")
def users():
    return page_or_fragment("admin/users.html", "admin/_users_table.html", **_users_context())


def _users_context(grant_errors: list[str] | None = None) -> dict:
    return {"users": service.users(db.session, current_user), "departments": service.departments_by_id(db.session),
            "two_factor_roles": twofactor.required_roles(db.session), "grants": grants(db.session),
            "grantable": GRANTABLE, "grant_errors": grant_errors or []}


@bp.post("/users/grants")
def role_grants():
    try:
        service.set_grants(db.session, current_user, request.form.getlist("grant"))
    except ValidationFailed as failed:  # the whole page, the message by the table
        return render_template("admin/users.html", **_users_context(failed.errors["grant"])), 422
    return go_to(url_for("admin.users"), _("Saved: the roles that may reveal a full national ID or mobile number."))


@bp.post("/users/two-factor-roles")
def two_factor_roles():
    service.set_two_factor_roles(db.session, current_user, request.form.getlist("roles"))
    return go_to(url_for("admin.users"), _("Saved: the roles that must use two-factor sign-in."))


@bp.post("/users/<int:user_id>/two-factor/remove")
def user_two_factor_remove(user_id: int):
    user = service.get_user(db.session, current_user, user_id)
    service.remove_two_factor(db.session, current_user, user)
    return go_to(url_for("admin.user_edit", user_id=user.id),
                 _("The second factor of %(email)s was removed.", email=user.email))


def _user_page(form, user, status: int = 200, password_form=None):
    return page_or_fragment("admin/user.html", "admin/_user_form.html", status, form=form, user=user,
                            password_form=password_form or PasswordForm(formdata=None))


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = _form()
    if request.method == "GET":
        return _user_page(form, None)
    if form.validate_on_submit():
        try:
            saved = service.create(db.session, current_user, form.data_())
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("admin.users"), _("User %(email)s created.", email=saved.email))
    form.password.data = ""  # never sent back
    return _user_page(form, None, 422)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):
    user = service.get_user(db.session, current_user, user_id)
    form = _form(user)
    if request.method == "GET":
        return _user_page(form, user)
    if form.validate_on_submit():
        try:
            unassigned = service.update(db.session, current_user, user, form.data_())
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            message = _("User %(email)s saved.", email=user.email)
            if unassigned:
                message += " " + _("Their open tickets were unassigned: %(n)s.", n=unassigned)
            return go_to(url_for("admin.users"), message)
    return _user_page(form, user, 422)


@bp.post("/users/<int:user_id>/password")
def user_password(user_id: int):
    user = service.get_user(db.session, current_user, user_id)
    password_form = PasswordForm()
    if password_form.validate_on_submit():
        try:
            service.reset_password(db.session, current_user, user, password_form.password.data or "")
        except ValidationFailed as failed:
            merge_errors(password_form, failed.errors)
        else:
            return go_to(url_for("admin.users"), _("Password of %(email)s changed; they were signed out.", email=user.email))
    password_form.password.data = ""  # never sent back
    if is_htmx():
        return render_template("admin/_user_password.html", user=user, password_form=password_form), 422
    return render_template("admin/user.html", form=_form(user, from_object=True), user=user,
                           password_form=password_form), 422
