"""The portal's privacy notice and consent (issue 16, point 1; PDPL: a notice before
collection, explicit consent for sensitive data).

- The full notice is written by the admin in Arabic and English; every save is a new version
  (``PrivacyNotice``), so what a person accepted stays readable. Before any save, the desk's
  own text (``DEFAULT_AR`` / ``DEFAULT_EN``) is version 0.
- The portal's form shows a short notice before the send button and sends back the version it
  showed; the request keeps it (``Ticket.privacy_notice_version``), and staff see it.
- Documents sent on the portal may hold sensitive data (health, family situation, financial
  hardship): sending them needs an explicit tick (``consent``), checked by the server; the
  request keeps when it was given (``Ticket.sensitive_consent_at``).

The admin's edits are admin changes in the audit trail (desk.audit).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk import audit
from desk.errors import ValidationFailed, too_long
from desk.models import AuditAction, PrivacyNotice, User
from desk.permissions import Action, require
from desk.text import to_ascii_digits
from desk.transaction import atomic

DEFAULT_VERSION = 0
MAX_NOTICE = 20_000

# The desk's own notice until the admin writes the association's: what the desk does, in the
# policies' words. The association's name and contact are shown beside it on the page.
DEFAULT_AR = """لماذا نجمع بياناتك: لنستقبل طلبك (شكوى أو استفسار أو مقترح أو طلب دعم) ونعالجه ونتواصل معك بشأنه، ولنقيس رضا المستفيدين ونحسّن خدماتنا. لا نطلب إلا ما يلزم لكل نوع من الطلبات، ولا نستخدم بياناتك لغير ذلك.

من يطّلع عليها: موظفو علاقات المستفيدين، وضابط الاتصال في الإدارة المختصة بطلبك، ولجنة البحث في طلبات الدعم، والمدير العام عند الحاجة؛ وكلٌّ منهم ملزم بالسرية. لا نبيع بياناتك ولا نشاركها مع جهة أخرى إلا بما يوجبه النظام.

مدة الاحتفاظ: نحتفظ بطلبك ما دام قيد المعالجة، ثم للمدة التي تحددها الجمعية لكل نوع من الطلبات بعد إغلاقه، وبعدها تُزال بياناتك الشخصية منه وتُحذف مستنداته.

بياناتك الحساسة: المستندات التي ترفقها قد تتضمن بيانات حساسة (صحية أو أسرية أو مالية)، ولا نعالجها إلا بموافقتك الصريحة.

حقوقك: لك أن تعرف ما نحتفظ به عنك، وأن تحصل على نسخة منه، وأن تطلب تصحيحه أو إتلافه حين لا يمنع من ذلك مانع نظامي، وأن تسحب موافقتك، وأن تتقدم بشكوى إلى الهيئة السعودية للبيانات والذكاء الاصطناعي (سدايا).

للتواصل معنا بشأن بياناتك: استخدم وسائل التواصل المبينة في هذه الصفحة، واذكر رقم طلبك إن وُجد."""

DEFAULT_EN = """Why we collect your data: to receive your request (a complaint, an inquiry, a suggestion or a support request), handle it and contact you about it, and to measure beneficiaries' satisfaction and improve our services. We ask only what each kind of request needs, and use your data for nothing else.

Who sees it: the beneficiary relations staff, the focal point of the department your request concerns, the research committee for support requests, and the general manager when needed; each is bound to confidentiality. We do not sell your data nor share it with anyone else, except as the law requires.

How long we keep it: while your request is handled, then for the period the association sets for each kind of request after it is closed; after that your personal data is removed from it and its documents are deleted.

Your sensitive data: the documents you attach may hold sensitive data (health, family or financial); we process them only with your explicit consent.

Your rights: to know what we hold about you, to receive a copy, to ask for it to be corrected or destroyed when no legal obligation prevents it, to withdraw your consent, and to complain to the Saudi Data and AI Authority (SDAIA).

To contact us about your data: use the contact details on this page, and give your request's reference if you have one."""


@dataclass(frozen=True)
class Notice:
    """One version of the full notice, as the portal shows it."""

    version: int
    body_ar: str
    body_en: str
    created_at: datetime | None = None

    def body(self, locale: str) -> str:
        return self.body_en if locale == "en" else self.body_ar


DEFAULT = Notice(DEFAULT_VERSION, DEFAULT_AR, DEFAULT_EN)


def _notice(row: PrivacyNotice | None) -> Notice:
    return DEFAULT if row is None else Notice(row.version, row.body_ar, row.body_en, row.created_at)


def current(session: Session) -> Notice:
    """The notice in force: the admin's latest version, else the desk's own (version 0)."""
    return _notice(session.scalar(select(PrivacyNotice).order_by(PrivacyNotice.version.desc()).limit(1)))


def version(session: Session, number: int) -> Notice | None:
    """Version ``number`` of the notice (0: the desk's own), or None if there is none such."""
    if number == DEFAULT_VERSION:
        return DEFAULT
    row = session.scalar(select(PrivacyNotice).where(PrivacyNotice.version == number))
    return None if row is None else _notice(row)


def history(session: Session) -> list[PrivacyNotice]:
    """Every saved version, the newest first (who saved it: ``created_by``)."""
    return list(session.scalars(select(PrivacyNotice).order_by(PrivacyNotice.version.desc())))


def accepted_version(session: Session, shown: str | None) -> int:
    """The version a sender accepted: the one the form showed them (sent back with it), when
    it is a version that exists; else the one in force (a form from before any change)."""
    raw = to_ascii_digits((shown or "").strip())
    if raw.isdigit() and version(session, int(raw)) is not None:
        return int(raw)
    return current(session).version


def needs_consent(uploads: list) -> bool:
    """Documents sent on the portal may hold sensitive data: sending them needs the tick."""
    return bool(uploads)


CONSENT_MISSING = _l("Tick the box to agree that we process the documents you attach, or send your request "
                     "without documents.")


def save(session: Session, actor: User, body_ar: str, body_en: str) -> Notice:
    """A new version of the full notice, in both languages (each required), committed with its
    audit row. Refused (ValidationFailed by the field) when a text is empty or too long, or
    when nothing changed; the same version saved twice at once: the second is refused."""
    require(actor, Action.PORTAL_MANAGE)
    texts = {"body_ar": (body_ar or "").strip(), "body_en": (body_en or "").strip()}
    errors: dict[str, list] = {}
    for name, text in texts.items():
        if not text:
            errors[name] = [_l("Write the notice in this language too.")]
        elif len(text) > MAX_NOTICE:
            errors[name] = [too_long(MAX_NOTICE)]
    if errors:
        raise ValidationFailed(errors)
    before = current(session)
    if (before.body_ar, before.body_en) == (texts["body_ar"], texts["body_en"]):
        raise ValidationFailed({"body_ar": [_l("Nothing changed: this is already the notice in force.")]})
    number = (session.scalar(select(func.max(PrivacyNotice.version))) or DEFAULT_VERSION) + 1
    try:
        with atomic(session):
            row = PrivacyNotice(version=number, body_ar=texts["body_ar"], body_en=texts["body_en"],
                                created_by_id=actor.id)
            session.add(row)
            session.flush()
            audit.record(session, AuditAction.ADMIN_CHANGE, actor=actor, record_type="privacy_notice",
                         record_id=number, detail={
                             "version": [before.version, number],
                             "sha256": {name: hashlib.sha256(text.encode()).hexdigest()[:16]
                                        for name, text in texts.items()}})
    except IntegrityError:  # another admin saved a version at the same moment
        raise ValidationFailed({"body_ar": [_l("Someone saved the notice at the same moment. Your text is kept: "
                                               "read the notice in force, then save again.")]}) from None
    return _notice(row)
