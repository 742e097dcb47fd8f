"""The admin screens: departments and focal points, categories, routing rules and the tester,
the create-department command and the demo data. Admins only: everyone else gets 404."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desk.accounts.service import create_user
from desk.models import Category, Department, DepartmentMember, EventKind, RoutingRule, Status, Ticket, TicketEvent
from tests.conftest import PASSWORD, count

# Who may enter -------------------------------------------------------------------------

PAGES = ["/admin/", "/admin/departments", "/admin/departments/new", "/admin/categories", "/admin/categories/new",
         "/admin/rules", "/admin/rules/new"]


@pytest.mark.parametrize("who", ["staff", "focal", "supervisor"])
def test_everyone_but_admins_gets_404(as_user, people, db, who):
    browser = as_user(getattr(people, who))
    rule = RoutingRule(name="r", department_id=people.social.id, kinds=["complaint"], channels=[], category_ids=[], keywords=[])
    db.session.add(rule)
    db.session.commit()
    for path in PAGES + [f"/admin/departments/{people.social.id}", f"/admin/rules/{rule.id}"]:
        assert browser.get(path).status_code == 404, path
        assert browser.get(path, htmx=True).status_code == 404, path
    posts = ["/admin/departments/new", f"/admin/departments/{people.social.id}",
             f"/admin/departments/{people.social.id}/members", f"/admin/rules/{rule.id}/move", "/admin/rules/test",
             "/admin/categories/new", "/admin/rules/new"]
    for path in posts:
        assert browser.post(path, {"code": "X", "name_ar": "س", "name_en": "x", "direction": "up"}).status_code == 404, path
    db.session.expire_all()
    assert db.session.get(Department, people.social.id).code == "SOCIAL"
    assert count(db, Department) == 2
    html = browser.get("/tickets").get_data(as_text=True)
    assert "/admin/departments" not in html  # no nav link


def test_signed_out_is_sent_to_sign_in(browser, people):
    response = browser.get("/admin/departments")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_sees_the_nav_link_and_pages(admin):
    assert 'href="/admin/departments"' in admin.get("/tickets").get_data(as_text=True)
    assert admin.get("/admin/").status_code == 302
    for path in PAGES[1:]:
        assert admin.get(path).status_code == 200, path


def test_csrf_is_required(admin, db):
    assert admin.post("/admin/departments/new", {"code": "NEW", "name_ar": "جديد", "name_en": "New"}, csrf=False).status_code == 400
    assert admin.post("/admin/departments/new", {"code": "NEW", "name_ar": "جديد", "name_en": "New"}, htmx=True, csrf=False).status_code == 400
    assert count(db, Department, Department.code == "NEW") == 0


# Departments ---------------------------------------------------------------------------

def test_department_list_full_page_and_fragment(admin, make_ticket):
    make_ticket()
    page = admin.get("/admin/departments").get_data(as_text=True)
    assert "<html" in page and 'id="departments-table"' in page and "SOCIAL" in page and "Social research" in page
    fragment = admin.get("/admin/departments", htmx=True).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="departments-table"') and "<html" not in fragment


def test_create_department_full_page_and_htmx(admin, db):
    response = admin.post("/admin/departments/new", {"code": "legal", "name_ar": "الشؤون القانونية", "name_en": "Legal",
                                                     "email": "Legal@Example.org", "phone_ext": "٢٠٧", "active": "y"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/departments"
    legal = db.session.scalar(select(Department).where(Department.code == "LEGAL"))
    assert (legal.name_ar, legal.email, legal.phone_ext, legal.active) == ("الشؤون القانونية", "Legal@example.org", "207", True)
    response = admin.post("/admin/departments/new", {"code": "IT", "name_ar": "التقنية", "name_en": "IT"}, htmx=True)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/departments"
    assert db.session.scalar(select(Department.active).where(Department.code == "IT")) is False  # box left unticked


def test_department_validation_by_the_field_keeps_input(admin, db):
    data = {"code": "SOCIAL", "name_ar": "", "name_en": "Typed name", "email": "not-an-email", "phone_ext": "12a"}
    response = admin.post("/admin/departments/new", data, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html.lstrip().startswith('<form id="department-form"')
    for field_id in ("code", "name_ar", "email", "phone_ext"):
        assert f'id="{field_id}-msg"' in html, field_id
    assert "Another department already has this code." in html and "Enter the Arabic name." in html
    assert 'value="Typed name"' in html and 'value="not-an-email"' in html
    full = admin.post("/admin/departments/new", data)
    assert full.status_code == 422 and "<html" in full.get_data(as_text=True)
    assert count(db, Department) == 2


def test_edit_department(admin, people, db):
    page = admin.get(f"/admin/departments/{people.aid.id}").get_data(as_text=True)
    assert 'value="AID"' in page and 'id="department-members"' in page
    response = admin.post(f"/admin/departments/{people.aid.id}", {"code": "AID", "name_ar": "المساعدات والدعم",
                                                                 "name_en": "Aid and support", "active": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Department, people.aid.id).name_en == "Aid and support"
    assert admin.get("/admin/departments/99999").status_code == 404


def _deactivate(admin, department, **extra):
    data = {"code": department.code, "name_ar": department.name_ar, "name_en": department.name_en}
    data.update(extra)
    return admin.post(f"/admin/departments/{department.id}", data, htmx=True)


def test_deactivating_a_department_with_open_tickets_asks_where_they_go(admin, people, make_ticket, db):
    ticket = make_ticket(department_id=people.aid.id)
    page = admin.get(f"/admin/departments/{people.aid.id}").get_data(as_text=True)
    assert 'id="move_to"' in page and "1 open ticket." in page
    response = _deactivate(admin, people.aid)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="move_to-msg"' in html and "choose where they go" in html
    db.session.expire_all()
    assert db.session.get(Department, people.aid.id).active and db.session.get(Ticket, ticket.id).department_id == people.aid.id
    for bad in (str(people.aid.id), "99999", "garbage"):  # itself, missing, nonsense
        assert _deactivate(admin, people.aid, move_to=bad).status_code == 422
    people.social.active = False
    db.session.commit()
    assert _deactivate(admin, people.aid, move_to=str(people.social.id)).status_code == 422  # inactive target
    assert count(db, TicketEvent, TicketEvent.kind == EventKind.TRANSFERRED) == 0


def test_deactivation_moves_open_tickets_with_events(admin, people, make_ticket, db, as_user):
    open_one = make_ticket(department_id=people.aid.id)
    assigned = make_ticket(department_id=people.aid.id)
    focal = as_user(people.other_focal)
    focal.post(f"/tickets/{assigned.reference}/change/assignee", {"value": str(people.other_focal.id), "version": assigned.version})
    closed = make_ticket(department_id=people.aid.id)
    closed.status = Status.CLOSED
    db.session.commit()
    elsewhere = make_ticket(department_id=people.social.id)
    versions = {t.id: db.session.get(Ticket, t.id).version for t in (open_one, assigned)}

    response = _deactivate(admin, people.aid, move_to=str(people.social.id))
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/departments"
    db.session.expire_all()
    assert db.session.get(Department, people.aid.id).active is False
    for t in (open_one, assigned):
        moved = db.session.get(Ticket, t.id)
        assert moved.department_id == people.social.id and moved.assignee_id is None
        assert moved.version > versions[t.id]
        event = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.kind == EventKind.TRANSFERRED))
        assert (event.old_value, event.new_value, event.actor_id) == (str(people.aid.id), str(people.social.id), people.admin.id)
        assert (event.reason, event.body) == (f"deactivated:{people.aid.id}", None)  # a code, shown per reader
    assert db.session.get(Ticket, closed.id).department_id == people.aid.id  # closed tickets stay
    assert db.session.get(Ticket, elsewhere.id).department_id == people.social.id
    assert count(db, TicketEvent, TicketEvent.kind == EventKind.TRANSFERRED) == 2


def test_deactivation_to_the_shared_queue(admin, people, make_ticket, db):
    ticket = make_ticket(department_id=people.aid.id)
    response = admin.post(f"/admin/departments/{people.aid.id}", {"code": "AID", "name_ar": "المساعدات", "name_en": "Aid",
                                                                 "move_to": "unrouted"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).department_id is None
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.RETURNED))
    assert (event.old_value, event.new_value, event.reason) == (str(people.aid.id), None, f"deactivated:{people.aid.id}")


def test_deactivating_a_department_without_open_tickets_needs_no_choice(admin, people, db):
    assert _deactivate(admin, people.aid).status_code == 200
    db.session.expire_all()
    assert db.session.get(Department, people.aid.id).active is False


# Focal points --------------------------------------------------------------------------

def test_add_member_gives_the_focal_role_and_positions(admin, people, db):
    url = f"/admin/departments/{people.aid.id}/members"
    # other_focal is already AID's (primary by default): the staff member joins as deputy
    response = admin.post(url, {"user_id": str(people.staff.id), "position": "deputy"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="department-members"')
    assert people.staff.name in html and "Deputy focal point" in html
    db.session.expire_all()
    staff = db.session.get(type(people.staff), people.staff.id)
    assert staff.has_role("focal") and staff.has_role("staff") and people.aid.id in staff.department_ids
    # a second primary is refused with the reason by the field
    response = admin.post(url, {"user_id": str(people.supervisor.id), "position": "primary"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="position-msg"' in html and "is already the primary focal point" in html
    assert count(db, DepartmentMember, DepartmentMember.user_id == people.supervisor.id) == 0
    # the same user twice, or nobody
    assert admin.post(url, {"user_id": str(people.staff.id), "position": "member"}, htmx=True).status_code == 422
    response = admin.post(url, {"user_id": "", "position": "member"}, htmx=True)
    assert response.status_code == 422 and 'id="user_id-msg"' in response.get_data(as_text=True)
    # full page (no JavaScript): back to the department page
    response = admin.post(url, {"user_id": str(people.supervisor.id), "position": "member"})
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/departments/{people.aid.id}"
    response = admin.post(url, {"user_id": str(people.admin.id), "position": "primary"})
    assert response.status_code == 422 and "<html" in response.get_data(as_text=True)


def test_change_position_and_remove(admin, people, db):
    member = db.session.scalar(select(DepartmentMember).where(DepartmentMember.user_id == people.other_focal.id))
    base = f"/admin/departments/{people.aid.id}/members"
    admin.post(base, {"user_id": str(people.staff.id), "position": "member"})
    other = db.session.scalar(select(DepartmentMember).where(DepartmentMember.user_id == people.staff.id))
    response = admin.post(f"{base}/{other.id}/position", {"position": "primary"}, htmx=True)
    assert response.status_code == 422 and f'id="position-{other.id}-msg"' in response.get_data(as_text=True)
    assert admin.post(f"{base}/{member.id}/position", {"position": "deputy"}, htmx=True).status_code == 200
    assert admin.post(f"{base}/{other.id}/position", {"position": "primary"}).status_code == 302
    db.session.expire_all()
    assert (db.session.get(DepartmentMember, member.id).position, db.session.get(DepartmentMember, other.id).position) == ("deputy", "primary")
    assert admin.post(f"{base}/{member.id}/position", {"position": "boss"}, htmx=True).status_code == 422
    response = admin.post(f"{base}/{member.id}/remove", {}, htmx=True)
    assert response.status_code == 200 and f'id="member-{member.id}"' not in response.get_data(as_text=True)
    assert count(db, DepartmentMember, DepartmentMember.id == member.id) == 0
    # a member of another department is not reachable through this one
    social_member = db.session.scalar(select(DepartmentMember).where(DepartmentMember.user_id == people.focal.id))
    assert admin.post(f"{base}/{social_member.id}/remove", {}).status_code == 404
    assert admin.post(f"{base}/{social_member.id}/remove", {}, csrf=False).status_code == 400


def test_removing_a_focal_point_unassigns_their_open_tickets_of_that_department(admin, people, db, make_ticket):
    from desk.models import utcnow
    from desk.tickets.service import set_assignee

    admin.post(f"/admin/departments/{people.aid.id}/members", {"user_id": str(people.focal.id), "position": "member"})
    db.session.expire_all()
    focal = db.session.get(type(people.focal), people.focal.id)
    mine = make_ticket(department_id=people.social.id)
    closed = make_ticket(department_id=people.social.id)
    other_department = make_ticket(department_id=people.aid.id)
    someone_else = make_ticket(department_id=people.social.id)
    for ticket, user in ((mine, focal), (closed, focal), (other_department, focal), (someone_else, people.supervisor)):
        set_assignee(db.session, people.admin, ticket, user, utcnow())
    closed.status = Status.CLOSED
    db.session.commit()
    versions = {t.id: t.version for t in (mine, closed, other_department, someone_else)}
    member_id = db.session.scalar(select(DepartmentMember.id).where(
        DepartmentMember.user_id == focal.id, DepartmentMember.department_id == people.social.id))

    response = admin.post(f"/admin/departments/{people.social.id}/members/{member_id}/remove", {}, htmx=True)
    assert response.status_code == 200 and "Their open tickets here were unassigned: 1." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Ticket, mine.id).assignee_id is None
    assert db.session.get(Ticket, mine.id).version > versions[mine.id]
    event = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == mine.id, TicketEvent.kind == EventKind.ASSIGNEE)
                               .order_by(TicketEvent.id.desc())).first()
    assert (event.old_value, event.new_value, event.actor_id) == (str(focal.id), None, people.admin.id)
    # closed tickets, their tickets in another department and others' tickets are left as they were
    assert db.session.get(Ticket, closed.id).assignee_id == focal.id
    assert db.session.get(Ticket, other_department.id).assignee_id == focal.id
    assert db.session.get(Ticket, someone_else.id).assignee_id == people.supervisor.id
    assert count(db, DepartmentMember, DepartmentMember.id == member_id) == 0
    # without JavaScript: back to the department page, which says so
    aid_member = db.session.scalar(select(DepartmentMember.id).where(
        DepartmentMember.user_id == focal.id, DepartmentMember.department_id == people.aid.id))
    response = admin.post(f"/admin/departments/{people.aid.id}/members/{aid_member}/remove", {})
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/departments/{people.aid.id}"
    assert "Their open tickets here were unassigned: 1." in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.get(Ticket, other_department.id).assignee_id is None


# Categories ----------------------------------------------------------------------------

def test_categories_create_list_filter_edit_deactivate(admin, people, db):
    response = admin.post("/admin/categories/new", {"kind": "complaint", "name_ar": "تأخر صرف المساعدات", "name_en": "Delay in aid",
                                                    "default_department_id": str(people.aid.id), "active": "y"})
    assert response.status_code == 302
    response = admin.post("/admin/categories/new", {"kind": "inquiry", "name_ar": "شروط التسجيل", "name_en": "Registration",
                                                    "active": "y"}, htmx=True)
    assert response.status_code == 200 and response.headers["HX-Redirect"].startswith("/admin/categories")
    delay = db.session.scalar(select(Category).where(Category.kind == "complaint"))
    assert delay.default_department_id == people.aid.id
    page = admin.get("/admin/categories").get_data(as_text=True)
    assert "تأخر صرف المساعدات" in page and "شروط التسجيل" in page and "<html" in page
    fragment = admin.get("/admin/categories?kind=inquiry", htmx=True).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="categories-table"') and "شروط التسجيل" in fragment and "تأخر صرف" not in fragment
    # deactivate
    response = admin.post(f"/admin/categories/{delay.id}", {"kind": "complaint", "name_ar": "تأخر صرف المساعدات", "name_en": "Delay in aid",
                                                            "default_department_id": str(people.aid.id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Category, delay.id).active is False
    assert admin.get(f"/admin/categories/{delay.id}").status_code == 200


def test_category_validation(admin, people, db):
    people.social.active = False
    db.session.commit()
    response = admin.post("/admin/categories/new", {"kind": "nonsense", "name_ar": "", "name_en": "Kept",
                                                    "default_department_id": str(people.social.id), "position": "x"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html.lstrip().startswith('<form id="category-form"')
    assert 'id="position-msg"' in html and 'value="Kept"' in html
    response = admin.post("/admin/categories/new", {"kind": "nonsense", "name_ar": "", "name_en": "Kept",
                                                    "default_department_id": str(people.social.id)}, htmx=True)
    html = response.get_data(as_text=True)
    for field_id in ("kind", "name_ar", "default_department_id"):
        assert f'id="{field_id}-msg"' in html, field_id
    assert count(db, Category) == 0


# Routing rules -------------------------------------------------------------------------

def rule_form(department, **overrides):
    data = {"name": "تأخر السلال", "kinds": ["complaint"], "keywords_text": "السلة الغذائية\nتأخر، إعانة",
            "department_id": str(department.id), "active": "y"}
    data.update(overrides)
    return data


def test_create_rule_stores_normalised_keywords(admin, people, db):
    response = admin.post("/admin/rules/new", rule_form(people.aid))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/rules"
    rule = db.session.scalar(select(RoutingRule))
    assert rule.keywords == ["السله الغذاءيه", "تاخر", "اعانه"]
    assert (rule.kinds, rule.department_id, rule.position, rule.updated_by_id) == (["complaint"], people.aid.id, 1, people.admin.id)
    page = admin.get(f"/admin/rules/{rule.id}").get_data(as_text=True)
    assert "السله الغذاءيه" in page and 'value="complaint" checked' in page


def test_a_rule_with_no_condition_is_refused_with_an_explanation(admin, people, db):
    response = admin.post("/admin/rules/new", rule_form(people.aid, kinds=[], keywords_text="  \n , "), htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html.lstrip().startswith('<form id="rule-form"')
    assert 'id="conditions-msg"' in html and "A rule with no condition would send every ticket to one department" in html
    assert 'value="تأخر السلال"' in html  # the name typed is kept
    assert count(db, RoutingRule) == 0


@pytest.mark.parametrize("keywords, named", [("في", "في"), ("تأخر\nمن", "من"), ("the, rent", "the"), ("a", "a"), ("ة", "ه"),
                                             ("ات", "ات"), ("تأخر\nية", "يه"), ("ين", "ين"), ("ون", "ون"), ("12", "12")])
def test_a_keyword_that_would_match_everything_is_refused_naming_it(admin, people, db, keywords, named):
    response = admin.post("/admin/rules/new", rule_form(people.aid, keywords_text=keywords), htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="keywords_text-msg"' in html
    assert f"&#34;{named}&#34;" in html or f'"{named}"' in html
    assert count(db, RoutingRule) == 0


def test_a_keyword_found_in_most_recent_tickets_is_refused_naming_it_and_the_share(admin, people, db, make_tickets):
    # 60 tickets, 30 of them "said" or "paid" something: "aid" would catch half of them
    make_tickets(30, subject="I said I paid the rent", body="")
    make_tickets(30, subject="شكوى تأخر الرد", body="")
    response = admin.post("/admin/rules/new", rule_form(people.aid, keywords_text="إعانة\naid"), htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="keywords_text-msg"' in html
    assert 'The keyword "aid" is found in 50% of the latest 60 tickets' in html
    assert "إعانة" in html  # what was typed is kept
    assert count(db, RoutingRule) == 0
    # the tester leaves it out, and says so
    data = rule_form(people.aid, keywords_text="إعانة\naid", t_kind="complaint", t_channel="phone", t_subject="I said so")
    html = admin.post("/admin/rules/test", data, htmx=True).get_data(as_text=True)
    assert "Left out" in html and "aid" in html and "Does not match the sample." in html
    # any keyword in half of them is refused; a rarer one passes
    assert admin.post("/admin/rules/new", rule_form(people.aid, keywords_text="إعانة\nrent"), htmx=True).status_code == 422
    assert admin.post("/admin/rules/new", rule_form(people.aid, keywords_text="إعانة\nتأخير")).status_code == 302
    # an inactive rule routes nothing: it may be saved (an admin can always switch a bad rule off)
    data = rule_form(people.aid, name="off", keywords_text="aid")
    del data["active"]
    assert admin.post("/admin/rules/new", data).status_code == 302
    assert count(db, RoutingRule) == 2


def test_keyword_share_up_to_thirty_percent_and_too_few_tickets_pass(admin, people, db, make_tickets):
    make_tickets(49, subject="I said so", body="")  # fewer than 50 tickets: no share is judged yet
    assert admin.post("/admin/rules/new", rule_form(people.aid, name="one", keywords_text="said")).status_code == 302
    make_tickets(116, subject="شكوى تأخر الرد", body="")  # 49 of the latest 165 = 29.7%
    assert admin.post("/admin/rules/new", rule_form(people.aid, name="two", keywords_text="said")).status_code == 302
    make_tickets(1, subject="I said so", body="")  # 50 of 166 = 30.1%
    response = admin.post("/admin/rules/new", rule_form(people.aid, name="three", keywords_text="said"), htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and '"said" is found in 31% of the latest 166 tickets' in html  # rounded up: never "30%"


def test_only_the_latest_500_tickets_are_counted(db, people, make_tickets):
    from desk.routing.service import keyword_shares

    make_tickets(3, subject="I said so", body="")
    make_tickets(50, subject="شكوى تأخر الرد", body="")
    shares = keyword_shares(db.session, ["said", "تاخر", "zzz"], latest=50)
    assert shares == {"said": (0, 50), "تاخر": (50, 50), "zzz": (0, 50)}
    # the ticket reference (in every ticket's search text) is not part of what the rules match
    year = db.session.scalar(select(Ticket.reference)).split("-")[1]  # e.g. C-1448-000001
    assert keyword_shares(db.session, [year, "c-"], latest=50) == {year: (0, 50), "c-": (0, 50)}


def test_a_rule_whose_categories_belong_to_none_of_its_kinds_is_refused(admin, people, db):
    inquiry = Category(kind="inquiry", name_ar="شروط التسجيل", name_en="Registration")
    complaint = Category(kind="complaint", name_ar="سوء التعامل", name_en="Treatment")
    db.session.add_all([inquiry, complaint])
    db.session.commit()
    data = rule_form(people.aid, kinds=["complaint", "thanks"], keywords_text="", category_ids=[str(inquiry.id)])
    response = admin.post("/admin/rules/new", data, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="category_ids-msg"' in html and "could never match" in html
    assert count(db, RoutingRule) == 0
    # one category of a chosen kind is enough; no kind chosen: any category
    for kinds, ids in ((["complaint"], [inquiry.id, complaint.id]), ([], [inquiry.id])):
        data = rule_form(people.aid, name=f"r{len(ids)}", kinds=kinds, keywords_text="", category_ids=[str(i) for i in ids])
        assert admin.post("/admin/rules/new", data).status_code == 302, (kinds, ids)


def test_rule_target_must_be_active_and_lists_valid(admin, people, db):
    people.social.active = False
    db.session.commit()
    for data, field_id in ((rule_form(people.social), "department_id"), (rule_form(people.aid, department_id=""), "department_id"),
                           (rule_form(people.aid, kinds=["bogus"]), "kinds"), (rule_form(people.aid, channels=["pigeon"]), "channels"),
                           (rule_form(people.aid, category_ids=["9999"]), "category_ids"),
                           (rule_form(people.aid, name=""), "name"), (rule_form(people.aid, position="x"), "position"),
                           (rule_form(people.aid, position="0"), "position")):
        response = admin.post("/admin/rules/new", data)
        assert response.status_code == 422, data
        assert f'id="{field_id}-msg"' in response.get_data(as_text=True), field_id
    assert count(db, RoutingRule) == 0


def _rules(db):
    db.session.expire_all()
    return [r.name for r in db.session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id))]


def test_rule_order_move_up_down_and_order_number(admin, people, db):
    for name in ("one", "two", "three"):
        assert admin.post("/admin/rules/new", rule_form(people.aid, name=name)).status_code == 302
    assert _rules(db) == ["one", "two", "three"]
    three = db.session.scalar(select(RoutingRule).where(RoutingRule.name == "three"))
    response = admin.post(f"/admin/rules/{three.id}/move", {"direction": "up"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="rules-table"')
    assert _rules(db) == ["one", "three", "two"]
    assert admin.post(f"/admin/rules/{three.id}/move", {"direction": "up"}).status_code == 302
    assert _rules(db) == ["three", "one", "two"]
    admin.post(f"/admin/rules/{three.id}/move", {"direction": "up"})  # already first: stays
    assert _rules(db) == ["three", "one", "two"]
    one = db.session.scalar(select(RoutingRule).where(RoutingRule.name == "one"))
    admin.post(f"/admin/rules/{one.id}/move", {"direction": "down"}, htmx=True)
    assert _rules(db) == ["three", "two", "one"]
    # the order number on the rule's form
    assert admin.post(f"/admin/rules/{one.id}", rule_form(people.aid, name="one", position="١")).status_code == 302
    assert _rules(db) == ["one", "three", "two"]
    assert [r.position for r in db.session.scalars(select(RoutingRule).order_by(RoutingRule.position))] == [1, 2, 3]
    # editing without an order number keeps the place; a new rule goes last
    assert admin.post(f"/admin/rules/{one.id}", rule_form(people.aid, name="one")).status_code == 302
    assert admin.post("/admin/rules/new", rule_form(people.aid, name="four", position="")).status_code == 302
    assert _rules(db) == ["one", "three", "two", "four"]
    page = admin.get("/admin/rules").get_data(as_text=True)
    assert page.index(">one<") < page.index(">three<") < page.index(">two<")


def test_deactivate_a_rule(admin, people, db):
    admin.post("/admin/rules/new", rule_form(people.aid))
    rule = db.session.scalar(select(RoutingRule))
    data = rule_form(people.aid)
    del data["active"]
    assert admin.post(f"/admin/rules/{rule.id}", data).status_code == 302
    db.session.expire_all()
    assert db.session.get(RoutingRule, rule.id).active is False


def test_tester_over_htmx_does_not_save(admin, people, db):
    admin.post("/admin/rules/new", rule_form(people.social, name="saved winner", keywords_text="السلة"))
    data = rule_form(people.aid, name="draft", keywords_text="إعانة", t_kind="complaint", t_channel="phone",
                     t_subject="تأخر صرف الاعانة والسلة", t_body="")
    response = admin.post("/admin/rules/test", data, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="rule-test-result"')
    assert "Matches the sample." in html and "اعانه" in html
    assert "saved winner" in html and "Social research" in html
    # the draft as typed does not match another sample; nothing matched: unrouted
    data.update(t_subject="شكر", t_kind="thanks")
    html = admin.post("/admin/rules/test", data, htmx=True).get_data(as_text=True)
    assert "Does not match the sample." in html and "stays in the shared queue as unrouted" in html
    # a keyword that would be refused is left out of the test, and said so
    html = admin.post("/admin/rules/test", dict(data, keywords_text="شكر\nفي"), htmx=True).get_data(as_text=True)
    assert "Left out" in html and "في" in html
    # an empty draft says so
    html = admin.post("/admin/rules/test", dict(data, kinds=[], keywords_text=""), htmx=True).get_data(as_text=True)
    assert "It has no condition yet" in html
    assert count(db, RoutingRule) == 1
    assert admin.post("/admin/rules/test", data, htmx=True, csrf=False).status_code == 400


def test_tester_without_javascript_renders_the_page_and_saves_nothing(admin, people, db):
    data = rule_form(people.aid, action="test", t_kind="complaint", t_channel="phone", t_subject="السلة الغذائية")
    response = admin.post("/admin/rules/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html and "Matches the sample." in html
    assert 'value="تأخر السلال"' in html  # the form as typed
    assert count(db, RoutingRule) == 0


def test_tester_on_a_saved_rule_tests_the_form_as_typed(admin, people, db):
    admin.post("/admin/rules/new", rule_form(people.aid, name="saved", keywords_text="السلة"))
    rule = db.session.scalar(select(RoutingRule))
    data = rule_form(people.aid, name="saved", keywords_text="دواء", t_kind="complaint", t_subject="السلة")
    html = admin.post(f"/admin/rules/test?rule={rule.id}", data, htmx=True).get_data(as_text=True)
    assert "Does not match the sample." in html  # the typed keywords, not the saved ones
    assert "the saved version of this rule" in html  # while the saved version wins
    assert db.session.get(RoutingRule, rule.id).keywords == ["السله"]


# The command line ----------------------------------------------------------------------

def test_create_department_command(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["desk", "create-department", "legal", "--name-ar", "الشؤون القانونية",
                                 "--name-en", "Legal", "--email", "legal@example.org"])
    assert result.exit_code == 0, result.output
    legal = db.session.scalar(select(Department).where(Department.code == "LEGAL"))
    assert (legal.name_ar, legal.name_en, legal.email, legal.active) == ("الشؤون القانونية", "Legal", "legal@example.org", True)
    again = runner.invoke(args=["desk", "create-department", "LEGAL", "--name-ar", "س", "--name-en", "x"])
    assert again.exit_code == 0 and "already exists" in again.output
    bad = runner.invoke(args=["desk", "create-department", "IT", "--name-ar", "التقنية", "--name-en", "IT", "--email", "nope"])
    assert bad.exit_code == 2 and "email" in bad.output
    missing = runner.invoke(args=["desk", "create-department", "IT", "--name-en", "IT"])
    assert missing.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(Department)) == 1


def test_demo_is_safe_twice_with_categories_rules_and_a_deputy(app, db):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["desk", "demo", "--tickets", "5"])
        assert result.exit_code == 0, result.output
    db.session.expire_all()
    from desk.cli import DEMO_CATEGORIES, DEMO_RULES
    from desk.models import Kind

    assert count(db, Category) == len(DEMO_CATEGORIES)
    assert {c.kind for c in db.session.scalars(select(Category))} == {k.value for k in Kind}
    assert count(db, RoutingRule) == len(DEMO_RULES)
    assert count(db, DepartmentMember, DepartmentMember.position == "deputy") >= 1
    primaries = db.session.execute(select(DepartmentMember.department_id, func.count()).where(DepartmentMember.position == "primary")
                                   .group_by(DepartmentMember.department_id)).all()
    assert primaries and all(n == 1 for _, n in primaries)
    # the demo rules route as they say: a complaint about a food basket goes to Aid
    from desk.routing.service import propose

    proposal = propose(db.session, "complaint", "phone", None, "تأخر صرف السلة الغذائية", "")
    assert proposal.department.code == "AID" and proposal.rule is not None
    admin = create_user(db.session, "a2@example.org", PASSWORD, "A", ["admin"])
    assert admin.has_role("admin")
    # the business calendar's holidays and the policy's default service levels, once each
    from desk.models import Holiday, ServiceTarget
    from desk.sla.service import DEFAULT_TARGETS

    assert count(db, ServiceTarget) == len(DEFAULT_TARGETS)
    names = [h.name_en for h in db.session.scalars(select(Holiday))]
    assert names and len(names) == len(set(zip(names, [h.first_day for h in db.session.scalars(select(Holiday))], strict=True)))
    assert any("National Day" in n for n in names)


@pytest.mark.parametrize("htmx", [False, True])
def test_every_admin_post_refuses_a_missing_csrf_token(admin, people, db, htmx):
    rule = RoutingRule(name="r", department_id=people.social.id, kinds=["complaint"], channels=[], category_ids=[], keywords=[])
    category = Category(kind="complaint", name_ar="ت", name_en="c")
    db.session.add_all([rule, category])
    db.session.commit()
    member = db.session.scalar(select(DepartmentMember).where(DepartmentMember.user_id == people.focal.id))
    d = people.social.id
    for path in ("/admin/departments/new", f"/admin/departments/{d}", f"/admin/departments/{d}/members",
                 f"/admin/departments/{d}/members/{member.id}/position", f"/admin/departments/{d}/members/{member.id}/remove",
                 "/admin/categories/new", f"/admin/categories/{category.id}", "/admin/rules/new", f"/admin/rules/{rule.id}",
                 f"/admin/rules/{rule.id}/move", "/admin/rules/test"):
        assert admin.post(path, {"code": "Z", "name_ar": "س", "name_en": "z", "position": "deputy", "direction": "down"},
                          htmx=htmx, csrf=False).status_code == 400, path
    assert count(db, DepartmentMember, DepartmentMember.id == member.id) == 1


def test_full_page_validation_for_categories_and_rules(admin, people, db):
    response = admin.post("/admin/categories/new", {"kind": "complaint", "name_ar": "", "name_en": "Typed"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in html and 'id="name_ar-msg"' in html and 'value="Typed"' in html
    response = admin.post("/admin/rules/new", rule_form(people.aid, keywords_text="في"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in html and 'id="keywords_text-msg"' in html
    assert 'value="complaint" checked' in html  # the ticked kinds are kept too
    page = admin.get("/admin/rules/new", htmx=True).get_data(as_text=True)
    assert page.lstrip().startswith('<form id="rule-form"')
    page = admin.get("/admin/categories/new", htmx=True).get_data(as_text=True)
    assert page.lstrip().startswith('<form id="category-form"')
    page = admin.get(f"/admin/departments/{people.aid.id}", htmx=True).get_data(as_text=True)
    assert page.lstrip().startswith('<form id="department-form"')
