"""The knowledge base (issue 20, point 4): articles in Arabic and English, drafts and published
versions, public help pages on the portal and the staff's library, the desk's Arabic search,
suggestions while a request is typed, saved replies linking an article, the association's
social accounts."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from desk import audit
from desk.errors import NotFound, ValidationFailed
from desk.kb import seeds, service
from desk.models import Association, AuditEntry, KbArticle, KbDocument, KbVersion
from desk.replies import fill
from desk.replies import service as replies
from tests.conftest import count
from tests.images import image_bytes

RIGHTS_AR = "## حقوقك\n- أن تُستقبل بلباقة واحترام\n- المحافظة على سرية المعلومات"


def write(db, actor, title="حقوق المستفيدين", body=RIGHTS_AR, audience="public", title_en="", body_en="",
          article=None):
    data = service.ArticleData(title_ar=title, title_en=title_en, body_ar=body, body_en=body_en,
                               category_id=None, audience=audience)
    return service.save(db.session, actor, data, article)


def audited(db, action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


# Drafts, publishing, versions ------------------------------------------------------------

def test_a_draft_is_never_public(db, people, visitor):
    article = write(db, people.admin)
    assert not article.published
    with pytest.raises(NotFound):
        service.public_get(db.session, article.id)
    assert service.public_listing(db.session) == []
    portal = visitor()
    assert portal.get(f"/portal/help/{article.id}").status_code == 404
    assert "حقوق المستفيدين" not in portal.get("/portal/help").get_data(as_text=True)
    # Nor to a reader on the staff side (intake staff, a focal point): only to the writers.
    with pytest.raises(NotFound):
        service.get(db.session, people.staff, article.id)
    with pytest.raises(NotFound):
        service.get(db.session, people.focal, article.id)
    assert service.get(db.session, people.supervisor, article.id)[0].id == article.id


def test_editing_a_published_article_keeps_the_published_text_until_published_again(db, people, visitor):
    article = write(db, people.admin)
    service.publish(db.session, people.admin, article)
    write(db, people.admin, title="حقوق المستفيد المعدلة", body="نص جديد لم ينشر", article=article)
    assert article.draft_changed and article.published_number == 1
    page = visitor().get(f"/portal/help/{article.id}").get_data(as_text=True)
    assert "حقوق المستفيدين" in page and "نص جديد لم ينشر" not in page
    assert service.public_listing(db.session, "جديد") == []
    service.publish(db.session, people.admin, article)
    page = visitor().get(f"/portal/help/{article.id}").get_data(as_text=True)
    assert "نص جديد لم ينشر" in page
    # The history keeps both versions, the first text intact.
    history = service.versions(db.session, article)
    assert [v.number for v in history] == [2, 1]
    assert history[1].body_ar == RIGHTS_AR and history[0].title_ar == "حقوق المستفيد المعدلة"


def test_publish_and_unpublish_are_on_the_audit_trail(db, people, visitor):
    article = write(db, people.admin)
    service.publish(db.session, people.admin, article)
    service.unpublish(db.session, people.supervisor, article)
    published, unpublished = audited(db, "kb.published"), audited(db, "kb.unpublished")
    assert [(e.actor_id, e.record_id, e.detail["version"]) for e in published] == [(people.admin.id, str(article.id), 1)]
    assert [(e.actor_id, e.detail["version"]) for e in unpublished] == [(people.supervisor.id, 1)]
    assert audit.verify(db.session)[1] is None
    assert visitor().get(f"/portal/help/{article.id}").status_code == 404
    assert count(db, KbVersion) == 1  # the history stays


def test_only_writers_write(db, people):
    for actor in (people.staff, people.focal):
        with pytest.raises(NotFound):
            write(db, actor)
    article = write(db, people.admin)
    for actor in (people.staff, people.focal):
        with pytest.raises(NotFound):
            service.publish(db.session, actor, article)
    assert count(db, KbVersion) == 0 and audited(db, "kb.published") == []


def test_internal_articles_are_for_staff_and_focal_points_never_the_public(db, people, visitor, as_user):
    article = write(db, people.admin, title="اللائحة الأساسية للجمعية", body="نص اللائحة", audience="internal")
    service.publish(db.session, people.admin, article)
    assert service.public_listing(db.session) == []
    assert visitor().get(f"/portal/help/{article.id}").status_code == 404
    for reader in (people.staff, people.focal, people.other_focal):
        page = as_user(reader).get(f"/kb/{article.id}")
        assert page.status_code == 200 and "نص اللائحة" in page.get_data(as_text=True)
    listing = as_user(people.focal).get("/kb?q=الجمعيه لائحة").get_data(as_text=True)
    assert "اللائحة الأساسية للجمعية" in listing
    assert as_user(people.focal).get("/kb/new").status_code == 404


def test_a_draft_moved_to_the_public_stays_internal_until_published(db, people, visitor, as_user):
    article = write(db, people.admin, title="دليل سياسة الدعم", body="للموظفين", audience="internal")
    service.publish(db.session, people.admin, article)
    write(db, people.admin, title="دليل سياسة الدعم", body="للموظفين", audience="public", article=article)
    assert article.draft_changed
    assert visitor().get(f"/portal/help/{article.id}").status_code == 404
    assert service.public_listing(db.session) == []
    # A reader on the staff side sees the published title, not the draft's.
    write(db, people.admin, title="عنوان لم ينشر", body="للموظفين", audience="public", article=article)
    listing = as_user(people.staff).get("/kb").get_data(as_text=True)
    assert "دليل سياسة الدعم" in listing and "عنوان لم ينشر" not in listing
    service.publish(db.session, people.admin, article)
    assert visitor().get(f"/portal/help/{article.id}").status_code == 200


def test_a_missing_english_falls_back_to_arabic(db, people, visitor):
    article = write(db, people.admin, title="الأسئلة الشائعة", body="جواب بالعربية")
    service.publish(db.session, people.admin, article)
    portal = visitor()
    with portal.client.session_transaction() as visit:
        visit["locale"] = "en"
    page = portal.get(f"/portal/help/{article.id}").get_data(as_text=True)
    assert "الأسئلة الشائعة" in page and "جواب بالعربية" in page


# Sanitising ----------------------------------------------------------------------------

def test_a_script_in_a_body_never_renders(db, people, visitor, as_user):
    body = "مرحبا <script>alert(1)</script>\n\n- <img src=x onerror=alert(2)>\n\n## <b>عنوان</b>"
    article = write(db, people.admin, body=body, title="<script>t()</script>")
    service.publish(db.session, people.admin, article)
    for page in (visitor().get(f"/portal/help/{article.id}").get_data(as_text=True),
                 as_user(people.staff).get(f"/kb/{article.id}").get_data(as_text=True)):
        assert "<script>alert" not in page and "<script>t()" not in page
        assert "<img src=x" not in page and "<b>عنوان" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as the text it is
        assert re.search(r"<ul><li>&lt;img", page) and "<h3>" in page


# Search ---------------------------------------------------------------------------------

def test_search_in_arabic_finds_by_stem_words_in_any_order(db, people):
    complaints = write(db, people.admin, title="سياسة تسوية الشكاوى", body="تسهيل عمليات التبليغ والسرعة في معالجة الشكاوى")
    guide = write(db, people.admin, title="دليل استخدام البوابة", body="كيف تقدم طلبك وتتابعه")
    internal = write(db, people.admin, title="خطوات قبول المستفيدين", body="مطابقة البيانات", audience="internal")
    for article in (complaints, guide, internal):
        service.publish(db.session, people.admin, article)
    found = lambda typed: [a.id for a, _v in service.public_listing(db.session, typed)]  # noqa: E731
    assert found("معالجه التبليغ") == [complaints.id]        # taa marbuta folded, any order
    assert found("التبليغ معالجة") == [complaints.id]
    assert found("البوابات") == [guide.id]                    # a plural, by its stem
    assert found("الدليل") == [guide.id]                      # the article set aside
    assert found("قبول") == []                                # internal: not the public's
    staff = [a.id for a, _v in service.staff_listing(db.session, people.staff, "المستفيد")]
    assert staff == [internal.id]


def test_the_portal_suggests_public_articles_while_a_request_is_typed(db, people, visitor):
    article = write(db, people.admin, title="متى يصل الرد على طلب الدعم", body="خلال مدة لا تقل عن أسبوعين")
    service.publish(db.session, people.admin, article)
    hidden = write(db, people.admin, title="دليل سياسة الدعم", body="للموظفين", audience="internal")
    service.publish(db.session, people.admin, hidden)
    portal = visitor()
    form = portal.get("/portal/new").get_data(as_text=True)
    assert 'hx-get="/portal/help/suggest"' in form and 'id="kb-suggestions"' in form
    assert 'href="/portal/help"' in form  # without script: a plain link to the help pages
    fragment = portal.get("/portal/help/suggest?subject=طلب الدعم", htmx=True).get_data(as_text=True)
    assert f'href="/portal/help/{article.id}"' in fragment and "دليل سياسة الدعم" not in fragment
    assert "<html" not in fragment
    assert 'href="/portal/help' not in portal.get("/portal/help/suggest?subject=ال", htmx=True).get_data(as_text=True)
    # Without script the same address is a page of results.
    page = portal.get("/portal/help/suggest?subject=طلب الدعم").get_data(as_text=True)
    assert "<html" in page and f'href="/portal/help/{article.id}"' in page


# Saved replies link an article -------------------------------------------------------------

def test_a_saved_reply_links_a_public_article(db, people, make_ticket, app):
    article = write(db, people.admin, title="حقوق المستفيد")
    service.publish(db.session, people.admin, article)
    internal = write(db, people.admin, title="داخلي", audience="internal")
    with pytest.raises(ValidationFailed) as refused:
        replies.save(db.session, people.admin, replies.ReplyData(
            title="حقوق", body_ar=f"اقرأ {{article:{internal.id}}}", body_en="", department_id=None))
    assert "body_ar" in refused.value.errors
    reply = replies.save(db.session, people.admin, replies.ReplyData(
        title="حقوق", body_ar=f"اقرأ حقوقك: {{article:{article.id}}}", body_en="", department_id=None))
    ticket = make_ticket()
    text = fill.fill(db.session, ticket, reply)
    assert text == f"اقرأ حقوقك: {app.config['DESK_BASE_URL']}/portal/help/{article.id}"
    service.unpublish(db.session, people.admin, article)
    db.session.refresh(reply)
    text = fill.fill(db.session, ticket, reply)
    assert f"{{article:{article.id}}}" in text  # stays, so sending it is refused
    assert replies.remaining_placeholders(text) == [f"article:{article.id}"]


# Documents, seeds, the editor's form, faults --------------------------------------------

def test_a_document_is_checked_and_stored_like_a_tickets(db, people, as_user, app):
    article = write(db, people.admin, title="اللائحة الأساسية", audience="internal")
    service.publish(db.session, people.admin, article)
    admin = as_user(people.admin)
    refused = admin.post(f"/kb/{article.id}/documents", data={"file": (io.BytesIO(b"MZ\x90\x00not a pdf"), "a.pdf")},
                         content_type="multipart/form-data")
    assert refused.status_code == 422 and count(db, KbDocument) == 0
    nothing = admin.post(f"/kb/{article.id}/documents", data={})
    assert nothing.status_code == 422 and "اختر ملفًا أولًا" in nothing.get_data(as_text=True)
    sent = admin.post(f"/kb/{article.id}/documents", data={"file": (io.BytesIO(image_bytes("PNG")), "صورة.png")},
                      content_type="multipart/form-data")
    assert sent.status_code == 302
    document = db.session.scalar(select(KbDocument))
    assert document.content_type == "image/png" and document.filename == "صورة.png"
    download = as_user(people.focal).get(f"/kb/{article.id}/documents/{document.id}")
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment")
    assert as_user(people.focal).post(f"/kb/{article.id}/documents", data={}).status_code == 404


def test_the_editor_keeps_what_was_typed_on_error(db, people, as_user):
    admin = as_user(people.admin)
    response = admin.post("/kb/new", {"title_ar": "", "title_en": "Rights", "body_ar": "نص محفوظ",
                                      "audience": "public", "category_id": ""}, htmx=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "نص محفوظ" in page and 'value="Rights"' in page
    assert 'id="title_ar-msg"' in page and count(db, KbArticle) == 0


def test_a_database_failure_half_way_through_publishing_writes_nothing(db, people, monkeypatch):
    article = write(db, people.admin)

    def broken(*args, **kwargs):
        raise OperationalError("INSERT INTO audit_log", {}, Exception("server closed the connection"))
    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(OperationalError):
        service.publish(db.session, people.admin, article)
    db.session.expire_all()
    assert count(db, KbVersion) == 0 and db.session.get(KbArticle, article.id).published_number is None


def test_the_policys_articles_are_seeded_once(app, db):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["desk", "init"]).exit_code == 0
    first = count(db, KbArticle)
    assert first == len(seeds.SEEDS)
    rights = db.session.scalar(select(KbArticle).where(KbArticle.seed_key == "rights"))
    rights.title_ar = "عنوان عدله المسؤول"
    db.session.commit()
    result = runner.invoke(args=["desk", "init"])
    assert result.exit_code == 0 and "0 articles" in result.output
    assert count(db, KbArticle) == first and count(db, KbVersion) == first
    assert db.session.get(KbArticle, rights.id).title_ar == "عنوان عدله المسؤول"
    public = {a.seed_key for a, _v in service.public_listing(db.session)}
    assert public == {"rights", "complaints", "portal-guide", "faq"}
    assert [a.id for a, _v in service.public_listing(db.session, "أسبوعين")]  # the policy's own words


# Social accounts ------------------------------------------------------------------------

def test_social_accounts_are_plain_links_on_the_portal(db, people, as_user, visitor):
    admin = as_user(people.admin)
    form = {"name_ar": "جمعية البر", "name_en": "Al-Birr", "reopen_days": "14", "whatsapp": "0501234567",
            "x_account": "@albirr", "instagram": "https://www.instagram.com/albirr", "snapchat": "albirr",
            "youtube": "not a handle!"}
    refused = admin.post("/admin/association", form)
    assert refused.status_code == 422 and "@albirr" in refused.get_data(as_text=True)
    assert db.session.get(Association, 1) is None
    form["youtube"] = "albirrchannel"
    assert admin.post("/admin/association", form).status_code == 303
    page = visitor().get("/portal/help").get_data(as_text=True)
    for address in ("https://x.com/albirr", "https://www.instagram.com/albirr", "https://www.snapchat.com/add/albirr",
                    "https://www.youtube.com/@albirrchannel", "https://wa.me/966501234567"):
        assert f'href="{address}"' in page
    assert "<script src=\"https://" not in page and "<iframe" not in page


def test_a_database_failure_while_attaching_leaves_no_row_and_no_file(db, people, monkeypatch, app):
    from desk.files import kb_dir
    article = write(db, people.admin, audience="internal")
    before = set(kb_dir(app.config).glob("*")) if kb_dir(app.config).is_dir() else set()

    def broken(*args, **kwargs):
        raise OperationalError("INSERT INTO audit_log", {}, Exception("server closed the connection"))
    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(OperationalError):
        service.add_document(db.session, people.admin, article, io.BytesIO(image_bytes("PNG")), "صورة.png",
                             directory=kb_dir(app.config), max_bytes=1024 * 1024)
    assert count(db, KbDocument) == 0
    assert set(kb_dir(app.config).glob("*")) == before  # neither the file nor its .pending


def test_a_reply_linking_an_unpublished_article_is_refused_on_send(db, people, make_ticket):
    from desk.tickets import service as tickets
    article = write(db, people.admin)
    service.publish(db.session, people.admin, article)
    reply = replies.save(db.session, people.admin, replies.ReplyData(
        title="حقوق", body_ar=f"اقرأ {{article:{article.id}}}", body_en="", department_id=None))
    ticket = make_ticket()
    service.unpublish(db.session, people.admin, article)
    text = fill.fill(db.session, ticket, reply)
    with pytest.raises(ValidationFailed) as refused:
        tickets.add_comment(db.session, people.staff, ticket, text, public=True, expected_version=ticket.version,
                            saved_replies=[reply.id])
    assert f"{{article:{article.id}}}" in str(refused.value.errors["body"][0])


def test_the_seeded_pages_read_as_arabic(app, db, people, as_user, visitor):
    """The policy's articles, on the portal and in the staff's library, pass the Arabic pages'
    check (no stray Latin word or digit, no variant the glossary bans)."""
    from tests.test_arabic_pages import problems
    seeds.ensure_seed_articles(db.session)
    ids = db.session.scalars(select(KbArticle.id).order_by(KbArticle.id)).all()
    portal, staff = visitor(), as_user(people.admin)
    found = {}
    for browser, paths in ((portal, ["/portal/help", "/portal/help?q=الشكاوى"]
                            + [f"/portal/help/{i}" for i in ids]),
                           (staff, ["/kb", "/kb/categories"] + [f"/kb/{i}" for i in ids]
                            + [f"/kb/{ids[0]}/edit", f"/kb/{ids[0]}/versions/1"])):
        for path in paths:
            response = browser.get(path)
            if response.status_code != 404:
                assert response.status_code == 200, path
                found[path] = problems(response.get_data(as_text=True))
    assert len(found) == 2 + len(seeds.SEEDS) - len(seeds.TOOLS) + 4 + len(ids)
    assert {path: p for path, p in found.items() if p} == {}


def test_the_librarys_doors(db, people, as_user, app):
    article = write(db, people.admin, title="خطوات قبول المستفيدين", body="مطابقة البيانات", audience="internal")
    service.publish(db.session, people.admin, article)
    anonymous = app.test_client()
    assert anonymous.get("/kb").status_code == 302 and anonymous.get(f"/kb/{article.id}").status_code == 302
    staff = as_user(people.staff)
    for path in ("/kb/new", f"/kb/{article.id}/edit", "/kb/categories", f"/kb/{article.id}/versions/1"):
        assert staff.get(path).status_code == 404, path
    for path in (f"/kb/{article.id}/publish", f"/kb/{article.id}/unpublish", "/kb/categories"):
        assert staff.post(path, {}).status_code == 404, path
    # The search box answers htmx with the list alone.
    fragment = staff.get("/kb?q=قبول", htmx=True).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="kb-results">') and "خطوات قبول المستفيدين" in fragment
    # A writer's publish without the CSRF token changes nothing.
    admin = as_user(people.admin)
    write(db, people.admin, title="خطوات القبول", body="نص", audience="internal", article=article)
    assert admin.post(f"/kb/{article.id}/publish", {}, csrf=False).status_code == 400
    assert count(db, KbVersion) == 1
    assert admin.post(f"/kb/{article.id}/publish", {}).status_code == 302
    assert count(db, KbVersion) == 2


def test_categories_are_added_with_their_messages_by_the_fields(db, people, as_user):
    admin = as_user(people.admin)
    refused = admin.post("/kb/categories", {"name_ar": "", "name_en": "Guides"})
    assert refused.status_code == 422 and 'value="Guides"' in refused.get_data(as_text=True)
    assert admin.post("/kb/categories", {"name_ar": "أدلة الاستخدام", "name_en": "Guides"}).status_code == 302
    assert [c.name_ar for c in service.categories(db.session)] == ["أدلة الاستخدام"]
    assert audited(db, "admin.change")[-1].record_type == "kb_category"
