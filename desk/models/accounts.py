"""Users, their roles and the departments they belong to."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, lazyload, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from desk.models.base import Base, utcnow

# werkzeug's default (scrypt). The test suite lowers the cost so hashing does not dominate it.
PASSWORD_METHOD = "scrypt"  # noqa: S105 - the name of a hashing method, not a password


class Role(StrEnum):
    STAFF = "staff"            # موظف علاقات المستفيدين: works the shared queue
    FOCAL = "focal"            # ضابط اتصال: resolves what is routed to their department
    SUPERVISOR = "supervisor"  # مشرف: oversight, statistics, field survey
    ADMIN = "admin"
    COMMITTEE = "committee"    # لجنة البحث: decides support requests (desk.committee)
    GENERAL_MANAGER = "manager"  # المدير العام: approves or rejects compensation (desk.compensation)
    DPO = "dpo"                # مسؤول حماية البيانات الشخصية: the data subjects' requests (desk.privacy)


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_ar: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone_ext: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The portal's contact directory (/portal/directory): listed only when the admin publishes
    # it, with the focal point's title (not a person's name), the extension and the email above.
    published: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    contact_title_ar: Mapped[str | None] = mapped_column(String(120))
    contact_title_en: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_ar


class Position(StrEnum):
    """A focal point's place in a department: the primary answers; the deputy stands in."""

    PRIMARY = "primary"
    DEPUTY = "deputy"
    MEMBER = "member"


class DepartmentMember(Base):
    """A focal point's membership of a department (a focal point may serve several)."""

    __tablename__ = "department_members"
    __table_args__ = (UniqueConstraint("department_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    position: Mapped[str] = mapped_column(String(10), default=Position.PRIMARY, server_default="primary")


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="ar")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change or deactivation: every older session stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Notification kinds the user turned off (desk.notify.KINDS); everything else is on.
    notifications_off: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Two-factor sign-in (desk.accounts.twofactor): the TOTP secret once the user has confirmed
    # a code from their app, and the last 30-second step a code was accepted for, so a code
    # seen over someone's shoulder cannot be used a second time.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # The ticket page's timeline order, the person's choice (issue 18, point 7): oldest first
    # (a conversation read top to bottom) unless they chose newest first.
    timeline_newest_first: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    role_rows: Mapped[list[UserRole]] = relationship(lazy="selectin", cascade="all, delete-orphan")
    memberships: Mapped[list[DepartmentMember]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    # Flask-Login -----------------------------------------------------------
    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    # Roles -----------------------------------------------------------------
    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def department_ids(self) -> frozenset[int]:
        return frozenset(m.department_id for m in self.memberships)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def has_two_factor(self) -> bool:
        return self.totp_secret is not None and self.totp_enabled_at is not None


# Loader options for people read for their name and id only (a list to choose from, a timeline's
# authors): their roles and departments, loaded with every User by default (two statements per
# group of people), are not read, and are loaded on first use should anything ask.
BY_NAME_ONLY = (lazyload(User.role_rows), lazyload(User.memberships))


class StaffSession(Base):
    """One signed-in browser. The cookie holds a random token (signed, with the user's id);
    this row holds its hash. Signing out ends the row, so a copy of the cookie taken before is
    refused on every request (desk.accounts.sessions); a password change or a deactivation
    ends all of the user's rows (and bumps ``User.session_version``)."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    # "sign_out", "password", "deactivated"…: why it ended (nothing: still open, or timed out).
    end_reason: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(45))

    user: Mapped[User] = relationship()


class PasswordReset(Base):
    """A password-reset link sent by email: the token's hash, good once and for a short time."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RecoveryCode(Base):
    """A one-time code for signing in without the authenticator app (a lost phone): only its
    hash is kept; the codes are shown to their owner once, when made."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class TwoFactorRole(Base):
    """A role whose holders must sign in with a second factor (the admin's choice): a holder
    without one enrols at their next sign-in."""

    __tablename__ = "two_factor_roles"

    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoleGrant(Base):
    """A permission the admin gives to everyone holding a role, beyond what the role does by
    itself (desk.permissions.GRANTABLE): for example revealing a full national ID."""

    __tablename__ = "role_grants"

    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    permission: Mapped[str] = mapped_column(String(40), primary_key=True)
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
