"""The knowledge base's rules: who reads and writes which article, drafts and published
versions, documents, and the Arabic search.

- Writers (Action.KB_MANAGE: admins, supervisors) edit an article's draft; publishing copies
  it into a new numbered KbVersion. Unpublishing takes the article off; its versions stay.
  Both are on the audit trail (AuditAction.KB_PUBLISHED / KB_UNPUBLISHED), a save of the
  draft too (ADMIN_CHANGE).
- Readers (Action.KB_READ: every signed-in role, focal points included) see published
  articles, internal and public, in their published version.
- The public sees published public articles only, in their published version; a draft, an
  internal article and an unpublished one do not exist for it (404).
- Search is the desk's (desk.search): normalised Arabic, every word in any order, stems.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import IO

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from desk import audit
from desk.attachments.service import EXTENSIONS, clean_filename, write_file
from desk.errors import NotFound, ValidationFailed, add_error, required_text, too_long
from desk.models import Audience, AuditAction, KbArticle, KbCategory, KbDocument, KbVersion, User, utcnow
from desk.permissions import Action, can, require
from desk.search import condition, indexed_text, parse, score, word_groups
from desk.transaction import atomic

MAX_TITLE = 200
MAX_BODY = 20_000
MAX_CATEGORY = 120
SUGGEST_LIMIT = 5
LIST_LIMIT = 200


@dataclass
class ArticleData:
    title_ar: str
    title_en: str
    body_ar: str
    body_en: str
    category_id: int | None
    audience: str


def search_text(title_ar: str, title_en: str, body_ar: str, body_en: str) -> str:
    """Titles as the subject half, bodies as the rest; led by a space, as the needles of a stem
    look for one before a word (a ticket's text starts with its reference)."""
    return " " + indexed_text(f"{title_ar} {title_en}", f"{body_ar}\n{body_en}")


# Categories ------------------------------------------------------------------------------

def categories(session: Session) -> list[KbCategory]:
    return list(session.scalars(select(KbCategory).order_by(KbCategory.position, KbCategory.id)))


def add_category(session: Session, actor: User, name_ar: str, name_en: str) -> KbCategory:
    require(actor, Action.KB_MANAGE)
    errors: dict[str, list] = {}
    name_ar = required_text(errors, "name_ar", name_ar, _l("Enter the category's name in Arabic."), MAX_CATEGORY)
    name_en = (name_en or "").strip()
    if len(name_en) > MAX_CATEGORY:
        add_error(errors, "name_en", too_long(MAX_CATEGORY))
    if errors:
        raise ValidationFailed(errors)
    with atomic(session):
        position = (session.scalar(select(func.max(KbCategory.position))) or 0) + 1
        category = KbCategory(name_ar=name_ar, name_en=name_en, position=position)
        session.add(category)
        session.flush()
        audit.record(session, AuditAction.ADMIN_CHANGE, actor=actor, record_type="kb_category",
                     record_id=category.id, detail={"created": name_ar})
    return category


# Reading: staff --------------------------------------------------------------------------

def _published_version(session: Session, article: KbArticle) -> KbVersion | None:
    if article.published_number is None:
        return None
    return session.scalar(select(KbVersion).where(KbVersion.article_id == article.id,
                                                  KbVersion.number == article.published_number))


def staff_listing(session: Session, actor: User, typed: str = "", category_id: int | None = None
                  ) -> list[tuple[KbArticle, KbVersion | None]]:
    """The staff's library, each article with its published version: writers see every article
    (drafts too, searched in the draft's words), readers the published ones (searched, and
    shown, in the published version's words)."""
    require(actor, Action.KB_READ)
    writer = can(actor, Action.KB_MANAGE)
    published = (KbVersion.article_id == KbArticle.id) & (KbVersion.number == KbArticle.published_number)
    query: Select = select(KbArticle, KbVersion)
    query = query.outerjoin(KbVersion, published) if writer else query.join(KbVersion, published)
    column = KbArticle.search_text if writer else KbVersion.search_text
    if category_id is not None:
        query = query.where(KbArticle.category_id == category_id)
    terms = parse(typed, word_groups(session)).terms
    where = condition(column, terms)
    if where is not None:
        query = query.where(where).order_by(score(column, terms, session.get_bind().dialect.name).desc())
    rows = session.execute(query.order_by(KbArticle.category_id, KbArticle.title_ar, KbArticle.id).limit(LIST_LIMIT))
    return [(a, v) for a, v in rows.unique()]


def get(session: Session, actor: User, article_id: int) -> tuple[KbArticle, KbVersion | None]:
    """An article and its published version, for a reader (NotFound unless published) or a writer."""
    require(actor, Action.KB_READ)
    article = session.get(KbArticle, article_id)
    if article is None:
        raise NotFound()
    version = _published_version(session, article)
    if version is None and not can(actor, Action.KB_MANAGE):
        raise NotFound()
    return article, version


def versions(session: Session, article: KbArticle) -> list[KbVersion]:
    return list(session.scalars(select(KbVersion).where(KbVersion.article_id == article.id)
                                .order_by(KbVersion.number.desc())))


def version(session: Session, actor: User, article_id: int, number: int) -> tuple[KbArticle, KbVersion]:
    """One version of the history: writers only."""
    require(actor, Action.KB_MANAGE)
    article = session.get(KbArticle, article_id)
    found = None if article is None else session.scalar(
        select(KbVersion).where(KbVersion.article_id == article_id, KbVersion.number == number))
    if article is None or found is None:
        raise NotFound()
    return article, found


def documents(session: Session, article: KbArticle) -> list[KbDocument]:
    return list(session.scalars(select(KbDocument).where(KbDocument.article_id == article.id)
                                .order_by(KbDocument.id)))


def document(session: Session, actor: User, article_id: int, document_id: int) -> KbDocument:
    get(session, actor, article_id)  # the article is one the actor may read
    found = session.scalar(select(KbDocument).where(KbDocument.id == document_id,
                                                    KbDocument.article_id == article_id))
    if found is None:
        raise NotFound()
    return found


# Reading: the public (the portal) ---------------------------------------------------------

def _public() -> Select:
    return (select(KbArticle, KbVersion)
            .join(KbVersion, (KbVersion.article_id == KbArticle.id) & (KbVersion.number == KbArticle.published_number))
            .where(KbVersion.audience == Audience.PUBLIC))


def public_listing(session: Session, typed: str = "", limit: int = LIST_LIMIT) -> list[tuple[KbArticle, KbVersion]]:
    """The published public articles (their published version), by category; or those whose
    published words hold every typed word (best first)."""
    query = _public()
    terms = parse(typed, word_groups(session)).terms
    where = condition(KbVersion.search_text, terms)
    if where is not None:
        query = query.where(where).order_by(score(KbVersion.search_text, terms,
                                                  session.get_bind().dialect.name).desc())
    rows = session.execute(query.order_by(KbArticle.category_id, KbVersion.title_ar, KbArticle.id).limit(limit))
    return [(a, v) for a, v in rows.unique()]


def public_get(session: Session, article_id: int) -> tuple[KbArticle, KbVersion]:
    row = session.execute(_public().where(KbArticle.id == article_id)).first()
    if row is None:
        raise NotFound()
    return row[0], row[1]


def suggest(session: Session, typed: str) -> list[tuple[KbArticle, KbVersion]]:
    """What the portal suggests while a beneficiary types a request: public articles holding
    every word typed (nothing for fewer than three letters)."""
    if len((typed or "").strip()) < 3:
        return []
    return public_listing(session, typed[:200], limit=SUGGEST_LIMIT)


# Writing ---------------------------------------------------------------------------------

def check(session: Session, data: ArticleData) -> dict[str, list]:
    errors: dict[str, list] = {}
    required_text(errors, "title_ar", data.title_ar, _l("Give the article a title in Arabic."), MAX_TITLE)
    required_text(errors, "body_ar", data.body_ar, _l("Write the article's Arabic text."), MAX_BODY)
    if len((data.title_en or "").strip()) > MAX_TITLE:
        add_error(errors, "title_en", too_long(MAX_TITLE))
    if len((data.body_en or "").strip()) > MAX_BODY:
        add_error(errors, "body_en", too_long(MAX_BODY))
    if data.audience not in (Audience.PUBLIC, Audience.INTERNAL):
        add_error(errors, "audience", _l("Choose who reads the article."))
    if data.category_id is not None and session.get(KbCategory, data.category_id) is None:
        add_error(errors, "category_id", _l("Choose a category from the list."))
    return errors


def save(session: Session, actor: User, data: ArticleData, article: KbArticle | None = None) -> KbArticle:
    """Create an article (a draft) or change its draft; what the public sees does not change
    until it is published again."""
    require(actor, Action.KB_MANAGE)
    errors = check(session, data)
    if errors:
        raise ValidationFailed(errors)
    with atomic(session):
        if article is None:
            article = KbArticle()
            session.add(article)
        article.title_ar, article.title_en = data.title_ar.strip(), (data.title_en or "").strip()
        article.body_ar, article.body_en = data.body_ar.strip(), (data.body_en or "").strip()
        article.category_id, article.audience = data.category_id, data.audience
        article.search_text = search_text(article.title_ar, article.title_en, article.body_ar, article.body_en)
        published = _published_version(session, article) if article.id else None
        article.draft_changed = published is None or (
            (published.audience, published.title_ar, published.title_en, published.body_ar, published.body_en)
            != (article.audience, article.title_ar, article.title_en, article.body_ar, article.body_en))
        article.updated_at, article.updated_by_id = utcnow(), actor.id
        session.flush()
        audit.record(session, AuditAction.ADMIN_CHANGE, actor=actor, record_type="kb_article",
                     record_id=article.id, detail={"draft": article.title_ar, "audience": article.audience})
    return article


def publish_draft(session: Session, article: KbArticle, actor: User | str) -> KbVersion:
    """The draft as a new version, in the caller's transaction, with its audit row."""
    number = (session.scalar(select(func.max(KbVersion.number)).where(KbVersion.article_id == article.id)) or 0) + 1
    made = KbVersion(article_id=article.id, number=number, audience=article.audience,
                     title_ar=article.title_ar, title_en=article.title_en,
                     body_ar=article.body_ar, body_en=article.body_en,
                     search_text=search_text(article.title_ar, article.title_en, article.body_ar, article.body_en),
                     created_by_id=actor.id if isinstance(actor, User) else None)
    session.add(made)
    article.published_number, article.published_at, article.draft_changed = number, utcnow(), False
    session.flush()
    audit.record(session, AuditAction.KB_PUBLISHED, actor=actor, record_type="kb_article", record_id=article.id,
                 detail={"version": number, "audience": article.audience, "title": article.title_ar})
    return made


def publish(session: Session, actor: User, article: KbArticle) -> KbVersion:
    require(actor, Action.KB_MANAGE)
    with atomic(session):
        made = publish_draft(session, article, actor)
    return made


def unpublish(session: Session, actor: User, article: KbArticle) -> None:
    require(actor, Action.KB_MANAGE)
    if article.published_number is None:
        return
    with atomic(session):
        was = article.published_number
        article.published_number, article.draft_changed = None, True
        audit.record(session, AuditAction.KB_UNPUBLISHED, actor=actor, record_type="kb_article",
                     record_id=article.id, detail={"version": was, "audience": article.audience})


def add_document(session: Session, actor: User, article: KbArticle, stream: IO[bytes] | None, filename: str,
                 *, directory: str | os.PathLike, max_bytes: int) -> KbDocument:
    """Attach a document to an article: checked and stored as a ticket's documents are
    (desk.attachments.service.write_file), the row and the file committed together."""
    require(actor, Action.KB_MANAGE)
    if stream is None or not (filename or "").strip():
        raise ValidationFailed({"file": [_l("Choose a file first.")]})
    with atomic(session) as written:
        stored = write_file(stream, directory=directory, max_bytes=max_bytes)
        stored.stage(written)
        name = clean_filename(filename)
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        if extension not in EXTENSIONS[stored.content_type]:
            raise ValidationFailed({"file": [_l(
                "The file's name (%(name)s) does not match what it contains: rename it with the right "
                "extension, e.g. .%(ext)s.", name=name, ext=sorted(EXTENSIONS[stored.content_type])[0])]})
        found = KbDocument(article_id=article.id, filename=name, stored_name=stored.stored_name,
                           content_type=stored.content_type, size=stored.size, sha256=stored.sha256,
                           uploaded_by_id=actor.id)
        session.add(found)
        session.flush()
        audit.record(session, AuditAction.ADMIN_CHANGE, actor=actor, record_type="kb_document", record_id=found.id,
                     detail={"article": article.id, "type": stored.content_type})
    return found
