"""What the audit trail records besides sign-ins and requests about personal data (issue 16,
point 3): refused access, document downloads, exports and reports, admin changes old → new,
beneficiary record edits wherever they happen; and the audit screen for admins and the DPO."""
from __future__ import annotations

from sqlalchemy import select

from desk import audit
from desk.models import AuditAction, AuditEntry


def _rows(db, action):
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == str(action)).order_by(AuditEntry.id)))


def test_a_ticket_one_may_not_see_is_a_404_recorded_as_refused(db, people, make_ticket, as_user):
    ticket = make_ticket()  # SOCIAL's
    browser = as_user(people.other_focal)  # AID's focal point
    assert browser.get(f"/tickets/{ticket.reference}").status_code == 404
    assert browser.get(f"/tickets/{ticket.reference}", htmx=True, headers={"HX-Target": "ticket-props"}).status_code == 404
    assert browser.get("/tickets/C-1448-999999").status_code == 404  # no such ticket: nobody's data, not recorded
    refused = _rows(db, AuditAction.ACCESS_REFUSED)
    assert [(r.actor_id, r.record_type, r.record_id, r.ticket_id) for r in refused] == [
        (people.other_focal.id, "ticket", ticket.reference, ticket.id)] * 2
    assert as_user(people.focal).get(f"/tickets/{ticket.reference}").status_code == 200
    assert len(_rows(db, AuditAction.ACCESS_REFUSED)) == 2
    assert audit.verify(db.session)[1] is None


def _admin_changes(db, record_type=None):
    return [r for r in _rows(db, AuditAction.ADMIN_CHANGE) if record_type is None or r.record_type == record_type]


def test_a_department_edit_is_recorded_old_to_new(db, people, admin):
    response = admin.post(f"/admin/departments/{people.aid.id}", {"code": "AID", "name_ar": "المساعدات والدعم",
                                                                 "name_en": "Aid and support", "active": "y"})
    assert response.status_code == 302
    [row] = _admin_changes(db, "department")
    assert (row.actor_id, row.record_id) == (people.admin.id, str(people.aid.id))
    assert row.detail == {"change": "edited", "old": {"name_ar": "المساعدات", "name_en": "Aid"},
                          "new": {"name_ar": "المساعدات والدعم", "name_en": "Aid and support"}}
    # saved again unchanged: nothing new recorded
    admin.post(f"/admin/departments/{people.aid.id}", {"code": "AID", "name_ar": "المساعدات والدعم",
                                                      "name_en": "Aid and support", "active": "y"})
    assert len(_admin_changes(db, "department")) == 1


def test_a_new_user_and_a_role_change_are_recorded(db, people, admin):
    assert admin.post("/admin/users/new", {"name": "Khalid", "email": "khalid@example.org", "locale": "en",
                                           "roles": ["staff"], "password": "another-long-password"}).status_code == 302
    created = _admin_changes(db, "user")
    assert any(r.detail["change"] == "created" and r.detail["new"]["email"] == "khalid@example.org" for r in created)
    assert not any("password_hash" in str(r.detail) for r in created)  # never a secret
    user_id = next(r.record_id for r in created if r.detail.get("new", {}).get("email") == "khalid@example.org")
    assert any(r.detail.get("what") == "user_roles" and r.record_id == user_id
               and r.detail["new"] == {"role": "staff", "user_id": int(user_id)} for r in created)
    edited = admin.post(f"/admin/users/{user_id}", {"name": "Khalid A.", "locale": "en", "roles": ["supervisor"],
                                                    "department_codes": [], "active": "y"})
    assert edited.status_code == 302
    rows = [r for r in _admin_changes(db, "user") if r.record_id == user_id]
    details = [r.detail for r in rows]
    assert {"change": "edited", "old": {"name": "Khalid"}, "new": {"name": "Khalid A."}} in details
    assert {"change": "deleted", "what": "user_roles", "old": {"role": "staff", "user_id": int(user_id)}} in details
    assert {"change": "created", "what": "user_roles", "new": {"role": "supervisor", "user_id": int(user_id)}} in details
    assert audit.verify(db.session)[1] is None


def test_calendar_and_settings_changes_are_recorded(db, people, admin):
    assert admin.post("/admin/calendar/holidays/new", {"name_ar": "اليوم الوطني", "name_en": "National Day",
                                                       "entered_as": "gregorian", "first_day": "2026-09-23",
                                                       "last_day": "2026-09-23"}).status_code == 302
    [holiday] = _admin_changes(db, "holiday")
    assert holiday.detail["change"] == "created" and holiday.detail["new"]["first_day"] == "2026-09-23"
    saved = admin.post("/admin/association", {"name_ar": "جمعية الخير", "name_en": "Al-Khair", "reopen_days": "7"},
                       content_type="multipart/form-data")
    assert saved.status_code == 303
    assert any(r.detail["new"].get("name_ar") == "جمعية الخير" for r in _admin_changes(db, "setting"))


def test_a_change_that_is_refused_leaves_no_row(db, people, admin):
    response = admin.post(f"/admin/departments/{people.aid.id}", {"code": "SOCIAL", "name_ar": "x", "name_en": "x",
                                                                 "active": "y"})
    assert response.status_code == 422
    assert _admin_changes(db) == []


def test_what_is_not_an_admins_is_not_an_admin_change(db, people, make_ticket, as_user):
    make_ticket(actor=people.staff)
    as_user(people.staff).post("/account/language", {"locale": "en"})
    assert _admin_changes(db) == []


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_a_document_download_is_recorded_without_its_name(db, people, make_ticket, as_user, app, tmp_path,
                                                          monkeypatch):
    import io

    from desk.attachments import service as attachments
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path))
    ticket = make_ticket()
    attachment = attachments.add(db.session, people.staff, ticket, attachments.Upload(
        stream=io.BytesIO(PDF), filename="هوية أحمد.pdf", description=""), directory=tmp_path, max_bytes=10**6)
    url = f"/tickets/{ticket.reference}/attachments/{attachment.id}"
    assert as_user(people.focal).get(url).status_code == 200
    assert as_user(people.other_focal).get(url).status_code == 404  # refused, not a download
    [row] = _rows(db, AuditAction.DOWNLOAD)
    assert (row.actor_id, row.record_type, row.record_id, row.ticket_id) == (
        people.focal.id, "attachment", str(attachment.id), ticket.id)
    assert "أحمد" not in str(row.detail) and row.detail["type"] == "application/pdf"
    assert len(_rows(db, AuditAction.ACCESS_REFUSED)) == 1


def test_the_report_and_its_exports_are_recorded(db, people, as_user, app, tmp_path):
    supervisor = as_user(people.supervisor)
    assert supervisor.get("/stats/export.csv?start=2026-01-01&end=2026-01-31").status_code == 200
    assert supervisor.get("/stats/export.xlsx?start=2026-01-01&end=2026-01-31").status_code == 200
    assert supervisor.get("/stats/report?start=2026-01-01&end=2026-01-31").status_code == 200
    assert as_user(people.focal).get("/stats/export.csv?start=2026-01-01&end=2026-01-31").status_code == 404
    result = app.test_cli_runner().invoke(args=["desk", "report", "--from", "2026-01-01", "--to", "2026-01-31",
                                                "--output", str(tmp_path / "r.csv"), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = _rows(db, AuditAction.EXPORT)
    assert [(r.actor, r.detail["format"]) for r in rows] == [
        ("super@example.org", "csv"), ("super@example.org", "xlsx"), ("super@example.org", "html"),
        ("cli:report", "csv")]
    assert rows[0].detail == {"format": "csv", "from": "2026-01-01", "to": "2026-01-31"}


def test_intake_completing_a_missing_national_id_is_a_record_edit(db, people, make_ticket, as_user):
    known = make_ticket(kind="inquiry").beneficiary  # on record without a national ID
    data = {"kind": "support", "channel": "phone", "subject": "طلب دعم", "body": "تفاصيل", "priority": "2",
            "department_id": "", "beneficiary_id": str(known.id), "verified": "y", "attested": "y",
            "chosen_national_id": "1000000008"}
    assert as_user(people.staff).post("/tickets/new", data).status_code == 302
    [row] = _rows(db, AuditAction.RECORD_EDITED)
    assert (row.actor_id, row.record_type, row.record_id) == (people.staff.id, "beneficiary", str(known.id))
    assert row.detail == {"field": "national_id", "old": None, "new": "1•••••••08", "at": "intake"}


# The audit screen ------------------------------------------------------------------------------

def _seed(db, people, n=3):
    for k in range(n):
        audit.record(db.session, AuditAction.REVEAL, actor=people.staff, record_type="beneficiary", record_id=7,
                     detail={"field": "national_id", "reason": "verification"})
        audit.record(db.session, AuditAction.DOWNLOAD, actor=people.focal, record_type="attachment", record_id=k)
    from desk.transaction import commit
    commit(db.session)


def test_only_admins_and_the_dpo_have_the_audit_screen(db, people, as_user):
    from desk.accounts.service import create_user
    from tests.conftest import PASSWORD
    dpo = create_user(db.session, "dpo-audit@example.org", PASSWORD, "مسؤول البيانات", ["dpo"])
    for user in (people.staff, people.supervisor, people.focal):
        browser = as_user(user)
        assert browser.get("/audit").status_code == 404
        assert browser.get("/audit/export.csv").status_code == 404
        assert browser.get("/audit/chain", htmx=True).status_code == 404
    assert as_user(dpo).get("/audit").status_code == 200
    assert as_user(people.admin).get("/audit").status_code == 200


def test_the_screen_filters_by_person_record_action_and_dates(db, people, admin):
    _seed(db, people)
    page = admin.get(f"/audit?person={people.staff.id}", htmx=True).get_data(as_text=True)
    assert page.count('class="desk-audit-row"') == 3 and "focal@example.org" not in page.split('id="audit-rows"')[1]
    page = admin.get("/audit?record=beneficiary:7&action=data.reveal", htmx=True).get_data(as_text=True)
    assert page.count('class="desk-audit-row"') == 3
    page = admin.get("/audit?action=data.download&start=2000-01-01&end=2000-12-31", htmx=True).get_data(as_text=True)
    assert page.count('class="desk-audit-row"') == 0
    from desk.text import today_riyadh
    today = today_riyadh().isoformat()
    page = admin.get(f"/audit?action=data.download&start={today}&end={today}", htmx=True).get_data(as_text=True)
    assert page.count('class="desk-audit-row"') == 3


def test_a_wrong_filter_is_said_by_its_field_and_kept(db, people, admin):
    response = admin.get("/audit?record=someone&start=٢٠٢٦-٠٢-٣٠&person=99999", htmx=True)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for name in ("record", "start", "person"):
        assert f'id="audit-{name}-msg"' in html
    assert 'value="someone"' in html
    assert admin.get("/audit/export.csv?end=tomorrow").status_code == 422


def test_a_ticket_reference_finds_what_was_done_from_it(db, people, make_ticket, as_user, admin):
    ticket = make_ticket()
    as_user(people.other_focal).get(f"/tickets/{ticket.reference}")  # refused
    page = admin.get(f"/audit?record={ticket.reference.lower()}", htmx=True).get_data(as_text=True)
    assert page.count('class="desk-audit-row"') == 1 and "focal2@example.org" in page


def test_pages_are_keyset_and_complete(db, people, admin):
    from desk.privacy import trail
    _seed(db, people, n=40)  # 80 rows and the sign-in: pages of 50 and 31
    first = admin.get("/audit", htmx=True).get_data(as_text=True)
    assert first.count('class="desk-audit-row"') == trail.PAGE
    import re
    older = re.search(r'id="audit-older" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = admin.get(older, htmx=True).get_data(as_text=True)
    assert second.count('class="desk-audit-row"') == 31 and 'id="audit-older"' not in second  # and the sign-in
    filters = trail.parse(db.session, {})
    one = trail.page(db.session, people.admin, filters, size=50)
    two = trail.page(db.session, people.admin, filters, before=one.older, size=50)
    ids = [r.id for r in one.rows + two.rows]
    assert len(set(ids)) == len(ids) == 80 + 1  # every row once, the admin's sign-in too


def test_the_export_is_the_filtered_rows_and_is_itself_recorded(db, people, admin):
    _seed(db, people)
    response = admin.get(f"/audit/export.csv?person={people.focal.id}")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    lines = response.get_data(as_text=True).lstrip("\ufeff").strip().splitlines()
    assert len(lines) == 1 + 3 and all("focal@example.org" in line for line in lines[1:])
    [export] = [r for r in _rows(db, AuditAction.EXPORT) if r.record_type == "audit_log"]
    assert export.actor_id == people.admin.id
    assert export.detail == {"filters": {"person": str(people.focal.id)}, "rows": 3, "format": "csv"}


def test_the_screen_says_whether_the_chain_holds(db, people, admin):
    _seed(db, people)
    assert "The trail is intact" in admin.get("/audit/chain", htmx=True).get_data(as_text=True)
    from sqlalchemy import update
    victim = db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()[1]
    db.session.execute(update(AuditEntry).where(AuditEntry.id == victim).values(actor="someone@else.org"))
    from desk.transaction import commit
    commit(db.session)
    html = admin.get("/audit/chain", htmx=True).get_data(as_text=True)
    assert "The trail was altered." in html and f"Row {victim}" in html
    assert "The trail was altered." in admin.get("/audit/chain").get_data(as_text=True)  # without JavaScript too


# When the trail cannot be written ----------------------------------------------------------------

def _failing_record(monkeypatch):
    from sqlalchemy.exc import OperationalError

    def fail(*args, **kwargs):
        raise OperationalError("INSERT INTO audit_log", {}, Exception("disk full"))
    monkeypatch.setattr(audit, "record", fail)


def test_an_admin_change_whose_row_cannot_be_written_is_not_saved(db, people, admin, monkeypatch):
    from desk.models import Department
    _failing_record(monkeypatch)
    response = admin.post(f"/admin/departments/{people.aid.id}", {"code": "AID", "name_ar": "المساعدات والدعم",
                                                                 "name_en": "Aid and support", "active": "y"})
    assert response.status_code >= 500
    db.session.expire_all()
    assert db.session.get(Department, people.aid.id).name_en == "Aid"  # the change went with its row


def test_no_number_is_shown_and_no_document_handed_out_unrecorded(db, people, make_ticket, as_user, app, tmp_path,
                                                                  monkeypatch):
    import io

    from desk.attachments import service as attachments
    from desk.beneficiaries.service import NewBeneficiary
    from desk.models import RoleGrant
    from desk.transaction import commit
    from tests.conftest import VALID_NID
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path))
    ticket = make_ticket(new_beneficiary=NewBeneficiary(name="هند", national_id=VALID_NID, phone="+966501234567"))
    attachment = attachments.add(db.session, people.staff, ticket, attachments.Upload(
        stream=io.BytesIO(PDF), filename="a.pdf", description=""), directory=tmp_path, max_bytes=10**6)
    db.session.add(RoleGrant(role="staff", permission="reveal.national_id"))
    commit(db.session)
    browser = as_user(people.staff)
    _failing_record(monkeypatch)
    shown = browser.post(f"/beneficiaries/{ticket.beneficiary_id}/reveal/national_id",
                         {"reveal-national_id-reason": "verification"}, htmx=True)
    assert shown.status_code >= 500 and VALID_NID not in shown.get_data(as_text=True)
    download = browser.get(f"/tickets/{ticket.reference}/attachments/{attachment.id}")
    assert download.status_code >= 500 and PDF not in download.data
