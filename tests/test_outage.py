"""The database unreachable or the disk full (issue 14): nothing typed is lost.

A staff form (intake, note, reply, the Handling panel, an action, a document) or a portal form
(a new request, a reply) comes back with every field as typed (files excepted, and the page
says to choose them again), a "not saved, send again" note in the reader's language, 503 and
Retry-After; nothing is written; the form sent again as shown is saved once the fault is gone.
Any other request gets the 503 page in its frame (desk.error_pages, desk.outage).

The faults are real where they can be: a connection refused (the app's engine pointed at a
closed port), a PostgreSQL cluster of the test's own stopped under the desk (pg_ctl), SQLite
really out of pages (max_page_count); ENOSPC is injected where files are written, and "database
or disk is full" at the commit."""
from __future__ import annotations

import errno
import hashlib
import hmac
import io
import json
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from markupsafe import escape
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from desk import outage
from desk.attachments import service as attachments
from desk.extensions import db as _db
from desk.models import Base, Ticket, TicketEvent
from tests.conftest import Browser, count

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

NOT_SAVED = "لم يُحفظ."               # the staff's note, Arabic
NOT_SENT = "لم يُرسل."                # the beneficiary's
KEPT_BELOW = "كل ما كتبته محفوظ أدناه"
STILL_IN_FORM = "ما كتبته ما زال في النموذج"
FILES_AGAIN = "لم تُحفظ المستندات التي اخترتها"
PAGE_503 = "تعذّر على النظام الآن الوصول إلى قاعدة البيانات"


def rows(db) -> dict[str, int]:
    """How many rows every table holds, and the sum of the tickets' versions, in one query."""
    db.session.expire_all()
    tables = Base.metadata.sorted_tables
    query = select(*[select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables],
                   select(func.coalesce(func.sum(Ticket.version), 0)).scalar_subquery().label("versions"))
    result = db.session.execute(query).one()
    db.session.rollback()
    return dict(zip([t.name for t in tables] + ["versions"], result, strict=True))


def stored_files(app) -> list[str]:
    """Every file under the attachments' folder (a .pending one included)."""
    root = Path(app.config["DESK_ATTACHMENT_DIR"])
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def engine_at(app, url: str):
    """The app's engine replaced meanwhile (Flask-SQLAlchemy keeps one per app; its sessions ask
    for it at every connection)."""
    engines = _db._app_engines[app]
    real = engines[None]
    other = sa.create_engine(url, **app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    engines[None] = other
    try:
        yield other
    finally:
        engines[None] = real
        other.dispose()


@contextmanager
def refused(app, db=None):
    """The database does not answer: every connection the app opens meanwhile is refused
    (PostgreSQL's address, nothing listening)."""
    if db is not None:
        db.session.rollback()  # the test's own session holds nothing open across the outage
    with engine_at(app, f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/desk"):
        yield


# Sending a page's form again ------------------------------------------------------------

class Forms(HTMLParser):
    """The fields of every form on a page, by its action, as a browser would send them."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self.files: dict[str, list[str]] = {}
        self._action: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._action = a.get("action") or ""
            self.forms.setdefault(self._action, [])
            self.files.setdefault(self._action, [])
        elif self._action is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind == "file":
                self.files[self._action].append(a["name"])
            elif kind not in ("checkbox", "radio") or "checked" in a:
                self.forms[self._action].append((a["name"], a.get("value") or ""))
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            text = self._text[1:] if self._text.startswith("\n") else self._text  # as a browser parses it
            self.forms[self._action].append((self._textarea, text))
            self._textarea = None
        elif tag == "form":
            self._action = None


def form_of(html: str, action: str) -> list[tuple[str, str]]:
    parser = Forms()
    parser.feed(html)
    assert action in parser.forms, f"no form to {action}: {list(parser.forms)}"
    return parser.forms[action]


def send_again(browser: Browser, html: str, action: str, multipart: bool):
    """What the person does once the fault is gone: send the form shown, as it is."""
    fields: dict[str, list[str]] = {}
    for name, value in form_of(html, action):
        fields.setdefault(name, []).append(unescape(value))
    data = {name: values if len(values) > 1 else values[0] for name, values in fields.items()}
    return browser.post(action, data, **({"content_type": "multipart/form-data"} if multipart else {}))


# The forms ---------------------------------------------------------------------------------

@dataclass
class Flow:
    """One form: who sends it, where, what, and what of it must come back."""

    browser: Browser
    path: str
    data: dict
    typed: list[str]                      # every value typed, to be found on the page again
    portal: bool = False
    multipart: bool = False
    files: list[tuple[str, bytes]] = field(default_factory=list)
    htmx_ok: bool = True                  # the form is sent by htmx on its page

    def post(self, htmx: bool = False):
        data = dict(self.data)
        if self.files:
            data[self.file_field] = [(io.BytesIO(content), name) for name, content in self.files]
        kw = {"content_type": "multipart/form-data"} if self.multipart else {}
        return self.browser.post(self.path, data, htmx=htmx, **kw)

    @property
    def file_field(self) -> str:
        return "file" if "/attachments" in self.path else "files"


INTAKE = {"kind": "complaint", "channel": "phone", "subject": "انقطاع المساعدة الشهرية منذ شهرين",
          "body": "سطر أول من التفاصيل\nوسطر ثانٍ: لم يصل التحويل «المعتاد» بعد", "priority": "3",
          "department_id": "", "b_name": "عبدالرحمن الشهري", "b_phone": "0561234598", "b_city": "أبها",
          "channel_ref": "خطاب ٤٥٦"}
PORTAL = {"kind": "complaint", "name": "نوال القحطاني", "phone": "0557654321", "email": "nawal@example.com",
          "subject": "لم يصل الدعم الموعود", "body": "تواصلت معكم سابقًا\nولم يصلني أي رد حتى الآن", "attested": "y"}


def visitor(app) -> Browser:
    browser = Browser(app.test_client())
    browser.refresh_token("/portal/new")
    return browser


@pytest.fixture
def flows(app, db, people, as_user, make_ticket):
    """``flows(name)`` → the Flow of one form, its ticket (if any) made through the real services."""
    def make(name: str) -> Flow:
        if name == "intake":
            return Flow(as_user(people.staff), "/tickets/new", dict(INTAKE),
                        [INTAKE[k] for k in ("subject", "body", "b_name", "b_phone", "b_city", "channel_ref")])
        if name in ("note", "reply"):
            ticket = make_ticket()
            body = "اتصلت بالمستفيد وأكد أن «الموعد» لم يُحدد" if name == "note" else "نعتذر عن التأخير وسنتواصل معكم"
            return Flow(as_user(people.staff), f"/tickets/{ticket.reference}/comments",
                        {"body": body, "visibility": name, "version": str(ticket.version)}, [body])
        if name == "handling":
            ticket = make_ticket()
            return Flow(as_user(people.staff), f"/tickets/{ticket.reference}/change/priority",
                        {"value": "3", "version": str(ticket.version)}, [])
        if name == "action":
            ticket = make_ticket()
            reason = "ليست من اختصاص القسم: تخص المساعدات"
            return Flow(as_user(people.focal), f"/tickets/{ticket.reference}/actions/return",
                        {"reason": reason, "version": str(ticket.version)}, [reason])
        if name == "document":
            ticket = make_ticket()
            return Flow(as_user(people.staff), f"/tickets/{ticket.reference}/attachments",
                        {"description": "صورة خطاب الجهة"}, ["صورة خطاب الجهة"], multipart=True,
                        files=[("خطاب.pdf", PDF)])
        if name == "portal-new":
            return Flow(visitor(app), "/portal/new", dict(PORTAL, consent="y"),
                        [PORTAL[k] for k in ("name", "phone", "email", "subject", "body")], portal=True,
                        multipart=True, htmx_ok=False)
        if name == "portal-reply":
            browser = visitor(app)
            sent = browser.post("/portal/new", dict(PORTAL), content_type="multipart/form-data")
            assert sent.status_code == 303, sent.get_data(as_text=True)[:300]
            reference = sent.headers["Location"].rsplit("/", 1)[-1]
            body = "أرسلت الأوراق المطلوبة\nأرجو المتابعة"
            return Flow(browser, f"/portal/t/{reference}/reply", {"body": body, "consent": "y"}, [body], portal=True,
                        multipart=True, htmx_ok=False)
        raise AssertionError(name)
    return make


STAFF = ["intake", "note", "reply", "handling", "action"]
PORTAL_FORMS = ["portal-new", "portal-reply"]


def assert_typed_back(html: str, flow: Flow) -> None:
    for value in flow.typed:
        assert str(escape(value)) in html, value
    for name, value in flow.data.items():  # and every field, shown or carried
        if name != "csrf_token" and value:
            assert str(escape(value)) in html, name


def assert_unsaved(response, flow: Flow, note: str) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html[:500]
    assert response.headers["Retry-After"] == "30"
    assert (NOT_SENT if flow.portal else NOT_SAVED) in html
    assert note in html
    return html


# The database does not answer ------------------------------------------------------------

@pytest.mark.parametrize("name", STAFF + PORTAL_FORMS)
def test_database_refused_gives_back_every_typed_field_and_it_can_be_sent_again(app, db, flows, name):
    flow = flows(name)
    before, files = rows(db), stored_files(app)
    with refused(app, db):
        response = flow.post()
    html = assert_unsaved(response, flow, KEPT_BELOW)
    assert_typed_back(html, flow)
    assert ('class="portal-header"' in html) == flow.portal  # in its own frame
    assert 'lang="ar" dir="rtl"' in html
    assert rows(db) == before and stored_files(app) == files  # nothing written

    again = send_again(flow.browser, html, flow.path, flow.multipart)
    assert again.status_code in (302, 303), again.get_data(as_text=True)[:500]
    assert rows(db) != before  # the same form, sent again as shown, is saved


@pytest.mark.parametrize("name", STAFF)
def test_database_refused_answers_htmx_with_a_note_for_the_form_on_the_page(app, db, flows, name):
    flow = flows(name)
    before = rows(db)
    with refused(app, db):
        response = flow.post(htmx=True)
    html = assert_unsaved(response, flow, STILL_IN_FORM)
    assert "<html" not in html and "<form" not in html  # a fragment: the form on the page keeps the text
    assert response.headers["HX-Retarget"] == "#flashes" and response.headers["HX-Reswap"] == "innerHTML"
    assert rows(db) == before


def test_the_note_is_in_the_staff_members_language(app, db, en, flows):
    flow = flows("note")  # the staff member reads English (their account's language)
    flow.browser.get("/tickets")  # a page read while the database answers: the language is remembered
    with refused(app, db):
        response = flow.post()
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Not saved." in html and "Everything you typed is kept below" in html and 'lang="en"' in html
    assert NOT_SAVED not in html


def test_the_users_language_is_remembered_for_a_page_without_the_database(app, en, as_user):
    staff = as_user(en.staff)
    staff.get("/tickets")
    with staff.client.session_transaction() as session:
        assert session["locale"] == "en"


def test_other_requests_get_the_503_page_in_their_frame(app, db, people, as_user, monkeypatch):
    staff = as_user(people.staff)
    portal = visitor(app)
    monkeypatch.setitem(app.config, "DESK_INBOUND_SECRET", "hook-secret")
    delivery = json.dumps({"id": "delivery-1", "subject": "استفسار", "body": "متى يفتح التسجيل؟"}).encode()
    signature = "sha256=" + hmac.new(b"hook-secret", delivery, hashlib.sha256).hexdigest()
    with refused(app, db):
        queue = staff.get("/tickets")
        fragment = staff.get("/tickets", htmx=True)
        directory = portal.get("/portal/directory")
        home = portal.get("/portal/")
        hook = app.test_client().post("/hooks/inbound", data=delivery, content_type="application/json",
                                      headers={"X-Desk-Signature": signature})
    for response in (queue, fragment, directory, hook):
        assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    page = queue.get_data(as_text=True)
    assert PAGE_503 in page and 'class="desk-nav"' in page and 'lang="ar"' in page
    assert "<html" not in fragment.get_data(as_text=True) and fragment.headers["HX-Retarget"] == "#flashes"
    assert PAGE_503 in fragment.get_data(as_text=True)
    portal_page = directory.get_data(as_text=True)
    assert "لا يمكننا تسجيل أي شيء الآن" in portal_page and 'class="portal-header"' in portal_page
    assert app.config["DESK_ASSOCIATION_NAME"] in portal_page  # the frame's name from the settings
    assert hook.get_json()["status"] == 503  # a program: JSON, and it delivers again later
    # A page that needs nothing but the association's name still works, with the settings' name.
    assert home.status_code == 200 and app.config["DESK_ASSOCIATION_NAME"] in home.get_data(as_text=True)


def test_a_failure_after_the_commit_does_not_ask_to_send_again(app, db, people, as_user, make_ticket):
    """The note was saved; the page after it could not be read: "saved", not "send again"."""
    ticket = make_ticket()
    staff = as_user(people.staff)
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/desk"
    engines, real = _db._app_engines[app], _db._app_engines[app][None]
    other = sa.create_engine(dead)

    def database_gone(session):  # the database goes away right after the commit
        engines[None] = other

    event.listen(sa.orm.Session, "after_commit", database_gone)
    try:
        response = staff.post(f"/tickets/{ticket.reference}/comments",
                              {"body": "ملاحظة حُفظت", "visibility": "note", "version": str(ticket.version)})
    finally:
        event.remove(sa.orm.Session, "after_commit", database_gone)
        engines[None] = real
        other.dispose()
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "حُفظ ما أرسلته" in html and "أرسل مرة أخرى" not in html
    assert count(db, TicketEvent, TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "note") == 1


# The disk is full --------------------------------------------------------------------------

@pytest.fixture
def disk_full(monkeypatch):
    """Writing a document fails half-way for lack of space (ENOSPC), as on a full disk."""
    def write_capped(stream, target, max_bytes):
        with open(target, "xb") as out:
            out.write(stream.read(8))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
    monkeypatch.setattr(attachments, "write_capped", write_capped)


@pytest.mark.parametrize("name", ["document", "portal-new", "portal-reply"])
def test_disk_full_gives_back_the_form_and_asks_for_the_files_again(app, db, flows, disk_full, name):
    flow = flows(name)
    flow.files = [("تقرير طبي.pdf", PDF)]
    before, files = rows(db), stored_files(app)
    response = flow.post()
    html = assert_unsaved(response, flow, KEPT_BELOW)
    assert FILES_AGAIN in html
    assert_typed_back(html, flow)
    assert 'type="file"' in html  # the form itself, to choose them again
    assert rows(db) == before and stored_files(app) == files  # no row, no file, not even a .pending one


def test_disk_full_over_htmx_keeps_the_chosen_files_in_the_browser(app, db, flows, disk_full):
    flow = flows("document")
    before, files = rows(db), stored_files(app)
    response = flow.post(htmx=True)
    html = assert_unsaved(response, flow, STILL_IN_FORM)
    assert FILES_AGAIN not in html and "<form" not in html and response.headers["HX-Retarget"] == "#flashes"
    assert rows(db) == before and stored_files(app) == files


def test_any_other_oserror_is_not_called_a_full_disk(app, db, flows, monkeypatch):
    def write_capped(stream, target, max_bytes):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(attachments, "write_capped", write_capped)
    flow = flows("document")
    flow.files = [("a.pdf", PDF)]
    with pytest.raises(PermissionError):  # a 500 with its traceback in the log, not a 503
        flow.post()


def full_at_commit(app, patch) -> None:
    """The database refuses the commit for lack of space, as its driver says it: SQLite's
    "database or disk is full", PostgreSQL's DiskFull (SQLSTATE 53100)."""
    engine = _db._app_engines[app][None]
    if engine.dialect.name == "sqlite":
        error: Exception = sqlite3.OperationalError("database or disk is full")
    else:
        import psycopg
        error = psycopg.errors.DiskFull('could not extend file "base/16384/16385": No space left on device')

    def do_commit(dbapi_connection):
        raise error
    patch.setattr(engine.dialect, "do_commit", do_commit)


@pytest.mark.parametrize("name", ["intake", "note", "handling", "action", "portal-new"])
def test_database_full_at_commit_gives_back_the_whole_form_page(app, db, flows, name, monkeypatch):
    flow = flows(name)
    before = rows(db)
    with monkeypatch.context() as patch:
        full_at_commit(app, patch)
        response = flow.post()
    html = assert_unsaved(response, flow, KEPT_BELOW)
    assert_typed_back(html, flow)
    # The database still reads: the form's own page, not the page of the typed fields only.
    assert "أرسل مرة أخرى" not in html
    if name == "intake":
        assert 'name="department_id"' in html and 'name="category_id"' in html
    elif name == "portal-new":
        assert 'name="kind"' in html and 'id="name"' in html
    else:
        assert 'id="ticket-timeline"' in html
    if name == "handling":
        assert "إعادة الحفظ" in html  # the value chosen, to save again
    assert rows(db) == before


def test_database_full_over_htmx_swaps_the_panel_back_with_the_note(app, db, flows, monkeypatch):
    flow = flows("handling")
    before = rows(db)
    with monkeypatch.context() as patch:
        full_at_commit(app, patch)
        response = flow.post(htmx=True)
    html = assert_unsaved(response, flow, STILL_IN_FORM)
    assert response.headers["X-Desk-Show"] == "true" and "HX-Retarget" not in response.headers
    assert "<html" not in html and 'id="ticket-props"' in html and "إعادة الحفظ" in html
    assert '<div id="flashes" hx-swap-oob="innerHTML">' in html
    assert rows(db) == before


@pytest.mark.skipif(not os.environ.get("DESK_DATABASE_URL", "").startswith("sqlite"), reason="SQLite's own limit")
def test_sqlite_really_full(app, db, flows):
    """SQLite at its page limit (PRAGMA max_page_count): the real "database or disk is full"."""
    flow = flows("intake")
    flow.data["body"] = "تفاصيل طويلة " * 1400  # more than the free space of any page: new pages are needed
    flow.typed = [flow.data["body"]]
    engine = _db._app_engines[app][None]

    def at_the_limit(dbapi_connection, record):
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
        cursor.close()

    before = rows(db)
    db.session.close()
    engine.dispose()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM")  # no free page left by earlier tests: the limit bites
    engine.dispose()
    event.listen(engine, "connect", at_the_limit)
    try:
        response = flow.post()
    finally:
        event.remove(engine, "connect", at_the_limit)
        engine.dispose()
    html = assert_unsaved(response, flow, KEPT_BELOW)
    assert str(escape(flow.data["body"])) in html
    assert rows(db) == before


# A PostgreSQL cluster of our own, stopped under the desk --------------------------------------

def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    path = Path(found) if found else (candidates[0] if candidates else None)
    return path.resolve().parent if path else None


class Cluster:
    """initdb, start and stop a throwaway PostgreSQL in a temporary folder on a free port (as the
    postgres user when the tests run as root: PostgreSQL refuses to run as root)."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="desk-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(self.bindir / tool), *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-l", str(self.root / "log"), "-o",
                 f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", "fast", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    bindir = _pg_bin()
    if bindir is None or not (bindir / "initdb").exists():
        pytest.skip("no PostgreSQL server binaries (pg_ctl, initdb) on this machine")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: PostgreSQL will not start as root")
    server = Cluster(bindir)
    try:
        server.init()
        server.start()
    except (subprocess.CalledProcessError, LookupError) as error:
        server.remove()
        pytest.skip(f"a throwaway PostgreSQL could not be started: {error}")
    engine = sa.create_engine(server.url)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield server
    server.remove()


@pytest.fixture
def on_cluster(app, cluster):
    """The desk on the throwaway cluster for this test (its tables emptied afterwards)."""
    with engine_at(app, cluster.url) as engine:
        yield cluster
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.mark.parametrize("name", ["intake", "portal-new"])
def test_postgresql_stopped_under_the_desk(on_cluster, app, db, flows, name):
    flow = flows(name)  # signed in, the form's page read: the pool holds live connections
    before = rows(db)
    on_cluster.stop()
    try:
        response = flow.post()
    finally:
        on_cluster.start()
    html = assert_unsaved(response, flow, KEPT_BELOW)
    assert_typed_back(html, flow)
    assert rows(db) == before
    again = send_again(flow.browser, html, flow.path, flow.multipart)
    assert again.status_code in (302, 303), again.get_data(as_text=True)[:500]
    assert count(db, Ticket) == before["tickets"] + 1


# What counts as an outage ---------------------------------------------------------------------

def _wrapped(orig: Exception, cls=OperationalError, invalidated=False):
    return cls("INSERT INTO tickets ...", {}, orig, connection_invalidated=invalidated)


def test_what_counts_as_an_outage():
    import psycopg
    outages = [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        _wrapped(sqlite3.OperationalError("database or disk is full")),
        _wrapped(sqlite3.OperationalError("database is locked")),
        _wrapped(psycopg.OperationalError("connection failed: Connection refused")),
        _wrapped(psycopg.errors.DiskFull("could not extend file")),
        _wrapped(psycopg.errors.AdminShutdown("terminating connection due to administrator command")),
        _wrapped(psycopg.InterfaceError("the connection is closed"), cls=sa.exc.InterfaceError),
        _wrapped(psycopg.ProgrammingError("x"), cls=sa.exc.ProgrammingError, invalidated=True),
        sa.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
    ]
    for error in outages:
        assert outage.is_outage(error), error
    not_outages = [
        OSError(errno.EACCES, "Permission denied"),
        FileNotFoundError(errno.ENOENT, "No such file"),
        _wrapped(sqlite3.OperationalError("no such table: tickets")),  # a bug, not an outage
        _wrapped(sqlite3.IntegrityError("UNIQUE constraint failed"), cls=IntegrityError),
        _wrapped(psycopg.errors.UniqueViolation("duplicate key"), cls=IntegrityError),
        _wrapped(sqlite3.InterfaceError("Error binding parameter 1"), cls=sa.exc.InterfaceError),
        ValueError("x"),
    ]
    for error in not_outages:
        assert not outage.is_outage(error), error


def test_a_database_error_that_is_no_outage_is_not_hidden(app, db, flows, monkeypatch):
    """A unique constraint broken by a bug stays a 500 (and its log): it is not "try again"."""
    flow = flows("note")
    from desk.tickets import service

    def broken(*args, **kwargs):
        raise IntegrityError("INSERT ...", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))
    monkeypatch.setattr(service, "add_comment", broken)
    with pytest.raises(IntegrityError):
        flow.post()


def test_the_log_names_the_fault_never_the_text(app, db, flows, caplog):
    flow = flows("note")
    with refused(app, db), caplog.at_level(logging.WARNING, logger="desk.errors"):
        flow.post()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "desk.errors")
    assert "not saved: database unavailable" in logged and "/tickets/<reference>/comments" in logged
    assert flow.data["body"] not in caplog.text
