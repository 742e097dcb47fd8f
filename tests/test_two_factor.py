"""Two-factor sign-in (issue 16, point 6): TOTP codes on a controlled clock (no sleeping), the
replay guard, recovery codes stored hashed and used once, the roles the admin requires it of,
the enrolment at sign-in, the admin's removal, and the audit trail's rows."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from desk import audit
from desk.accounts import twofactor
from desk.models import AuditAction, AuditEntry, RecoveryCode, TwoFactorRole
from desk.text import to_arabic_digits
from desk.transaction import commit
from tests.conftest import PASSWORD, Browser

T0 = datetime(2026, 12, 3, 9, 0, 0, tzinfo=UTC)  # the start of a 30-second step


def code_at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


def enrolled(db, user, when=T0) -> list[str]:
    secret = twofactor.pending_secret(user)
    codes = twofactor.confirm(db.session, user, code_at(secret, when), when)
    assert codes is not None
    commit(db.session)
    return codes


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        now = T0

        def advance(self, **delta):
            self.now += timedelta(**delta)

    c = Clock()
    monkeypatch.setattr(twofactor, "utcnow", lambda: c.now)
    return c


def actions(db) -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# The service, on a controlled clock ---------------------------------------------------------

def test_a_code_is_accepted_once_and_its_neighbours_only(db, people):
    user = people.staff
    enrolled(db, user)
    secret = user.totp_secret
    later = T0 + timedelta(minutes=5)
    assert twofactor.verify(db.session, user, code_at(secret, later - timedelta(seconds=90)), later) is None  # 3 steps old
    assert twofactor.verify(db.session, user, code_at(secret, later), later) == "totp"
    assert twofactor.verify(db.session, user, code_at(secret, later), later) is None  # the same code again
    # the step before is older than the one used: refused too; the next step passes
    assert twofactor.verify(db.session, user, code_at(secret, later - timedelta(seconds=30)), later) is None
    assert twofactor.verify(db.session, user, code_at(secret, later + timedelta(seconds=30)), later) == "totp"
    assert twofactor.verify(db.session, user, "12345", later) is None
    commit(db.session)


def test_a_phone_a_step_behind_or_ahead_is_accepted(db, people):
    user = people.staff
    enrolled(db, user)
    secret = user.totp_secret
    later = T0 + timedelta(minutes=10)
    assert twofactor.verify(db.session, user, code_at(secret, later - timedelta(seconds=30)), later) == "totp"
    assert twofactor.verify(db.session, user, code_at(secret, later + timedelta(seconds=60)), later) is None  # 2 ahead
    assert twofactor.verify(db.session, user, code_at(secret, later + timedelta(seconds=30)), later) == "totp"


def test_arabic_indic_digits_and_spaces_are_accepted(db, people):
    user = people.staff
    enrolled(db, user)
    later = T0 + timedelta(minutes=1)
    code = code_at(user.totp_secret, later)
    typed = to_arabic_digits(code[:3]) + " " + to_arabic_digits(code[3:])
    assert twofactor.verify(db.session, user, typed, later) == "totp"


def test_recovery_codes_are_stored_hashed_and_work_once(db, people):
    user = people.staff
    codes = enrolled(db, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10
    assert not any(c.replace("-", "") in h or c in h for c in codes for h in stored)
    assert twofactor.verify(db.session, user, codes[3].upper(), T0) == "recovery"  # typed in capitals
    assert twofactor.verify(db.session, user, codes[3], T0) is None
    assert twofactor.recovery_codes_left(db.session, user) == 9
    fresh = twofactor.new_recovery_codes(db.session, user)
    commit(db.session)
    assert twofactor.verify(db.session, user, codes[4], T0) is None  # the old ones stopped working
    assert twofactor.verify(db.session, user, fresh[0], T0) == "recovery"


def test_enrolment_needs_a_right_code_and_keeps_its_secret_across_reloads(db, people):
    user = people.staff
    secret = twofactor.pending_secret(user)
    assert twofactor.pending_secret(user) == secret  # the page reloaded: the QR code scanned still holds
    wrong = "000000" if code_at(secret, T0) != "000000" else "111111"
    assert twofactor.confirm(db.session, user, wrong, T0) is None
    assert not user.has_two_factor
    assert twofactor.confirm(db.session, user, code_at(secret, T0), T0) is not None
    assert user.has_two_factor


def test_the_qr_code_is_inline_svg_with_the_account(db, people):
    user = people.staff
    twofactor.pending_secret(user)
    uri = twofactor.provisioning_uri(user, "Al-Birr")
    assert uri.startswith("otpauth://totp/") and "staff%40example.org" in uri and f"secret={user.totp_secret}" in uri
    svg = twofactor.qr_svg(uri)
    assert svg.startswith("<svg") and "<script" not in svg and "http" not in svg.replace("http://www.w3.org", "")


# Signing in ---------------------------------------------------------------------------------

def password_step(browser: Browser, user, next_path: str = ""):
    browser.refresh_token()
    data = {"email": user.email, "password": PASSWORD}
    if next_path:
        data["next"] = next_path
    return browser.post("/login", data)


def test_sign_in_with_a_second_factor(browser, people, db, clock):
    enrolled(db, people.supervisor)
    first = password_step(browser, people.supervisor, "/tickets/new")
    assert first.status_code == 302 and first.headers["Location"] == "/login/code"
    assert browser.get("/tickets").status_code == 302  # the password alone signs nobody in
    browser.refresh_token("/login/code")
    clock.advance(minutes=2)
    wrong = browser.post("/login/code", {"code": "000000" if code_at(people.supervisor.totp_secret, clock.now) != "000000" else "111111"})
    assert wrong.status_code == 401 and 'id="code-msg"' in wrong.get_data(as_text=True)
    right = browser.post("/login/code", {"code": code_at(people.supervisor.totp_secret, clock.now)})
    assert right.status_code == 302 and right.headers["Location"] == "/tickets/new"
    assert browser.get("/tickets").status_code == 200
    assert actions(db) == [AuditAction.TWO_FACTOR_CHANGED, AuditAction.SECOND_FACTOR_FAILED,
                           AuditAction.SECOND_FACTOR, AuditAction.SIGN_IN]
    sign_in = db.session.scalar(select(AuditEntry).where(AuditEntry.action == AuditAction.SIGN_IN))
    assert sign_in.detail == {"second_factor": "totp"}
    assert audit.verify(db.session)[1] is None


def test_sign_in_with_a_recovery_code(browser, people, db, clock):
    codes = enrolled(db, people.supervisor)
    password_step(browser, people.supervisor)
    browser.refresh_token("/login/code")
    response = browser.post("/login/code", {"code": codes[0]})
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "٩" in page or "9" in page  # told how many are left


def test_the_second_step_expires(browser, people, db, clock, monkeypatch):
    enrolled(db, people.supervisor)
    password_step(browser, people.supervisor)
    browser.refresh_token("/login/code")
    from desk.accounts import views
    real = views.time.time
    monkeypatch.setattr(views.time, "time", lambda: real() + views.PENDING_SECONDS + 1)
    response = browser.post("/login/code", {"code": code_at(people.supervisor.totp_secret, clock.now)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_the_second_step_is_rate_limited_per_account(app, people, db, clock):
    enrolled(db, people.supervisor)
    first = Browser(app.test_client())
    password_step(first, people.supervisor)
    first.refresh_token("/login/code")
    assert [first.post("/login/code", {"code": "999999"}).status_code for _ in range(10)] == [401] * 10
    # another address, the password again: the account's own limit on codes still holds
    second = Browser(app.test_client())
    second.client.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    password_step(second, people.supervisor)
    second.refresh_token("/login/code")
    clock.advance(seconds=30)  # a code that would pass
    assert second.post("/login/code", {"code": code_at(people.supervisor.totp_secret, clock.now)}).status_code == 429


def test_a_required_role_enrols_at_its_next_sign_in(app, as_user, browser, people, db, clock):
    admin = as_user(people.admin)
    admin.refresh_token("/admin/users")
    assert admin.post("/admin/users/two-factor-roles", {"roles": ["supervisor", "manager"]}).status_code == 302
    assert set(db.session.scalars(select(TwoFactorRole.role))) == {"supervisor", "manager"}
    change = db.session.scalar(select(AuditEntry).where(AuditEntry.action == AuditAction.ADMIN_CHANGE))
    assert change.actor_id == people.admin.id and change.detail == {"old": [], "new": ["manager", "supervisor"]}

    first = password_step(browser, people.supervisor)
    assert first.headers["Location"] == "/login/enrol"
    assert browser.get("/tickets").status_code == 302  # nothing opens before the enrolment
    page = browser.get("/login/enrol").get_data(as_text=True)
    assert "<svg" in page and 'dir="rtl"' in page
    browser.refresh_token("/login/enrol")
    db.session.refresh(people.supervisor)
    secret = people.supervisor.totp_secret
    assert browser.post("/login/enrol", {"code": "12"}).status_code == 422
    done = browser.post("/login/enrol", {"code": code_at(secret, clock.now)})
    assert done.status_code == 200
    shown = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", done.get_data(as_text=True))
    assert len(shown) == 10
    assert browser.get("/tickets").status_code == 200
    # next time: the code is asked
    again = Browser(app.test_client())
    assert password_step(again, people.supervisor).headers["Location"] == "/login/code"
    # a role not required signs in with the password alone
    assert password_step(Browser(app.test_client()), people.staff).headers["Location"] == "/tickets"


def test_an_admin_removes_a_lost_second_factor(as_user, people, db):
    enrolled(db, people.supervisor)
    admin = as_user(people.admin)
    admin.refresh_token(f"/admin/users/{people.supervisor.id}")
    assert admin.post(f"/admin/users/{people.supervisor.id}/two-factor/remove").status_code == 302
    db.session.refresh(people.supervisor)
    assert not people.supervisor.has_two_factor and people.supervisor.totp_secret is None
    assert not db.session.scalar(select(RecoveryCode.id).where(RecoveryCode.user_id == people.supervisor.id))
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.TWO_FACTOR_CHANGED)
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.actor_id == people.admin.id and entry.detail == {"change": "removed", "by": "admin"}


def test_only_an_admin_sets_the_roles_or_removes_a_factor(as_user, people, db):
    supervisor = as_user(people.supervisor)
    assert supervisor.post("/admin/users/two-factor-roles", {"roles": ["staff"]}).status_code == 404
    assert supervisor.post(f"/admin/users/{people.staff.id}/two-factor/remove").status_code == 404
    assert not db.session.scalar(select(TwoFactorRole.role))


def test_own_enrolment_recovery_codes_and_turning_off(as_user, people, db, clock):
    staff = as_user(people.staff)
    assert "<svg" in staff.get("/account/two-factor").get_data(as_text=True)
    db.session.refresh(people.staff)
    staff.refresh_token("/account/two-factor")
    done = staff.post("/account/two-factor", {"code": code_at(people.staff.totp_secret, clock.now)})
    assert done.status_code == 200 and len(re.findall(r"<code>", done.get_data(as_text=True))) == 10
    staff.refresh_token("/account")
    assert staff.post("/account/two-factor/recovery-codes", {"password": "wrong-password!"}).status_code == 422
    renewed = staff.post("/account/two-factor/recovery-codes", {"password": PASSWORD})
    assert renewed.status_code == 200 and len(re.findall(r"<code>", renewed.get_data(as_text=True))) == 10
    assert staff.post("/account/two-factor/off", {"password": PASSWORD}).status_code == 302
    db.session.refresh(people.staff)
    assert not people.staff.has_two_factor


def test_a_required_factor_cannot_be_turned_off(app, people, db, clock):
    db.session.add(TwoFactorRole(role="staff"))
    commit(db.session)
    enrolled(db, people.staff)
    staff = Browser(app.test_client())
    password_step(staff, people.staff)
    staff.refresh_token("/login/code")
    clock.advance(seconds=30)
    assert staff.post("/login/code", {"code": code_at(people.staff.totp_secret, clock.now)}).status_code == 302
    staff.refresh_token("/account")
    assert "two-factor/off" not in staff.get("/account").get_data(as_text=True)
    assert staff.post("/account/two-factor/off", {"password": PASSWORD}).status_code == 404
    db.session.refresh(people.staff)
    assert people.staff.has_two_factor
