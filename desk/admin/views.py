"""The administrator's screens under /admin: departments and focal points, categories, routing
rules and the rule tester. Everyone but an admin gets 404: for them these pages do not exist."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from desk import search
from desk.admin import service
from desk.admin.blueprint import bp
from desk.admin.forms import (
    CategoryForm,
    DepartmentForm,
    MemberForm,
    PositionForm,
    RuleForm,
    SearchWordsForm,
    optional_int,
)
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.forms import optional_id
from desk.models import Kind
from desk.routing import service as routing
from desk.tickets.service import active_departments
from desk.web import current_locale, go_to, is_htmx, merge_errors, page_or_fragment


@bp.get("/")
def index():
    return redirect(url_for("admin.departments"))


# Departments --------------------------------------------------------------------------

@bp.get("/departments")
def departments():
    return page_or_fragment("admin/departments.html", "admin/_departments_table.html",
                            departments=service.departments(db.session), stats=service.department_stats(db.session))


def _department_page(form: DepartmentForm, department, status: int = 200, member_form=None):
    context = {
        "form": form, "department": department,
        "open_count": service.open_ticket_count(db.session, department),
    }
    if department is not None:
        context.update(_members_context(department, member_form))
    return page_or_fragment("admin/department.html", "admin/_department_form.html", status, **context)


def _department_form(department=None) -> DepartmentForm:
    form = DepartmentForm(obj=department) if request.method == "GET" else DepartmentForm()
    targets = [d for d in active_departments(db.session) if department is None or d.id != department.id]
    form.set_targets(targets, current_locale(), service.UNROUTED)
    return form


def _department_data(form: DepartmentForm) -> service.DepartmentData:
    return service.DepartmentData(code=form.code.data or "", name_ar=form.name_ar.data or "", name_en=form.name_en.data or "",
                                  email=form.email.data, phone_ext=form.phone_ext.data, active=bool(form.active.data),
                                  move_to=form.move_to.data or "", published=bool(form.published.data),
                                  contact_title_ar=form.contact_title_ar.data, contact_title_en=form.contact_title_en.data)


@bp.route("/departments/new", methods=["GET", "POST"])
def department_new():
    form = _department_form()
    if request.method == "GET":
        return _department_page(form, None)
    return _save_department(form, None)


@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
def department_edit(department_id: int):
    department = service.get_department(db.session, current_user, department_id)
    form = _department_form(department)
    if request.method == "GET":
        return _department_page(form, department)
    return _save_department(form, department)


def _save_department(form: DepartmentForm, department):
    if form.validate_on_submit():
        try:
            saved = service.save_department(db.session, current_user, _department_data(form), department)
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("admin.departments"), _("Department %(code)s saved.", code=saved.code))
    return _department_page(form, department, 422)


# Focal points -------------------------------------------------------------------------

def _members_context(department, member_form=None, position_errors=None, notice=None) -> dict:
    if member_form is None:
        member_form = MemberForm(formdata=None)
    member_form.set_choices(service.candidate_users(db.session, department))
    return {"department": department, "members": service.members(db.session, department),
            "member_form": member_form, "position_errors": position_errors or {}, "notice": notice}


def _members_answer(department, status: int = 200, **kw):
    """The focal points block (htmx), or the department page (plain form post)."""
    if is_htmx():
        return render_template("admin/_members.html", **_members_context(department, **kw)), status
    if status == 200:
        return redirect(url_for("admin.department_edit", department_id=department.id))
    form = _department_form(department)
    form.process(obj=department)
    context = {"form": form, "department": department, "open_count": service.open_ticket_count(db.session, department),
               **_members_context(department, **kw)}
    return render_template("admin/department.html", **context), status


@bp.post("/departments/<int:department_id>/members")
def member_add(department_id: int):
    department = service.get_department(db.session, current_user, department_id)
    form = MemberForm()
    form.set_choices(service.candidate_users(db.session, department))
    if not form.validate_on_submit():
        return _members_answer(department, 422, member_form=form)
    try:
        service.add_member(db.session, current_user, department, optional_id(form.user_id.data), form.position.data or "")
    except ValidationFailed as failed:
        merge_errors(form, failed.errors)
        return _members_answer(department, 422, member_form=form)
    return _members_answer(department)


@bp.post("/departments/<int:department_id>/members/<int:member_id>/position")
def member_position(department_id: int, member_id: int):
    department = service.get_department(db.session, current_user, department_id)
    member = service.get_member(db.session, current_user, department, member_id)
    form = PositionForm()  # the service checks the value
    try:
        service.set_position(db.session, current_user, department, member, form.position.data or "")
    except ValidationFailed as failed:
        return _members_answer(department, 422, position_errors={member.id: failed.errors.get("position", [])})
    return _members_answer(department)


@bp.post("/departments/<int:department_id>/members/<int:member_id>/remove")
def member_remove(department_id: int, member_id: int):
    department = service.get_department(db.session, current_user, department_id)
    member = service.get_member(db.session, current_user, department, member_id)
    unassigned = service.remove_member(db.session, current_user, department, member)
    notice = _("Their open tickets here were unassigned: %(n)s.", n=unassigned) if unassigned else None
    if notice and not is_htmx():
        flash(notice, "success")  # shown on the department page the plain post is sent back to
    return _members_answer(department, notice=notice)


# Categories ---------------------------------------------------------------------------

@bp.get("/categories")
def categories():
    kind = request.args.get("kind", "")
    kind = kind if kind in set(Kind) else ""
    return page_or_fragment("admin/categories.html", "admin/_categories_table.html",
                            categories=service.categories(db.session, kind or None), kind=kind)


def _category_form(category=None) -> CategoryForm:
    if request.method == "GET":
        form = CategoryForm(obj=category, kind=request.args.get("kind", "") if category is None else category.kind)
        if category is not None:
            form.default_department_id.data = str(category.default_department_id or "")
            form.position.data = str(category.position or 0)
    else:
        form = CategoryForm()
    departments = active_departments(db.session)
    if category is not None and category.default_department is not None and not category.default_department.active:
        departments.append(category.default_department)  # still shown, so an edit keeps it
    form.set_choices(departments, current_locale())
    return form


def _category_page(form, category, status: int = 200):
    return page_or_fragment("admin/category.html", "admin/_category_form.html", status, form=form, category=category)


@bp.route("/categories/new", methods=["GET", "POST"])
def category_new():
    form = _category_form()
    return _category_page(form, None) if request.method == "GET" else _save_category(form, None)


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
def category_edit(category_id: int):
    category = service.get_category(db.session, current_user, category_id)
    form = _category_form(category)
    return _category_page(form, category) if request.method == "GET" else _save_category(form, category)


def _save_category(form: CategoryForm, category):
    if form.validate_on_submit():
        position = optional_int(form.position.data)
        data = service.CategoryData(kind=form.kind.data or "", name_ar=form.name_ar.data or "", name_en=form.name_en.data or "",
                                    default_department_id=optional_id(form.default_department_id.data),
                                    active=bool(form.active.data), position=position or 0)
        try:
            if form.position.data and position is None:
                form.position.errors = [_("Enter a whole number.")]
                merge_errors(form, service.check_category(db.session, data, category))  # every message at once
            else:
                service.save_category(db.session, current_user, data, category)
                return go_to(url_for("admin.categories", kind=data.kind), _("Category saved."))
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
    return _category_page(form, category, 422)


# Routing rules ------------------------------------------------------------------------

@bp.get("/rules")
def rules():
    return page_or_fragment("admin/rules.html", "admin/_rules_table.html", **_rules_context())


def _rules_context() -> dict:
    return {"rules": service.rules(db.session),
            "category_names": {c.id: c.name(current_locale()) for c in service.categories(db.session)}}


@bp.post("/rules/<int:rule_id>/move")
def rule_move(rule_id: int):
    rule = service.get_rule(db.session, current_user, rule_id)
    service.move_rule(db.session, current_user, rule, request.form.get("direction", ""))
    if is_htmx():
        return render_template("admin/_rules_table.html", **_rules_context())
    return redirect(url_for("admin.rules"))


def _rule_form(rule=None) -> RuleForm:
    if request.method == "GET" and rule is not None:
        form = RuleForm(formdata=None, obj=rule)
        form.category_ids.data = [str(c) for c in rule.category_ids]
        form.keywords_text.data = "\n".join(rule.keywords)
        form.department_id.data = str(rule.department_id)
        form.position.data = str(rule.position)
    elif request.method == "GET":
        form = RuleForm(formdata=None)
    else:
        form = RuleForm()
    departments = active_departments(db.session)
    if rule is not None and rule.department is not None and not rule.department.active:
        departments.append(rule.department)  # shown, so the refusal explains itself
    form.set_choices(departments, service.categories(db.session), current_locale())
    return form


def _rule_data(form: RuleForm) -> service.RuleData:
    return service.RuleData(
        name=form.name.data or "", department_id=optional_id(form.department_id.data),
        kinds=list(form.kinds.data or []), channels=list(form.channels.data or []),
        category_ids=[int(c) for c in (form.category_ids.data or []) if str(c).isdigit()],
        keywords_text=form.keywords_text.data or "", active=bool(form.active.data),
        position=optional_int(form.position.data))


def _test_result(form: RuleForm, rule) -> dict:
    """The tester: does THIS rule (as typed) match the sample, and which saved rule wins."""
    sample_category = optional_id(form.t_category.data)
    sample = routing.Sample.of(form.t_kind.data or "", form.t_channel.data or "", sample_category,
                               form.t_subject.data or "", form.t_body.data or "")
    data = _rule_data(form)
    ignored = list(service.refused_keywords(db.session, data.keywords))  # they would be refused on saving
    draft = data.spec(left_out=ignored)
    proposal = routing.propose(db.session, sample.kind, sample.channel, sample_category,
                               form.t_subject.data or "", form.t_body.data or "")
    return {"tested": True, "draft_empty": draft.is_empty, "draft_matches": routing.matches(draft, sample),
            "draft_checks": routing.explain(draft, sample), "proposal": proposal, "rule": rule,
            "ignored": ignored}


def _rule_page(form, rule, status: int = 200, test=None):
    context = {"form": form, "rule": rule, "test": test or {"tested": False}}
    return page_or_fragment("admin/rule.html", "admin/_rule_form.html", status, **context)


@bp.route("/rules/new", methods=["GET", "POST"])
def rule_new():
    form = _rule_form()
    return _rule_page(form, None) if request.method == "GET" else _save_rule(form, None)


@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"])
def rule_edit(rule_id: int):
    rule = service.get_rule(db.session, current_user, rule_id)
    form = _rule_form(rule)
    return _rule_page(form, rule) if request.method == "GET" else _save_rule(form, rule)


def _save_rule(form: RuleForm, rule):
    if not form.validate_on_submit():
        return _rule_page(form, rule, 422)
    if request.form.get("action") == "test":  # the tester without JavaScript: nothing is saved
        return _rule_page(form, rule, test=_test_result(form, rule))
    try:
        if form.position.data and optional_int(form.position.data) is None:
            form.position.errors = [_("Enter a whole number.")]
            raise ValidationFailed(service.check_rule(db.session, _rule_data(form), rule))  # every message at once
        saved = service.save_rule(db.session, current_user, _rule_data(form), rule)
    except ValidationFailed as failed:
        errors = dict(failed.errors)
        form.conditions_errors = errors.pop("conditions", [])
        merge_errors(form, errors)
        return _rule_page(form, rule, 422)
    return go_to(url_for("admin.rules"), _("Rule \"%(name)s\" saved.", name=saved.name))


@bp.post("/rules/test")
def rule_test():
    """The tester over htmx: the rule form as typed, never saved."""
    rule = service.get_rule(db.session, current_user, int(request.args["rule"])) if request.args.get("rule", "").isdigit() else None
    form = _rule_form(rule)  # (CSRFProtect has already checked the token of every POST)
    return render_template("admin/_rule_test.html", test=_test_result(form, rule), form=form)



# Search words ----------------------------------------------------------------------------

def _search_words_page(form: SearchWordsForm, status: int = 200):
    return page_or_fragment("admin/search_words.html", "admin/_search_words.html", status, form=form,
                            groups=search.groups(db.session))


@bp.route("/search-words", methods=["GET", "POST"])
def search_words():
    """Broken plurals, synonyms and names written two ways: a search for one finds them all."""
    form = SearchWordsForm()
    if request.method == "GET":
        return _search_words_page(form)
    if form.validate_on_submit():
        try:
            search.add_group(db.session, current_user, form.words.data or "")
            return go_to(url_for("admin.search_words"), _("Words saved: searches now find them together."))
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
    return _search_words_page(form, 422)


@bp.post("/search-words/<int:group_id>/delete")
def search_words_delete(group_id: int):
    search.remove_group(db.session, current_user, group_id)
    return go_to(url_for("admin.search_words"), _("Words removed."))
