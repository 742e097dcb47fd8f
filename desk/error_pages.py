"""Every error answer in the reader's language and frame, and nothing typed lost when the
database or the disk fails (issue 14).

``answer(status)`` is the one way an error is shown: JSON to a program (a webhook), a fragment
for #flashes to an htmx request (static/js/desk.js shows it), the portal's page under /portal/
(templates/portal/refused.html; a 500: portal/error.html), the desk's page elsewhere
(templates/errors.html). A page's frame needs the database (the association's name, the signed-in user): when the database is
what failed, the page is rendered again without it (desk.outage).

When the database is unreachable or the disk is full (``desk.outage.is_outage``), the answer is
503 with Retry-After, and a form's request loses nothing that was typed. A view whose form
should survive says how to show itself again with ``form_page``:

- ``again(**view_args)`` renders the page of the form as the view's own refusals do (422),
  the form bound to ``request.form``: used while the database can be read (a full disk refused
  the write, or the database failed only the write). A note at the top ("not saved, send
  again"; "choose the files again") comes with it (templates/_unsaved.html, in #flashes);
- ``form()`` makes the form without the database. When the database cannot be read at all, a
  page that needs nothing else shows every field as typed, ready to be sent again
  (templates/unsaved.html, portal/unsaved.html): the full form comes back with the database.

An htmx request's form is still on the page as it was typed: it gets the form again from
``again`` (swapped in place, the note out of band), or the note alone in #flashes when the
database cannot be read or the request carried files (those stay chosen in the browser).
Any other request gets the 503 page.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import exc
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from desk import outage
from desk.extensions import db, login_manager
from desk.web import is_htmx

log = logging.getLogger("desk.errors")

# The fields of a form that are not what a person typed.
_BOOKKEEPING = frozenset({"csrf_token"})
_TEXT_FIELDS = frozenset({"StringField", "EmailField", "TelField", "SearchField", "URLField", "IntegerField",
                          "DecimalField"})


def is_portal() -> bool:
    return request.path == "/portal" or request.path.startswith("/portal/")


def is_program() -> bool:
    """A webhook or a JSON client: it reads JSON, not a page."""
    return request.is_json or request.path.startswith("/hooks/")


def _flash_headers(response: Response) -> None:
    """An htmx answer meant for #flashes, whatever element made the request (static/js/desk.js
    swaps it, and brings #flashes into view after a submission)."""
    response.headers.update({"HX-Retarget": "#flashes", "HX-Reswap": "innerHTML", "HX-Push-Url": "false"})


def _forget_user() -> None:
    """The signed-in user cannot be read without the database: for the rest of this request the
    page is drawn for nobody in particular (Flask-Login keeps the request's user in g._login_user)."""
    g._login_user = login_manager.anonymous_user()


def survive(render: Callable[[], Any]) -> Any:
    """``render()``; if the database fails it (its frame reads the association and the user),
    again without the database."""
    if outage.database_down():
        _forget_user()
    try:
        return render()
    except Exception as error:
        if not outage.is_outage(error):
            raise
        outage.lost_database(db.session)
        _forget_user()
        return render()


def answer(status: int, *, error: Any = None, **context: Any) -> Response:
    """The error ``status`` as the reader's client takes it, in their language and frame."""
    if is_program():
        description = (getattr(error, "message", None) or getattr(error, "description", None)
                       or HTTP_STATUS_CODES.get(status, ""))
        reference = {"request_id": context["request_id"]} if context.get("request_id") else {}
        response = jsonify(error=str(description), status=status, **reference)
        response.status_code = status
    else:
        fragment = is_htmx()
        if fragment:
            template = "errors.html"
        elif is_portal():
            template = "portal/error.html" if status == 500 else "portal/refused.html"
        else:
            template = "errors.html"
        body = survive(lambda: render_template(template, status=status, error=error, fragment=fragment, **context))
        response = make_response(body, status)
        if fragment:
            _flash_headers(response)
    if status == 503:
        response.headers["Retry-After"] = str(outage.RETRY_AFTER)
    return response


def _http_error(error: HTTPException):
    """Any HTTP error without a handler of its own (abort(400), 405, 409, 422, 500, 503…)."""
    response = answer(error.code or 500)
    allowed = getattr(error, "valid_methods", None)  # a 405 says what the address takes
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


# Forms that survive an outage ---------------------------------------------------------------

@dataclass(frozen=True)
class FormPage:
    again: Callable[..., Any]
    form: Callable[[], Any]
    signed_in: bool = True  # ``again`` is for a signed-in user only (a staff page)


def form_page(again: Callable[..., Any], form: Callable[[], Any], *, signed_in: bool = True):
    """Mark a view whose POST is a form that comes back as typed when the database or the disk
    fails (see the module's docstring). Put it right under the route decorator."""
    page = FormPage(again, form, signed_in)

    def mark(view):
        view.desk_form_page = page
        return view
    return mark


def _form_page() -> FormPage | None:
    if request.method != "POST" or not request.endpoint:
        return None
    return getattr(current_app.view_functions.get(request.endpoint), "desk_form_page", None)


@dataclass(frozen=True)
class Typed:
    """One field of the form as typed, for templates/macros/_typed_form.html."""

    name: str
    kind: str          # "text", "textarea", "file", "choice" (shown, sent hidden) or "hidden"
    label: str
    values: list[str]
    shown: str = ""    # a choice's label


def typed_fields(form) -> list[Typed]:
    """Every field the request carried, in the form's order: the text typed shown, to check and
    send again; choices shown by their label; the rest (and empty text) sent back hidden, as it
    came, with any field the form does not know."""
    fields: list[Typed] = []
    seen = set(_BOOKKEEPING)
    for field in form:
        name = field.name
        seen.add(name)
        if name in _BOOKKEEPING:
            continue
        values = request.form.getlist(name)
        typed = any(value.strip() for value in values)
        label = _label(field)
        if field.type in ("FileField", "MultipleFileField"):
            fields.append(Typed(name, "file", label, [], "multiple" if field.type == "MultipleFileField" else ""))
        elif field.type == "TextAreaField" and typed:
            fields.append(Typed(name, "textarea", label, values))
        elif field.type in _TEXT_FIELDS and typed:
            fields.append(Typed(name, "text", label, values))
        elif field.type == "BooleanField" and values:
            fields.append(Typed(name, "choice", label, values, "✓"))
        elif field.type in ("SelectField", "RadioField") and values:
            choices = {str(value): str(text) for value, text, *_rest in field.iter_choices()} if field.choices else {}
            shown = "، ".join(choices[v] for v in values if choices.get(v))
            fields.append(Typed(name, "choice" if shown else "hidden", label, values, shown))
        elif values:
            fields.append(Typed(name, "hidden", label, values))
    for name in request.form:
        if name not in seen:
            fields.append(Typed(name, "hidden", "", request.form.getlist(name)))
    return fields


def _label(field) -> str:
    """The field's label; a field declared without one gets WTForms' made-up English label,
    which no reader should see: a plain "Your text" instead."""
    text = str(field.label.text)
    return _("Your text") if text == field.name.replace("_", " ").title() else text


def _files_sent() -> bool:
    try:
        return any(f.filename for f in request.files.values())
    except Exception:  # the body could not be read (the disk is full under the parser's temporary files)
        return False


def _form_readable() -> bool:
    try:
        request.form  # noqa: B018  (parsed, or failed, once: cached on the request)
    except Exception:
        return False
    return True


def unsaved(error: Exception):
    """The handler of an outage (desk.outage.is_outage): 503, Retry-After, and a form as typed."""
    if not outage.is_outage(error):
        raise error
    rule = request.url_rule.rule if request.url_rule else "(no route)"
    orig = getattr(error, "orig", None)
    log.warning("not saved: %s (%s%s) on %s %s; answered 503", outage.kind(error), type(error).__name__,
                f", {type(orig).__module__}.{type(orig).__name__}" if orig is not None else "", request.method, rule)
    outage.release(db.session)
    if outage.committed():  # the failure came after a commit: "not saved, send again" would duplicate it
        return answer(503, saved=True)
    page = _form_page() if _form_readable() else None
    if page is None or is_program():
        return answer(503)
    files = _files_sent()
    htmx = is_htmx()
    g.desk_unsaved = {"portal": is_portal(), "in_browser": htmx, "files": files and not htmx}
    response = None
    if not (htmx and files) and not outage.database_down():
        response = _again(page)
    if response is None and htmx:  # the form is still on the page as typed, its files chosen
        response = make_response(survive(lambda: render_template("_unsaved.html")), 503)
        _flash_headers(response)
    elif response is None:
        response = _typed_page(page)
    response.status_code = 503
    response.headers["Retry-After"] = str(outage.RETRY_AFTER)
    return response


def _again(page: FormPage) -> Response | None:
    """The form's own page as typed, or None when it cannot be drawn (the database is down)."""
    try:
        if page.signed_in and not current_user.is_authenticated:
            return None
        response = make_response(page.again(**(request.view_args or {})))
    except HTTPException:  # the page is not theirs to see now (a ticket moved away, a portal grant gone)
        outage.release(db.session)
        return None
    except Exception as error:
        if outage.is_outage(error):
            outage.lost_database(db.session)
        else:  # (a NotFound for a ticket gone meanwhile, a bug): the page of the typed fields still serves
            log.exception("the form could not be drawn again after an outage; its typed fields are shown")
            outage.release(db.session)
        return None
    if is_htmx():  # in place, with the note out of band (static/js/desk.js swaps it: X-Desk-Show)
        response.set_data(response.get_data(as_text=True) + render_template("_unsaved.html", oob=True))
        response.headers["X-Desk-Show"] = "true"
    return response


def _typed_page(page: FormPage) -> Response:
    """Every typed field on a page that needs no database, to send again as it is."""
    fields = typed_fields(page.form())
    template = "portal/unsaved.html" if is_portal() else "unsaved.html"
    multipart = any(f.kind == "file" for f in fields)
    action = request.full_path.rstrip("?")
    return make_response(survive(lambda: render_template(template, fields=fields, multipart=multipart,
                                                         action=action)), 503)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    # What an outage raises; anything else of these kinds is re-raised (a 500, with its log).
    for kind in (exc.DBAPIError, exc.TimeoutError, exc.DisconnectionError, OSError):
        app.register_error_handler(kind, unsaved)

    @app.context_processor
    def _unsaved_note() -> dict[str, Any]:
        """``desk_unsaved`` for base.html's #flashes: the form below was not saved."""
        return {"desk_unsaved": g.get("desk_unsaved")}
