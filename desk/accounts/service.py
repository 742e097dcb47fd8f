"""Users: creation, authentication and the language preference."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from desk import audit
from desk.accounts import sessions
from desk.errors import ValidationFailed
from desk.models import AuditAction, Department, DepartmentMember, Position, Role, User, UserRole
from desk.transaction import commit

MIN_PASSWORD = 10
# Compared against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, else None, and the failure recorded in the
    audit trail (committed here: nothing else is written). A success writes nothing yet: the
    sign-in is recorded when it completes (after the second factor, if any)."""
    address = normalize_email(email)
    user = session.scalar(select(User).where(User.email == address))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
    elif user.check_password(password or "") and user.active:
        return user
    audit.record(session, AuditAction.SIGN_IN_FAILED, actor="anonymous", record_type="user" if user else None,
                 record_id=user.id if user else None,
                 detail={"email": address[:254]} if user is None else {"inactive": True} if not user.active else {})
    commit(session)
    return None


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """The user's own change: the current password first. Every session of theirs ends (the
    caller signs this browser in again). No commit."""
    errors = password_errors(new)
    if not user.check_password(current or ""):
        errors["current"] = [_l("The current password is not correct.")]
    if errors:
        raise ValidationFailed(errors)
    set_new_password(session, user, user, new, "self")


def set_new_password(session: Session, actor: object, user: User, password: str, by: str) -> None:
    """The one way a password changes (the user, the admin, a reset link): every session of the
    user ends, and the change is recorded (``by``). No commit; the caller checked the rule."""
    user.set_password(password)
    sessions.end_all(session, user, "password")
    audit.record(session, AuditAction.PASSWORD_CHANGED, actor=actor, record_type="user", record_id=user.id,
                 detail={"by": by})


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


def set_timeline_order(session: Session, user: User, newest_first: bool) -> None:
    """Remember how the person reads ticket timelines: newest or oldest first."""
    user.timeline_newest_first = newest_first
    commit(session)


def set_locale(session: Session, user: User | None, locale: str) -> None:
    if user is not None and user.is_authenticated and locale in ("ar", "en"):
        user.locale = locale
        commit(session)
