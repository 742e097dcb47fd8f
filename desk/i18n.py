"""Messages in the reader's language with their numbers in the reader's digits.

Every translated message that takes a number (``_("… %(n)s …", n=5)``, ``ngettext``, the
lazy forms, and the templates' ``_()``/``ngettext()``) goes through ``NumberedDomain``: an int
or float value is written with ``desk.text.format_number`` in the locale the message is
rendered in (Arabic-Indic digits in Arabic, "١٠ أحرف", never "10 أحرف"). Identifiers
(references, phone numbers, codes) are passed as strings and are left alone."""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import Babel, Domain, get_locale
from jinja2 import pass_context

from desk.text import format_number


def _locale() -> str:
    return str(get_locale() or "ar")


def localised(variables: dict[str, Any]) -> dict[str, Any]:
    """The message's variables with every number written in the current locale's digits."""
    if not any(isinstance(v, (int, float)) for v in variables.values()):
        return variables
    locale = _locale()
    return {k: format_number(v, locale) if isinstance(v, (int, float)) else v for k, v in variables.items()}


class NumberedDomain(Domain):
    """Flask-Babel's domain, its numbers formatted by ``localised``."""

    def gettext(self, string, **variables):
        return super().gettext(string, **localised(variables))

    def ngettext(self, singular, plural, num, **variables):
        variables.setdefault("num", num)
        return self.get_translations().ungettext(singular, plural, num) % localised(variables)

    def pgettext(self, context, string, **variables):
        return super().pgettext(context, string, **localised(variables))

    def npgettext(self, context, singular, plural, num, **variables):
        variables.setdefault("num", num)
        return self.get_translations().unpgettext(context, singular, plural, num) % localised(variables)


def _numbered_template_call(call, counted: bool):
    """Jinja's new-style gettext formats the variables itself: localise them first (for
    ngettext and npgettext the count is also the default ``num``)."""

    @pass_context
    def numbered(context, *args, **variables):
        if counted:
            variables.setdefault("num", args[-1])
        return call(context, *args, **localised(variables))

    return numbered


def init_app(app: Flask, babel: Babel) -> None:
    """Use ``NumberedDomain`` for every message of the app and number the templates' messages
    the same way (after ``babel.init_app``, which installed Jinja's gettext callables)."""
    babel.domain_instance = NumberedDomain(domain=app.extensions["babel"].default_domain)
    env = app.jinja_env
    for name, counted in (("gettext", False), ("_", False), ("pgettext", False), ("ngettext", True), ("npgettext", True)):
        if name in env.globals:
            env.globals[name] = _numbered_template_call(env.globals[name], counted)
