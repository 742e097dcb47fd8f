"""Bad bytes never reach the database: one look at every text a request brings, before anything
else reads it (the rate limits' keys, the CSRF check, the views).

PostgreSQL refuses a NUL in text (psycopg raises before sending the statement, and the failure
used to end in a 500 whose log held the statement's parameters: a national ID, a health
complaint). No database should keep the other control characters either, nor a lone surrogate
(a JSON ``"\\ud800"`` decodes to one; no encoding can store it). So, in one place:

- the path, and so every view argument: undecodable as UTF-8, or any control character → 400;
- the query string: undecodable as UTF-8 once percent-decoded, or a control character (a value
  may hold tab, LF and CR, as free text may; a name may not) → 400;
- the headers the desk reads (htmx's, the CSRF token's, the webhooks') → 400;
- a body that is not multipart and parses as JSON (the webhooks'; Flask-WTF also takes a JSON
  body as a form's data): every string in it, names and values → 400. The body stays cached, so
  a webhook's HMAC is still computed over the exact bytes that arrived, and escaped Unicode
  (Arabic, emoji as surrogate pairs) is text like any other;
- a form's fields (urlencoded or multipart) are what people type, and paste: a control character
  there usually comes from a PDF or another program. The person gets the form back (422) with a
  message by the field and the rest of the text kept. For that this layer removes the
  characters from ``request.form`` and notes the field (``refused_fields``); desk.forms.DeskForm,
  the base of every form, fails validation on a noted field. A view that would write without
  such a form cannot: no session commits during a request with a noted field (400 instead);
- an uploaded file's name loses its control characters (a file's content is bytes, not looked at).

Werkzeug's own handling of invalid UTF-8 in a body is harmless and left alone: it keeps an
invalid percent escape as text and decodes an undecodable multipart field with U+FFFD.

Every answer is in the reader's language and frame: the portal's under /portal/, the desk's
elsewhere, a fragment for #flashes to an htmx request, JSON to a program. What was refused is
logged by where it was found (and a field's name), never by its value.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest

log = logging.getLogger("desk.input")

# Tab, LF and CR are free text's; every other C0 control, DEL and the lone surrogates are nobody's.
_BAD_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Names, paths and file names hold no line breaks or tabs either.
_BAD_IN_NAME = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
# A header value may hold a tab (RFC 9110), nothing else below space.
_BAD_IN_HEADER = re.compile("[\x00-\x08\x0a-\x1f\x7f]")

# The headers the desk reads (desk.web, the webhooks, Flask-WTF's CSRF check adds its own).
READ_HEADERS = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request", "HX-Target",
                "X-Desk-Source", "X-Desk-Signature", "X-Hub-Signature-256")
# The methods whose body is read: Flask-WTF's "submitted" ones.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

FIELD_MESSAGE = _l("This text held invisible control characters (often copied from a PDF or another program). "
                   "They have been removed: check the text and send it again.")


class RefusedInput(BadRequest):
    """400: the request carried characters the desk does not take. ``where`` says which part."""

    def __init__(self, where: str):
        super().__init__(f"control characters or invalid UTF-8 in the {where}")
        self.where = where


def bad_text(text: str) -> bool:
    """Free text (a form's value, a JSON string) with a character the desk does not store."""
    return _BAD_IN_TEXT.search(text) is not None


def clean_text(text: str) -> str:
    """Free text without the characters ``bad_text`` finds (tab, LF and CR stay)."""
    return _BAD_IN_TEXT.sub("", text)


def refused_fields() -> frozenset[str]:
    """The form fields of this request whose control characters were removed (none outside one)."""
    if not has_request_context():
        return frozenset()
    noted: frozenset[str] = g.get("desk_refused_fields", frozenset())
    return noted


# The checks ---------------------------------------------------------------------------------

def _path_refused() -> bool:
    raw = request.environ.get("PATH_INFO", "")
    try:
        path = raw.encode("latin-1").decode("utf-8")  # PEP 3333: the bytes as latin-1
    except UnicodeEncodeError:  # a server that decoded it already
        path = raw
    except UnicodeDecodeError:
        return True
    if _BAD_IN_NAME.search(path):
        return True
    return any(isinstance(value, str) and _BAD_IN_NAME.search(value) for value in (request.view_args or {}).values())


def _query_refused() -> bool:
    raw = request.query_string
    if not raw:
        return False
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except ValueError:  # UnicodeDecodeError: raw bytes or a percent escape that are not UTF-8
        return True
    return any(_BAD_IN_NAME.search(name) or _BAD_IN_TEXT.search(value) for name, value in pairs)


def _header_refused() -> str | None:
    names = (*READ_HEADERS, *current_app.config.get("WTF_CSRF_HEADERS", ("X-CSRFToken", "X-CSRF-Token")))
    for name in names:
        value = request.headers.get(name)
        if value and _BAD_IN_HEADER.search(value):
            return name
    return None


def _json_refused(raw: bytes) -> bool:
    """A body that parses as JSON with a bad string in it (a name or a value, at any depth).
    A body that is not JSON is left to whoever reads it (it refuses what it cannot parse)."""
    if not raw.strip():
        return False
    try:
        value: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    stack = [value]
    while stack:  # no recursion: the depth is the sender's choice
        item = stack.pop()
        if isinstance(item, str):
            if _BAD_IN_TEXT.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _named(name: str) -> str:
    """A field's name for the log: ours are short identifiers; anything else is not repeated."""
    return name if len(name) <= 40 and name.replace("-", "_").isidentifier() else "?"


def _refuse(where: str) -> RefusedInput:
    rule = request.url_rule.rule if request.url_rule else "(no route)"
    log.warning("refused a request: control characters or invalid UTF-8 in the %s (%s %s)",
                where, request.method, rule)
    return RefusedInput(where)


def _clean_form() -> None:
    """Remove bad characters from the form's values and note their fields; refuse bad names."""
    noted: list[str] = []
    items: list[tuple[str, str]] = []
    for name, value in request.form.items(multi=True):
        if _BAD_IN_NAME.search(name):
            raise _refuse("form")
        if _BAD_IN_TEXT.search(value):
            noted.append(name)
            value = clean_text(value)
        items.append((name, value))
    for name, upload in request.files.items(multi=True):
        if _BAD_IN_NAME.search(name):
            raise _refuse("form")
        if upload.filename and _BAD_IN_NAME.search(upload.filename):
            upload.filename = _BAD_IN_NAME.sub("", upload.filename)
    if noted:
        request.form = ImmutableMultiDict(items)  # (Werkzeug's cached_property takes an assignment)
        g.desk_refused_fields = frozenset(noted)
        rule = request.url_rule.rule if request.url_rule else "(no route)"
        log.info("control characters removed from the form's %s (%s %s); the form is shown again",
                 ", ".join(sorted({_named(n) for n in noted})), request.method, rule)


def check_request() -> None:
    """The whole check, as a ``before_request``: raises RefusedInput, or cleans the form."""
    if _path_refused():
        raise _refuse("address")
    if _query_refused():
        raise _refuse("query string")
    header = _header_refused()
    if header:
        raise _refuse(f"header {header}")
    if request.method in _BODY_METHODS and request.mimetype != "multipart/form-data":
        # Cached: the form parser and a webhook's signature check then read these same bytes.
        if _json_refused(request.get_data(cache=True)):
            raise _refuse("JSON body")
    _clean_form()


# The commit guard ---------------------------------------------------------------------------

@sa.event.listens_for(Session, "before_commit")
def _no_commit_with_a_refused_field(session: Session) -> None:
    """A request whose form lost characters writes nothing: its form shows the message, or (a
    view that writes without validating such a form) the request is refused."""
    if refused_fields():
        raise _refuse("form (a write without a form to show the message)")


# The answer ---------------------------------------------------------------------------------

def _answer(error: RefusedInput):
    from desk.web import is_htmx
    if request.is_json or request.path.startswith("/hooks/"):  # a program
        return jsonify(error=error.description), 400
    if is_htmx():
        response = make_response(render_template("_refused_input.html"), 400)
        # Shown where messages go (static/js/desk.js swaps it); the form keeps what was typed.
        response.headers.update({"HX-Retarget": "#flashes", "HX-Reswap": "innerHTML", "HX-Push-Url": "false"})
        return response
    if request.path.startswith("/portal/"):
        return render_template("portal/refused.html", status=400, refused_input=True), 400
    return render_template("errors.html", error=None, status=400, refused_input=True), 400


def init_app(app: Flask) -> None:
    """Registered by create_app before CSRFProtect and the rate limiter, which read the form."""
    app.before_request(check_request)
    app.register_error_handler(RefusedInput, _answer)
