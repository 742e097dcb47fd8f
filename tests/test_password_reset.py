"""Password reset by email (issue 16, point 6): the same answer whatever the address, a link
built from DESK_BASE_URL and sent through the outbox, good once and for a short time, rate
limited, ending every session; recorded in the audit trail."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from desk.accounts import reset, sessions
from desk.models import AuditAction, AuditEntry, OutboxMessage, PasswordReset, utcnow
from desk.transaction import commit
from tests.conftest import PASSWORD, Browser

LINK = re.compile(r"(https?://\S+/password/reset/(\S+))")


def mails(db) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == reset.REASON)
                                   .order_by(OutboxMessage.id)))


def ask(browser: Browser, email: str, **kw):
    browser.refresh_token("/password/forgot")
    return browser.post("/password/forgot", {"email": email}, **kw)


def link_of(message: OutboxMessage) -> tuple[str, str]:
    match = LINK.search(message.body_text)
    assert match, message.body_text
    return match.group(1), match.group(2)


def test_the_same_answer_whether_or_not_the_address_exists(browser, people, db):
    known = ask(browser, people.staff.email.upper())
    unknown = ask(browser, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    # the page after the meta tag, without its CSRF fields: their timestamp may cross a second under load
    body = lambda r: re.sub(r"<(?:input|meta)[^>]*csrf[-_]token[^>]*>", "", r.get_data(as_text=True)  # noqa: E731
                            .split('name="csrf-token"')[1].split("</main>")[0])
    assert body(known).replace(people.staff.email.upper(), "X") == body(unknown).replace("nobody@example.org", "X")
    sent = mails(db)
    assert [m.to_address for m in sent] == [people.staff.email]
    assert [r.detail.get("known") for r in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == AuditAction.PASSWORD_RESET_REQUESTED).order_by(AuditEntry.id))] == [True, False]


def test_the_link_is_built_from_the_base_url_not_the_host_header(app, browser, people, db):
    evil = {"Host": "evil.example"}
    page = browser.get("/password/forgot", headers=dict(evil))
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert browser.post("/password/forgot", {"email": people.staff.email, "csrf_token": token},
                        headers=dict(evil)).status_code == 200
    url, token = link_of(mails(db)[0])
    assert url.startswith(app.config["DESK_BASE_URL"] + "/password/reset/")
    stored = db.session.scalar(select(PasswordReset.token_hash))
    assert token not in stored  # only the hash is kept


def test_a_link_works_once_and_ends_every_session(as_user, browser, people, db):
    signed_in = as_user(people.staff)
    ask(browser, people.staff.email)
    _, token = link_of(mails(db)[0])
    page = browser.get(f"/password/reset/{token}")
    assert page.status_code == 200 and 'dir="rtl"' in page.get_data(as_text=True)
    browser.refresh_token(f"/password/reset/{token}")
    assert browser.post(f"/password/reset/{token}", {"password": "short"}).status_code == 422
    done = browser.post(f"/password/reset/{token}", {"password": "chosen-by-link-1"})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert signed_in.get("/tickets").status_code == 302  # signed out everywhere
    db.session.refresh(people.staff)
    assert people.staff.check_password("chosen-by-link-1")
    again = browser.get(f"/password/reset/{token}")
    assert again.status_code == 404
    browser.refresh_token("/login")
    assert browser.post(f"/password/reset/{token}", {"password": "chosen-again-22"}).status_code == 404
    db.session.refresh(people.staff)
    assert people.staff.check_password("chosen-by-link-1")
    changed = db.session.scalar(select(AuditEntry).where(AuditEntry.action == AuditAction.PASSWORD_CHANGED))
    assert changed.record_id == str(people.staff.id) and changed.detail == {"by": "reset link"}


def test_a_link_expires_and_a_newer_one_voids_the_older(db, people):
    now = utcnow()
    assert reset.request_reset(db.session, people.staff.email, 30, now)
    commit(db.session)
    first = link_of(mails(db)[0])[1]
    assert reset.valid(db.session, first, now + timedelta(minutes=29)) is not None
    assert reset.valid(db.session, first, now + timedelta(minutes=30)) is None
    assert reset.use(db.session, first, "too-late-password", now + timedelta(minutes=31)) is None
    assert reset.request_reset(db.session, people.staff.email, 30, now + timedelta(minutes=1))
    commit(db.session)
    second = link_of(mails(db)[1])[1]
    assert reset.valid(db.session, first, now + timedelta(minutes=2)) is None
    assert reset.valid(db.session, second, now + timedelta(minutes=2)) is not None
    # a day after their time, the links are forgotten (desk sweep-sessions)
    assert sessions.sweep(db.session, absolute=timedelta(hours=12), now=now + timedelta(days=1)) == (0, 0)
    assert sessions.sweep(db.session, absolute=timedelta(hours=12), now=now + timedelta(days=1, minutes=32)) == (0, 2)


def test_no_link_for_a_deactivated_account(db, people):
    people.staff.active = False
    commit(db.session)
    assert not reset.request_reset(db.session, people.staff.email, 30)
    commit(db.session)
    assert mails(db) == []


def test_asking_is_rate_limited_per_address_asked_for(app, people, db):
    codes = []
    for n in range(4):  # from four client addresses: the limit on the email address still holds
        browser = Browser(app.test_client())
        browser.client.environ_base["REMOTE_ADDR"] = f"198.51.100.{n + 1}"
        codes.append(ask(browser, "nobody@example.org").status_code)
    assert codes == [200, 200, 200, 429]


def test_asking_is_rate_limited_per_client_address(browser, people, db):
    codes = [ask(browser, f"someone{n}@example.org").status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]


@pytest.mark.parametrize("locale", ["ar", "en"])
def test_the_email_is_in_the_users_language(db, people, locale):
    people.staff.locale = locale
    commit(db.session)
    reset.request_reset(db.session, people.staff.email, 30)
    commit(db.session)
    message = mails(db)[0]
    assert ("كلمة مرور" in message.subject) == (locale == "ar")
    assert PASSWORD not in message.body_text
