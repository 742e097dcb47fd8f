"""The knowledge base's pages: the staff's library (/kb: read, search; write, publish and attach
documents for the writers) and the portal's help and rights section (/portal/help: published
public articles, readable without signing in; the suggestions while a request is typed)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from desk.errors import ValidationFailed
from desk.extensions import db
from desk.files import kb_dir
from desk.forms import DeskForm, optional_id
from desk.kb import service
from desk.kb.forms import ArticleForm, CategoryForm, DocumentForm
from desk.permissions import Action, can, require
from desk.web import current_locale, go_to, is_htmx, merge_errors, page_or_fragment, role_gate, send_download

bp = Blueprint("kb", __name__, url_prefix="/kb")
role_gate(bp, Action.KB_READ)
public = Blueprint("help", __name__, url_prefix="/portal/help")


# The staff's library ---------------------------------------------------------------------

@bp.get("")
def index():
    typed = (request.args.get("q") or "")[:200]
    category_id = optional_id(request.args.get("category"))
    articles = service.staff_listing(db.session, current_user, typed, category_id)
    return page_or_fragment("kb/index.html", "kb/_results.html", articles=articles, q=typed,
                            category_id=category_id, categories=service.categories(db.session),
                            writer=can(current_user, Action.KB_MANAGE))


@bp.get("/<int:article_id>")
def show(article_id: int):
    article, published = service.get(db.session, current_user, article_id)
    writer = can(current_user, Action.KB_MANAGE)
    return render_template("kb/show.html", article=article, published=published, writer=writer,
                           versions=service.versions(db.session, article) if writer else [],
                           documents=service.documents(db.session, article), form=DeskForm(),
                           document_form=DocumentForm())


@bp.get("/<int:article_id>/versions/<int:number>")
def version(article_id: int, number: int):
    article, shown = service.version(db.session, current_user, article_id, number)
    return render_template("kb/version.html", article=article, shown=shown)


def _form(article=None) -> ArticleForm:
    if request.method == "GET":
        form = ArticleForm(obj=article)
        form.category_id.data = str(article.category_id or "") if article is not None else ""
    else:
        form = ArticleForm()
    form.set_choices(service.categories(db.session), current_locale())
    return form


def _editor(form, article, status: int = 200):
    return page_or_fragment("kb/edit.html", "kb/_form.html", status, form=form, article=article)


@bp.route("/new", methods=["GET", "POST"])
def new():
    require(current_user, Action.KB_MANAGE)
    form = _form()
    return _editor(form, None) if request.method == "GET" else _save(form, None)


@bp.route("/<int:article_id>/edit", methods=["GET", "POST"])
def edit(article_id: int):
    require(current_user, Action.KB_MANAGE)
    article, _published = service.get(db.session, current_user, article_id)
    form = _form(article)
    return _editor(form, article) if request.method == "GET" else _save(form, article)


def _save(form: ArticleForm, article):
    if form.validate_on_submit():
        data = service.ArticleData(title_ar=form.title_ar.data or "", title_en=form.title_en.data or "",
                                   body_ar=form.body_ar.data or "", body_en=form.body_en.data or "",
                                   category_id=optional_id(form.category_id.data), audience=form.audience.data or "")
        try:
            saved = service.save(db.session, current_user, data, article)
            message = _("Draft saved. Publish it to show this text to readers.") if saved.published else \
                _("Draft saved.")
            return go_to(url_for("kb.show", article_id=saved.id), message)
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
    return _editor(form, article, 422)


@bp.post("/<int:article_id>/publish")
def publish(article_id: int):
    require(current_user, Action.KB_MANAGE)
    article, _published = service.get(db.session, current_user, article_id)
    if DeskForm().validate_on_submit():  # the CSRF token
        made = service.publish(db.session, current_user, article)
        return go_to(url_for("kb.show", article_id=article.id), _("Published as version %(n)s.", n=made.number))
    return go_to(url_for("kb.show", article_id=article.id))


@bp.post("/<int:article_id>/unpublish")
def unpublish(article_id: int):
    require(current_user, Action.KB_MANAGE)
    article, _published = service.get(db.session, current_user, article_id)
    if DeskForm().validate_on_submit():
        service.unpublish(db.session, current_user, article)
        return go_to(url_for("kb.show", article_id=article.id), _("Unpublished: readers no longer see it."))
    return go_to(url_for("kb.show", article_id=article.id))


@bp.post("/<int:article_id>/documents")
def add_document(article_id: int):
    require(current_user, Action.KB_MANAGE)
    article, published = service.get(db.session, current_user, article_id)
    form = DocumentForm()
    if form.validate_on_submit():
        sent = request.files.get("file")
        try:
            service.add_document(db.session, current_user, article, sent.stream if sent else None,
                                 (sent.filename or "") if sent else "", directory=kb_dir(current_app.config),
                                 max_bytes=int(current_app.config["DESK_ATTACHMENT_MAX_MB"] * 1024 * 1024))
            return go_to(url_for("kb.show", article_id=article.id), _("The document is attached."))
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
    return render_template("kb/show.html", article=article, published=published, writer=True,
                           versions=service.versions(db.session, article),
                           documents=service.documents(db.session, article), form=DeskForm(),
                           document_form=form), 422


@bp.get("/<int:article_id>/documents/<int:document_id>")
def document(article_id: int, document_id: int):
    found = service.document(db.session, current_user, article_id, document_id)
    return send_download(kb_dir(current_app.config) / found.stored_name, filename=found.filename,
                         content_type=found.content_type, etag=found.sha256)


@bp.route("/categories", methods=["GET", "POST"])
def categories():
    require(current_user, Action.KB_MANAGE)
    form = CategoryForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                service.add_category(db.session, current_user, form.name_ar.data or "", form.name_en.data or "")
                return go_to(url_for("kb.categories"), _("Category added."))
            except ValidationFailed as failed:
                merge_errors(form, failed.errors)
        status = 422
    return render_template("kb/categories.html", form=form, categories=service.categories(db.session)), status


# The portal's help and rights section ----------------------------------------------------

@public.get("")
def help_index():
    typed = (request.args.get("q") or "")[:200]
    rows = service.public_listing(db.session, typed)
    return render_template("kb/portal_index.html", rows=rows, q=typed, categories=service.categories(db.session))


@public.get("/<int:article_id>")
def help_article(article_id: int):
    article, shown = service.public_get(db.session, article_id)
    return render_template("kb/portal_article.html", article=article, shown=shown)


@public.get("/suggest")
def suggest():
    """Public articles matching what a beneficiary is typing (the subject of a new request):
    the list alone for htmx, else the help page with those results."""
    typed = (request.args.get("q") or request.args.get("subject") or "")[:200]
    rows = service.suggest(db.session, typed)
    if is_htmx():
        return render_template("kb/_suggestions.html", rows=rows)
    return render_template("kb/portal_index.html", rows=service.public_listing(db.session, typed), q=typed,
                           categories=service.categories(db.session))


@bp.app_template_filter("article_html")
def _article_html(text: str):
    """An article's body as safe HTML (desk.kb.render: escaped, then sanitised by nh3)."""
    from desk.kb.render import to_html
    return to_html(text)


@bp.app_template_filter("article_excerpt")
def _article_excerpt(text: str):
    from desk.kb.render import excerpt
    return excerpt(text)
