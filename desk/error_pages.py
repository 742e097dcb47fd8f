"""Every error answer in the reader's language and frame (issue 14).

``answer(status)`` is the one way an error is shown: JSON to a program (a webhook), a fragment
for #flashes to an htmx request (static/js/desk.js shows it), the portal's page under /portal/
(templates/portal/refused.html; a 500: portal/error.html), the desk's page elsewhere
(templates/errors.html). A page's frame needs the database (the association's name, the signed-in user): when the database is
what failed, the page is rendered again without it (desk.outage).

The database unreachable or the disk full (``desk.outage.is_outage``) is 503 with Retry-After.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, jsonify, make_response, render_template, request
from sqlalchemy import exc
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from desk import outage
from desk.extensions import db, login_manager
from desk.web import is_htmx

log = logging.getLogger("desk.errors")


def is_portal() -> bool:
    return request.path == "/portal" or request.path.startswith("/portal/")


def is_program() -> bool:
    """A webhook or a JSON client: it reads JSON, not a page."""
    return request.is_json or request.path.startswith("/hooks/")


def _flash_headers(response: Response) -> None:
    """An htmx answer meant for #flashes, whatever element made the request (static/js/desk.js)."""
    reswap = "innerHTML show:top" if request.method != "GET" else "innerHTML"  # (a poll does not scroll)
    response.headers.update({"HX-Retarget": "#flashes", "HX-Reswap": reswap, "HX-Push-Url": "false"})


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
    status = error.code or 500
    return answer(status)


def unavailable(error: Exception):
    """The database unreachable or the disk full (desk.outage.is_outage): 503 and Retry-After;
    any other error of these kinds is raised again (a 500, with its log)."""
    if not outage.is_outage(error):
        raise error
    rule = request.url_rule.rule if request.url_rule else "(no route)"
    orig = getattr(error, "orig", None)
    log.warning("not saved: %s (%s%s) on %s %s; answered 503", outage.kind(error), type(error).__name__,
                f", {type(orig).__module__}.{type(orig).__name__}" if orig is not None else "", request.method, rule)
    outage.release(db.session)
    return answer(503)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    # What an outage raises; anything else of these kinds is raised again (a 500, with its log).
    for kind in (exc.DBAPIError, exc.TimeoutError, exc.DisconnectionError, OSError):
        app.register_error_handler(kind, unavailable)
