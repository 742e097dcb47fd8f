"""Users: creation, authentication and the language preference."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from desk.errors import ValidationFailed
from desk.models import Department, DepartmentMember, Position, Role, User, UserRole, utcnow
from desk.transaction import commit

MIN_PASSWORD = 10
# Compared against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    user.last_login_at = utcnow()
    commit(session)
    return user


def load_session_user(session: Session, session_id: str) -> User | None:
    """Flask-Login's loader: ``"<id>:<session_version>"``; an old version is signed out."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    # One query per request for the signed-in user, roles and departments (not three).
    user = session.get(User, int(user_id), options=[joinedload(User.role_rows), joinedload(User.memberships)])
    if user is None or user.session_version != int(version) or not user.active:
        return None
    return user


def password_errors(password: str | None) -> dict[str, list]:
    """The one password rule (for new users and for resets), as errors by field."""
    if len(password or "") < MIN_PASSWORD:
        return {"password": [_l("The password must be at least %(n)s characters.", n=MIN_PASSWORD)]}
    return {}


def create_user(session: Session, email: str, password: str, name: str, roles: list[str],
                department_codes: list[str] | None = None, locale: str = "ar") -> User:
    email = normalize_email(email)
    errors: dict[str, list[str]] = {}
    if "@" not in email:
        errors["email"] = [_l("Enter a valid email address.")]
    elif session.scalar(select(User.id).where(User.email == email)):
        errors["email"] = [_l("A user with this email already exists.")]
    errors.update(password_errors(password))
    bad = [r for r in roles if r not in set(Role)]
    if bad or not roles:
        errors["role"] = [_l("Choose one or more of: staff, focal, supervisor, admin.")]
    departments = []
    for code in department_codes or []:
        department = session.scalar(select(Department).where(Department.code == code.upper()))
        if department is None:
            errors.setdefault("department", []).append(_l("No department with code %(code)s.", code=code))
        departments.append(department)
    if Role.FOCAL in roles and not department_codes:
        errors.setdefault("department", []).append(_l("A focal point belongs to a department."))
    if errors:
        raise ValidationFailed(errors)
    user = User(email=email, name=name.strip() or email, locale=locale, session_version=0)
    user.set_password(password)
    user.role_rows = [UserRole(role=r) for r in dict.fromkeys(roles)]
    # The department's first focal point is its primary; later ones join as members (the
    # admin screens choose the deputy), so a department never has two primaries.
    with_primary = set(session.scalars(select(DepartmentMember.department_id).where(
        DepartmentMember.position == Position.PRIMARY)))
    user.memberships = [DepartmentMember(department_id=d.id,
                                         position=Position.MEMBER if d.id in with_primary else Position.PRIMARY)
                        for d in departments if d]
    session.add(user)
    commit(session)
    return user


def set_locale(session: Session, user: User | None, locale: str) -> None:
    if user is not None and user.is_authenticated and locale in ("ar", "en"):
        user.locale = locale
        commit(session)
