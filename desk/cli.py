"""``flask --app wsgi desk …``: demo data, users, bulk generation."""
from __future__ import annotations

import time

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import Department, Role, User

desk_cli = AppGroup("desk", help="The desk's own commands.")

DEMO_PASSWORD = "desk-demo-2026"
DEMO_DEPARTMENTS = [
    ("SOCIAL", "البحث الاجتماعي", "Social research", "social@demo.desk.sa", "201"),
    ("AID", "المساعدات والدعم", "Aid and support", "aid@demo.desk.sa", "202"),
    ("HEALTH", "الشؤون الصحية", "Health affairs", "health@demo.desk.sa", "203"),
    ("EDU", "التعليم والتدريب", "Education and training", "edu@demo.desk.sa", "204"),
    ("FIN", "الشؤون المالية", "Finance", "finance@demo.desk.sa", "205"),
    ("VOL", "التطوع", "Volunteering", "volunteer@demo.desk.sa", "206"),
]
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
]


def ensure_department(code: str, name_ar: str, name_en: str, email: str | None = None,
                      phone_ext: str | None = None) -> Department:
    department = db.session.scalar(select(Department).where(Department.code == code))
    if department is None:
        department = Department(code=code, name_ar=name_ar, name_en=name_en, email=email, phone_ext=phone_ext)
        db.session.add(department)
        db.session.commit()
    return department


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
    if db.session.scalar(select(Ticket.id).limit(1)) is None:
        generate(db.session, tickets, seed=2026, now=None)
    click.echo(f"Demo data ready. Every demo user's password: {DEMO_PASSWORD}")


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
        for field, messages in failed.errors.items():
            for message in messages:
                click.echo(f"{field}: {message}", err=True)
        raise SystemExit(2)
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
    click.echo(f"Generated {made:,} tickets in {time.perf_counter() - started:.1f} s.")


def register(app: Flask) -> None:
    app.cli.add_command(desk_cli)
