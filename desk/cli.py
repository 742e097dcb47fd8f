"""``flask --app wsgi desk …``: demo data, users, bulk generation."""
from __future__ import annotations

import time
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from desk.demo import DEMO_DEPARTMENTS
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.maintenance import refresh_statistics
from desk.models import Department, Role, ServiceTarget, User, utcnow
from desk.schema import SchemaNotCurrent, require_current
from desk.transaction import commit


@click.group("desk", cls=AppGroup)
@with_appcontext
def desk_cli() -> None:
    """The desk's own commands."""
    # Every one of them reads or writes the tables: like a desk starting (desk.schema), none
    # runs in production on a database the migrations have not brought to their head.
    # (`flask db …`, Flask-Migrate's own group, is what brings it there, and is never refused.)
    try:
        require_current(current_app, refused="The command will not run")
    except SchemaNotCurrent as refused:
        raise click.ClickException(str(refused)) from None


def refuse(failed: ValidationFailed, names: dict[str, str] | None = None) -> NoReturn:
    """A refused command: each message by its field (or the option ``names`` gives), exit 2."""
    for field, messages in failed.errors.items():
        for message in messages:
            click.echo(f"{(names or {}).get(field, field)}: {message}", err=True)
    raise SystemExit(2)


DEMO_PASSWORD = "desk-demo-2026"  # noqa: S105 - the demo users' published password (README)
# email, name, roles, departments
DEMO_USERS = [
    ("admin@demo.desk.sa", "مدير النظام", [Role.ADMIN], []),
    ("supervisor@demo.desk.sa", "نورة القحطاني", [Role.SUPERVISOR], []),
    ("staff@demo.desk.sa", "سارة العتيبي", [Role.STAFF], []),
    ("staff2@demo.desk.sa", "Omar Haddad", [Role.STAFF], []),
    ("social@demo.desk.sa", "فهد الدوسري", [Role.FOCAL], ["SOCIAL"]),
    ("aid@demo.desk.sa", "منى الشهري", [Role.FOCAL], ["AID"]),
    ("health@demo.desk.sa", "خالد الزهراني", [Role.FOCAL], ["HEALTH"]),
    ("edu@demo.desk.sa", "ريم الحربي", [Role.FOCAL], ["EDU", "VOL"]),
    ("finance@demo.desk.sa", "عبدالله المطيري", [Role.FOCAL, Role.STAFF], ["FIN"]),
    ("committee@demo.desk.sa", "د. سلمان العنزي", [Role.COMMITTEE], []),
    ("manager@demo.desk.sa", "م. عبدالرحمن السبيعي", [Role.GENERAL_MANAGER], []),
]


# Categories (تصنيفات) per kind: (kind, Arabic, English, default department code or None).
DEMO_CATEGORIES = [
    ("complaint", "تأخر صرف المساعدات", "Delay in aid", "AID"),
    ("complaint", "سوء التعامل", "Poor treatment", "SOCIAL"),
    ("complaint", "الخدمات الصحية", "Health services", "HEALTH"),
    ("inquiry", "شروط التسجيل", "Registration conditions", "SOCIAL"),
    ("inquiry", "مواعيد الصرف", "Disbursement dates", "AID"),
    ("inquiry", "التطوع", "Volunteering", "VOL"),
    ("inquiry", "الدورات التدريبية", "Training courses", "EDU"),
    ("suggestion", "تحسين الخدمات", "Improving services", None),
    ("support", "سلة غذائية", "Food basket", "AID"),
    ("support", "سداد إيجار", "Rent payment", "FIN"),
    ("support", "علاج وأدوية", "Treatment and medicine", "HEALTH"),
    ("compensation", "تعويض مالي", "Financial compensation", "FIN"),
    ("dispute", "خلاف مع موظف", "Dispute with an employee", "SOCIAL"),
    ("thanks", "شكر وتقدير", "Thanks and appreciation", None),
]
# Routing rules, tried in this order: (name, kinds, channels, keywords, department code).
DEMO_RULES = [
    ("طلبات التعويض إلى المالية", ["compensation"], [], [], "FIN"),
    ("خدمة التطوع", [], ["volunteer"], [], "VOL"),
    ("تأخر السلال والمساعدات", ["complaint", "inquiry"], [], ["تأخر الصرف", "السلة الغذائية", "سلة غذائية", "المساعدة المالية"], "AID"),
    ("العلاج والأدوية", [], [], ["علاج", "دواء", "أدوية", "مستشفى"], "HEALTH"),
    ("الإيجار والفواتير", ["support", "complaint"], [], ["إيجار", "فاتورة", "سداد"], "FIN"),
    ("التدريب والتعليم", [], [], ["دورة تدريبية", "تدريب", "منحة دراسية"], "EDU"),
]
# Extra focal-point positions: (user email, department code, position). Every demo focal
# point is the primary of their own department(s); these add deputies for absences.
DEMO_POSITIONS = [
    ("finance@demo.desk.sa", "AID", "deputy"),
    ("social@demo.desk.sa", "HEALTH", "deputy"),
]


def ensure_department(code: str, name_ar: str, name_en: str, email: str | None = None,
                      phone_ext: str | None = None) -> Department:
    department = db.session.scalar(select(Department).where(Department.code == code))
    if department is None:
        department = Department(code=code, name_ar=name_ar, name_en=name_en, email=email, phone_ext=phone_ext)
        db.session.add(department)
        commit(db.session)
    return department


@desk_cli.command("init")
def init_command() -> None:
    """What a new installation needs after `db upgrade`: the official holidays of this Hijri
    year and the next (as proposals to confirm when announced), the working time with six
    Ramadan hours, and the policy's survey items and auxiliary services if their lists are empty
    (the migrations insert them), and the policy's service levels when there are none. Safe to run again: what exists, or an admin changed, is kept."""
    from desk.kb.seeds import ensure_seed_articles
    from desk.sla.service import ensure_official_holidays, ensure_ramadan_hours
    from desk.survey.service import ensure_default_items, ensure_default_services
    ensure_default_items(db.session)
    ensure_default_services(db.session)
    hours = ensure_ramadan_hours(db.session)
    added = ensure_official_holidays(db.session)
    click.echo(f"Calendar ready: {added} official holidays proposed"
               f"{', working time saved with Ramadan hours 10:00-16:00' if hours else ''}.")
    articles = ensure_seed_articles(db.session)
    click.echo(f"Knowledge base: {articles} articles from the policy added and published.")
    # The policy's service levels on a fresh installation (without them no ticket had a due
    # time until an admin typed targets); once any target exists, the admin's list is theirs.
    from desk.sla.service import ensure_default_targets
    if db.session.scalar(select(ServiceTarget.id).limit(1)) is None:
        click.echo(f"Service levels: {ensure_default_targets(db.session)} targets from the policy added.")


@desk_cli.command("demo")
@click.option("--tickets", default=300, show_default=True, help="How many tickets, if there are none yet.")
def demo(tickets: int) -> None:
    """Load demo departments, users and tickets. Safe to run twice: what exists is kept."""
    from desk.accounts.service import create_user
    from desk.demo.generator import generate
    from desk.models import Ticket

    for code, name_ar, name_en, email, ext in DEMO_DEPARTMENTS:
        ensure_department(code, name_ar, name_en, email, ext)
    for email, name, roles, departments in DEMO_USERS:
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            create_user(db.session, email, DEMO_PASSWORD, name, [str(r) for r in roles], departments)
    _demo_routing()
    _demo_portal()
    # The business calendar and the policy's default service levels (issue 5, first layer).
    from desk.sla.service import ensure_default_targets, ensure_official_holidays, ensure_ramadan_hours
    ensure_default_targets(db.session)
    ensure_ramadan_hours(db.session)
    from datetime import timedelta

    from desk.text import today_riyadh
    ensure_official_holidays(db.session, today_riyadh() - timedelta(days=365))  # last year's too, for the old demo tickets
    ensure_official_holidays(db.session)
    from desk.kb.seeds import ensure_seed_articles
    ensure_seed_articles(db.session, "cli:demo")  # the policy's articles: rights, guides, the staff's tools
    if db.session.scalar(select(Ticket.id).limit(1)) is None:
        generate(db.session, tickets, seed=2026, now=None)
    from desk.sla.tickets import apply_due_times_to_open
    apply_due_times_to_open(db.session)  # open tickets without due times get them
    from desk.survey import demo as survey_demo
    from desk.survey.service import ensure_default_items, ensure_default_services
    ensure_default_items(db.session)
    ensure_default_services(db.session)
    survey_demo.load(db.session)  # sites, a fortnight of field surveys and visitor counts (issue 8)
    from desk.training import demo as training_demo
    training_demo.load(db.session)  # a few courses in the training log (issue 20)
    from desk.stats.rollup import catch_up
    catch_up(db.session, today_riyadh())  # the statistics' roll-ups up to yesterday
    refresh_statistics(db.session)
    click.echo(f"Demo data ready. Every demo user's password: {DEMO_PASSWORD}")


# The portal's contact directory: (department code, focal point's title in Arabic, in English).
DEMO_DIRECTORY = [
    ("SOCIAL", "ضابط اتصال البحث الاجتماعي", "Social research focal point"),
    ("AID", "ضابط اتصال المساعدات والدعم", "Aid and support focal point"),
    ("HEALTH", "ضابط اتصال الشؤون الصحية", "Health affairs focal point"),
    ("EDU", "ضابط اتصال التعليم والتدريب", "Education and training focal point"),
    ("VOL", "ضابط اتصال التطوع", "Volunteering focal point"),
]


def _demo_portal() -> None:
    """The association's public profile and the published directory (issue 6), once."""
    from desk.models import Association
    if db.session.get(Association, 1) is None:
        from flask import current_app
        db.session.add(Association(
            id=1, name_ar=current_app.config["DESK_ASSOCIATION_NAME"], name_en=current_app.config["DESK_ASSOCIATION_NAME_EN"],
            phone="920000000", whatsapp="+966 55 000 0000", email="care@demo.desk.sa", website="demo.desk.sa",
            address_ar="الرياض، حي الملز، شارع الجامعة", address_en="Al-Malaz, Al-Jamiah Street, Riyadh",
            working_hours_ar="الأحد إلى الخميس، ٨ صباحًا – ٤ مساءً", working_hours_en="Sunday to Thursday, 8 am – 4 pm",
            show_staff_names=False, reopen_days=14))
        for code, title_ar, title_en in DEMO_DIRECTORY:
            department = db.session.scalar(select(Department).where(Department.code == code))
            if department is not None:
                department.published, department.contact_title_ar, department.contact_title_en = True, title_ar, title_en
        commit(db.session)


def _demo_routing() -> None:
    """Deputies, categories and routing rules; what already exists (by name) is kept."""
    from desk.models import Category, DepartmentMember, Position, RoutingRule
    from desk.routing.service import parse_keywords

    codes = {d.code: d for d in db.session.scalars(select(Department))}
    for email, code, position in DEMO_POSITIONS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None or code not in codes:
            continue
        member = db.session.scalar(select(DepartmentMember).where(
            DepartmentMember.user_id == user.id, DepartmentMember.department_id == codes[code].id))
        if member is None:
            db.session.add(DepartmentMember(user_id=user.id, department_id=codes[code].id, position=Position(position)))
    existing = set(db.session.execute(select(Category.kind, Category.name_ar)).all())
    for i, (kind, name_ar, name_en, default_code) in enumerate(DEMO_CATEGORIES):
        if (kind, name_ar) not in existing:
            default = codes.get(default_code) if default_code else None
            db.session.add(Category(kind=kind, name_ar=name_ar, name_en=name_en, position=i + 1,
                                    default_department_id=default.id if default else None))
    names = set(db.session.scalars(select(RoutingRule.name)))
    last = db.session.scalar(select(func.max(RoutingRule.position))) or 0
    for name, kinds, channels, keywords, code in DEMO_RULES:
        if name not in names and code in codes:
            last += 1
            db.session.add(RoutingRule(name=name, position=last, kinds=kinds, channels=channels, category_ids=[],
                                       keywords=parse_keywords("\n".join(keywords)), department_id=codes[code].id))
    commit(db.session)


@desk_cli.command("create-department")
@click.argument("code")
@click.option("--name-ar", required=True, help="The Arabic name.")
@click.option("--name-en", required=True, help="The English name.")
@click.option("--email", default=None, help="The department's email address.")
@click.option("--phone-ext", default=None, help="Its phone extension.")
def create_department_command(code: str, name_ar: str, name_en: str, email: str | None, phone_ext: str | None) -> None:
    """Create a department (scripted set-up). An existing CODE is left as it is."""
    from desk.admin.service import DepartmentData, create_department

    existing = db.session.scalar(select(Department).where(Department.code == code.strip().upper()))
    if existing is not None:
        click.echo(f"Department {existing.code} already exists; nothing changed.")
        return
    try:
        department = create_department(db.session, DepartmentData(code, name_ar, name_en, email, phone_ext))
    except ValidationFailed as failed:
        refuse(failed)
    click.echo(f"Created department {department.code} ({department.name_en}).")


@desk_cli.command("create-user")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="", help="Display name (defaults to the email).")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]), help="Repeat for several roles.")
@click.option("--department", "departments", multiple=True, help="Department code (focal points).")
@click.option("--locale", default="ar", type=click.Choice(["ar", "en"]))
def create_user_command(email, password, name, roles, departments, locale) -> None:
    """Create a user with one or more roles."""
    from desk.accounts.service import create_user

    try:
        user = create_user(db.session, email, password, name, list(roles), list(departments), locale)
    except ValidationFailed as failed:
        refuse(failed)
    click.echo(f"Created {user.email} ({', '.join(sorted(user.roles))}).")


@desk_cli.command("generate")
@click.option("--tickets", "n", type=int, required=True, help="How many tickets to add.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--batch", type=int, default=5000, show_default=True)
def generate_command(n: int, seed: int, batch: int) -> None:
    """Add N realistic tickets in bulk (for benchmarks): every channel and kind, three years of dates."""
    from desk.demo.generator import generate

    started = time.perf_counter()

    def progress(done: int) -> None:
        click.echo(f"  {done:,} / {n:,} tickets ({time.perf_counter() - started:.0f} s)")

    made = generate(db.session, n, seed=seed, batch=batch, progress=progress)
    from desk.stats.rollup import catch_up
    from desk.text import today_riyadh
    rolled = time.perf_counter()
    # Generated tickets reach three years back: the roll-ups are made again from the first day,
    # else the statistics page would count years of tickets live (1.4 s at 100,000).
    catch_up(db.session, today_riyadh(), full=True)
    click.echo(f"  statistics rolled up in {time.perf_counter() - rolled:.1f} s")
    refresh_statistics(db.session)
    click.echo(f"Generated {made:,} tickets in {time.perf_counter() - started:.1f} s.")


@desk_cli.command("reindex-search")
@click.option("--after", type=int, default=0, show_default=True,
              help="Start after this ticket id (the last id a stopped run printed).")
@click.option("--batch", type=int, default=2000, show_default=True)
def reindex_search_command(after: int, batch: int) -> None:
    """Write every ticket's and beneficiary's search text again with today's normaliser and
    stemmer (after an upgrade that changed them). Each batch is committed: a run that stops
    goes on with --after <the last id it printed>."""
    from desk.tickets.search import reindex, repair_index
    from desk.transaction import commit

    started = time.perf_counter()

    def progress(last_id: int) -> None:
        commit(db.session)
        click.echo(f"  tickets up to id {last_id:,} ({time.perf_counter() - started:.0f} s)")

    done = reindex(db.session.connection, after=after, batch=batch, progress=progress)
    commit(db.session)
    if repair_index(db.session):
        click.echo("The search index a bulk load left unfinished was rebuilt.")
    refresh_statistics(db.session)
    click.echo(f"Search text rewritten for {done:,} tickets in {time.perf_counter() - started:.1f} s.")


@desk_cli.command("analyze")
def analyze_command() -> None:
    """Refresh the query planner's statistics. On SQLite run it daily (cron): SQLite never
    gathers them by itself, and without them the queue reads far more rows than it shows."""
    started = time.perf_counter()
    refresh_statistics(db.session)
    click.echo(f"Statistics refreshed in {time.perf_counter() - started:.1f} s.")


@desk_cli.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--interval", type=float, default=10.0, show_default=True,
              help="Seconds to wait when nothing is due.")
def worker_command(once: bool, interval: float) -> None:
    """Deliver the outbox over SMTP (DESK_SMTP_*), with retries and backoff, and fetch the media
    WhatsApp messages named (desk.channels.media). Several workers may run at once on
    PostgreSQL; run one on SQLite. SIGTERM finishes the current batch."""
    import logging
    import signal
    import threading

    from flask import current_app

    from desk.channels.media import MediaSettings, fetch_due
    from desk.notify.outbox import OutboxSettings, run

    def fetch_media() -> int:
        result = fetch_due(db.session, media)
        if result.claimed:
            logging.getLogger("desk.channels.media").info("%s", result)
        return result.claimed

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        settings = OutboxSettings.from_config(current_app.config)
        media = MediaSettings.from_config(current_app.config)
        total = run(db.session, settings, once=once, interval=interval, should_stop=stop.is_set, sleep=stop.wait,
                    also=fetch_media)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"Outbox worker stopped: {total}.")


@desk_cli.command("sla-sweep")
def sla_sweep_command() -> None:
    """Mark resolution breaches and escalations, record their events and notify (focal points,
    then supervisors after DESK_SLA_ESCALATE_AFTER_HOURS). Idempotent; run it every minute
    (cron, systemd timer); two at once never mark a ticket twice. Exit 0 whether or not
    anything breached."""
    from datetime import timedelta

    from flask import current_app

    from desk.sla.service import ensure_official_holidays
    from desk.sla.tickets import remind_unconfirmed_holidays, sweep

    started = time.perf_counter()
    hours = current_app.config["DESK_SLA_ESCALATE_AFTER_HOURS"]
    result = sweep(db.session, escalate_after=timedelta(hours=hours))
    # The calendar rolls forward by itself: next year's official holidays appear as proposals
    # (the next sweep moves the due times they touch), and the supervisors hear of one still
    # unconfirmed a month before it.
    added = ensure_official_holidays(db.session)
    reminded, _queued = remind_unconfirmed_holidays(db.session, utcnow())
    if added or reminded:
        click.echo(f"Official holidays: {added} proposed, {reminded} unconfirmed reminded.")
    pending = " (more at the next sweep)" if result.recompute_pending else ""
    click.echo(f"SLA sweep: {result.recomputed} due times recomputed{pending}, {result.first_response} unanswered past "
               f"first-response time, {result.breached} breached, {result.escalated} escalated, "
               f"{result.notified} notifications queued ({time.perf_counter() - started:.2f} s).")


@desk_cli.command("appointments-remind")
def appointments_remind_command() -> None:
    """Appointments with officials (desk.appointments): queue the day-before reminder of every
    booked appointment of tomorrow not reminded yet, and generate the bookable slots of the
    coming weeks from the officials' availability. Idempotent (a reminder is never sent twice,
    a slot never made twice); run it hourly or daily."""
    from desk.appointments.service import generate_slots, remind

    reminded = remind(db.session)
    added = generate_slots(db.session)
    click.echo(f"Appointments: {reminded} reminders queued, {added} slots added.")


@desk_cli.command("fetch-mail")
@click.option("--once", is_flag=True, help="Fetch each mailbox once, then exit (for cron).")
@click.option("--interval", type=float, default=60.0, show_default=True, help="Seconds between passes.")
def fetch_mail_command(once: bool, interval: float) -> None:
    """Take in new email from every mailbox in DESK_MAILBOXES (desk/channels/imap.py): tickets,
    replies on their tickets, noise ignored, each message exactly once. SIGTERM ends the loop."""
    import logging
    import signal
    import threading

    from flask import current_app

    from desk.channels.imap import mailboxes, run
    from desk.settings import SettingsError

    try:
        if not mailboxes(current_app.config["DESK_MAILBOXES"]):
            click.echo("No mailbox is configured (DESK_MAILBOXES): nothing to fetch.")
            return
    except SettingsError as error:
        click.echo(str(error), err=True)
        raise SystemExit(2) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        run(db.session, current_app.config, once=once, interval=interval, should_stop=stop.is_set,
            sleep=stop.wait, echo=click.echo)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@desk_cli.command("import-mail")
@click.option("--channel", "channel", default=None,
              help="The mailbox (its name in DESK_MAILBOXES) whose settings apply: kind, department, acknowledgement.")
def import_mail_command(channel: str | None) -> None:
    """Take in one email read from standard input (an MTA's pipe transport, or a saved message
    fed again) through the same pipeline as fetch-mail (desk/channels/pipe.py). Exit 0 when it
    was taken, quarantined or ignored by rule; 75 (EX_TEMPFAIL) when the database cannot be
    reached, so the mail server keeps it; 65 (EX_DATAERR) for input that is not a message."""
    import sys

    from flask import current_app

    from desk.channels import pipe, service
    from desk.channels.imap import mailboxes
    from desk.settings import SettingsError

    try:
        boxes = {box.name: box for box in mailboxes(current_app.config["DESK_MAILBOXES"])}
    except SettingsError as error:
        click.echo(str(error), err=True)
        raise SystemExit(pipe.EX_TEMPFAIL) from None  # a configuration to fix: the MTA keeps the message
    if channel is not None and channel not in boxes:
        click.echo(f"No mailbox is named {channel!r} in DESK_MAILBOXES.", err=True)
        raise SystemExit(pipe.EX_TEMPFAIL)
    box = boxes.get(channel) if channel else None
    mailbox = box.intake() if box is not None else service.Mailbox(channel or "import-mail")
    raw = sys.stdin.buffer.read(int(current_app.config["DESK_MAIL_MAX_MB"] * 1024 * 1024) + 1)
    if len(raw) > current_app.config["DESK_MAIL_MAX_MB"] * 1024 * 1024:
        click.echo(f"The message is larger than DESK_MAIL_MAX_MB ({current_app.config['DESK_MAIL_MAX_MB']:g} MB).", err=True)
        raise SystemExit(pipe.EX_DATAERR)
    code, said = pipe.import_one(db.session, raw, mailbox, current_app.config, box.department if box else None)
    click.echo(said, err=code != pipe.EX_OK)
    raise SystemExit(code)


@desk_cli.command("sweep-files")
@click.option("--older-than", "hours", type=float, default=24.0, show_default=True,
              help="Leave alone files younger than this many hours (an upload may be under way).")
@click.option("--dry-run", is_flag=True, help="Say what would be done, change nothing.")
def sweep_files_command(hours: float, dry_run: bool) -> None:
    """Finish what a crash left in the stored files: rename committed uploads into place, remove
    files no row names, and list rows whose file is missing (exit 1 if any). Run it daily."""
    from datetime import timedelta

    from flask import current_app

    from desk.files import sweep

    report = sweep(db.session, current_app.config, older_than=timedelta(hours=hours), dry_run=dry_run)
    verb = "would be" if dry_run else "were"
    missing = 0
    for store, swept in report.items():
        click.echo(f"{store}: {len(swept.recovered)} {verb} renamed into place, {len(swept.removed)} {verb} "
                   f"removed, {len(swept.missing)} missing")
        for name in swept.missing:
            click.echo(f"  missing: {name}", err=True)
        missing += len(swept.missing)
    if missing:
        raise SystemExit(1)


@desk_cli.command("backup")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The archive to write, e.g. /var/backups/desk/desk-2026-05-01.tar.")
@click.option("--overwrite", is_flag=True, help="Replace a file already at --output.")
def backup_command(output: Path, overwrite: bool) -> None:
    """Write one archive (mode 0600: it holds personal data) with the database and every stored
    file, and a manifest to check them by. Safe while the desk runs. See README, "Backups"."""
    from flask import current_app

    from desk import backup

    started = time.perf_counter()
    try:
        result = backup.backup(db.session, current_app.config, output, overwrite=overwrite)
    except ValidationFailed as failed:
        refuse(failed, {"output": "--output"})
    except backup.BackupError as error:
        click.echo(f"Backup failed, nothing written: {error}", err=True)
        raise SystemExit(1) from None
    if result.manifest.missing_files:
        click.echo(f"Warning: {len(result.manifest.missing_files)} stored files named by the database were not on disk "
                   f"(they are not in the backup): {', '.join(result.manifest.missing_files[:10])}", err=True)
    click.echo(f"Backup written to {result.path} ({result.size / 1024 / 1024:,.1f} MB): "
               f"{backup.describe(result.manifest)}, in {time.perf_counter() - started:.1f} s.")


@desk_cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Empty a database and stored-file folders that are not empty first: what they hold is lost.")
def restore_command(archive: Path, force: bool) -> None:
    """Restore a backup into this desk's (empty) database and stored-file folders, then check
    every table's row count and every file's SHA-256 against the backup's manifest. Stop the
    desk, its workers and cron jobs first."""
    from flask import current_app

    from desk import backup

    try:
        result = backup.restore(db.session, current_app.config, archive, force=force)
    except ValidationFailed as failed:
        refuse(failed)
    except backup.BackupError as error:
        click.echo(f"Restore failed: {error}", err=True)
        raise SystemExit(1) from None
    click.echo(f"Restored from {archive} and checked against its manifest: {backup.describe(result.manifest)}.")
    if [result.manifest.alembic_revision] != result.code_revisions:
        click.echo(f"The backup's schema is at revision {result.manifest.alembic_revision}; this code's migrations "
                   f"are at {', '.join(result.code_revisions)}: run `flask --app wsgi db upgrade` before starting the desk.")


@desk_cli.command("verify-backup")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_backup_command(archive: Path) -> None:
    """Check an archive against its manifest (every member's size and SHA-256) without restoring
    it: for each copy kept off the machine."""
    from desk import backup

    try:
        manifest = backup.verify_archive(archive)
    except backup.BackupError as error:
        click.echo(f"Verification failed: {error}", err=True)
        raise SystemExit(1) from None
    click.echo(f"{archive} matches its manifest: a {manifest.dialect} backup of {backup.describe(manifest)}.")


@desk_cli.command("sweep-submissions")
@click.option("--older-than", "hours", type=float, default=24.0, show_default=True,
              help="Forget forms used more than this many hours ago.")
def sweep_submissions_command(hours: float) -> None:
    """Forget the one-time tokens of forms used long ago (desk.submissions): a form sent again
    within the window gets its first answer back; after it, the token is unknown. Run it daily."""
    from datetime import timedelta

    from desk.submissions import sweep

    if hours < 1:
        click.echo("--older-than: at least 1 hour (a form may be sent again a while after the first time).",
                   err=True)
        raise SystemExit(2)
    removed = sweep(db.session, older_than=timedelta(hours=hours))
    click.echo(f"Form tokens: {removed} older than {hours:g} h forgotten.")


@desk_cli.command("sweep-sessions")
def sweep_sessions_command() -> None:
    """Forget signed-in sessions that can no longer be used and password-reset links past
    their time (a day on). Run it daily."""
    from datetime import timedelta

    from flask import current_app

    from desk.accounts.sessions import sweep

    ended, links = sweep(db.session, absolute=timedelta(hours=current_app.config["DESK_SESSION_HOURS"]))
    click.echo(f"Sessions: {ended} ended or expired forgotten; reset links: {links} expired forgotten.")


@desk_cli.command("audit-verify")
def audit_verify_command() -> None:
    """Check the audit trail's hash chain from its first row to its last: exit 1 and name the first
    row that was deleted, edited or inserted out of turn."""
    from desk import audit

    checked, broken = audit.verify(db.session)
    if broken is not None:
        click.echo(f"The audit trail is broken at row {broken.entry_id}: {broken.reason} "
                   f"({checked} rows before it hold).", err=True)
        raise SystemExit(1)
    click.echo(f"The audit trail holds: {checked} rows, each chained to the one before.")


def register(app: Flask) -> None:
    from desk.privacy.cli import retention_command
    from desk.stats.cli import report_command, stats_rollup_command
    desk_cli.add_command(retention_command)
    desk_cli.add_command(stats_rollup_command)
    desk_cli.add_command(report_command)
    app.cli.add_command(desk_cli)
