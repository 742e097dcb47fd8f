"""Sessions that end on the server (issue 16, point 6): signing out, a password change, a reset
or a deactivation refuses the old cookie everywhere (htmx included); the idle and absolute
time-outs on a controlled clock; the cookie's name and flags; the audit trail's rows."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from desk import audit, settings
from desk.accounts import sessions
from desk.models import AuditAction, AuditEntry, StaffSession, TicketEvent, utcnow
from tests.conftest import PASSWORD, Browser


def twin(app, browser: Browser) -> Browser:
    """Another browser holding a copy of ``browser``'s cookie as it is now (stolen, or kept)."""
    other = Browser(app.test_client())
    cookie = browser.client.get_cookie("session")
    assert cookie is not None
    other.client.set_cookie("session", cookie.value)
    other.token = browser.token
    return other


def actions(db, user=None) -> list[str]:
    query = select(AuditEntry.action).order_by(AuditEntry.id)
    if user is not None:
        query = query.where(AuditEntry.record_type == "user", AuditEntry.record_id == str(user.id))
    return list(db.session.scalars(query))


@pytest.fixture
def clock(monkeypatch):
    """The sessions' clock, moved by the test (no sleeping)."""
    class Clock:
        now = utcnow()

        def advance(self, **delta):
            self.now += timedelta(**delta)

    c = Clock()
    monkeypatch.setattr(sessions, "utcnow", lambda: c.now)
    return c


def test_a_cookie_copied_before_signing_out_is_refused_everywhere(app, as_user, people, make_ticket, db):
    ticket = make_ticket()
    staff = as_user(people.staff)
    copy = twin(app, staff)
    assert copy.get("/tickets").status_code == 200  # the copy works while the session is open
    assert staff.post("/logout").status_code == 302

    page = copy.get("/tickets")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
    # htmx: a message for #flashes with a way to sign in again, never the login page swapped into a panel
    fragment = copy.get("/tickets/poll", htmx=True, headers={"HX-Current-URL": "http://localhost/tickets"})
    assert fragment.status_code == 401
    assert fragment.headers["HX-Retarget"] == "#flashes"
    html = fragment.get_data(as_text=True)
    assert "desk-error-fragment" in html and 'href="/login?next=%2Ftickets"' in html and "<html" not in html
    # the attack of the review: a note saved with the old cookie
    note = copy.post(f"/tickets/{ticket.reference}/comments",
                     {"body": "ملاحظة بعد الخروج", "visibility": "note", "version": ticket.version}, htmx=True)
    assert note.status_code == 401
    assert not db.session.scalar(select(TicketEvent.id).where(TicketEvent.body == "ملاحظة بعد الخروج"))
    row = db.session.scalar(select(StaffSession).where(StaffSession.user_id == people.staff.id))
    assert row.ended_at is not None and row.end_reason == "sign_out"
    assert actions(db, people.staff) == [AuditAction.SIGN_IN, AuditAction.SIGN_OUT]


def test_signing_out_one_browser_leaves_the_others_signed_in(as_user, people):
    desk_pc, phone = as_user(people.staff), as_user(people.staff)
    desk_pc.post("/logout")
    assert phone.get("/tickets").status_code == 200


def test_a_cookie_without_a_session_row_is_refused(app, as_user, people, db):
    """A cookie forged or kept from before server-side sessions: the user id alone is not enough."""
    staff = as_user(people.staff)
    copy = twin(app, staff)
    with copy.client.session_transaction() as cookie:
        cookie.pop(sessions.TOKEN_KEY)
    assert copy.get("/tickets").status_code == 302


def test_own_password_change_ends_the_other_sessions_and_keeps_this_one(as_user, people, db):
    mine, other = as_user(people.staff), as_user(people.staff)
    mine.refresh_token("/account")
    wrong = mine.post("/account/password", {"current": "not-my-password", "password": "a-new-long-password"})
    assert wrong.status_code == 422
    assert 'id="current-msg"' in wrong.get_data(as_text=True)  # the message beside the field
    short = mine.post("/account/password", {"current": PASSWORD, "password": "short"})
    assert short.status_code == 422
    assert mine.get("/tickets").status_code == 200 and other.get("/tickets").status_code == 200

    done = mine.post("/account/password", {"current": PASSWORD, "password": "a-new-long-password"})
    assert done.status_code == 302
    assert mine.get("/tickets").status_code == 200      # this browser carries on
    assert other.get("/tickets").status_code == 302     # the other one is signed out
    db.session.refresh(people.staff)
    assert people.staff.check_password("a-new-long-password")
    assert AuditAction.PASSWORD_CHANGED in actions(db, people.staff)


def test_admin_password_reset_and_deactivation_end_the_users_sessions(as_user, people, db):
    staff, focal = as_user(people.staff), as_user(people.focal)
    admin = as_user(people.admin)
    admin.refresh_token(f"/admin/users/{people.staff.id}")
    assert admin.post(f"/admin/users/{people.staff.id}/password", {"password": "set-by-the-admin"}).status_code == 302
    assert staff.get("/tickets").status_code == 302
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == AuditAction.PASSWORD_CHANGED))
    assert entry.actor_id == people.admin.id and entry.record_id == str(people.staff.id) and entry.detail == {"by": "admin"}

    admin.refresh_token(f"/admin/users/{people.focal.id}")
    response = admin.post(f"/admin/users/{people.focal.id}", {
        "name": people.focal.name, "locale": "ar", "roles": ["focal"], "department_codes": ["SOCIAL"]})  # active unticked
    assert response.status_code == 302
    assert focal.get("/tickets").status_code == 302
    ended = db.session.scalars(select(StaffSession.end_reason).where(StaffSession.user_id == people.focal.id)).all()
    assert ended == ["deactivated"]


def test_idle_time_out_and_the_background_refresh_keeps_nothing_alive(app, as_user, people, clock):
    staff = as_user(people.staff)
    idle = app.config["DESK_SESSION_IDLE_MINUTES"]
    clock.advance(minutes=idle - 1)
    assert staff.get("/tickets").status_code == 200      # a request of the person's own: seen now
    clock.advance(minutes=idle - 1)
    assert staff.get("/tickets").status_code == 200      # still within the idle time of the last one
    clock.advance(minutes=idle - 5)
    background = staff.get("/tickets/poll", htmx=True, headers={sessions.BACKGROUND_HEADER: "1"})
    assert background.status_code in (200, 204)          # the poll is answered…
    clock.advance(minutes=10)
    page = staff.get("/tickets")                         # …but kept nothing alive
    assert page.status_code == 302
    login = staff.get(page.headers["Location"]).get_data(as_text=True)
    assert "دقيقة" in login or "minutes" in login       # told why


def test_absolute_time_out_however_busy(app, as_user, people, clock, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_SESSION_IDLE_MINUTES", 24 * 60)
    staff = as_user(people.staff)
    clock.advance(hours=app.config["DESK_SESSION_HOURS"], minutes=-1)
    assert staff.get("/tickets").status_code == 200
    clock.advance(minutes=2)
    assert staff.get("/tickets").status_code == 302


def test_htmx_request_after_the_idle_time_out_says_so(app, as_user, people, clock):
    staff = as_user(people.staff)
    clock.advance(minutes=app.config["DESK_SESSION_IDLE_MINUTES"] + 1)
    response = staff.get("/tickets/poll", htmx=True)
    assert response.status_code == 401 and response.headers["HX-Retarget"] == "#flashes"


def test_production_cookie_is_host_prefixed_and_secure(tmp_path):
    config = settings.load({"DESK_ENV": "production", "DESK_SECRET_KEY": "x" * 40, "DESK_BASE_URL": "https://desk.example.org",
                            "DESK_INSTANCE_PATH": str(tmp_path)})
    assert config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert config["SESSION_COOKIE_SECURE"] is True and config["SESSION_COOKIE_PATH"] == "/"
    assert config["SESSION_COOKIE_DOMAIN"] is None
    development = settings.load({"DESK_ENV": "development", "DESK_INSTANCE_PATH": str(tmp_path)})
    assert development["SESSION_COOKIE_NAME"] == "session" and development["SESSION_COOKIE_SECURE"] is False


def test_secure_cookie_as_the_browser_receives_it(app, browser, people, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_NAME", "__Host-session")
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    page = browser.get("/login", base_url="https://localhost")
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "; Secure" in cookie and "; Path=/" in cookie and "Domain=" not in cookie and "HttpOnly" in cookie


def test_sign_in_failures_and_successes_are_in_the_audit_trail(browser, people, db):
    browser.refresh_token()
    browser.post("/login", {"email": people.staff.email, "password": "wrong-password!"})
    browser.post("/login", {"email": "nobody@example.org", "password": "wrong-password!"})
    browser.login(people.staff)
    rows = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [r.action for r in rows] == [AuditAction.SIGN_IN_FAILED, AuditAction.SIGN_IN_FAILED, AuditAction.SIGN_IN]
    assert rows[0].record_id == str(people.staff.id) and rows[0].actor == "anonymous"
    assert rows[1].detail == {"email": "nobody@example.org"} and rows[1].record_id is None
    assert rows[2].actor_id == people.staff.id and rows[2].address
    assert audit.verify(db.session) == (3, None)


def test_sweep_forgets_sessions_that_can_no_longer_be_used(app, as_user, people, db):
    as_user(people.staff).post("/logout")
    open_one = as_user(people.focal)
    rows = {r.user_id: r for r in db.session.scalars(select(StaffSession))}
    absolute = timedelta(hours=app.config["DESK_SESSION_HOURS"])
    now = utcnow()
    assert sessions.sweep(db.session, absolute=absolute, now=now) == (0, 0)  # a day must pass
    assert sessions.sweep(db.session, absolute=absolute, now=now + timedelta(days=1, minutes=1)) == (1, 0)
    left = db.session.scalars(select(StaffSession.user_id)).all()
    assert left == [people.focal.id] and rows[people.focal.id].ended_at is None
    assert open_one.get("/tickets").status_code == 200  # the open one still works
    assert sessions.sweep(db.session, absolute=absolute, now=now + absolute + timedelta(days=1, minutes=1)) == (1, 0)
    result = app.test_cli_runner().invoke(args=["desk", "sweep-sessions"])
    assert result.exit_code == 0 and "Sessions: 0" in result.output


def test_time_out_settings_must_be_whole_positive_numbers(tmp_path):
    with pytest.raises(settings.SettingsError, match="DESK_SESSION_IDLE_MINUTES must be a whole number of minutes"):
        settings.load({"DESK_INSTANCE_PATH": str(tmp_path), "DESK_SESSION_IDLE_MINUTES": "0"})
    with pytest.raises(settings.SettingsError, match="DESK_SESSION_HOURS must be a whole number of hours"):
        settings.load({"DESK_INSTANCE_PATH": str(tmp_path), "DESK_SESSION_HOURS": "half"})
    config = settings.load({"DESK_INSTANCE_PATH": str(tmp_path), "DESK_SESSION_IDLE_MINUTES": "15"})
    assert config["DESK_SESSION_IDLE_MINUTES"] == 15 and config["DESK_SESSION_HOURS"] == 12
