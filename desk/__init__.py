"""The beneficiary relations desk."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask, session
from flask_login import current_user
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter, Map

from desk import logs, ratelimits, settings
from desk.extensions import babel, csrf, db, login_manager, migrate
from desk.settings import PROJECT_ROOT
from desk.transaction import discard


def _select_locale() -> str:
    """The signed-in user's language, else the session's (the language switch), else Arabic.
    The user's is kept in the session too: a page that says the database cannot be read
    (desk.error_pages) cannot read the user either, and is still in their language."""
    from desk import outage
    try:
        if current_user and current_user.is_authenticated and current_user.locale in ("ar", "en"):
            if session.get("locale") != current_user.locale:
                session["locale"] = current_user.locale
            return current_user.locale
    except Exception as error:
        if not outage.is_outage(error):
            raise
        outage.lost_database(db.session)
    return session.get("locale") or "ar"


@sa.event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL lets readers work while one writer writes; foreign keys are off by default in SQLite;
    secure_delete zeroes what a delete or an update frees, so an erased person's words do not
    stay readable in the file (desk.privacy.scrub)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()


def _bare_error_page(reference: str | None) -> str:
    """The 500 page when the real one cannot be rendered: no frame, no database, the id still."""
    from flask_babel import get_locale
    from flask_babel import gettext as _
    from markupsafe import escape
    locale, direction = ("en", "ltr") if str(get_locale()) == "en" else ("ar", "rtl")
    title, advice = escape(_("Something went wrong")), escape(_("Try again; if it keeps happening, tell the administrator."))
    label = escape(_("Support reference"))
    return (f'<!doctype html><html lang="{locale}" dir="{direction}"><meta charset="utf-8"><title>500</title>'
            f'<h1>{title}</h1><p>{advice}</p><p>{label}: <code dir="ltr">{escape(reference or "")}</code></p></html>')


class _IdConverter(IntegerConverter):
    """werkzeug's int, bounded by the largest id (desk.forms.MAX_ID) unless a route says otherwise."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        from desk.forms import MAX_ID
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    # Every <int:…> in a URL is an id: a number larger than any row can have matches no route
    # (404) rather than reaching the database, which fails on it (SQLite: OverflowError).
    app.url_map.converters["int"] = _IdConverter
    env_config = settings.load()
    app.config.update(env_config)
    if config:
        app.config.update(config)
        if "SQLALCHEMY_DATABASE_URI" in config and "SQLALCHEMY_ENGINE_OPTIONS" not in config:
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = settings.engine_options(
                app.config["SQLALCHEMY_DATABASE_URI"], app.config["DESK_DB_CONNECT_TIMEOUT"])
    app.instance_path = app.config["INSTANCE_PATH"]
    logs.init_app(app)  # first: whatever logs from here on is scrubbed and carries its request's id
    from desk import timing
    timing.init_app(app)  # (only with DESK_BENCH_TIMING: the benchmark's Server-Timing header)
    if app.config.get("DESK_PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = app.config["DESK_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    @app.before_request
    def _portal_request_size() -> None:
        """The portal takes several documents per request: its own limit. Registered before
        CSRFProtect, whose check reads the form (and so the body) first."""
        from flask import request
        if request.path.startswith("/portal/"):
            request.max_content_length = app.config["DESK_PORTAL_MAX_REQUEST"]

    # Control characters and invalid UTF-8 are refused (or removed from a form, which comes back
    # with a message) before the rate limiter's keys and the CSRF check read the request.
    # A webhook's body over DESK_WEBHOOK_MAX_KB is refused (413) before the input guard reads it.
    from desk.channels import payloads
    payloads.init_app(app)
    from desk import input_guard
    input_guard.init_app(app)
    # Every error in the reader's language and frame; the database or the disk failing loses
    # nothing typed (503, the form again). The handlers below add to these.
    from desk import error_pages
    error_pages.init_app(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    ratelimits.init_app(app)  # limiter.init_app, and its store may fail without failing the desk
    babel.init_app(app, locale_selector=_select_locale,
                   default_translation_directories=str(PROJECT_ROOT / "desk" / "translations"))
    from desk import i18n
    i18n.init_app(app, babel)  # numbers in messages in the reader's digits
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    from datetime import timedelta

    from desk.accounts import sessions
    from desk.accounts.views import unauthorized

    @login_manager.user_loader
    def _load_user(session_id: str):
        from flask import g, request
        user, g.desk_signed_out = sessions.load(
            db.session, session_id, session, idle=timedelta(minutes=app.config["DESK_SESSION_IDLE_MINUTES"]),
            absolute=timedelta(hours=app.config["DESK_SESSION_HOURS"]),
            background=request.headers.get(sessions.BACKGROUND_HEADER) == "1")
        return user

    login_manager.unauthorized_handler(unauthorized)

    import desk.admin.users
    import desk.admin.views  # noqa: F401
    from desk import web
    from desk.accounts.views import bp as accounts_bp
    from desk.admin.blueprint import bp as admin_bp
    from desk.beneficiaries.views import bp as beneficiaries_bp
    from desk.intake.views import bp as intake_bp
    from desk.queue.views import bp as queue_bp
    from desk.tickets.views import bp as tickets_bp

    web.init_app(app)
    for bp in (accounts_bp, queue_bp, intake_bp, tickets_bp, beneficiaries_bp):
        app.register_blueprint(bp)
    app.register_blueprint(admin_bp)

    from desk.notify.views import bp as notify_bp
    app.register_blueprint(notify_bp)

    from desk.followup.views import bp as followup_bp
    app.register_blueprint(followup_bp)

    from desk.sla.views import bp as sla_bp
    app.register_blueprint(sla_bp)

    from desk.committee.views import bp as committee_bp
    app.register_blueprint(committee_bp)
    from desk.compensation.views import bp as compensation_bp
    app.register_blueprint(compensation_bp)
    from desk.disputes.views import bp as disputes_bp
    app.register_blueprint(disputes_bp)

    from desk.attachments.views import bp as attachments_bp
    app.register_blueprint(attachments_bp)
    from desk.stats.views import bp as stats_bp
    app.register_blueprint(stats_bp)

    from desk.portal.admin import bp as portal_admin_bp
    from desk.portal.staff import bp as satisfaction_bp
    from desk.portal.views import bp as portal_bp
    app.register_blueprint(portal_bp)
    app.register_blueprint(portal_admin_bp)
    app.register_blueprint(satisfaction_bp)
    from desk.survey.views import bp as survey_bp
    app.register_blueprint(survey_bp)
    from desk.training.views import bp as training_bp
    app.register_blueprint(training_bp)

    from desk.channels.views import bp as channels_bp
    app.register_blueprint(channels_bp)
    from desk.channels.mail_views import bp as mail_bp
    app.register_blueprint(mail_bp)
    from desk.privacy.views import bp as privacy_bp
    app.register_blueprint(privacy_bp)
    from desk.replies.views import bp as replies_bp
    from desk.replies.views import keepers as replies_admin_bp
    app.register_blueprint(replies_bp)
    app.register_blueprint(replies_admin_bp)
    from desk.tags.views import bp as tags_bp
    app.register_blueprint(tags_bp)
    from desk.kb.views import bp as kb_bp
    from desk.kb.views import public as kb_public_bp
    app.register_blueprint(kb_bp)
    app.register_blueprint(kb_public_bp)
    from desk.appointments.views import bp as appointments_bp
    from desk.appointments.views import portal_bp as appointments_portal_bp
    app.register_blueprint(appointments_bp)
    app.register_blueprint(appointments_portal_bp)
    from desk.broadcasts.views import bp as broadcasts_bp
    app.register_blueprint(broadcasts_bp)
    from desk.casefile.views import bp as casefile_bp
    app.register_blueprint(casefile_bp)

    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import InternalServerError

    from desk.errors import DeskError

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        return error_pages.answer(400, csrf=True)

    @app.errorhandler(DeskError)
    def _desk_error(error: DeskError):
        return error_pages.answer(error.status, error=error)

    @app.errorhandler(404)
    def _not_found(error):
        return error_pages.answer(404)

    @app.errorhandler(403)
    def _forbidden(error):
        return error_pages.answer(403)

    @app.errorhandler(413)
    @app.errorhandler(429)
    def _refused(error):  # the portal and the upload forms answer in their own words (their blueprints)
        return error_pages.answer(error.code)

    @app.errorhandler(InternalServerError)
    def _server_error(error):
        """Flask has logged the exception (desk.logs: its type and where, with the request's id).
        The page gives that id, for whoever calls support to quote. The failed transaction is
        dropped first: the page's frame reads the database too (the association's name)."""
        reference = logs.request_id()
        try:
            discard(db.session)
            return error_pages.answer(500, request_id=reference)
        except Exception:  # the frame needs the database, and the database may be what failed
            app.logger.exception("the error page could not be rendered")
            return _bare_error_page(reference), 500

    @app.get("/healthz")
    def healthz():
        """Each component's state. 503 ("down") only when the database does not answer: nothing
        works without it. A component that only makes the desk faster or shared may fail while
        the desk still serves everyone: "degraded", 200, so a load balancer keeps the instance."""
        database = "ok"
        try:
            db.session.execute(sa.text("SELECT 1"))  # (the name `text` is the desk.text package here)
        except Exception as error:  # the database is down or unreachable
            app.logger.warning("healthz: database unreachable (%s)", type(error).__name__)
            discard(db.session)
            database = "unreachable"
        rate_limits = ratelimits.state()
        if database != "ok":
            status = "down"
        elif rate_limits in ("ok", "disabled"):
            status = "ok"
        else:
            status = "degraded"
        return {"status": status, "database": database, "rate_limits": rate_limits}, 503 if status == "down" else 200

    @app.get("/favicon.ico")
    def favicon():
        """Browsers ask for /favicon.ico on every page (a 404 there is a console error on
        every page, review p3): the desk's icon, an SVG, cached for a day."""
        return app.send_static_file("favicon.svg"), 200, {"Cache-Control": "public, max-age=86400"}

    @app.get("/")
    def home():
        from flask import redirect, url_for
        return redirect(url_for("queue.index"))

    from desk.cli import register
    register(app)

    # Last: production refuses to start on a database behind the migrations (desk/schema.py).
    from desk.schema import check_at_start
    check_at_start(app)
    return app
