"""User management under /admin/users: list, create, edit, deactivate, reset a password.
Admins only (everyone else 404); CSRF on every POST; sessions signed out on deactivation and
on a password change."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desk.models import DepartmentMember, EventKind, Position, TicketEvent, User
from tests.conftest import PASSWORD, Browser

NEW_PASSWORD = "a-long-new-secret-1"


def fresh(db, user_id) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def user_count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(User))


def new_user_data(**kw) -> dict:
    data = {"name": "Khalid", "email": "Khalid@Example.org", "locale": "en", "roles": ["focal"],
            "department_codes": ["AID"], "password": NEW_PASSWORD}
    data.update(kw)
    return data


def edit_data(user, **kw) -> dict:
    data = {"name": user.name, "locale": user.locale, "roles": sorted(user.roles), "department_codes": [], "active": "y"}
    data.update(kw)
    if data.get("active") is None:
        data.pop("active")
    return data


# Who may enter ---------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["staff", "focal", "supervisor"])
def test_everyone_but_admins_gets_404(as_user, people, db, who):
    browser = as_user(getattr(people, who))
    for path in ["/admin/users", "/admin/users/new", f"/admin/users/{people.staff.id}"]:
        assert browser.get(path).status_code == 404, path
        assert browser.get(path, htmx=True).status_code == 404, path
    before = user_count(db)
    assert browser.post("/admin/users/new", new_user_data()).status_code == 404
    assert browser.post(f"/admin/users/{people.staff.id}", edit_data(people.staff, active=None)).status_code == 404
    assert browser.post(f"/admin/users/{people.staff.id}/password", {"password": NEW_PASSWORD}).status_code == 404
    assert user_count(db) == before
    assert fresh(db, people.staff.id).active and fresh(db, people.staff.id).check_password(PASSWORD)


def test_signed_out_is_sent_to_sign_in(browser, people):
    response = browser.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_missing_user_is_404(admin):
    assert admin.get("/admin/users/99999").status_code == 404
    assert admin.post("/admin/users/99999/password", {"password": NEW_PASSWORD}).status_code == 404


# The list ----------------------------------------------------------------------------------

def test_list_page_and_fragment(admin, en, db):
    en.focal.last_login_at = None
    db.session.commit()
    page = admin.get("/admin/users")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    for text in ("focal@example.org", "super@example.org", "Focal point", "Social research", "Primary focal point",
                 "Active", 'href="/admin/users/new"', "Last sign-in"):
        assert text in html, text
    assert 'href="/admin/users"' in html  # the admin sub-navigation tab
    fragment = admin.get("/admin/users", htmx=True)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and 'id="users-table"' in body


def test_nav_tab_on_other_admin_pages(admin):
    assert 'href="/admin/users"' in admin.get("/admin/departments").get_data(as_text=True)


# Creating ----------------------------------------------------------------------------------

def test_new_form_page_and_fragment(admin):
    page = admin.get("/admin/users/new")
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    for role in ("staff", "focal", "supervisor", "admin", "committee", "manager"):
        assert f'value="{role}"' in html, role
    fragment = admin.get("/admin/users/new", htmx=True).get_data(as_text=True)
    assert "<html" not in fragment and 'id="user-form"' in fragment


@pytest.mark.parametrize("htmx", [False, True])
def test_create_user_who_can_then_sign_in(admin, en, db, app, htmx):
    response = admin.post("/admin/users/new", new_user_data(), htmx=htmx)
    if htmx:
        assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/users"
    else:
        assert response.status_code == 302 and response.headers["Location"].endswith("/admin/users")
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == "khalid@example.org"))
    assert user.name == "Khalid" and user.locale == "en" and user.roles == {"focal"} and user.active
    member = db.session.scalar(select(DepartmentMember).where(DepartmentMember.user_id == user.id))
    assert member.department_id == en.aid.id and member.position == Position.MEMBER  # AID already has a primary
    assert NEW_PASSWORD not in user.password_hash
    # The new person signs in at /login with the password typed by the admin.
    Browser(app.test_client()).login(user, password=NEW_PASSWORD)
    html = admin.get("/admin/users").get_data(as_text=True)
    assert "khalid@example.org" in html


def test_first_focal_point_of_a_new_department_is_primary(admin, db):
    from desk.cli import ensure_department
    ensure_department("HR", "الموارد البشرية", "Human resources")
    assert admin.post("/admin/users/new", new_user_data(department_codes=["HR"])).status_code == 302
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == "khalid@example.org"))
    assert [m.position for m in user.memberships] == [Position.PRIMARY]


@pytest.mark.parametrize("htmx", [False, True])
def test_create_refused_by_the_field_input_kept(admin, db, htmx):
    before = user_count(db)
    response = admin.post("/admin/users/new", new_user_data(name="Typed name", email="focal@example.org",
                                                            password="short", department_codes=[]), htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "A user with this email already exists." in html
    assert "The password must be at least" in html
    assert "A focal point belongs to a department." in html
    assert 'value="Typed name"' in html and 'value="focal@example.org"' in html
    assert 'value="short"' not in html  # the password is never sent back
    assert ("<html" in html) != htmx
    assert user_count(db) == before


def test_focal_point_without_department_refused(admin, db):
    before = user_count(db)
    response = admin.post("/admin/users/new", new_user_data(department_codes=[]), htmx=True)
    assert response.status_code == 422
    assert "A focal point belongs to a department." in response.get_data(as_text=True)
    assert user_count(db) == before


def test_create_without_name_or_role(admin, db):
    before = user_count(db)
    response = admin.post("/admin/users/new", new_user_data(name=" ", roles=[], password="x"), htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the name." in html and "Choose at least one role." in html and "The password must be at least" in html
    assert user_count(db) == before


def test_create_manager_and_committee(admin, db):
    response = admin.post("/admin/users/new", new_user_data(roles=["manager", "committee"], department_codes=[]))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.email == "khalid@example.org")).roles == {"manager", "committee"}


@pytest.mark.parametrize("htmx", [False, True])
def test_csrf_required(admin, en, db, htmx):
    before = user_count(db)
    assert admin.post("/admin/users/new", new_user_data(), htmx=htmx, csrf=False).status_code == 400
    assert admin.post(f"/admin/users/{en.staff.id}", edit_data(en.staff, active=None), htmx=htmx, csrf=False).status_code == 400
    assert admin.post(f"/admin/users/{en.staff.id}/password", {"password": NEW_PASSWORD}, htmx=htmx, csrf=False).status_code == 400
    assert user_count(db) == before
    staff = fresh(db, en.staff.id)
    assert staff.active and staff.check_password(PASSWORD)


# Editing -----------------------------------------------------------------------------------

def test_edit_page_and_fragment(admin, en):
    page = admin.get(f"/admin/users/{en.focal.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "focal@example.org" in html and 'id="user-password"' in html
    assert 'value="SOCIAL" checked' in html and 'value="focal" checked' in html
    fragment = admin.get(f"/admin/users/{en.focal.id}", htmx=True).get_data(as_text=True)
    assert "<html" not in fragment and 'id="user-form"' in fragment


@pytest.mark.parametrize("htmx", [False, True])
def test_edit_name_language_roles_departments(admin, en, db, htmx):
    data = edit_data(en.staff, name="Sara A.", locale="ar", roles=["staff", "focal"], department_codes=["AID", "SOCIAL"])
    response = admin.post(f"/admin/users/{en.staff.id}", data, htmx=htmx)
    assert response.status_code == (200 if htmx else 302)
    staff = fresh(db, en.staff.id)
    assert staff.name == "Sara A." and staff.locale == "ar" and staff.roles == {"staff", "focal"}
    assert {m.department_id: m.position for m in staff.memberships} == {
        en.aid.id: Position.MEMBER, en.social.id: Position.MEMBER}  # both already had a primary


def test_leaving_a_department_unassigns_its_tickets(admin, en, db, make_ticket):
    ticket = make_ticket()
    ticket.assignee_id = en.focal.id
    db.session.commit()
    response = admin.post(f"/admin/users/{en.focal.id}", edit_data(en.focal, roles=["staff"], department_codes=[]))
    assert response.status_code == 302
    db.session.expire_all()
    assert fresh(db, en.focal.id).memberships == []
    assert db.session.get(type(ticket), ticket.id).assignee_id is None
    assert db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                       TicketEvent.kind == EventKind.ASSIGNEE)) is not None


def test_edit_refused_input_kept(admin, en, db):
    response = admin.post(f"/admin/users/{en.staff.id}", edit_data(en.staff, name="", roles=["focal"]), htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the name." in html and "A focal point belongs to a department." in html
    assert 'value="focal" checked' in html
    assert fresh(db, en.staff.id).roles == {"staff"}


def test_deactivated_users_session_stops_working(admin, en, db, as_user):
    staff_browser = as_user(en.staff)
    assert staff_browser.get("/tickets").status_code == 200
    response = admin.post(f"/admin/users/{en.staff.id}", edit_data(en.staff, active=None))
    assert response.status_code == 302
    staff = fresh(db, en.staff.id)
    assert not staff.active
    after = staff_browser.get("/tickets")
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    refused = Browser(admin.client.application.test_client())
    refused.refresh_token()
    answer = refused._run(refused.client.post, "/login",
                          data={"email": staff.email, "password": PASSWORD, "csrf_token": refused.token})
    assert answer.status_code != 302
    # Reactivated: they can sign in again (the old session stays signed out).
    assert admin.post(f"/admin/users/{en.staff.id}", edit_data(staff)).status_code == 302
    assert fresh(db, en.staff.id).active
    assert staff_browser.get("/tickets").status_code == 302


def test_admin_cannot_deactivate_self_or_drop_own_admin_role(admin, en, db):
    me = en.admin
    response = admin.post(f"/admin/users/{me.id}", edit_data(me, active=None), htmx=True)
    assert response.status_code == 422 and "You cannot deactivate yourself." in response.get_data(as_text=True)
    response = admin.post(f"/admin/users/{me.id}", edit_data(me, roles=["staff"]))
    assert response.status_code == 422 and "You cannot remove your own administrator role." in response.get_data(as_text=True)
    me = fresh(db, me.id)
    assert me.active and me.roles == {"admin"}
    assert admin.get("/admin/users").status_code == 200  # still signed in


def test_admin_may_remove_another_admins_role(admin, en, db):
    from desk.accounts.service import create_user
    other = create_user(db.session, "admin2@example.org", PASSWORD, "Other", ["admin"])
    assert admin.post(f"/admin/users/{other.id}", edit_data(other, roles=["staff"])).status_code == 302
    assert fresh(db, other.id).roles == {"staff"}


# Resetting a password ----------------------------------------------------------------------

@pytest.mark.parametrize("htmx", [False, True])
def test_reset_password_signs_out(admin, en, db, as_user, app, htmx):
    staff_browser = as_user(en.staff)
    response = admin.post(f"/admin/users/{en.staff.id}/password", {"password": NEW_PASSWORD}, htmx=htmx)
    assert response.status_code == (200 if htmx else 302)
    staff = fresh(db, en.staff.id)
    assert staff.check_password(NEW_PASSWORD) and not staff.check_password(PASSWORD)
    assert staff_browser.get("/tickets").status_code == 302  # the old session is signed out
    Browser(app.test_client()).login(staff, password=NEW_PASSWORD)


@pytest.mark.parametrize("htmx", [False, True])
def test_reset_password_too_short(admin, en, db, htmx):
    version = fresh(db, en.staff.id).session_version
    response = admin.post(f"/admin/users/{en.staff.id}/password", {"password": "short"}, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "The password must be at least" in html and 'value="short"' not in html
    assert ("<html" in html) != htmx
    staff = fresh(db, en.staff.id)
    assert staff.check_password(PASSWORD) and staff.session_version == version


def test_pages_render_in_arabic(as_user, people):
    browser = as_user(people.admin)  # Arabic by default
    for path in ["/admin/users", "/admin/users/new", f"/admin/users/{people.focal.id}"]:
        response = browser.get(path)
        assert response.status_code == 200 and 'dir="rtl"' in response.get_data(as_text=True), path
    response = browser.post("/admin/users/new", new_user_data(password="x"), htmx=True)
    assert response.status_code == 422
