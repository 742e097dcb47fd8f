"""No personal data in the logs (issue 14): what a request carried — a national ID, a phone
number, an email address, Arabic free text — never reaches a log line, whether the request
failed in a view (500), in the database (PostgreSQL's DETAIL names the duplicate value) or at
the rate limiter (its key is the email typed); every line of a request carries its id, which
the 500 page shows and the response returns in X-Request-ID.

The logs are read where production writes them: the handler desk.logs.setup puts on the root
logger (here on a StringIO), with the filter on it as create_app installs it, and pytest's
caplog beside it; and, end to end, the lines a real gunicorn writes."""
from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import got_request_exception

from desk import logs, settings
from desk.beneficiaries import service as beneficiaries_service
from desk.extensions import db as _db
from desk.models import Beneficiary
from tests.conftest import VALID_NID
from tests.redisserver import free_port

ROOT = Path(__file__).resolve().parent.parent

EMAIL = "Layla.AlHarbi@example.org"
NAME = "ليلى الحربي"
SUBJECT = "طلب مساعدة عاجلة في الإيجار"
BODY = "زوجي مريض ولا نستطيع دفع الإيجار منذ ثلاثة أشهر"
PHONE_TYPED = "٠٥٠١٢٣٤٥٦٧"  # as a beneficiary dictates it, in Arabic-Indic digits
NID_TYPED = "١٠٠٠٠٠٠٠٠٨"    # VALID_NID in Arabic-Indic digits
# Every form the values could take on their way to a log line.
PERSONAL = [VALID_NID, NID_TYPED, "0501234567", PHONE_TYPED, "501234567", "+966501234567", EMAIL, EMAIL.lower(),
            "alharbi", NAME, "ليلى", SUBJECT, BODY, "الإيجار"]
HEX_ID = re.compile(r"[0-9a-f]{16}")


def assert_no_personal_data(text: str) -> None:
    leaked = [value for value in PERSONAL if value.lower() in text.lower()]
    assert not leaked, f"{leaked} in the logs:\n{text}"


def _form(**overrides) -> dict:
    data = {"kind": "complaint", "channel": "phone", "subject": SUBJECT, "body": BODY, "priority": "2",
            "department_id": "", "b_name": NAME, "b_phone": PHONE_TYPED, "b_national_id": NID_TYPED, "b_email": EMAIL}
    return data | overrides


@pytest.fixture
def log_to(caplog):
    """``log_to(fmt)``: the desk's own handler (desk.logs.setup, as create_app makes it) writing
    to a StringIO, returned; caplog records INFO and above beside it."""
    root = logging.getLogger()
    level, made = root.level, []

    def make(fmt: str = "text") -> io.StringIO:
        caplog.set_level(logging.INFO)  # first: caplog puts back the level it finds
        stream = io.StringIO()
        made.append(logs.setup(fmt, stream))
        return stream

    yield make
    for handler in made:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def errors_answered(app, monkeypatch):
    """A failing view answers with the 500 page, as in production (tests otherwise re-raise)."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)


@pytest.fixture
def failing_intake(monkeypatch, errors_answered):
    """Filing a ticket fails with an exception that quotes everything the form carried (a bug
    of the kind that puts data into a message), caused by another that quotes the phone."""
    def create_ticket(session, actor, data, **extra):
        try:
            raise KeyError(data.new_beneficiary.phone)
        except KeyError as error:
            raise ValueError(f"could not file {data!r}") from error

    monkeypatch.setattr("desk.intake.service.create_ticket", create_ticket)


def caplog_text(caplog) -> str:
    return caplog.text + "".join(f"{r.getMessage()}\n{r.exc_text or ''}\n" for r in caplog.records)


# A 500 inside a view -------------------------------------------------------------------

def test_a_failing_view_logs_where_and_what_failed_but_nothing_the_form_carried(
        as_user, people, log_to, caplog, failing_intake):
    stream = log_to()
    response = as_user(people.staff).post("/tickets/new", _form())
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert HEX_ID.fullmatch(request_id)

    text = stream.getvalue()
    assert_no_personal_data(text)
    assert_no_personal_data(caplog_text(caplog))
    # What happened, where, and which request: enough to find the bug.
    assert f"ERROR [{request_id}] desk: Exception on /tickets/new [POST]" in text
    assert "Traceback (most recent call last):" in text
    assert "test_logs.py" in text and "in create_ticket" in text and "desk/intake/views.py" in text
    assert "KeyError [message not logged]" in text
    assert "The above exception was the direct cause of the following exception:" in text
    assert "ValueError [message not logged]" in text
    # Nothing downstream can format the exception's message again.
    failed = [r for r in caplog.records if r.name == "desk" and r.levelno == logging.ERROR]
    assert len(failed) == 1 and failed[0].exc_info is None and failed[0].request_id == request_id


@pytest.mark.parametrize("locale,words", [("ar", ["رقم المرجع للدعم الفني", "اذكر هذا الرقم"]),
                                          ("en", ["Support reference", "quote this reference"])])
def test_the_500_page_shows_the_request_id_the_response_returns(as_user, people, db, failing_intake, locale, words):
    people.staff.locale = locale
    db.session.commit()
    response = as_user(people.staff).post("/tickets/new", _form())
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert all(word in html for word in words)
    assert f'<code dir="ltr">{response.headers["X-Request-ID"]}</code>' in html
    assert_no_personal_data(html)  # the page does not echo the exception either


def test_a_failing_portal_page_answers_in_the_portals_frame(browser, monkeypatch, errors_answered):
    def published_departments(session):
        raise RuntimeError("the directory failed")

    monkeypatch.setattr("desk.portal.service.published_departments", published_departments)
    response = browser.get("/portal/directory")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "portal-card" in html and "Back to the queue" not in html and "العودة إلى قائمة" not in html
    assert "رقم المرجع للدعم الفني" in html
    assert f'<code dir="ltr">{response.headers["X-Request-ID"]}</code>' in html


def test_the_500_page_keeps_the_request_id_when_its_frame_cannot_be_drawn(browser, monkeypatch, log_to,
                                                                            errors_answered):
    """The frame reads the association's profile; when that fails too (not the database being
    down: then the frame takes the settings' name, desk.outage), the page still answers, bare,
    with the id."""
    def profile_get(session, config):
        refused = ConnectionRefusedError(111, "Connection refused")
        raise RuntimeError("the profile could not be read") from refused

    monkeypatch.setattr("desk.portal.profile.get", profile_get)
    stream = log_to()
    response = browser.get("/portal/")
    html = response.get_data(as_text=True)
    request_id = response.headers["X-Request-ID"]
    assert response.status_code == 500
    assert f'<code dir="ltr">{request_id}</code>' in html and "رقم المرجع للدعم الفني" in html
    text = stream.getvalue()
    assert f"ERROR [{request_id}] desk: Exception on /portal/ [GET]" in text
    assert f"ERROR [{request_id}] desk: the error page could not be rendered" in text
    assert "RuntimeError [message not logged]" in text
    assert "ConnectionRefusedError [message not logged; errno=ECONNREFUSED]" in text


# The database --------------------------------------------------------------------------

def test_a_duplicate_national_id_rejected_by_the_database_is_not_logged(as_user, people, db, log_to, caplog,
                                                                        monkeypatch, app, errors_answered):
    """Two desks register the same national ID at once: both pass the check, the database's
    unique index refuses the second. PostgreSQL says which value: 'DETAIL: Key (national_id)=
    (1000000008) already exists.', which hiding the statement's parameters does not hide. It
    does not reach the log."""
    db.session.add(Beneficiary(name="مسجل من قبل", national_id=VALID_NID, search_name="مسجل من قبل"))
    db.session.commit()
    monkeypatch.setattr(beneficiaries_service, "find_by_national_id", lambda session, national_id: None)
    raised = []

    def keep(sender, exception, **extra):
        raised.append(exception)

    stream = log_to()
    with got_request_exception.connected_to(keep, app):
        response = as_user(people.staff).post("/tickets/new", _form())
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert type(raised[0]).__name__ == "IntegrityError"
    postgres = _db.engine.dialect.name == "postgresql"
    if postgres:  # what the filter had to keep out: the parameters are hidden, not the server's DETAIL
        assert f"Key (national_id)=({VALID_NID})" in str(raised[0])

    text = stream.getvalue()
    assert_no_personal_data(text)
    assert_no_personal_data(caplog_text(caplog))
    assert "Key (national_id)" not in text and "[parameters:" not in text
    assert f"ERROR [{request_id}] desk: Exception on /tickets/new [POST]" in text
    assert "sqlalchemy.exc.IntegrityError [message not logged;" in text
    if postgres:  # what names no value: the constraint that refused, to find the bug by
        assert "psycopg.errors.UniqueViolation [message not logged; sqlstate=23505; table=beneficiaries" in text
        assert "constraint=" in text
    else:
        assert "sqlite3.IntegrityError [message not logged; code=SQLITE_CONSTRAINT_UNIQUE]" in text
    assert f'<code dir="ltr">{request_id}</code>' in response.get_data(as_text=True)


@pytest.mark.parametrize("mode", ["production", "development", "testing"])
def test_database_errors_carry_no_values(app, tmp_path, mode):
    """The engine built with the settings' options, in every mode: a failed statement's error
    names no parameter (nor does SQLAlchemy's statement logging)."""
    url = os.environ["DESK_DATABASE_URL"]
    options = settings.load({"DESK_ENV": mode, "DESK_SECRET_KEY": "k", "DESK_BASE_URL": "https://desk.example.org",
                             "DESK_INSTANCE_PATH": str(tmp_path), "DESK_DATABASE_URL": url})["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["hide_parameters"] is True
    for hidden in (True, False):  # and without the option, the same error would carry the value
        engine = sa.create_engine(url, **(options | {"hide_parameters": hidden}))
        try:
            with engine.connect() as connection, pytest.raises(sa.exc.DBAPIError) as failed:
                connection.execute(sa.text("SELECT * FROM no_such_table WHERE national_id = :nid"), {"nid": VALID_NID})
        finally:
            engine.dispose()
        assert (VALID_NID in str(failed.value)) is not hidden
        assert ("SQL parameters hidden" in str(failed.value)) is hidden


# The rate limiter ----------------------------------------------------------------------

def test_a_refused_sign_in_logs_the_limit_not_what_was_typed(browser, people, log_to, caplog, monkeypatch, app):
    """Flask-Limiter logs each refusal at INFO with the limit's key: "login:<the email typed>",
    or whatever was typed in the email field (here a name)."""
    monkeypatch.setitem(app.config, "DESK_LOGIN_LIMIT", "2 per hour")
    stream = log_to()
    browser.refresh_token()
    refusals = []
    for typed in (EMAIL, NAME):
        for attempt in range(3):  # from three addresses: the account's limit, not the address's, refuses
            browser.client.environ_base["REMOTE_ADDR"] = f"192.0.2.{len(refusals) * 10 + attempt + 1}"
            response = browser.post("/login", {"email": typed, "password": "wrong-password!"})
        assert response.status_code == 429
        refusals.append(response.headers["X-Request-ID"])

    text = stream.getvalue()
    assert_no_personal_data(text)
    assert_no_personal_data(caplog_text(caplog))
    lines = [line for line in text.splitlines() if "ratelimit" in line]
    assert len(lines) == 2
    for line, request_id in zip(lines, refusals, strict=True):
        assert f"INFO [{request_id}] flask-limiter: ratelimit 2 per 1 hour (login:[redacted]) exceeded" in line


# The format ----------------------------------------------------------------------------

def test_json_logs_are_one_object_per_line(as_user, people, log_to, failing_intake):
    stream = log_to("json")
    response = as_user(people.staff).post("/tickets/new", _form())
    assert response.status_code == 500
    text = stream.getvalue()
    assert_no_personal_data(text)
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    failed = [e for e in entries if e["logger"] == "desk" and e["level"] == "ERROR"]
    assert len(failed) == 1
    entry = failed[0]
    assert set(entry) == {"time", "level", "logger", "message", "request_id", "exception"}
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert entry["message"] == "Exception on /tickets/new [POST]"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].endswith("ValueError [message not logged]")


def test_text_is_the_default_and_nothing_else_is_accepted(tmp_path):
    env = {"DESK_INSTANCE_PATH": str(tmp_path)}
    assert settings.load(env)["DESK_LOG_FORMAT"] == "text"
    assert settings.load(env | {"DESK_LOG_FORMAT": " JSON "})["DESK_LOG_FORMAT"] == "json"
    with pytest.raises(settings.SettingsError, match="DESK_LOG_FORMAT"):
        settings.load(env | {"DESK_LOG_FORMAT": "xml"})


def test_a_line_outside_any_request_has_no_request_id(log_to):
    stream = log_to()
    logging.getLogger("desk.notify.outbox").warning("outbox: mail server unreachable: 550 <%s> rejected", EMAIL)
    line = stream.getvalue().strip()
    assert re.fullmatch(r"\S+Z WARNING \[-\] desk\.notify\.outbox: outbox: mail server unreachable: "
                        r"550 <\[email\]> rejected", line), line


# The request id ------------------------------------------------------------------------

def test_each_request_has_its_own_id(browser):
    first, second = (browser.get("/login").headers["X-Request-ID"] for _ in range(2))
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second) and first != second


def test_a_proxys_request_id_is_kept_when_the_desk_is_behind_one(browser, app, monkeypatch):
    given = "4f1c2a9e-0b7d-4c55-9a61-2f3e8d7c6b5a"
    assert browser.get("/login", headers={"X-Request-ID": given}).headers["X-Request-ID"] != given  # no proxy
    monkeypatch.setitem(app.config, "DESK_PROXY_HOPS", 1)
    assert browser.get("/login", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given
    for insane in ("short", "has spaces in it", "x" * 65, "<script>alert(1)</script>", f"req-{VALID_NID}",
                   f"req-{EMAIL}"):
        assert HEX_ID.fullmatch(browser.get("/login", headers={"X-Request-ID": insane}).headers["X-Request-ID"])


# What the filter masks -----------------------------------------------------------------

@pytest.mark.parametrize("line,expected", [
    (f"national id {VALID_NID}, iqama 2000000004", "national id [national-id], iqama [national-id]"),
    (f"typed {NID_TYPED}", "typed [national-id]"),
    ("+966501234567 / +966 50 123 4567 / 00966501234567", "[phone] / [phone] / [phone]"),
    ("966501234567, 0501234567, 050 123 4567, 050-123-4567, 501234567", "[phone], [phone], [phone], [phone], [phone]"),
    (f"mobile {PHONE_TYPED} and ٠٥٠\u200f١٢٣\u200f٤٥٦٧", "mobile [phone] and [phone]"),
    ("+44 20 7946 0958", "[phone]"),
    ("landline 0112345678, card 4111111111111111", "landline [number], card [number]"),
    (f"from {EMAIL} to ali.m+desk@جمعية.example.sa", "from [email] to [email]"),
    ('"GET /queue?q=%D9%84%D9%8A%D9%84%D9%89&status=new HTTP/1.1" 200 "https://desk.example.org/beneficiaries?q=x"',
     '"GET /queue?[query] HTTP/1.1" 200 "https://desk.example.org/beneficiaries?[query]"'),
    ("GET /portal/t/C-1446-000123/Xq3kLm9pQr2sTv8wYz1aBc4dEf6gHi7J", "GET /portal/t/C-1446-000123/[key]"),
    ("GET /portal/o/eyJ0IjoxMn0.Zk3x9A.c2lnbmF0dXJl GET /portal/s/abc.def", "GET /portal/o/[key] GET /portal/s/[key]"),
    ("ratelimit 10 per 1 minute (login:ali@localhost) exceeded at endpoint: accounts.login",
     "ratelimit 10 per 1 minute (login:[redacted]) exceeded at endpoint: accounts.login"),
    ("ratelimit 5 per 1 minute (phone:+966501234567) exceeded at endpoint: portal.new",
     "ratelimit 5 per 1 minute (phone:[redacted]) exceeded at endpoint: portal.new"),
    ("ratelimit 5 per 1 minute (192.0.2.7) exceeded at endpoint: portal.track",
     "ratelimit 5 per 1 minute (192.0.2.7) exceeded at endpoint: portal.track"),
    ("ratelimit 5 per 1 minute (2001:db8::1) exceeded at endpoint: portal.track",
     "ratelimit 5 per 1 minute (2001:db8::1) exceeded at endpoint: portal.track"),
])
def test_the_filter_masks(line, expected):
    assert logs.scrub(line) == expected


@pytest.mark.parametrize("line", [
    "outbox: message 42 failed for good after 8 attempt(s)",
    "ticket C-1446-000123 routed to SOCIAL at 2025-01-05 09:30:00",
    "GET /portal/t/C-1446-000123/reply", "GET /portal/t/C-1446-000123/files/17",
    "a body of 10485760 bytes", "why? because",
])
def test_the_filter_leaves_what_names_nobody(line):
    assert logs.scrub(line) == line


def test_a_text_line_cannot_be_split_by_what_it_quotes(log_to):
    stream = log_to()
    logging.getLogger("desk").error("Exception on %s [GET]", "/tickets/x\n2025-01-05T00:00:00.000Z INFO [-] desk: forged")
    assert len(stream.getvalue().splitlines()) == 1
    assert "/tickets/x\\n2025-01-05" in stream.getvalue()


def test_a_failing_filter_withholds_the_record_instead_of_failing_the_caller(log_to):
    stream = log_to()
    logging.getLogger("desk").warning("two values %s %s, one given: %s", VALID_NID)  # a bad call
    assert "[record withheld: the log filter failed (TypeError)]" in stream.getvalue()
    assert VALID_NID not in stream.getvalue()


# gunicorn ------------------------------------------------------------------------------

def _get(url: str, headers: dict) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response:  # noqa: S310 - our own server
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_gunicorn_writes_json_lines_without_keys_or_queries(app, tmp_path):
    """A real gunicorn from the checkout (its gunicorn.conf.py): its own lines, the master's
    included, and its access log come out as JSON through the filter; the access line carries
    the id the proxy gave."""
    port = free_port()
    out, err = (tmp_path / "access.log").open("w"), (tmp_path / "error.log").open("w")
    env = {**os.environ, "DESK_LOG_FORMAT": "json", "DESK_PROXY_HOPS": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "--access-logfile", "-", "--error-logfile", "-", "wsgi:app"],
        cwd=ROOT, env=env, stdout=out, stderr=err)
    try:
        for _ in range(2400):  # until it answers: readiness, not a timed assertion
            assert server.poll() is None, (tmp_path / "error.log").read_text()
            try:
                if _get(f"http://127.0.0.1:{port}/healthz", {}) == 200:
                    break
            except OSError:
                time.sleep(0.05)
        token = "eyJ0IjoxMn0.Zk3x9A.c2lnbmF0dXJl"
        status = _get(f"http://127.0.0.1:{port}/portal/o/{token}?phone=0501234567",
                      {"X-Request-ID": "edge-7f3a9c2e11d04b6a",
                       "Referer": f"https://desk.example.org/queue?q={VALID_NID}"})
        assert status == 404
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
        out.close()
        err.close()
    access, errors = ((tmp_path / name).read_text() for name in ("access.log", "error.log"))
    entries = [json.loads(line) for line in (access + errors).splitlines() if line.strip()]
    assert any(e["logger"] == "gunicorn.error" and "Starting gunicorn" in e["message"] for e in entries)
    opened = [e for e in entries if e["logger"] == "gunicorn.access" and "/portal/o/" in e["message"]]
    assert len(opened) == 1
    assert opened[0]["request_id"] == "edge-7f3a9c2e11d04b6a"
    assert '"GET /portal/o/[key]?[query] HTTP/1.1" 404' in opened[0]["message"]
    for value in (token, "0501234567", VALID_NID, "phone="):
        assert value not in access + errors
