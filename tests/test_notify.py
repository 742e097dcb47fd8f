"""Who is told what: notify() writes one outbox row per recipient who wants it, in their
language, without the beneficiary's national ID or phone; and each user's preferences page."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desk.accounts.service import create_user
from desk.beneficiaries.service import NewBeneficiary
from desk.models import DepartmentMember, OutboxMessage, OutboxStatus, Position, User
from desk.notify.messages import scrub
from desk.notify.service import KINDS, department_focal_points, notify
from desk.settings import SettingsError, load
from desk.text import to_ascii_digits
from tests.conftest import PASSWORD, VALID_NID

PHONE = "+966512345678"


@pytest.fixture
def english_focal(db, people):
    return create_user(db.session, "focal-en@example.org", PASSWORD, "Fahd", ["focal"], ["SOCIAL"], locale="en")


@pytest.fixture
def ticket(make_ticket):
    return make_ticket(subject="تأخر صرف السلة الغذائية",
                       new_beneficiary=NewBeneficiary(name="أحمد محمد", national_id=VALID_NID, phone=PHONE))


def outbox(db) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_one_message_per_recipient_in_their_language(db, app, people, english_focal, ticket):
    messages = notify(db.session, "routed", ticket, [people.focal, english_focal], actor=people.staff)
    db.session.commit()
    arabic, english = messages
    assert (arabic.to_address, english.to_address) == ("focal@example.org", "focal-en@example.org")
    assert all(m.status == OutboxStatus.PENDING and m.reason == "routed" and m.ticket_id == ticket.id for m in messages)

    assert english.subject == f"[{ticket.reference}] Routed to your department: تأخر صرف السلة الغذائية"
    assert f"Ticket {ticket.reference} has been routed to your department, Social research." in english.body_text
    assert "Department: Social research" in english.body_text

    # (Words already in the Arabic catalog: the new sentences are translated when the catalogs merge.)
    # Arabic: the words first and the reference last (right to left in a mail client), the typed subject isolated
    assert arabic.subject == f"وُجِّه إلى إدارتك: \u2068تأخر صرف السلة الغذائية\u2069 [{ticket.reference}]", arabic.subject
    assert "الرقم المرجعي: " + ticket.reference in arabic.body_text and "الإدارة: البحث الاجتماعي" in arabic.body_text
    assert "Social research" not in arabic.body_text and "Reference:" not in arabic.body_text

    link = f"{app.config['DESK_BASE_URL']}/tickets/{ticket.reference}"
    assert link.startswith("http://127.0.0.1:5000/")
    for message in messages:
        assert link in message.body_text and "/account/notifications" in message.body_text


def test_the_request_language_does_not_leak_into_a_message(app, db, people, english_focal, ticket):
    with app.test_request_context(headers={"Accept-Language": "ar"}):
        (message,) = notify(db.session, "assigned", ticket, [english_focal], actor=people.staff)
    assert "Assigned to you" in message.subject
    assert f"has been assigned to you by {people.staff.name}" in message.body_text


def test_never_the_national_id_or_the_phone(db, people, english_focal, make_ticket):
    ticket = make_ticket(subject=f"طلب دعم للهوية {VALID_NID} جوال ٠٥١٢٣٤٥٦٧٨",
                         new_beneficiary=NewBeneficiary(name="أحمد محمد", national_id=VALID_NID, phone=PHONE))
    ticket.action_taken = f"اتصلنا على {PHONE} وتم الصرف"
    messages = []
    for kind in KINDS:
        messages += notify(db.session, kind, ticket, [people.focal, english_focal], actor=people.staff,
                           note=f"رقم الهوية {VALID_NID}" if kind != "resolved" else "")
    assert len(messages) == 2 * len(KINDS)
    for message in messages:
        text = message.subject + "\n" + message.body_text
        for secret in (VALID_NID, PHONE, "512345678", "0512345678", "٠٥١٢٣٤٥٦٧٨", "1000000"):
            assert secret not in text, (message.reason, text)
        assert "أحمد محمد" not in text  # nor the beneficiary's name: the reference is enough
    resolved = [m for m in messages if m.reason == "resolved"]
    assert all("وتم الصرف" in m.body_text for m in resolved)  # the action taken, its number masked


def test_scrub_masks_long_numbers_only():
    assert scrub("الهوية 1000000008 والجوال +966 51 234 5678") == "الهوية •••••• والجوال ••••••"
    assert scrub("C-1447-000123 ملف 12") == "C-1447-000123 ملف 12"  # a reference is not personal data
    assert scrub("الهوية1000000008") == "الهوية••••••" and scrub("055-123-4567") == "••••••"


@pytest.mark.parametrize("text, masked", [
    ("ID-1012345678", "ID-••••••"),                      # a letter and a dash do not make a reference
    ("N-0551234567", "N-••••••"),
    ("هوية:1012345678", "هوية:••••••"),
    ("رقم ١٠١٢٣٤٥٦٧٨ للمستفيد", "رقم •••••• للمستفيد"),  # Arabic-Indic digits
    ("جوال ۰۵۵۱۲۳۴۵۶۷", "جوال ••••••"),                 # Eastern Arabic-Indic digits
    ("جوال ٠٥٥ ١٢٣ ٤٥٦٧", "جوال ••••••"),
    ("call 055 123 4567 today", "call •••••• today"),
    ("+966 55 123 4567", "••••••"), ("00966-55-123-4567", "••••••"), ("966 55 123 4567", "••••••"),
    ("55 123 4567", "••••••"),                           # a mobile without its leading zero
    ("011 234 5678", "••••••"), ("هاتف المنزل 01 1234 5678", "هاتف المنزل ••••••"),  # a landline
    ("1 012 345 678", "••••••"), ("2-123-456-789", "••••••"),  # a national ID or an iqama, split up
    ("ملف 2 055 123 4567", "ملف 2 ••••••"),              # a phone after another number
    ("X1012345678", "X••••••"), ("1234567", "••••••"),   # any seven digits in a row
    ("C-1447-0001234567", "C-1447-••••••"),              # too many digits: not a reference
    ("C-1447-000123", "C-1447-000123"), ("(C-1447-000123)", "(C-1447-000123)"),
    ("C-1447-000123 و S-1446-000999", "C-1447-000123 و S-1446-000999"),
    ("ملف ١٢ بتاريخ 1447-03-15", "ملف ١٢ بتاريخ 1447-03-15"),  # short numbers and dates stay
    ("2024-01-15", "2024-01-15"),
])
def test_scrub_protects_only_exact_references(text, masked):
    assert scrub(text) == masked


def test_scrub_leaves_no_seven_digits_of_a_secret():
    for secret in ("1012345678", "0551234567", "٠٥٥١٢٣٤٥٦٧", "+966551234567", "055 123 4567"):
        for text in (f"ID-{secret}", f"N-{secret}", f"C-1447-000123-{secret}", f"رقم:{secret}.", f"Z-{secret}-1"):
            out = to_ascii_digits(scrub(text))
            digits = "".join(ch for ch in out if ch.isdigit())
            assert len(digits.replace("1447000123", "")) < 7, (text, out)


def test_actor_opt_out_inactive_and_no_email_are_skipped(db, people, english_focal, ticket):
    english_focal.notifications_off = ["assigned"]
    inactive = create_user(db.session, "gone@example.org", PASSWORD, "Gone", ["focal"], ["SOCIAL"])
    inactive.active = False
    db.session.commit()
    messages = notify(db.session, "assigned", ticket,
                      [people.staff, english_focal, inactive, people.focal, people.focal], actor=people.staff)
    assert [m.to_address for m in messages] == ["focal@example.org"]  # once, though listed twice
    # The opt-out is per kind: the same user still hears of a routing.
    assert [m.to_address for m in notify(db.session, "routed", ticket, [english_focal])] == ["focal-en@example.org"]


def test_notify_joins_the_callers_transaction(db, people, ticket):
    count = lambda: db.session.scalar(select(func.count()).where(OutboxMessage.reason == "resolved"))  # noqa: E731
    assert len(notify(db.session, "resolved", ticket, [people.staff], actor=people.focal, note="تم التواصل")) == 1
    assert count() == 1  # flushed in the caller's transaction …
    db.session.rollback()
    assert count() == 0  # … and gone with it: notify never commits
    with pytest.raises(ValueError):
        notify(db.session, "no-such-kind", ticket, [people.staff])


def test_department_focal_points_primary_and_deputy_first(db, people):
    deputy = create_user(db.session, "deputy@example.org", PASSWORD, "Deputy", ["focal"], ["SOCIAL"])
    member = create_user(db.session, "member@example.org", PASSWORD, "Member", ["focal"], ["SOCIAL"])
    retired = create_user(db.session, "retired@example.org", PASSWORD, "Retired", ["focal"], ["SOCIAL"])
    positions = {member.id: Position.MEMBER, deputy.id: Position.DEPUTY, people.focal.id: Position.PRIMARY}
    for row in db.session.scalars(select(DepartmentMember)):
        row.position = positions.get(row.user_id, row.position)
    retired.active = False
    db.session.commit()
    assert [u.email for u in department_focal_points(db.session, people.social.id)] == [
        "focal@example.org", "deputy@example.org", "member@example.org"]
    assert [u.email for u in department_focal_points(db.session, people.aid.id)] == ["focal2@example.org"]
    assert department_focal_points(db.session, None) == []
    # Only some positions: e.g. a reminder for the primary focal point and the deputy.
    assert [u.email for u in department_focal_points(
        db.session, people.social.id, positions=(Position.PRIMARY, Position.DEPUTY))] == [
        "focal@example.org", "deputy@example.org"]
    assert [u.email for u in department_focal_points(db.session, people.social.id, positions=[Position.MEMBER])] == [
        "member@example.org"]


def test_the_service_renders_nothing_itself():
    """Writing a message (templates, the recipient's language, the app's base URL) lives in
    desk.notify.messages; desk.notify.service is plain domain logic that calls it."""
    import ast
    import inspect

    from desk.notify import service

    imported = {alias.name for node in ast.walk(ast.parse(inspect.getsource(service)))
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    assert not imported & {"render_template", "current_app", "force_locale", "request", "g", "url_for"}


# Settings that make the links and the mail server right --------------------------------------

def _env(tmp_path, **values) -> dict:
    return {"DESK_INSTANCE_PATH": str(tmp_path), "DESK_SECRET_KEY": "k"} | values


def test_production_refuses_to_start_without_the_base_url(tmp_path, monkeypatch):
    with pytest.raises(SettingsError, match="DESK_BASE_URL"):
        load(_env(tmp_path, DESK_ENV="production"))
    config = load(_env(tmp_path, DESK_ENV="production", DESK_BASE_URL="https://desk.example.org/"))
    assert config["DESK_BASE_URL"] == "https://desk.example.org"
    assert load(_env(tmp_path))["DESK_BASE_URL"] == "http://127.0.0.1:5000"  # development keeps a default

    from desk import create_app
    for name, value in _env(tmp_path, DESK_ENV="production").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DESK_BASE_URL", raising=False)
    with pytest.raises(SettingsError, match="DESK_BASE_URL"):
        create_app()


def test_smtp_port_follows_the_tls_mode(tmp_path):
    port = lambda **env: load(_env(tmp_path, **env))["DESK_SMTP_PORT"]  # noqa: E731
    assert port() == 25 and port(DESK_SMTP_TLS="none") == 25
    assert port(DESK_SMTP_TLS="starttls") == 587 and port(DESK_SMTP_TLS="ssl") == 465
    assert port(DESK_SMTP_TLS="ssl", DESK_SMTP_PORT="2465") == 2465


def test_the_outbox_lease_outlasts_a_slow_send(tmp_path):
    config = lambda **env: load(_env(tmp_path, **env))  # noqa: E731
    assert config()["DESK_OUTBOX_LEASE_SECONDS"] == 300
    assert config(DESK_SMTP_TIMEOUT="60")["DESK_OUTBOX_LEASE_SECONDS"] == 360  # the default grows with it
    with pytest.raises(SettingsError, match="DESK_OUTBOX_LEASE_SECONDS"):
        config(DESK_OUTBOX_LEASE_SECONDS="100")  # five waits of 30 s may pass in one send
    assert config(DESK_OUTBOX_LEASE_SECONDS="100", DESK_SMTP_TIMEOUT="10")["DESK_OUTBOX_LEASE_SECONDS"] == 100


def test_the_outbox_lease_outlasts_the_slowest_channel_in_use(tmp_path):
    """Not only SMTP: a hung SMS gateway or Graph API must not outlive the lease either, once
    that channel is in use (an HTTP send may wait 8 timeouts; WhatsApp's, twice that)."""
    config = lambda **env: load(_env(tmp_path, DESK_SMTP_TIMEOUT="10", **env))  # noqa: E731
    sms = {"DESK_SMS_URL": "https://sms.example.org/send", "DESK_SMS_TIMEOUT": "60"}
    assert config(DESK_SMS_TIMEOUT="60")["DESK_OUTBOX_LEASE_SECONDS"] == 300  # no gateway: no SMS to wait on
    assert config(**sms)["DESK_OUTBOX_LEASE_SECONDS"] == 9 * 60
    with pytest.raises(SettingsError, match=r"9 × DESK_SMS_TIMEOUT \(60 s\) = 540"):
        config(DESK_OUTBOX_LEASE_SECONDS="300", **sms)
    whatsapp = {"DESK_WHATSAPP_PHONE_ID": "109876543210", "DESK_GRAPH_TIMEOUT": "30"}
    assert config(DESK_GRAPH_TIMEOUT="30")["DESK_OUTBOX_LEASE_SECONDS"] == 300
    assert config(**whatsapp)["DESK_OUTBOX_LEASE_SECONDS"] == 17 * 30
    with pytest.raises(SettingsError, match="DESK_GRAPH_TIMEOUT"):
        config(DESK_OUTBOX_LEASE_SECONDS="300", **whatsapp)
    assert config(DESK_OUTBOX_LEASE_SECONDS="600", **whatsapp, **sms)["DESK_OUTBOX_LEASE_SECONDS"] == 600

    from datetime import timedelta

    from desk.notify.outbox import OutboxSettings
    with pytest.raises(SettingsError, match="DESK_SMS_TIMEOUT"):  # the worker's own settings check it too
        OutboxSettings(lease=timedelta(seconds=300), channels={"DESK_SMS_URL": "https://sms.example.org/send",
                                                               "DESK_SMS_TIMEOUT": 40.0})


# The preferences page -----------------------------------------------------------------------

def _reload(db, user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def test_preferences_page_full_and_linked(as_user, people):
    b = as_user(people.focal)
    page = b.get("/account/notifications")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert html.count('type="checkbox" name="kinds"') == len(KINDS) and html.count(" checked") == len(KINDS)
    assert 'href="/account/notifications"' in b.get("/tickets").get_data(as_text=True)


def test_preferences_need_a_sign_in(browser):
    assert browser.get("/account/notifications").status_code == 302


def test_preferences_saved_without_javascript(as_user, people, db):
    b = as_user(people.focal)
    assert b.post("/account/notifications", {"kinds": ["routed", "assigned"]}, csrf=False).status_code == 400
    assert _reload(db, people.focal).notifications_off == []
    response = b.post("/account/notifications", {"kinds": ["routed", "assigned"]})
    assert response.status_code == 302
    assert _reload(db, people.focal).notifications_off == [k for k in KINDS if k not in ("routed", "assigned")]
    html = b.get("/account/notifications").get_data(as_text=True)
    assert 'value="routed" id="kind-routed" checked' in html and 'value="reminder" id="kind-reminder">' in html


def test_preferences_with_htmx(as_user, people, db):
    b = as_user(people.staff)
    assert b.post("/account/notifications", {"kinds": []}, htmx=True, csrf=False).status_code == 400
    response = b.post("/account/notifications", {"kinds": ["returned"]}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<form id="notification-prefs"') and 'role="status"' in html
    assert _reload(db, people.staff).notifications_off == [k for k in KINDS if k != "returned"]
    # Nothing chosen: every notification off.
    b.post("/account/notifications", {}, htmx=True)
    assert _reload(db, people.staff).notifications_off == list(KINDS)


def test_preferences_refuse_an_unknown_kind_and_keep_the_input(as_user, people, db):
    b = as_user(people.focal)
    response = b.post("/account/notifications", {"kinds": ["routed", "everything"]}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="kinds-msg"' in html
    assert 'value="routed" id="kind-routed" checked' in html and 'id="kind-assigned" checked' not in html
    assert _reload(db, people.focal).notifications_off == []  # nothing half-saved
    full = b.post("/account/notifications", {"kinds": ["everything"]})
    assert full.status_code == 422 and "<html" in full.get_data(as_text=True)


def test_preferences_page_in_english(as_user, english_focal):
    html = as_user(english_focal).get("/account/notifications").get_data(as_text=True)
    assert "A ticket is assigned to me" in html and "My notifications" in html
