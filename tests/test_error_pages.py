"""Every error in the reader's language and frame (issue 14): 400, 403, 404, 405, 409, 413, 422,
429, 500 and 503 in Arabic and in English, in the desk's frame and in the portal's (under
/portal/); an htmx request gets the message alone, for #flashes; a program gets JSON
(desk.error_pages.answer)."""
from __future__ import annotations

import pytest
from flask import abort
from sqlalchemy.exc import OperationalError

from desk import create_app
from desk.errors import StaleVersion
from desk.extensions import csrf
from tests.conftest import Browser

DESK_FRAME = 'class="desk-nav"'
PORTAL_FRAME = 'class="portal-header"'

# status -> (Arabic heading, English heading), in the desk's frame and in the portal's.
DESK = {
    400: ("تعذّر فهم الطلب", "The request was not understood"),
    403: ("غير مسموح", "Not allowed"),
    404: ("غير موجود", "Not found"),
    405: ("تعذّر فهم الطلب", "The request was not understood"),
    409: ("تغيّر في أثناء ذلك", "Changed meanwhile"),
    413: ("الحجم كبير جدًا", "Too large"),
    422: ("غير مقبول", "Not accepted"),
    429: ("محاولات كثيرة جدًا", "Too many attempts"),
    500: ("حدث خطأ ما", "Something went wrong"),
    503: ("غير متاح الآن", "Not available right now"),
}
PORTAL = {
    400: ("تعذّر فهم الطلب", "The request was not understood"),
    403: ("غير متاحة", "Not available"),
    404: ("الصفحة غير موجودة", "Page not found"),
    405: ("تعذّر فهم الطلب", "The request was not understood"),
    409: ("تغيّر طلبك في أثناء ذلك", "Your request changed meanwhile"),
    413: ("المرفقات كبيرة جدًا", "The documents are too large"),
    422: ("غير مقبول", "Not accepted"),
    429: ("محاولات كثيرة جدًا", "Too many attempts"),
    500: ("حدث خطأ ما", "Something went wrong"),
    503: ("غير متاح الآن", "Not available right now"),
}


def _fail(code: int):
    if code == 503:  # what PostgreSQL down raises on the first query
        import psycopg
        raise OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused"))
    if code == 500:
        raise RuntimeError("a bug")
    if code == 405:
        abort(405, valid_methods=["POST"])
    abort(code)


@pytest.fixture(scope="module")
def failing(app):
    """The desk (its own instance, same database) with an address that fails with any status,
    in the desk and under /portal/; an unhandled exception is a 500 page, as in production."""
    other = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False})
    other.add_url_rule("/fail/<int:code>", "fail", _fail)
    other.add_url_rule("/portal/fail/<int:code>", "portal_fail", _fail)
    other.add_url_rule("/hooks/fail/<int:code>", "hook_fail", csrf.exempt(_fail), methods=["POST"])
    return other


def reader(app, locale: str) -> Browser:
    browser = Browser(app.test_client())
    if locale == "en":
        with browser.client.session_transaction() as session:
            session["locale"] = "en"
    return browser


@pytest.mark.parametrize("locale", ["ar", "en"])
@pytest.mark.parametrize("code", sorted(DESK))
def test_each_status_in_the_desks_frame(failing, code, locale):
    response = reader(failing, locale).get(f"/fail/{code}")
    html = response.get_data(as_text=True)
    assert response.status_code == code
    assert DESK[code][0 if locale == "ar" else 1] in html
    assert DESK_FRAME in html and PORTAL_FRAME not in html
    assert f'<html lang="{locale}" dir="{"rtl" if locale == "ar" else "ltr"}">' in html
    assert (response.headers.get("Retry-After") == "30") == (code == 503)
    assert (response.headers.get("Allow") == "POST") == (code == 405)


@pytest.mark.parametrize("locale", ["ar", "en"])
@pytest.mark.parametrize("code", sorted(PORTAL))
def test_each_status_in_the_portals_frame(failing, code, locale):
    response = reader(failing, locale).get(f"/portal/fail/{code}")
    html = response.get_data(as_text=True)
    assert response.status_code == code
    assert PORTAL[code][0 if locale == "ar" else 1] in html
    assert PORTAL_FRAME in html and DESK_FRAME not in html
    assert "/portal/" in html and "/tickets" not in html  # the way back is the portal's, not the staff's queue
    assert f'<html lang="{locale}"' in html


@pytest.mark.parametrize("path", ["/fail/{code}", "/portal/fail/{code}"])
@pytest.mark.parametrize("code", sorted(DESK))
def test_htmx_gets_the_message_for_flashes(failing, code, path):
    response = reader(failing, "ar").get(path.format(code=code), htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == code
    assert "<html" not in html and "<nav" not in html
    assert DESK[code][0] in html and 'role="alert"' in html
    assert response.headers["HX-Retarget"] == "#flashes" and response.headers["HX-Reswap"] == "innerHTML"
    assert response.headers["HX-Push-Url"] == "false"


@pytest.mark.parametrize("code", [400, 404, 409, 500, 503])
def test_a_program_gets_json(failing, code):
    response = failing.test_client().post(f"/hooks/fail/{code}", json={})
    assert response.status_code == code and response.is_json
    assert response.get_json()["status"] == code
    assert (response.headers.get("Retry-After") == "30") == (code == 503)


# The real doors ------------------------------------------------------------------------------

def test_an_unknown_portal_address_is_the_portals_404(app, db):
    response = Browser(app.test_client()).get("/portal/no-such-page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and PORTAL_FRAME in html and "الصفحة غير موجودة" in html


def test_an_expired_portal_form_says_so_in_the_portals_frame(app, db):
    visitor = Browser(app.test_client())
    response = visitor.post("/portal/new", {"kind": "complaint", "subject": "طلب"}, csrf=False)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and PORTAL_FRAME in html and "انتهت صلاحية النموذج" in html


def test_a_page_the_role_may_not_open_is_403_in_the_desks_frame(as_user, people):
    response = as_user(people.focal).get("/tickets/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 403 and DESK_FRAME in html and "غير مسموح" in html


def test_a_missing_ticket_over_htmx_is_a_message_for_flashes(as_user, people):
    response = as_user(people.staff).get("/tickets/C-1400-999999", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "<html" not in html and "غير موجود" in html
    assert response.headers["HX-Retarget"] == "#flashes"


def test_a_stale_version_says_what_happened_in_words(ctx):
    """A conflict that reaches the generic page says so in the reader's language, not "stale"."""
    from flask_babel import force_locale
    with force_locale("ar"):
        assert "عدّل شخص آخر هذا الطلب" in str(StaleVersion(2, []).message)
    with force_locale("en"):
        assert "Someone else changed this ticket" in str(StaleVersion(2, []).message)


def test_the_error_pages_need_no_database(failing):
    """The frame reads the association's name and the signed-in user: with the database gone the
    page still comes, with the settings' name."""
    from tests.test_outage import refused
    with refused(failing):
        desk = reader(failing, "ar").get("/fail/404")
        portal = reader(failing, "en").get("/portal/fail/404")
    assert desk.status_code == 404 and "غير موجود" in desk.get_data(as_text=True)
    assert failing.config["DESK_ASSOCIATION_NAME"] in desk.get_data(as_text=True)
    assert portal.status_code == 404 and "Page not found" in portal.get_data(as_text=True)
    assert failing.config["DESK_ASSOCIATION_NAME_EN"] in portal.get_data(as_text=True)

