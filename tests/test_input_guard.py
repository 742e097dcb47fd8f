"""Bad bytes never reach the database (issue 14): a NUL or another control character in any part
of a request the desk reads is refused before anything is written, in the reader's language and
frame, and never repeated in the log (desk.input_guard)."""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import re
from datetime import UTC, datetime, time, timedelta
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import IntegerConverter
from werkzeug.test import EnvironBuilder, run_wsgi_app

from desk.accounts.service import create_user
from desk.input_guard import bad_text, clean_text
from desk.models import (
    Appointment,
    AppointmentSlot,
    Attachment,
    Availability,
    Base,
    Beneficiary,
    RoleGrant,
    SavedReply,
    SavedView,
    SearchWords,
    Tag,
    Ticket,
    TicketEvent,
    TicketTag,
)
from desk.portal import tracking
from desk.transaction import atomic
from tests.conftest import PASSWORD, VALID_NID, Browser, count

NUL = "\x00"
# What a person may paste into a form without knowing it: NUL, a form feed, a vertical tab, DEL…
BAD = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"]
ARABIC_REFUSAL = "رموز تحكّم"  # in the Arabic page, fragment and field message
HEALTH = "مريض سكري ويحتاج إلى أنسولين"  # a health detail that must never reach the log


def rows(db) -> dict[str, int]:
    """How many rows every table holds, and the sum of the tickets' versions (a change to a
    ticket raises it), in one query."""
    db.session.expire_all()
    tables = Base.metadata.sorted_tables
    query = select(*[select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables],
                   select(func.coalesce(func.sum(Ticket.version), 0)).scalar_subquery().label("versions"))
    result = db.session.execute(query).one()
    db.session.rollback()
    return dict(zip([t.name for t in tables] + ["versions"], result, strict=True))


# The rule ------------------------------------------------------------------------------------

def test_which_characters_are_bad():
    for c in BAD + ["\ud800", "\udfff"]:
        assert bad_text(f"نص{c}نص") and clean_text(f"نص{c}نص") == "نصنص"
    for fine in ["سطر\nسطر\r\nعمود\tعمود", "emoji 😀 and ﷺ", "٠١٢٣", "\u200f\u200e", "\ufffd", "\x85"]:
        assert not bad_text(fine) and clean_text(fine) == fine


@given(st.text())
def test_clean_text_leaves_nothing_bad_and_changes_nothing_good(value):
    cleaned = clean_text(value)
    assert not bad_text(cleaned)
    assert (cleaned == value) == (not bad_text(value))
    assert all(c in value for c in cleaned)


# Every door ----------------------------------------------------------------------------------

@pytest.fixture
def demo(app, db, people):
    """The demo data (departments, users, rules, calendar, surveys, tickets): every page has rows."""
    result = app.test_cli_runner().invoke(args=["desk", "demo", "--tickets", "20"])
    assert result.exit_code == 0, result.output
    db.session.add(SearchWords(typed="شكوى، شكاوى", words="شكوي شكاوي"))  # (the migration's are cleaned away)
    db.session.commit()
    return create_user(db.session, "all@example.org", PASSWORD, "كل الأدوار",
                       ["staff", "focal", "supervisor", "admin", "committee", "manager"], ["SOCIAL"])


# The table an integer view argument names a row of.
ROWS_OF = {"holiday_id": "sla_holidays", "target_id": "sla_targets", "category_id": "categories",
           "rule_id": "routing_rules", "message_id": "outbox", "emergency_id": "emergencies", "survey_id": "surveys",
           "item_id": "survey_items", "site_id": "sites", "photo_id": "survey_photos", "attachment_id": "attachments",
           "department_id": "departments", "user_id": "users", "member_id": "department_members",
           "group_id": "search_words", "tag_id": "tags", "reply_id": "saved_replies", "view_id": "saved_views",
           "article_id": "kb_articles",
           "service_id": "aux_services", "entry_id": "training_entries",
           "appointment_id": "appointments", "availability_id": "appointment_availability"}
FIELD_NAMES = ["body", "text", "subject", "name", "reason", "reason_text", "comment", "note", "message", "description",
               "direction", "action", "version", "locale", "next", "status", "value", "kind", "channel", "email",
               "password", "phone", "reference", "q", "site_id", "tap_id", "survey_id", "kinds", "amount"]
NAME_ATTR = re.compile(r'<(?:input|textarea|select)\b[^>]*\bname="([^"]+)"')


def _nul_form(page_html: str | None, first: dict[str, int | None]) -> dict[str, str]:
    """A NUL in every field the page's forms have, and in the usual names: inside some text, or
    after a real row's id (so the view goes as far as it would with a good one)."""
    names = set(FIELD_NAMES) | set(NAME_ATTR.findall(page_html or ""))
    names -= {"csrf_token", "leave_empty"}  # (the portal's honeypot: a bot's answer, not a person's)
    return {name: f"{first[name]}{NUL}" if first.get(name) else f"x{NUL}y" for name in names}


# What a route answers instead of 400/422 to a form with a NUL, having written nothing either way.
OTHER_ANSWERS = {
    "channels.inbound_hook": {403}, "channels.whatsapp_hook": {403},  # a form is not what was signed
    "accounts.language": {302}, "accounts.logout": {302},  # a choice kept in the session; signing out
    "admin.rule_test": {200},  # the rule tester saves nothing: it shows what the rule makes of the text
    # The survey's autosave, photo and visitor counter refuse a made-up answer, file or reason
    # themselves, and go back to the survey or the counter.
    "survey.save_item_answer": {302}, "survey.add_photo": {302}, "survey.visitor_tap": {302},
    "survey.service_tap": {302},
    # Answered before their form is read: no sign-in under way (back to the sign-in page), no
    # second factor to renew or turn off, no such reset link (404).
    "accounts.second_factor": {302}, "accounts.enrol": {302},
    "accounts.new_recovery_codes": {404}, "accounts.two_factor_off": {404}, "accounts.reset_password": {404},
    # No such message in the mail quarantine (tests/test_mail_quarantine.py sends a NUL to a held one).
    "mail.take": {404}, "mail.attach": {404}, "mail.discard": {404}, "mail.decide": {404},
    # No such opt-out link: it carries the address, signed (tests/test_broadcasts.py follows a real one).
    "portal.stop": {404},
}


def test_every_route_refuses_nul_in_path_query_and_body_and_writes_nothing(app, db, demo, make_ticket):
    from desk.committee.views import STEPS as COMMITTEE_STEPS
    from desk.compensation.views import STEPS as COMPENSATION_STEPS
    from desk.disputes.views import STEPS as DISPUTE_STEPS
    from desk.tickets.service import CHANGEABLE
    from desk.tickets.views import ACTIONS

    ticket = make_ticket()
    compensation = db.session.scalar(text("SELECT reference FROM tickets WHERE kind = 'compensation' LIMIT 1"))
    dispute = make_ticket(kind="dispute").reference
    browser = Browser(app.test_client()).login(demo)
    with browser.client.session_transaction() as visit:  # the portal's pages of the ticket are open to it
        tracking.grant(visit, ticket)
    # A row for each kind of thing a route names by id: a tag on the ticket, a saved reply, a view.
    tag = Tag(name="أيتام", key="ايتام", colour="grey")
    db.session.add_all([tag, SavedReply(title="موعد الصرف", body_ar="موعد الصرف {expected_date}"),
                        SavedView(name="الهاتف", owner_id=demo.id, args=[["channel", "phone"]])])
    db.session.flush()
    db.session.add(TicketTag(ticket_id=ticket.id, tag_id=tag.id))
    # An official's availability, a slot of it and its booking (desk.appointments), linked to the ticket.
    soon = datetime.now(UTC) + timedelta(days=1)
    availability = Availability(official_id=demo.id, weekday=soon.weekday(), starts=time(9), ends=time(10), slot_minutes=30)
    db.session.add(availability)
    db.session.flush()
    slot = AppointmentSlot(official_id=demo.id, availability_id=availability.id, starts_at=soon,
                           ends_at=soon + timedelta(minutes=30))
    db.session.add(slot)
    db.session.flush()
    appointment = Appointment(slot_id=slot.id, official_id=demo.id, starts_at=soon, ends_at=slot.ends_at,
                              ticket_id=ticket.id, name="مراجع", reason="سؤال", locale="ar", status="booked")
    db.session.add(appointment)
    db.session.flush()  # (before ``first`` reads the smallest id of each table)
    with browser.client.session_transaction() as visit:  # the visitor's own booking, on the portal
        visit["appointment_grants"] = [appointment.id]
    tables = Base.metadata.tables
    first = {arg: db.session.scalar(select(func.min(tables[name].c.id))) for arg, name in ROWS_OF.items()}
    # The reveal form (desk.privacy.reveal) opens for a person with a national ID, to a role granted it.
    first["beneficiary_id"] = ticket.beneficiary_id
    db.session.get(Beneficiary, ticket.beneficiary_id).national_id = VALID_NID
    db.session.add(RoleGrant(role="staff", permission="reveal.national_id"))
    db.session.commit()
    names = {"tickets.act": {"name": next(iter(ACTIONS))}, "tickets.change": {"field": next(iter(CHANGEABLE))},
             "privacy.reveal": {"field": "national_id"},
             "committee.step": {"name": next(iter(COMMITTEE_STEPS))},
             "compensation.step": {"name": next(iter(COMPENSATION_STEPS))},
             "disputes.step": {"name": next(iter(DISPUTE_STEPS))},
             "stats.download": {"fmt": "csv"}, "static": {"filename": "css/desk.css"}}
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint == "accounts.logout", r.rule))
    before = rows(db)
    wrong: list[tuple] = []
    tried = 0

    def build(rule, bad_arg=None) -> str:
        values = {}
        for arg, converter in rule._converters.items():
            if arg == bad_arg:
                values[arg] = f"x{NUL}y"
            elif isinstance(converter, IntegerConverter):
                values[arg] = first.get(arg) or 1
            elif arg == "reference":
                values[arg] = {"compensation.step": compensation, "disputes.step": dispute}.get(rule.endpoint,
                                                                                                ticket.reference)
            else:
                values[arg] = names.get(rule.endpoint, {}).get(arg, "x")
        with app.test_request_context():
            return app.url_map.bind("localhost").build(rule.endpoint, values)

    def check(response, what, expected) -> None:
        nonlocal tried
        tried += 1
        if response.status_code not in expected:
            wrong.append((what, response.status_code))
        assert rows(db) == before, what

    for rule in rules:
        method = "GET" if "GET" in rule.methods else "POST"

        def send(url, htmx=False, method=method):
            return browser.get(url, htmx=htmx) if method == "GET" else browser.post(url, htmx=htmx)

        # A NUL in each segment a text can go in (an integer segment cannot match one: 404).
        for arg, converter in rule._converters.items():
            if not isinstance(converter, IntegerConverter):
                check(send(build(rule, arg)), f"{rule.rule} path {arg}", {400})
        url = build(rule)
        # A NUL in the query string: in a value, in a name; as a page and as an htmx fragment.
        check(send(url + "?q=a%00b"), f"{rule.rule} query value", {400})
        check(send(url + "?a%00b=c"), f"{rule.rule} query name", {400})
        check(send(url + "?q=a%00b", htmx=True), f"{rule.rule} query htmx", {400})
        if "POST" not in rule.methods:
            continue
        page = browser.get(url) if "GET" in rule.methods else None
        form = _nul_form(page.get_data(as_text=True) if page is not None and page.status_code == 200 else None, first)
        # A form comes back with the message (422); a view that would write without such a form
        # is refused (400).
        expected = {400, 422} | OTHER_ANSWERS.get(rule.endpoint, set())
        check(browser.post(url, form), f"{rule.rule} form", expected)
        check(browser.post(url, form, htmx=True), f"{rule.rule} form htmx", expected)
        check(browser.post(url, dict(form, files=(io.BytesIO(b"%PDF-1.4\x00\x01"), "a.pdf")),
                           content_type="multipart/form-data"), f"{rule.rule} multipart", expected)
        check(browser._run(browser.client.post, url, json={"body": f"x{NUL}y", "n": [{"k": "\ud800"}]},
                           headers={"X-CSRFToken": browser.token}), f"{rule.rule} json", {400})
    assert wrong == [], "\n".join(map(str, wrong))
    assert tried > 300  # every route was tried, not a handful


# The forms people type in: back with the message by the field, the text kept -----------------

@pytest.fixture
def visitor(app):
    """Someone on the portal without an account (Arabic, the portal's default)."""
    browser = Browser(app.test_client())
    browser.refresh_token("/portal/new")
    return browser


def _portal_form(**overrides) -> dict:
    return {"kind": "complaint", "name": "سارة العتيبي", "phone": "0551234567", "national_id": VALID_NID,
            "subject": "تأخر صرف الدواء", "body": f"{HEALTH}، رقم الهوية {VALID_NID}", "attested": "y"} | overrides


@pytest.mark.parametrize("bad", BAD)
def test_the_portal_form_comes_back_in_arabic_with_the_text_kept(db, visitor, bad):
    response = visitor.post("/portal/new", _portal_form(body=f"{HEALTH}{bad} منذ شهرين"),
                            content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<html lang="ar" dir="rtl">' in html and ARABIC_REFUSAL in html
    assert f"{HEALTH} منذ شهرين</textarea>" in html  # what was typed, without the character
    assert 'value="تأخر صرف الدواء"' in html and 'value="سارة العتيبي"' in html
    assert bad not in html
    assert count(db, Ticket) == 0 and count(db, Beneficiary) == 0


def test_the_portal_form_keeps_tab_and_line_breaks_and_takes_binary_documents(db, visitor):
    pdf = b"%PDF-1.4\n\x00\x01\x02\xff binary, as documents are\n%%EOF\n"
    data = _portal_form(body=f"{HEALTH}\r\nسطر ثان\tبعد مسافة")
    data["files"] = [(io.BytesIO(pdf), f"تقرير{NUL}طبي.pdf")]
    data["consent"] = "y"
    response = visitor.post("/portal/new", data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    ticket = db.session.scalar(select(Ticket))
    assert ticket.body == f"{HEALTH}\r\nسطر ثان\tبعد مسافة"
    attachment = db.session.scalar(select(Attachment))
    assert NUL not in attachment.filename and attachment.filename.endswith(".pdf")
    assert attachment.size == len(pdf)


def test_the_intake_form_comes_back_in_arabic_with_the_text_kept(db, as_user, people):
    staff = as_user(people.staff)  # reads Arabic
    data = {"kind": "complaint", "channel": "phone", "subject": f"تأخر{NUL} صرف الدواء", "body": f"{HEALTH}\x0c",
            "priority": "2", "department_id": "", "b_name": "عبدالله سعد", "b_phone": "0501234567",
            "b_national_id": VALID_NID}
    for htmx in (False, True):
        response = staff.post("/tickets/new", data, htmx=htmx)
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert ARABIC_REFUSAL in html and ('<html lang="ar"' in html) is not htmx
        assert 'value="تأخر صرف الدواء"' in html and f"{HEALTH}</textarea>" in html
    assert count(db, Ticket) == 0 and count(db, Beneficiary) == 0


def test_sign_in_and_tracking_come_back_with_the_message(db, browser, people, visitor, make_ticket):
    ticket = make_ticket()
    browser.refresh_token()
    signed = browser.post("/login", {"email": f"staff{NUL}@example.org", "password": PASSWORD})
    assert signed.status_code == 422 and ARABIC_REFUSAL in signed.get_data(as_text=True)
    assert browser.get("/tickets").status_code == 302  # not signed in
    tracked = visitor.post("/portal/track", {"reference": f"{ticket.reference}{NUL}", "phone": "0551234567"})
    assert tracked.status_code == 422 and ARABIC_REFUSAL in tracked.get_data(as_text=True)


def test_english_readers_read_english(admin, db, make_ticket):
    response = admin.post(f"/tickets/{make_ticket().reference}/comments", {"body": f"note{NUL}", "version": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "invisible control characters" in html and ARABIC_REFUSAL not in html


# The addresses, the headers, the JSON ----------------------------------------------------------

def test_a_bad_address_or_query_is_refused_in_the_readers_frame(db, as_user, people, visitor, make_ticket):
    ticket = make_ticket()
    staff = as_user(people.staff)
    for url in [f"/tickets/{ticket.reference}%00", "/tickets?q=%D8%B3%00", "/tickets?q=%ff%fe", "/tickets?q=%ED%A0%80"]:
        page = staff.get(url)
        html = page.get_data(as_text=True)
        assert page.status_code == 400 and ARABIC_REFUSAL in html and "portal-header" not in html, url
        assert "desk-nav" in html or 'id="main"' in html  # the desk's frame
    # Bytes that are not UTF-8 in the path, as a server hands them over (the test client would
    # have replaced them already): PEP 3333's latin-1 string of the raw bytes.
    for raw in (b"/tickets/\xff\xfe", b"/tickets/\xed\xa0\x80", b"/portal/t/\xc3"):
        environ = EnvironBuilder(path="/").get_environ() | {"PATH_INFO": raw.decode("latin-1")}
        body, status, _ = run_wsgi_app(visitor.client.application, environ, buffered=True)
        assert status.startswith("400"), raw
        assert ARABIC_REFUSAL in b"".join(body).decode()
    portal = visitor.get(f"/portal/t/{ticket.reference}%00")
    assert portal.status_code == 400
    assert "portal-header" in portal.get_data(as_text=True) and ARABIC_REFUSAL in portal.get_data(as_text=True)


def test_an_htmx_request_gets_a_fragment_for_the_messages(as_user, people):
    response = as_user(people.staff).get("/tickets?q=%00", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and ARABIC_REFUSAL in html and "<html" not in html
    assert response.headers["HX-Retarget"] == "#flashes" and response.headers["HX-Push-Url"] == "false"


@pytest.mark.parametrize("header", ["HX-Target", "X-CSRFToken", "X-Desk-Source"])
def test_a_header_the_desk_reads_is_checked(as_user, people, header):
    assert as_user(people.staff).get("/tickets", headers={header: f"a{NUL}b"}).status_code == 400


def test_a_form_a_view_writes_without_is_refused_at_the_commit(db, as_user, people):
    from desk.models import Site, VisitorTap
    site = Site(name_ar="المقر", name_en="Main", position=1, active=True)
    db.session.add(site)
    db.session.commit()
    staff = as_user(people.staff)
    refused = staff.post("/visitors/tap", {"site_id": str(site.id), "reason": "other", "reason_text": f"زائر{NUL}"})
    assert refused.status_code == 400 and ARABIC_REFUSAL in refused.get_data(as_text=True)
    assert count(db, VisitorTap) == 0
    fragment = staff.post("/visitors/tap", {"site_id": str(site.id), "reason": "other", "reason_text": f"زائر{NUL}"},
                          htmx=True)
    assert fragment.status_code == 400 and fragment.headers["HX-Retarget"] == "#flashes"
    assert count(db, VisitorTap) == 0
    counted = staff.post("/visitors/tap", {"site_id": str(site.id), "reason": "other", "reason_text": "زائر"})
    assert counted.status_code == 302 and count(db, VisitorTap) == 1  # the same without the character


SECRET = "inbound-secret"


def _signed(app, payload: bytes, path="/hooks/inbound", header="X-Desk-Signature", secret=SECRET, **kw):
    client = Browser(app.test_client())
    signature = "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return client._run(client.client.post, path, data=payload, headers={header: signature}, **kw)


def test_signed_webhooks_are_checked_after_escapes_and_still_verified(app, db, people, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_INBOUND_SECRET", SECRET)
    good = {"id": "form-1", "kind": "complaint", "subject": "تأخر الموعد 😀", "body": "سطر\nسطر", "name": "سعاد",
            "phone": "0551234567"}
    escaped = json.dumps(good).encode()  # ensure_ascii: Arabic as \u0627…, the emoji as a surrogate pair
    assert b"\\ud83d\\ude00" in escaped
    for content_type in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
        bad = escaped.replace(b"\\u0633\\u0639", b"\\u0633\\u0000")  # a NUL inside the name, escaped
        refused = _signed(app, bad, content_type=content_type)
        assert refused.status_code == 400 and refused.get_json() == {"error": refused.get_json()["error"]}
        lone = escaped.replace(b"\\ud83d\\ude00", b"\\ud83d")  # half an emoji: a lone surrogate
        assert _signed(app, lone, content_type=content_type).status_code == 400
    assert count(db, Ticket) == 0 and count(db, Beneficiary) == 0
    # The body the check read is the body the signature is checked over.
    assert _signed(app, escaped, secret="forged", content_type="application/json").status_code == 403
    taken = _signed(app, escaped, content_type="application/x-www-form-urlencoded")
    assert taken.status_code == 201, taken.get_data(as_text=True)
    ticket = db.session.scalar(select(Ticket))
    assert ticket.subject == "تأخر الموعد 😀" and ticket.body == "سطر\nسطر"


def test_a_signed_whatsapp_message_with_a_nul_is_refused(app, db, people, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_WHATSAPP_APP_SECRET", "app-secret")
    message = {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
               "value": {"messaging_product": "whatsapp", "contacts": [{"profile": {"name": "أحمد"}, "wa_id": "966501234567"}],
                         "messages": [{"from": "966501234567", "id": "wamid.1", "timestamp": "1", "type": "text",
                                       "text": {"body": f"{HEALTH}{NUL}"}}]}}]}]}
    response = _signed(app, json.dumps(message).encode(), path="/hooks/whatsapp", header="X-Hub-Signature-256",
                       secret="app-secret", content_type="application/json")
    assert response.status_code == 400
    assert count(db, Ticket) == 0 and count(db, TicketEvent) == 0


# The log --------------------------------------------------------------------------------------

def test_the_log_never_holds_what_was_sent(app, db, browser, people, visitor, as_user, make_ticket, caplog,
                                           monkeypatch):
    # The migrations' fileConfig (run once by the app fixture) disabled the loggers that existed
    # then, the app's among them: on again, so that whatever a request logs is seen here.
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            monkeypatch.setattr(logger, "disabled", False)
    monkeypatch.setitem(app.config, "DESK_INBOUND_SECRET", SECRET)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # a failure is logged, as in production
    ticket = make_ticket()
    secret_text = f"{HEALTH} {VALID_NID}"
    caplog.set_level(logging.DEBUG)
    visitor.post("/portal/new", _portal_form(body=f"{secret_text}{NUL}"), content_type="multipart/form-data")
    visitor.post("/portal/new", _portal_form(national_id=f"{VALID_NID}{NUL}"), content_type="multipart/form-data")
    visitor.post("/portal/track", {"reference": f"{ticket.reference}{NUL}{VALID_NID}", "phone": "0551234567"})
    visitor.get(f"/portal/t/{quote(secret_text)}%00")
    browser.refresh_token()
    browser.post("/login", {"email": f"{VALID_NID}{NUL}@example.org", "password": PASSWORD})
    staff = as_user(people.staff)
    staff.get(f"/tickets?q={quote(secret_text)}%00")
    staff.get(f"/tickets/{quote(secret_text)}%00")
    staff.post("/tickets/new", {"kind": "complaint", "channel": "phone", "subject": "s", "body": f"{secret_text}{NUL}",
                                "b_name": "عبدالله", "b_phone": "0501234567", "b_national_id": f"{VALID_NID}{NUL}"})
    _signed(app, json.dumps({"id": "f", "body": f"{secret_text}{NUL}"}).encode(), content_type="application/json")
    assert count(db, Ticket) == 1  # only the one made above
    assert "refused a request" in caplog.text and "control characters removed from the form" in caplog.text
    assert "Exception on" not in caplog.text  # no request failed
    assert VALID_NID not in caplog.text and HEALTH not in caplog.text and quote(HEALTH) not in caplog.text


def test_a_failed_statement_does_not_carry_its_values_into_the_log(db, people):
    """The engine hides parameters: a database error's message (logged with a 500, and kept as a
    channel's last error) names the statement, not the national ID or the text it carried. (A
    missing author: PostgreSQL's own detail then names only that key.)"""
    with pytest.raises(IntegrityError) as failure, atomic(db.session):
        db.session.add(Beneficiary(name=HEALTH, national_id=VALID_NID, search_name=HEALTH, created_by_id=999_999))
    assert VALID_NID not in str(failure.value) and HEALTH not in str(failure.value)
    assert "hide_parameters" in str(failure.value)


def test_every_form_is_a_desk_form(app):
    """DeskForm is what turns a removed character into a message by the field: no form goes without it."""
    from flask_wtf import FlaskForm

    from desk.forms import DeskForm

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [cls for cls in subclasses(FlaskForm) if cls.__module__.startswith("desk.")]
    assert len(ours) > 20
    assert [cls.__qualname__ for cls in ours if not issubclass(cls, DeskForm)] == []
