"""What every view shares: HTMX detection, fragment rendering, safe redirects, headers."""
from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
)
from flask_babel import get_locale
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

from desk import labels, submissions
from desk.extensions import login_manager
from desk.permissions import Action, can
from desk.text import (
    format_both,
    format_gregorian,
    format_hijri,
    format_number,
    mask_document,
    mask_email,
    mask_national_id,
    mask_phone,
)


def reader_number(value) -> str:
    """A number in the reader's digits (the ``num`` filter, for Python code that flashes one)."""
    return format_number(value, current_locale())


def role_gate(bp: Blueprint, action: Action) -> None:
    """Every page of ``bp`` asks for a sign-in, and does not exist (404) for whoever may not ``action``."""
    @bp.before_request
    def _gate():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not can(current_user, action):
            abort(404)
        return None


def is_htmx() -> bool:
    """An htmx request that wants a fragment (not a boosted navigation or a history restore)."""
    h = request.headers
    return h.get("HX-Request") == "true" and not h.get("HX-Boosted") and not h.get("HX-History-Restore-Request")


def hx_target() -> str:
    return request.headers.get("HX-Target", "") if is_htmx() else ""


def page_or_fragment(page: str, fragment: str, status: int = 200, **context: Any):
    """The whole page, or only the fragment an htmx request asked for."""
    return render_template(fragment if is_htmx() else page, **context), status


def go_to(target: str, message: str | None = None):
    """After a successful POST: to ``target`` (htmx follows HX-Redirect), with a flashed message."""
    if message:
        flash(message, "success")
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


ONCE_SCOPE = "once_scope"  # the session's key: a visitor's own scope for form tokens


def once_token() -> str:
    """A fresh token for the hidden field of a form that creates something (the ``once()``
    macro). A visitor without an account gets a random id in their session, rendered with the
    form, so both requests of a double click carry it: their tokens are bound to it."""
    if not current_user.is_authenticated and ONCE_SCOPE not in session:
        session[ONCE_SCOPE] = secrets.token_urlsafe(16)
    return submissions.new_token()


def posted_once(kind: str) -> submissions.Once | None:
    """The posted form's token, bound to whoever sent it: the signed-in user, else the visitor's
    session. None (the form is taken unprotected) when the form has no token, or a visitor's
    session has no id (cookies refused: nothing could tell two requests of theirs apart)."""
    if current_user.is_authenticated:
        scope, user_id = f"user:{current_user.id}", current_user.id
    elif session.get(ONCE_SCOPE):
        scope, user_id = f"visitor:{session[ONCE_SCOPE]}", None
    else:
        return None
    return submissions.bind(kind, request.form.get(submissions.FIELD), scope, user_id)


def merge_errors(form, errors: dict[str, list[str]]) -> None:
    """A service's ValidationFailed messages onto the form's fields (unknown names: form-level)."""
    for name, messages in errors.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = list(field.errors or []) + [m for m in messages if m not in (field.errors or [])]


def send_download(path, *, filename: str, content_type: str, etag: str):
    """A stored file as a download, never rendered by the browser: the stored (sniffed) type,
    nosniff and a sandbox. send_file writes filename*=UTF-8''… (RFC 5987) for a name that is
    not ASCII. 404 when the file is gone from the disk."""
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=content_type, as_attachment=True, download_name=filename, etag=etag,
                         max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def safe_next(target: str | None, default: str) -> str:
    """Only local paths: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        # Pages hold personal data: never kept by a browser or proxy cache.
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("HX-Request")
    return response


def current_locale() -> str:
    return str(get_locale() or "ar")


def _context_locale(context) -> str:
    """The language a template is rendered in: its context's ``locale`` (desk.web's vocabulary),
    else (a macro imported without context, a template outside a request's vocabulary) Flask-Babel's."""
    locale = context.get("locale")
    return locale if isinstance(locale, str) and locale else current_locale()


def init_app(app: Flask) -> None:
    app.after_request(_security_headers)
    app.add_template_global(once_token)

    # The date filters read the page's language from the template's context (the vocabulary
    # below puts it there), not from Flask-Babel once per date: a queue page has hundreds.
    @app.template_filter("both_dates")
    @pass_context
    def both_dates(context, value, with_time: bool = True) -> str:
        return format_both(value, _context_locale(context), with_time=with_time) if value else ""

    @app.template_filter("hijri")
    @pass_context
    def hijri(context, value) -> str:
        return format_hijri(value, _context_locale(context)) if value else ""

    @app.template_filter("gregorian")
    @pass_context
    def gregorian(context, value) -> str:
        return format_gregorian(value, _context_locale(context)) if value else ""

    @app.template_filter("num")
    @pass_context  # never folded at compile time: "{{ 0|num }}" was frozen in the first reader's digits (review p2)
    def num(_context, value) -> str:
        return reader_number(value)

    @app.template_global("subject_line")
    def subject_line(text, reference: str, typed: str | None = None) -> str:
        """An email or SMS subject laid out for its reader: in Arabic the words first and the
        reference last, so mail clients (which take the direction from the first strong letter)
        show it right to left, and what a person typed isolated (FSI…PDI) so an English subject
        keeps its "?" at its end; in English "[reference] words"."""
        if current_locale() == "ar":
            words = f"{text}: \u2068{typed}\u2069" if typed else str(text)
            return f"{words} [{reference}]"
        return f"[{reference}] {text}: {typed}" if typed else f"[{reference}] {text}"

    @app.template_filter("bdi")
    def bdi(value) -> Markup:
        """What a person typed (a subject, a name) isolated in its own direction inside a page of
        the other: "When will …?" keeps its "?" at its end in the Arabic queue."""
        if value is None or value == "":
            return Markup("")
        return Markup('<bdi dir="auto">%s</bdi>') % value

    @app.template_filter("isolate")
    def isolate(value) -> str:
        """The plain-text form of ``bdi`` (emails, SMS): FSI … PDI around what a person typed."""
        return f"\u2068{value}\u2069" if value else ""

    app.jinja_env.filters["mask_phone"] = mask_phone
    app.jinja_env.filters["mask_nid"] = mask_national_id
    app.jinja_env.filters["mask_document"] = mask_document
    app.jinja_env.filters["mask_email"] = mask_email

    @app.context_processor
    def vocabulary() -> dict[str, Any]:
        locale = current_locale()
        # Keyed by locale: a message rendered in its recipient's language (force_locale) mid-request.
        return {
            "L": labels.for_locale(locale), "locale": locale, "dir": "ltr" if locale == "en" else "rtl",
            "association": association_name(locale),
            "can": can, "Action": Action,  # the one permission rule, for what a page offers
        }

    def association_name(locale: str) -> str:
        """The association's name as its admin set it (desk.portal.profile), else the settings':
        also when the database cannot be read, so an error page still has its frame."""
        from desk import outage
        from desk.extensions import db
        from desk.portal import profile
        names = g.setdefault("desk_association", {})
        if locale not in names:
            row = outage.without_database(db.session, lambda: profile.get(db.session, app.config),
                                          lambda: profile.from_settings(app.config))
            names[locale] = row.name(locale)
        return names[locale]
