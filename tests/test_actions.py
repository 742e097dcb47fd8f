"""The actions on a ticket (desk.tickets.actions): take, assign within the department, ask for
missing information, refer, return, transfer, resolve, remind. Each allowed and refused per
role, 404 across departments, CSRF, htmx and full page, required texts refused with the
input kept and nothing saved, the timeline event, the notification asked for, and stale
writes refused."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from desk.accounts.service import create_user
from desk.models import DepartmentMember, Position, Status, Ticket, TicketEvent
from tests.conftest import PASSWORD


def events(db, ticket):
    db.session.expire_all()
    return db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)).all()


def fresh(db, ticket) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


@pytest.fixture
def sent(monkeypatch):
    """Records every notification the code asks for, instead of writing outbox rows."""
    calls = []

    def fake(session, kind, ticket, recipients, actor=None, note=""):
        calls.append(SimpleNamespace(kind=kind, reference=ticket.reference, recipients={u.id for u in recipients},
                                     actor=actor.id if actor else None, note=note,
                                     department=ticket.department_id))
        return []

    monkeypatch.setattr("desk.notify.service.notify", fake)
    return calls


@pytest.fixture
def new_ticket(make_ticket, sent):
    """``make_ticket``, forgetting what intake itself notified (routing), so ``sent`` holds
    only what the actions under test asked for."""
    def make(*args, **kwargs):
        ticket = make_ticket(*args, **kwargs)
        sent.clear()
        return ticket
    return make


@pytest.fixture
def colleague(db, people):
    """A second member of SOCIAL (position: member), whom the focal point may assign."""
    user = create_user(db.session, "colleague@example.org", PASSWORD, "خالد", ["focal"], ["SOCIAL"])
    db.session.execute(DepartmentMember.__table__.update()
                       .where(DepartmentMember.user_id == user.id).values(position=Position.MEMBER))
    db.session.commit()
    return user


def act(browser, ticket, name, data=None, htmx=False, version=None, **kw):
    payload = {"version": str(version if version is not None else ticket.version)}
    payload.update(data or {})
    return browser.post(f"/tickets/{ticket.reference}/actions/{name}", payload, htmx=htmx, **kw)


VALID = {
    "take": {},
    "request-info": {"message": "نرجو إرسال صورة الهوية"},
    "refer": {"note": "الإجراءات غير واضحة للمستفيد"},
    "return": {"reason": "ليست من اختصاص القسم"},
    "transfer": {"reason": "من اختصاص المساعدات"},  # department added per test (an id)
    "resolve": {"action_taken": "صُرفت السلة الغذائية"},
    "remind": {"note": "نرجو الإسراع"},
}


def valid(name, people):
    data = dict(VALID[name])
    if name == "transfer":
        data["department"] = str(people.aid.id)
    return data


# Take and assign -----------------------------------------------------------------------

@pytest.mark.parametrize("htmx", [True, False])
def test_focal_point_takes_a_ticket_of_their_department(as_user, people, new_ticket, db, sent, htmx):
    ticket = new_ticket(department_id=people.social.id)
    response = act(as_user(people.focal), ticket, "take", htmx=htmx)
    if htmx:
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "<html" not in html
        assert 'id="ticket-actions"' in html and 'id="ticket-timeline" class="card mb-3" hx-swap-oob="true"' in html
        assert "alert-success" in html
    else:
        assert response.status_code == 302 and response.headers["Location"] == f"/tickets/{ticket.reference}"
    ticket = fresh(db, ticket)
    assert ticket.assignee_id == people.focal.id and ticket.status == Status.OPEN
    kinds = [(e.kind, e.old_value, e.new_value, e.actor_id) for e in events(db, ticket)[-2:]]
    assert kinds == [("assignee", None, str(people.focal.id), people.focal.id),
                     ("status", "new", "open", people.focal.id)]
    assert sent == []  # nobody is told they took a ticket themselves


def test_staff_may_take_too_and_taking_twice_changes_nothing(as_user, people, new_ticket, db, sent):
    ticket = new_ticket()
    staff = as_user(people.staff)
    assert act(staff, ticket, "take", htmx=True).status_code == 200
    ticket = fresh(db, ticket)
    before = len(events(db, ticket))
    assert act(staff, ticket, "take", htmx=True).status_code == 200
    assert len(events(db, ticket)) == before


def test_focal_point_assigns_within_the_department_and_the_assignee_is_told(as_user, people, new_ticket, db, sent, colleague):
    ticket = new_ticket(department_id=people.social.id)
    focal = as_user(people.focal)
    page = focal.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert colleague.name in page and people.other_focal.name not in page  # only the department's members
    response = focal.post(f"/tickets/{ticket.reference}/change/assignee", {"value": str(colleague.id), "version": ticket.version}, htmx=True)
    assert response.status_code == 200
    assert fresh(db, ticket).assignee_id == colleague.id
    assert [(c.kind, c.recipients, c.actor) for c in sent] == [("assigned", {colleague.id}, people.focal.id)]
    # someone of another department is refused, with a message by the field, and nothing sent
    ticket = fresh(db, ticket)
    refused = focal.post(f"/tickets/{ticket.reference}/change/assignee", {"value": str(people.other_focal.id), "version": ticket.version}, htmx=True)
    assert refused.status_code == 422 and "invalid-feedback" in refused.get_data(as_text=True)
    assert fresh(db, ticket).assignee_id == colleague.id and len(sent) == 1


# Request information and refer -----------------------------------------------------------

def test_request_info_is_public_and_the_ticket_waits(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=people.social.id)
    response = act(as_user(people.focal), ticket, "request-info", VALID["request-info"], htmx=True)
    assert response.status_code == 200
    assert "نرجو إرسال صورة الهوية" in response.get_data(as_text=True)  # the timeline, out of band
    ticket = fresh(db, ticket)
    assert ticket.status == Status.WAITING and ticket.first_response_at is not None
    last = events(db, ticket)[-1]
    assert (last.kind, last.old_value, last.new_value, last.public, last.body, last.actor_id) == (
        "info_requested", "new", "waiting", True, "نرجو إرسال صورة الهوية", people.focal.id)


@pytest.mark.parametrize("name,field", [("request-info", "message"), ("refer", "note"), ("return", "reason"),
                                        ("transfer", "reason"), ("resolve", "action_taken")])
@pytest.mark.parametrize("htmx", [True, False])
def test_required_text_refused_and_nothing_saved(as_user, people, new_ticket, db, sent, name, field, htmx):
    ticket = new_ticket(department_id=people.social.id)
    before = (len(events(db, ticket)), ticket.version, ticket.status, ticket.department_id)
    data = valid(name, people)
    data[field] = "   "
    response = act(as_user(people.focal), ticket, name, data, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ("<html" in html) is not htmx
    assert f'id="action-{name}" open' in html                      # the form stays open
    assert f'id="action-{name}-{field}-error"' in html             # with the message by the field
    assert "desk-action-refused" not in html                        # (and not again in a summary)
    ticket = fresh(db, ticket)
    assert (len(events(db, ticket)), ticket.version, ticket.status, ticket.department_id) == before
    assert sent == []


def test_refer_records_an_internal_event_that_never_conflicts(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=people.social.id)
    stale = ticket.version
    as_user(people.staff).post(f"/tickets/{ticket.reference}/change/priority", {"value": "3", "version": stale})
    response = act(as_user(people.focal), ticket, "refer", VALID["refer"], htmx=True, version=stale)
    assert response.status_code == 200
    ticket = fresh(db, ticket)
    last = events(db, ticket)[-1]
    assert (last.kind, last.body, last.public) == ("referred", VALID["refer"]["note"], False)
    assert ticket.version == stale + 1  # only the priority change moved it


# Return and transfer -------------------------------------------------------------------

@pytest.mark.parametrize("htmx", [True, False])
def test_return_to_the_shared_queue(as_user, people, new_ticket, db, sent, htmx):
    ticket = new_ticket(department_id=people.social.id)
    focal = as_user(people.focal)
    act(focal, ticket, "take")
    ticket = fresh(db, ticket)
    response = act(focal, ticket, "return", VALID["return"], htmx=htmx)
    if htmx:  # the focal point can no longer see it: sent to their queue
        assert response.status_code == 200 and response.headers["HX-Redirect"] == "/tickets"
    else:
        assert response.status_code == 302 and response.headers["Location"] == "/tickets"
    ticket = fresh(db, ticket)
    assert ticket.department_id is None and ticket.assignee_id is None
    returned, unassigned = events(db, ticket)[-2:]
    assert (returned.kind, returned.old_value, returned.new_value, returned.body, returned.actor_id) == (
        "returned", str(people.social.id), None, VALID["return"]["reason"], people.focal.id)
    assert (unassigned.kind, unassigned.old_value, unassigned.new_value) == ("assignee", str(people.focal.id), None)
    assert [(c.kind, c.recipients, c.note) for c in sent] == [("returned", {people.staff.id}, VALID["return"]["reason"])]
    # the next page they see (where htmx sends them) says it is done, and the ticket is not there
    queue = focal.get("/tickets").get_data(as_text=True)
    assert "alert-success" in queue and ticket.reference not in queue
    # gone from the focal point's sight, through every door
    assert focal.get(f"/tickets/{ticket.reference}").status_code == 404
    assert focal.get(f"/tickets/{ticket.reference}", htmx=True, headers={"HX-Target": "ticket-actions"}).status_code == 404
    assert act(focal, ticket, "take", htmx=True).status_code == 404


def test_return_of_an_unrouted_ticket_is_refused(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=None)
    before = len(events(db, ticket))
    response = act(as_user(people.staff), ticket, "return", VALID["return"], htmx=True)
    assert response.status_code == 422 and "desk-action-refused" in response.get_data(as_text=True)
    assert sent == [] and len(events(db, ticket)) == before


def test_transfer_to_another_department(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=people.social.id)
    focal = as_user(people.focal)
    act(focal, ticket, "take")
    ticket = fresh(db, ticket)
    response = act(focal, ticket, "transfer", valid("transfer", people), htmx=True)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/tickets"
    ticket = fresh(db, ticket)
    assert ticket.department_id == people.aid.id and ticket.assignee_id is None
    moved = [e for e in events(db, ticket) if e.kind == "transferred"]
    assert [(e.old_value, e.new_value, e.body) for e in moved] == [(str(people.social.id), str(people.aid.id), VALID["transfer"]["reason"])]
    assert [(c.kind, c.recipients, c.department) for c in sent] == [("routed", {people.other_focal.id}, people.aid.id)]
    assert focal.get(f"/tickets/{ticket.reference}").status_code == 404
    # the new department's focal point sees it, and its timeline names both departments
    html = as_user(people.other_focal).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert people.social.name_ar in html and people.aid.name_ar in html


def test_staff_transfer_keeps_sight_and_re_renders_in_place(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=people.social.id)
    response = act(as_user(people.staff), ticket, "transfer", valid("transfer", people), htmx=True)
    assert response.status_code == 200 and "HX-Redirect" not in response.headers
    assert 'id="ticket-actions"' in response.get_data(as_text=True)


@pytest.mark.parametrize("case", ["same", "inactive", "none"])
def test_transfer_refused_with_the_message_by_the_field_and_the_reason_kept(as_user, people, new_ticket, db, sent, case):
    ticket = new_ticket(department_id=people.social.id)
    if case == "inactive":
        people.aid.active = False
        db.session.commit()
    target = {"same": str(people.social.id), "inactive": str(people.aid.id), "none": ""}[case]
    before = len(events(db, ticket))
    response = act(as_user(people.staff), ticket, "transfer", {"department": target, "reason": "سبب مكتوب بعناية"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="action-transfer" open' in html and "سبب مكتوب بعناية" in html
    assert 'class="form-select form-select-sm mb-2 is-invalid"' in html
    ticket = fresh(db, ticket)
    assert ticket.department_id == people.social.id and len(events(db, ticket)) == before and sent == []


# Resolve --------------------------------------------------------------------------------

@pytest.mark.parametrize("htmx", [True, False])
def test_resolve_with_the_action_taken(as_user, people, new_ticket, db, sent, htmx):
    ticket = new_ticket(department_id=people.social.id)
    response = act(as_user(people.focal), ticket, "resolve", VALID["resolve"], htmx=htmx)
    assert response.status_code == (200 if htmx else 302)
    ticket = fresh(db, ticket)
    assert ticket.status == Status.RESOLVED and ticket.resolved_at is not None
    assert ticket.action_taken == VALID["resolve"]["action_taken"]
    last = events(db, ticket)[-1]
    assert (last.kind, last.old_value, last.new_value, last.body) == ("resolved", "new", "resolved", VALID["resolve"]["action_taken"])
    assert [(c.kind, c.recipients) for c in sent] == [("resolved", {people.staff.id})]  # the staff member who recorded it
    page = as_user(people.focal).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "/actions/resolve" not in page  # no actions on a resolved ticket, only reopening


@pytest.mark.parametrize("creator", ["supervisor", "admin"])
def test_resolve_tells_the_creator_who_works_the_shared_queue(as_user, people, new_ticket, db, sent, creator):
    """Whoever recorded the ticket is told if they hold any queue role (staff, supervisor, admin)."""
    ticket = new_ticket(actor=getattr(people, creator), department_id=people.social.id)
    assert act(as_user(people.focal), ticket, "resolve", VALID["resolve"], htmx=True).status_code == 200
    assert [(c.kind, c.recipients) for c in sent] == [("resolved", {getattr(people, creator).id})]


def test_resolve_tells_nobody_without_a_creator_in_the_queue_roles(as_user, people, new_ticket, db, sent):
    from desk.models import UserRole
    website = new_ticket(department_id=people.social.id)
    website.created_by_id = None  # e.g. from the website form: nobody recorded it
    former = new_ticket(department_id=people.social.id)
    db.session.execute(UserRole.__table__.delete().where(UserRole.user_id == people.staff.id))
    db.session.add(UserRole(user_id=people.staff.id, role="focal"))  # no longer intake staff
    db.session.commit()
    focal = as_user(people.focal)
    for ticket in (website, former):
        assert act(focal, fresh(db, ticket), "resolve", VALID["resolve"], htmx=True).status_code == 200
    assert sent == []


def test_resolving_a_resolved_ticket_is_refused(as_user, people, new_ticket, db, sent):
    ticket = new_ticket()
    staff = as_user(people.staff)
    act(staff, ticket, "resolve", VALID["resolve"])
    ticket = fresh(db, ticket)
    before = len(events(db, ticket))
    response = act(staff, ticket, "resolve", {"action_taken": "مرة ثانية"}, htmx=True)
    assert response.status_code == 422
    assert len(events(db, ticket)) == before


@pytest.mark.parametrize("htmx", [True, False])
def test_the_status_list_leads_to_the_resolve_form(as_user, people, new_ticket, db, sent, htmx):
    ticket = new_ticket()
    before = len(events(db, ticket))
    response = as_user(people.staff).post(f"/tickets/{ticket.reference}/change/status",
                                          {"value": "resolved", "version": ticket.version}, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="action-resolve" open' in html and 'id="action-resolve-action_taken"' in html
    if htmx:
        assert 'id="ticket-actions" class="card mb-3" hx-swap-oob="true"' in html
    ticket = fresh(db, ticket)
    assert ticket.status == Status.NEW and len(events(db, ticket)) == before


def test_reopen_then_resolve_again_needs_a_new_action_taken(as_user, people, new_ticket, db, sent):
    ticket = new_ticket()
    staff = as_user(people.staff)
    act(staff, ticket, "resolve", VALID["resolve"])
    ticket = fresh(db, ticket)
    staff.post(f"/tickets/{ticket.reference}/change/status", {"value": "open", "version": ticket.version})
    ticket = fresh(db, ticket)
    assert ticket.status == Status.OPEN and ticket.resolved_at is None
    assert act(staff, ticket, "resolve", {"action_taken": "اتصلنا مرة أخرى"}).status_code == 302
    assert fresh(db, ticket).action_taken == "اتصلنا مرة أخرى"


# Remind (from the ticket page) ------------------------------------------------------------

def test_staff_reminds_the_focal_points_of_a_ticket(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=people.social.id)
    response = act(as_user(people.supervisor), ticket, "remind", {"note": ""}, htmx=True)
    assert response.status_code == 200
    last = events(db, ticket)[-1]
    assert (last.kind, last.actor_id, last.body) == ("reminder", people.supervisor.id, None)
    assert fresh(db, ticket).version == ticket.version  # a reminder never makes an open form stale
    assert [(c.kind, c.recipients) for c in sent] == [("reminder", {people.focal.id})]


def test_remind_an_unrouted_ticket_is_refused(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=None)
    response = act(as_user(people.staff), ticket, "remind", {"note": "x"}, htmx=True)
    assert response.status_code == 422 and sent == []


# Who may do what --------------------------------------------------------------------------

ACTIONS = list(VALID)


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("htmx", [True, False])
def test_focal_point_gets_404_for_another_departments_ticket(as_user, people, new_ticket, db, sent, name, htmx):
    ticket = new_ticket(department_id=people.aid.id)
    before = (len(events(db, ticket)), ticket.version)
    response = act(as_user(people.focal), ticket, name, valid(name, people), htmx=htmx)
    assert response.status_code == 404
    ticket = fresh(db, ticket)
    assert (len(events(db, ticket)), ticket.version) == before and sent == []


@pytest.mark.parametrize("name", ACTIONS)
def test_focal_point_gets_404_for_an_unrouted_ticket(as_user, people, new_ticket, db, sent, name):
    ticket = new_ticket(department_id=None)
    assert act(as_user(people.focal), ticket, name, valid(name, people)).status_code == 404


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("role", ["staff", "supervisor", "admin", "focal"])
def test_each_action_allowed_or_refused_per_role(as_user, people, new_ticket, db, sent, name, role):
    ticket = new_ticket(department_id=people.social.id)
    response = act(as_user(getattr(people, role)), ticket, name, valid(name, people), htmx=True)
    refused = role == "focal" and name == "remind"  # follow-up is for the queue roles
    assert response.status_code == (403 if refused else 200), response.get_data(as_text=True)[:300]
    kinds = [e.kind for e in events(db, ticket)]
    expected = {"take": "assignee", "request-info": "info_requested", "refer": "referred", "return": "returned",
                "transfer": "transferred", "resolve": "resolved", "remind": "reminder"}[name]
    assert (expected in kinds) is not refused


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("htmx", [True, False])
def test_actions_without_csrf_are_refused(as_user, people, new_ticket, db, sent, name, htmx):
    ticket = new_ticket(department_id=people.social.id)
    before = len(events(db, ticket))
    response = act(as_user(people.staff), ticket, name, valid(name, people), htmx=htmx, csrf=False)
    assert response.status_code == 400
    assert len(events(db, ticket)) == before and sent == []


def test_unknown_action_is_404(as_user, people, new_ticket):
    ticket = new_ticket()
    assert act(as_user(people.staff), ticket, "delete").status_code == 404


def test_ticket_page_shows_only_the_actions_allowed(as_user, people, new_ticket):
    ticket = new_ticket(department_id=people.social.id)
    focal = as_user(people.focal).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    for name in ("take", "request-info", "refer", "return", "transfer", "resolve"):
        assert f"/actions/{name}" in focal, name
    assert "/actions/remind" not in focal
    staff = as_user(people.staff).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "/actions/remind" in staff
    # the actions panel is its own htmx fragment too
    fragment = as_user(people.focal).get(f"/tickets/{ticket.reference}", htmx=True, headers={"HX-Target": "ticket-actions"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert 'id="ticket-actions"' in fragment.get_data(as_text=True)


def test_no_inline_script_in_the_actions(as_user, people, new_ticket):
    import re
    ticket = new_ticket(department_id=people.social.id)
    html = as_user(people.staff).get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert not re.search(r"\son[a-z]+=", html) and "<script>" not in html


# Two people, one ticket -------------------------------------------------------------------

def test_stale_resolve_is_refused_with_what_changed_and_the_text_kept(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=people.social.id)
    loaded = ticket.version
    as_user(people.staff).post(f"/tickets/{ticket.reference}/change/priority", {"value": "4", "version": loaded}, htmx=True)
    focal = as_user(people.focal)
    response = act(focal, ticket, "resolve", {"action_taken": "نص الإجراء المتخذ بعناية"}, htmx=True, version=loaded)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "desk-conflict" in html and "سارة" in html            # who changed what
    assert "نص الإجراء المتخذ بعناية" in html and 'id="action-resolve" open' in html
    ticket = fresh(db, ticket)
    assert ticket.status == Status.NEW and ticket.action_taken is None and sent == []
    assert f'name="version" value="{ticket.version}"' in html    # submitting again, after reading, works
    again = act(focal, ticket, "resolve", {"action_taken": "نص الإجراء المتخذ بعناية"}, htmx=True)
    assert again.status_code == 200 and fresh(db, ticket).status == Status.RESOLVED


def test_stale_transfer_full_page_is_refused(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=people.social.id)
    loaded = ticket.version
    as_user(people.staff).post(f"/tickets/{ticket.reference}/change/priority", {"value": "4", "version": loaded})
    response = act(as_user(people.focal), ticket, "transfer", valid("transfer", people), version=loaded)
    assert response.status_code == 409 and "<html" in response.get_data(as_text=True)
    assert fresh(db, ticket).department_id == people.social.id and sent == []


def test_english_labels(as_user, people, new_ticket):
    ticket = new_ticket(department_id=people.social.id)
    focal = as_user(people.focal)
    focal.post("/language", {"locale": "en"})
    html = focal.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "Return to the shared queue" in html and "Action taken" in html


# Closing without the action taken (review #1) ----------------------------------------------

def status_options(html):
    import re
    select = re.search(r'<select[^>]*id="change-status"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="(\w+)"', select)


@pytest.mark.parametrize("start", [Status.NEW, Status.OPEN, Status.WAITING])
@pytest.mark.parametrize("htmx", [True, False])
def test_a_focal_point_cannot_close_an_unresolved_ticket_the_resolve_form_opens(as_user, people, new_ticket, db, sent,
                                                                              start, htmx):
    ticket = new_ticket(department_id=people.social.id)
    db.session.execute(Ticket.__table__.update().where(Ticket.id == ticket.id).values(status=start))
    db.session.commit()
    ticket = fresh(db, ticket)
    before = (len(events(db, ticket)), ticket.version)
    focal = as_user(people.focal)
    assert "closed" not in status_options(focal.get(f"/tickets/{ticket.reference}").get_data(as_text=True))
    response = focal.post(f"/tickets/{ticket.reference}/change/status", {"value": "closed", "version": ticket.version},
                          htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="action-resolve" open' in html and "invalid-feedback" in html  # resolve, with the action taken
    ticket = fresh(db, ticket)
    assert (ticket.status, ticket.resolved_at, ticket.closed_at) == (start, None, None)
    assert (len(events(db, ticket)), ticket.version) == before and sent == []


def test_a_focal_point_closes_a_resolved_ticket(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=people.social.id)
    focal = as_user(people.focal)
    act(focal, ticket, "resolve", VALID["resolve"])
    ticket = fresh(db, ticket)
    resolved_at = ticket.resolved_at
    assert "closed" in status_options(focal.get(f"/tickets/{ticket.reference}").get_data(as_text=True))
    response = focal.post(f"/tickets/{ticket.reference}/change/status", {"value": "closed", "version": ticket.version},
                          htmx=True)
    assert response.status_code == 200
    ticket = fresh(db, ticket)
    assert ticket.status == Status.CLOSED and ticket.closed_at is not None
    assert ticket.resolved_at == resolved_at and ticket.action_taken == VALID["resolve"]["action_taken"]


@pytest.mark.parametrize("role", ["staff", "supervisor", "admin"])
def test_queue_roles_close_an_unresolved_ticket_which_was_not_resolved(as_user, people, new_ticket, db, sent, role):
    """A duplicate or spam: closed without being resolved, so no resolved_at, no action taken,
    no RESOLVED event and no "resolved" email; reopening works as ever."""
    ticket = new_ticket(department_id=people.social.id)
    user = as_user(getattr(people, role))
    assert "closed" in status_options(user.get(f"/tickets/{ticket.reference}").get_data(as_text=True))
    response = user.post(f"/tickets/{ticket.reference}/change/status", {"value": "closed", "version": ticket.version},
                         htmx=True)
    assert response.status_code == 200
    ticket = fresh(db, ticket)
    assert ticket.status == Status.CLOSED and ticket.closed_at is not None
    assert ticket.resolved_at is None and ticket.action_taken is None
    assert [(e.kind, e.old_value, e.new_value) for e in events(db, ticket)][-1] == ("status", "new", "closed")
    assert sent == []
    user.post(f"/tickets/{ticket.reference}/change/status", {"value": "open", "version": ticket.version}, htmx=True)
    ticket = fresh(db, ticket)
    assert (ticket.status, ticket.closed_at, ticket.resolved_at) == (Status.OPEN, None, None)


# One move function (review #7) --------------------------------------------------------------

@pytest.fixture
def both(db, people):
    """A focal point who serves SOCIAL and AID."""
    user = create_user(db.session, "both@example.org", PASSWORD, "ريم", ["focal"], ["SOCIAL", "AID"])
    return user


def test_transfer_keeps_an_assignee_who_serves_the_target_department(as_user, people, new_ticket, db, sent, both):
    ticket = new_ticket(department_id=people.social.id)
    user = as_user(both)
    act(user, ticket, "take")
    act(user, fresh(db, ticket), "transfer", valid("transfer", people), htmx=True)
    ticket = fresh(db, ticket)
    assert (ticket.department_id, ticket.assignee_id) == (people.aid.id, both.id)
    assert "assignee" not in [e.kind for e in events(db, ticket)][-1:]


def test_transfer_clears_an_intake_staff_assignee(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=people.social.id)
    staff = as_user(people.staff)
    act(staff, ticket, "take")
    act(staff, fresh(db, ticket), "transfer", valid("transfer", people), htmx=True)
    ticket = fresh(db, ticket)
    assert (ticket.department_id, ticket.assignee_id) == (people.aid.id, None)
    assert [(e.kind, e.new_value) for e in events(db, ticket)][-2:] == [("transferred", str(people.aid.id)),
                                                                          ("assignee", None)]


def test_return_always_clears_the_assignee(as_user, people, new_ticket, db, sent, both):
    ticket = new_ticket(department_id=people.social.id)
    user = as_user(both)
    act(user, ticket, "take")
    act(user, fresh(db, ticket), "return", VALID["return"], htmx=True)
    ticket = fresh(db, ticket)
    assert (ticket.department_id, ticket.assignee_id) == (None, None)


def test_routing_an_unrouted_ticket_from_the_department_list(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=None)
    response = as_user(people.staff).post(f"/tickets/{ticket.reference}/change/department",
                                          {"value": str(people.social.id), "version": ticket.version}, htmx=True)
    assert response.status_code == 200
    ticket = fresh(db, ticket)
    assert ticket.department_id == people.social.id
    last = events(db, ticket)[-1]
    assert (last.kind, last.old_value, last.new_value, last.reason, last.body, last.actor_id) == (
        "routed", None, str(people.social.id), "staff", None, people.staff.id)
    assert [(c.kind, c.recipients) for c in sent] == [("routed", {people.focal.id})]


def test_the_focal_point_cannot_use_the_department_list(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=people.social.id)
    response = as_user(people.focal).post(f"/tickets/{ticket.reference}/change/department",
                                          {"value": str(people.aid.id), "version": ticket.version}, htmx=True)
    assert response.status_code == 403
    assert fresh(db, ticket).department_id == people.social.id


def test_move_ticket_in_the_service(db, people, new_ticket, sent):
    from desk.models import EventKind, utcnow
    from desk.tickets.service import move_ticket
    ticket = new_ticket(department_id=None)
    event = move_ticket(db.session, people.admin, ticket, people.aid, kind=EventKind.ROUTED, reason_code="staff",
                        at=utcnow(), tell=False)
    db.session.commit()
    assert (event.kind, event.old_value, event.new_value, event.reason, event.body) == (
        "routed", None, str(people.aid.id), "staff", None)
    assert fresh(db, ticket).department_id == people.aid.id and sent == []


def _deactivate(admin, department, move_to):
    data = {"code": department.code, "name_ar": department.name_ar, "name_en": department.name_en, "move_to": move_to}
    return admin.post(f"/admin/departments/{department.id}", data, htmx=True)


def test_deactivation_tells_the_target_department_once(as_user, people, new_ticket, db, sent, both):
    tickets = [new_ticket(department_id=people.aid.id) for _ in range(3)]
    sent.clear()
    response = _deactivate(as_user(people.admin), people.aid, str(people.social.id))
    assert response.status_code == 200
    moved = [fresh(db, t) for t in tickets]
    assert {t.department_id for t in moved} == {people.social.id}
    for t in moved:
        [event] = [e for e in events(db, t) if e.kind == "transferred"]
        assert (event.reason, event.body) == (f"deactivated:{people.aid.id}", None)
    # one email per focal point of the target for the whole deactivation, naming the first ticket
    assert [(c.kind, c.reference, c.recipients) for c in sent] == [
        ("routed", tickets[0].reference, {people.focal.id, both.id})]
    note = sent[0].note
    assert "٣" in note and "3" not in note and people.aid.name_ar in note


def test_deactivation_note_is_in_each_focal_points_language(as_user, people, new_ticket, db, sent, both):
    from desk.models import User
    db.session.get(User, both.id).locale = "en"
    db.session.commit()
    new_ticket(department_id=people.aid.id)
    new_ticket(department_id=people.aid.id)
    sent.clear()
    assert _deactivate(as_user(people.admin), people.aid, str(people.social.id)).status_code == 200
    by_recipient = {tuple(c.recipients): c.note for c in sent}
    assert set(by_recipient) == {(people.focal.id,), (both.id,)}  # once each
    assert by_recipient[(both.id,)].startswith("The department Aid was deactivated: 2 open tickets")
    assert people.aid.name_ar in by_recipient[(people.focal.id,)] and "طلبان مفتوحان" in by_recipient[(people.focal.id,)]


def test_deactivation_to_the_shared_queue_tells_nobody(as_user, people, new_ticket, db, sent):
    ticket = new_ticket(department_id=people.aid.id)
    assert _deactivate(as_user(people.admin), people.aid, "unrouted").status_code == 200
    ticket = fresh(db, ticket)
    assert ticket.department_id is None and sent == []
    assert events(db, ticket)[-1].reason == f"deactivated:{people.aid.id}"


# Reason codes on the timeline ---------------------------------------------------------------

@pytest.fixture
def coded(db, people, new_ticket):
    """A ticket whose timeline carries each reason code, and a rule and a category deleted since."""
    from desk.models import Category, EventKind, RoutingRule, utcnow
    from desk.tickets.service import record
    rule = RoutingRule(name="قاعدة السلال", department_id=people.social.id, keywords=["سلة"])
    gone_rule = RoutingRule(name="قاعدة محذوفة", department_id=people.social.id)
    category = Category(kind="complaint", name_ar="تأخر الصرف", name_en="Late payment", default_department_id=people.social.id)
    gone_category = Category(kind="complaint", name_ar="تصنيف محذوف", name_en="Deleted category")
    db.session.add_all([rule, gone_rule, category, gone_category])
    db.session.flush()
    ticket = new_ticket(department_id=None)
    now = utcnow()
    for code in (f"rule:{rule.id}", f"category:{category.id}", "staff", f"deactivated:{people.aid.id}",
                 f"rule:{gone_rule.id}", f"category:{gone_category.id}"):
        record(db.session, ticket, people.staff, EventKind.ROUTED, new=people.social.id, reason=code, at=now)
    db.session.delete(gone_rule)
    db.session.delete(gone_category)
    db.session.commit()
    return ticket


def test_reason_codes_are_described_for_each_reader(as_user, people, coded):
    import re
    staff = as_user(people.staff)
    ar = staff.get(f"/tickets/{coded.reference}").get_data(as_text=True)
    staff.post("/language", {"locale": "en"})
    en = staff.get(f"/tickets/{coded.reference}").get_data(as_text=True)
    reasons_en = re.findall(r'<span class="desk-reason">([^<]*)</span>', en)
    # The first: the receipt at intake (no email, and no SMS gateway in the tests).
    assert reasons_en[0] == "Not sent: no email or mobile to send it to"
    reasons_en, ar = reasons_en[1:], ar.split('<span class="desk-reason">', 2)[2]
    assert reasons_en == ["Proposed by rule «قاعدة السلال»", "Default department of category «Late payment»",
                          "Chosen by staff", "Department «Aid» was deactivated",
                          "Proposed by a routing rule since deleted", "Default department of a category since deleted"]
    reasons_ar = re.findall(r'<span class="desk-reason">([^<]*)</span>', '<span class="desk-reason">' + ar)
    assert len(reasons_ar) == 6 and "تأخر الصرف" in reasons_ar[1] and people.aid.name_ar in reasons_ar[3]
    assert not any(code in ar for code in ("rule:", "category:", "deactivated:"))


def test_reason_names_cost_one_query_per_kind(db, people, coded):
    from sqlalchemy import event as sa_event

    from desk.tickets.service import describe_reasons, timeline
    codes = [e.reason for e in timeline(db.session, coded)] * 20  # many events, the same few queries
    statements = []
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    sa_event.listen(db.engine, "before_cursor_execute", listener)
    try:
        texts = describe_reasons(db.session, codes, "en")
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 3  # rules, categories, departments
    assert texts["staff"] == "Chosen by staff"


# Reminder feedback (review #9) ---------------------------------------------------------------

@pytest.mark.parametrize("htmx", [True, False])
def test_the_reminder_says_how_many_were_emailed(as_user, people, make_ticket, db, htmx):
    from desk.accounts.service import create_user
    create_user(db.session, "deputy@example.org", PASSWORD, "هند", ["focal"], ["SOCIAL"])
    ticket = make_ticket(department_id=people.social.id)  # the real notifications: outbox rows
    staff = as_user(people.staff)
    staff.post("/language", {"locale": "en"})
    response = act(staff, ticket, "remind", {"note": ""}, htmx=htmx)
    html = (response if htmx else staff.get(f"/tickets/{ticket.reference}")).get_data(as_text=True)
    assert "The reminder is recorded; focal points to be emailed: 2." in html


def test_the_reminder_says_when_nobody_could_be_emailed(as_user, people, make_ticket, db):
    from desk.models import User
    db.session.get(User, people.focal.id).notifications_off = ["reminder"]
    db.session.commit()
    ticket = make_ticket(department_id=people.social.id)
    staff = as_user(people.staff)
    staff.post("/language", {"locale": "en"})
    html = act(staff, ticket, "remind", {"note": ""}, htmx=True).get_data(as_text=True)
    assert "nobody could be emailed" in html
    assert events(db, ticket)[-1].kind == "reminder"  # recorded all the same


def test_a_second_reminder_within_the_hour_is_refused(as_user, people, new_ticket, db, sent):
    """A double click, or two supervisors at once, must not nudge the focal points twice."""
    ticket = new_ticket()
    supervisor = as_user(people.supervisor)
    assert act(supervisor, ticket, "remind", {"note": ""}, htmx=True).status_code == 200
    again = act(as_user(people.staff), ticket, "remind", {"note": "مرة أخرى"}, htmx=True)
    assert again.status_code == 422
    assert "less than an hour ago" in again.get_data(as_text=True) or "أقل من ساعة" in again.get_data(as_text=True)
    events = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                          TicketEvent.kind == "reminder")).all()
    assert len(events) == 1 and len(sent) == 1


def test_asking_for_information_needs_a_way_to_reach_the_beneficiary(as_user, people, new_ticket, db):
    """QA: an anonymous website ticket was set "waiting" for an answer that could never come."""
    ticket = new_ticket()
    ticket.anonymous, ticket.beneficiary = True, None
    ticket.access_key_hash = None  # recorded by staff, as anonymous: no receipt, so no tracking link
    db.session.commit()
    response = act(as_user(people.focal), ticket, "request-info", {"message": "أرسل صورة الهوية"}, htmx=True)
    assert response.status_code == 422
    assert fresh(db, ticket).status != Status.WAITING


def test_asking_again_while_waiting_is_refused(as_user, people, new_ticket, db):
    ticket = new_ticket()
    focal = as_user(people.focal)
    assert act(focal, ticket, "request-info", {"message": "أرسل صورة الهوية"}, htmx=True).status_code == 200
    again = act(focal, fresh(db, ticket), "request-info", {"message": "وأيضًا عقد الإيجار"}, htmx=True)
    assert again.status_code == 422
    assert "وأيضًا عقد الإيجار" in again.get_data(as_text=True)  # what was typed is kept
