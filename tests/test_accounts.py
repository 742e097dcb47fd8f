"""Signing in and out, session safety, the language switch, health."""
from __future__ import annotations

import pytest

from desk.accounts.service import create_user
from desk.cli import ensure_department
from tests.conftest import PASSWORD


def test_login_page_renders_arabic_rtl(browser):
    page = browser.get("/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in html
    assert "تسجيل الدخول" in html


def test_queue_requires_sign_in(browser):
    response = browser.get("/tickets")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_sign_in_and_out(browser, people):
    browser.login(people.staff)
    assert browser.get("/tickets").status_code == 200
    response = browser.post("/logout")
    assert response.status_code == 302
    assert browser.get("/tickets").status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_answer(browser, people):
    browser.refresh_token()
    wrong = browser.post("/login", {"email": people.staff.email, "password": "nope-nope-nope"})
    unknown = browser.post("/login", {"email": "nobody@example.org", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: r.get_data(as_text=True).replace("nobody@example.org", "").replace(people.staff.email, "")  # noqa: E731
    assert strip(wrong).split('name="csrf-token"')[0] == strip(unknown).split('name="csrf-token"')[0]


def test_login_without_csrf_token_is_refused(browser, people):
    browser.refresh_token()
    response = browser.post("/login", {"email": people.staff.email, "password": PASSWORD}, csrf=False)
    assert response.status_code == 400


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_next_only_redirects_to_local_paths(browser, people, target):
    browser.refresh_token()
    response = browser.post("/login", {"email": people.staff.email, "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/tickets"


def test_next_local_path_is_followed(browser, people):
    browser.refresh_token()
    response = browser.post("/login", {"email": people.staff.email, "password": PASSWORD, "next": "/tickets/new"})
    assert response.headers["Location"] == "/tickets/new"


def test_session_cookie_flags(browser, people):
    browser.refresh_token()
    response = browser.post("/login", {"email": people.staff.email, "password": PASSWORD})
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_password_change_signs_out_other_sessions(as_user, people, db):
    session = as_user(people.staff)
    people.staff.set_password("another-long-password")
    db.session.commit()
    assert session.get("/tickets").status_code == 302


def test_login_is_rate_limited_per_account(browser, people):
    browser.refresh_token()
    codes = [browser.post("/login", {"email": people.staff.email, "password": "wrong-password!"}).status_code
             for _ in range(11)]
    assert codes[:10] == [401] * 10
    assert codes[10] == 429


def test_language_switch_to_english_and_back(as_user, people):
    session = as_user(people.staff)
    response = session.post("/language", {"locale": "en", "next": "/tickets"})
    assert response.headers["Location"] == "/tickets"
    html = session.get("/tickets").get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in html and "Shared queue" in html
    session.post("/language", {"locale": "ar", "next": "/tickets"})
    assert '<html lang="ar" dir="rtl">' in session.get("/tickets").get_data(as_text=True)


def test_security_headers_on_pages(as_user, people):
    response = as_user(people.staff).get("/tickets")
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_healthz_ok(browser):
    response = browser.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "rate_limits": "ok"}


def test_healthz_503_when_database_unreachable(app, monkeypatch):
    from desk.extensions import db

    def broken(*args, **kwargs):
        raise RuntimeError("down")

    monkeypatch.setattr(db.session, "execute", broken)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "down", "database": "unreachable", "rate_limits": "ok"}


def test_a_second_focal_point_of_a_department_is_not_a_second_primary(db, people):
    from desk.models import Position
    later = create_user(db.session, "focal3@example.org", PASSWORD, "ثالث", ["focal"], ["SOCIAL", "AID"])
    positions = {m.department_id: m.position for m in later.memberships}
    assert positions == {people.social.id: Position.MEMBER, people.aid.id: Position.MEMBER}
    fresh = ensure_department("EDU", "التعليم", "Education")
    first = create_user(db.session, "edu@example.org", PASSWORD, "أول", ["focal"], ["EDU"])
    assert [m.position for m in first.memberships] == [Position.PRIMARY]
    assert fresh.id == first.memberships[0].department_id
