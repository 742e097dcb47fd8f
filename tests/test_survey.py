"""The supervisors' daily field survey (issue 8): the seven items, drafts saved item by item,
one survey per site per day under real concurrency (two threads, two connections), submission
once, item 6's figures frozen, photos, the calendar; and who may see any of it."""
from __future__ import annotations

import io
import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from desk.accounts.service import create_user
from desk.errors import NotFound, ValidationFailed
from desk.extensions import db as _db
from desk.models import (
    AnswerState,
    Channel,
    ItemCode,
    Site,
    Survey,
    SurveyItem,
    SurveyPhoto,
    SurveyStatus,
    User,
)
from desk.survey import service
from tests.conftest import PASSWORD
from tests.images import PNG


@pytest.fixture
def site(db):
    row = Site(name_ar="المقر الرئيسي", name_en="Main office", position=1, active=True)
    db.session.add(row)
    db.session.commit()
    return row


def all_ok(session) -> dict[int, service.AnswerData]:
    return {item.id: service.AnswerData(AnswerState.OK, "") for item in service.items(session)}


def test_the_seven_items_of_the_policy_are_there_by_default(db):
    items = service.items(db.session)
    assert [item.code for item in items] == [
        ItemCode.PUBLIC_ORDER, ItemCode.GUIDELINES, ItemCode.WORKFLOW, ItemCode.EMERGENCIES,
        ItemCode.OFFICES, ItemCode.COMPLAINTS, ItemCode.WEBSITE]
    assert items[0].text_ar == "النظام العام"
    service.ensure_default_items(db.session)  # a second time adds nothing
    assert db.session.scalar(select(func.count()).select_from(SurveyItem)) == 7


def test_reading_the_items_never_writes_them(db):
    """Only ``desk init`` (or a migration) creates the policy's items: reading an empty list, as a
    page on a GET does, leaves it empty."""
    db.session.execute(SurveyItem.__table__.delete())
    db.session.commit()
    assert service.items(db.session) == [] and service.items(db.session, active_only=False) == []
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(SurveyItem)) == 0


def _race(app, fn, n=2):
    """Run ``fn(session)`` in ``n`` threads at once, each with its own app context, session and
    connection, released together by a barrier. Returns (results, errors)."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, [None] * n

    def run(i):
        with app.test_request_context():  # (its own app context: its own session and connection)
            try:
                barrier.wait(timeout=10)
                results[i] = fn(_db.session)
            except Exception as error:  # collected for the assertions
                errors[i] = error
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results, errors


def test_two_simultaneous_opens_make_one_survey(app, db, people, site, monkeypatch):
    """Both requests have looked and found no survey before either inserts: the unique
    constraint refuses the second insert, which then reads the first's row."""
    find = service.find_survey
    gate = threading.Barrier(2)
    held = []

    def find_then_wait(session, site_id, day):
        found = find(session, site_id, day)
        if found is None:
            held.append(gate.wait(timeout=10))
        return found

    monkeypatch.setattr(service, "find_survey", find_then_wait)
    day = date(2026, 3, 2)
    service.items(db.session)
    supervisor_id, site_id = people.supervisor.id, site.id
    db.session.commit()
    for round_ in range(4):
        the_day = day + timedelta(days=round_)

        def open_it(session, the_day=the_day):
            return service.open_survey(session, session.get(User, supervisor_id), session.get(Site, site_id), the_day).id

        results, errors = _race(app, open_it)
        assert errors == [None, None], errors
        assert results[0] == results[1]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 4
    assert len(held) == 8  # every round, both looked before either inserted


def test_two_simultaneous_submits_make_one_submitted_survey(app, db, people, site, monkeypatch):
    """The once-per-site-per-day rule: two supervisors submit the same site's survey of the same
    day at the same moment, from nothing. One wins; the other is refused; one row.

    Both submits are held just before they claim the survey row, so both have passed every
    check in Python and read the survey as a draft: only the database decides."""
    claim = service._lock_draft
    gate = threading.Barrier(2)
    held = []

    def claim_together(session, survey, **values):
        if values.get("status") == SurveyStatus.SUBMITTED:
            held.append(gate.wait(timeout=10))
        return claim(session, survey, **values)

    monkeypatch.setattr(service, "_lock_draft", claim_together)
    other = create_user(db.session, "super2@example.org", PASSWORD, "ريم", ["supervisor"])
    ids = (people.supervisor.id, other.id)
    service.items(db.session)
    site_id = site.id
    db.session.commit()
    for round_ in range(4):
        the_day = date(2026, 4, 5) + timedelta(days=round_)
        turn = iter(range(2))
        lock = threading.Lock()

        def submit_it(session, the_day=the_day, turn=turn, lock=lock):
            with lock:
                me = ids[next(turn)]
            actor = session.get(User, me)
            answers = {i: service.AnswerData(AnswerState.ATTENTION, f"ملاحظة {me}") for i in all_ok(session)}
            return service.submit_for_day(session, actor, session.get(Site, site_id), the_day, answers).id

        results, errors = _race(app, submit_it)
        won = [r for r in results if r is not None]
        lost = [e for e in errors if e is not None]
        assert len(won) == 1 and len(lost) == 1, (results, errors)
        assert isinstance(lost[0], ValidationFailed) and "survey" in lost[0].errors
        db.session.expire_all()
        surveys = db.session.scalars(select(Survey).where(Survey.site_id == site_id, Survey.day == the_day)).all()
        assert len(surveys) == 1 and surveys[0].status == SurveyStatus.SUBMITTED
        # The winner's answers, all of them, and only theirs.
        notes = {a.note for a in surveys[0].answers}
        assert len(surveys[0].answers) == 7 and len(notes) == 1
        assert notes == {f"ملاحظة {surveys[0].submitted_by_id}"}
    assert len(held) == 8  # every round, both reached the claim


def test_the_unique_constraint_itself_refuses_a_second_row(db, people, site):
    db.session.add(Survey(site_id=site.id, day=date(2026, 5, 3), status=SurveyStatus.DRAFT))
    db.session.commit()
    db.session.add(Survey(site_id=site.id, day=date(2026, 5, 3), status=SurveyStatus.DRAFT))
    from sqlalchemy.exc import IntegrityError
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_draft_saves_item_by_item_then_submits_once(db, people, site, make_ticket):
    supervisor = people.supervisor
    survey = service.open_survey(db.session, supervisor, site)
    items = service.items(db.session)
    service.save_answer(db.session, supervisor, survey, items[0], service.AnswerData(AnswerState.ATTENTION, "زحام"))
    service.save_answer(db.session, supervisor, survey, items[0], service.AnswerData(AnswerState.OK, ""))
    assert len(service.answers_by_item(survey)) == 1
    with pytest.raises(ValidationFailed) as refused:
        service.submit(db.session, supervisor, survey)
    assert set(refused.value.errors) == {f"state_{item.id}" for item in items[1:]}
    assert survey.status == SurveyStatus.DRAFT
    make_ticket(channel=Channel.VISIT)
    make_ticket(channel=Channel.PHONE)
    db.session.commit()
    answers = {item.id: service.AnswerData(AnswerState.NOT_APPLICABLE, "") for item in items[1:]}
    service.submit(db.session, supervisor, survey, answers)
    assert survey.submitted and survey.submitted_by_id == supervisor.id
    complaints = next(a for a in survey.answers if a.item.code == ItemCode.COMPLAINTS)
    assert complaints.figures["received"] == 2
    assert complaints.figures["channels"] == {"phone": 1, "visit": 1}
    assert complaints.figures["open"] == 2
    # Read-only from now on: no autosave, no second submit, no photo.
    with pytest.raises(ValidationFailed):
        service.save_answer(db.session, supervisor, survey, items[0], service.AnswerData(AnswerState.ATTENTION, ""))
    with pytest.raises(ValidationFailed):
        service.submit(db.session, supervisor, survey, answers)
    assert service.answers_by_item(survey)[items[0].id].state == AnswerState.OK


def test_an_item_changed_later_does_not_rewrite_history(db, people, site):
    survey = service.submit_for_day(db.session, people.supervisor, site, date(2026, 6, 1), all_ok(db.session))
    item = service.items(db.session)[0]
    service.save_item(db.session, people.admin, service.ItemData("نص جديد", "New text", item.position, False), item)
    answer = service.answers_by_item(survey)[item.id]
    db.session.refresh(answer)
    assert answer.item_text_ar == "النظام العام" and answer.item_text_en == "Public order"
    assert item.id not in {i.id for i in service.items(db.session)}  # inactive: not asked tomorrow
    tomorrow = service.open_survey(db.session, people.supervisor, site, date(2026, 6, 2))
    service.submit(db.session, people.supervisor, tomorrow, all_ok(db.session))  # six items suffice now
    assert len(tomorrow.answers) == 6


def test_overdue_figures_count_tickets_past_due(db, people, site, make_ticket):
    late = make_ticket()
    make_ticket(department_id=people.aid.id)
    late.due_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()
    figures = service.live_figures(db.session, people.supervisor)
    by_department = {d["id"]: d for d in figures["departments"]}
    assert by_department[people.social.id]["overdue"] == 1 and by_department[people.social.id]["open"] == 1
    assert by_department[people.aid.id]["overdue"] == 0
    assert figures["overdue"] == 1


def test_only_roles_that_may(db, people, site):
    for actor in (people.staff, people.focal, people.admin):
        with pytest.raises(NotFound):
            service.open_survey(db.session, actor, site)
    with pytest.raises(NotFound):
        service.survey_calendar(db.session, people.focal, 2026, 3)
    with pytest.raises(NotFound):
        service.save_site(db.session, people.supervisor, service.SiteData("x", "y"))


# Through the web ----------------------------------------------------------------------------

def test_the_survey_page_autosaves_with_htmx_and_submits_without_js(as_user, db, people, site):
    supervisor = as_user(people.supervisor)
    opened = supervisor.post("/survey/open", data={"site_id": site.id})
    assert opened.status_code == 302
    survey_id = int(opened.headers["Location"].rsplit("/", 1)[1])
    page = supervisor.get(f"/survey/{survey_id}")
    assert page.status_code == 200 and "النظام العام" in page.get_data(as_text=True)
    items = service.items(db.session)
    first = items[0].id
    saved = supervisor.post(f"/survey/{survey_id}/items/{first}", htmx=True,
                            data={f"state_{first}": "attention", f"note_{first}": "لوحة مكسورة"})
    assert saved.status_code == 200 and "حُفظ" in saved.get_data(as_text=True) or "Saved" in saved.get_data(as_text=True)
    bad = supervisor.post(f"/survey/{survey_id}/items/{first}", htmx=True, data={f"state_{first}": "maybe"})
    assert bad.status_code == 422
    # Without JavaScript: everything at once; one item left unanswered is refused with the rest kept.
    form = {f"state_{i.id}": "ok" for i in items[1:-1]}
    form["action"] = "submit"
    refused = supervisor.post(f"/survey/{survey_id}", data=form)
    assert refused.status_code == 422
    form[f"state_{items[-1].id}"] = "na"
    done = supervisor.post(f"/survey/{survey_id}", data=form)
    assert done.status_code == 302
    db.session.expire_all()
    survey = db.session.get(Survey, survey_id)
    assert survey.submitted
    assert service.answers_by_item(survey)[first].note == "لوحة مكسورة"
    again = supervisor.post(f"/survey/{survey_id}/items/{first}", htmx=True, data={f"state_{first}": "ok"})
    assert again.status_code == 422
    # Seen by the general manager and the admin, not by staff or a focal point.
    manager = create_user(db.session, "gm@example.org", PASSWORD, "المدير", ["manager"])
    assert as_user(manager).get(f"/survey/{survey_id}").status_code == 200
    for user in (people.staff, people.focal):
        assert as_user(user).get(f"/survey/{survey_id}").status_code == 404
        assert as_user(user).get("/survey/calendar").status_code == 404


def test_photos_are_images_only_and_served_to_those_allowed(as_user, app, db, people, site, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_SURVEY_PHOTO_DIR", str(tmp_path))
    supervisor = as_user(people.supervisor)
    survey = service.open_survey(db.session, people.supervisor, site)
    item = service.items(db.session)[0]
    url = f"/survey/{survey.id}/items/{item.id}/photos"
    supervisor.post(url, data={"file": (io.BytesIO(PNG), "door.png")}, content_type="multipart/form-data")
    supervisor.post(url, data={"file": (io.BytesIO(b"%PDF-1.4 x"), "x.png")}, content_type="multipart/form-data")
    photos = db.session.scalars(select(SurveyPhoto)).all()
    assert len(photos) == 1 and photos[0].content_type == "image/png"
    assert sorted(p.name for p in tmp_path.iterdir()) == [photos[0].stored_name]  # the PDF left nothing
    shown = supervisor.get(f"/survey/photos/{photos[0].id}")
    assert shown.status_code == 200 and shown.data == PNG
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert as_user(people.staff).get(f"/survey/photos/{photos[0].id}").status_code == 404


def test_calendar_shows_submitted_draft_and_missing(as_user, db, people, site):
    submitted_day, draft_day = date(2026, 3, 2), date(2026, 3, 3)  # a Monday and a Tuesday
    service.submit_for_day(db.session, people.supervisor, site, submitted_day, all_ok(db.session))
    service.open_survey(db.session, people.supervisor, site, draft_day)
    grid = service.survey_calendar(db.session, people.supervisor, 2026, 3, now=datetime(2026, 3, 10, tzinfo=UTC))
    cells = {d.day: grid.cell(site, d)[0] for d in grid.days}
    assert cells[submitted_day] == "submitted" and cells[draft_day] == "draft"
    assert cells[date(2026, 3, 4)] == "missing"
    assert cells[date(2026, 3, 6)] == "off"        # a Friday
    assert cells[date(2026, 3, 20)] == "future"
    page = as_user(people.supervisor).get("/survey/calendar?month=2026-03").get_data(as_text=True)
    assert 'data-date="2026-03-02" data-state="submitted"' in page
    assert "رمضان" in page  # March 2026 is in Ramadan 1447 (and Shawwal)


def test_a_refused_submit_focuses_the_first_missing_item_and_a_second_submit_says_one_thing(
        as_user, db, people, site):
    """Review m2: the page reloaded at the top with focus nowhere; m1: a survey submitted in
    another tab got both "not submitted yet: see below" and "already submitted"."""
    supervisor = as_user(people.supervisor)
    survey_id = int(supervisor.post("/survey/open", data={"site_id": site.id}).headers["Location"].rsplit("/", 1)[1])
    items = service.items(db.session)
    missing = items[2]
    form = {f"state_{i.id}": "ok" for i in items if i.id != missing.id} | {"action": "submit"}
    html = supervisor.post(f"/survey/{survey_id}", data=form).get_data(as_text=True)
    focused = re.findall(r'<(?:input|textarea)[^>]*\bautofocus\b[^>]*>', html)
    assert len(focused) == 1 and f'name="state_{missing.id}"' in focused[0]
    assert "لم يُرسل المسح بعد" in html

    form[f"state_{missing.id}"] = "na"
    assert supervisor.post(f"/survey/{survey_id}", data=form).status_code == 302
    again = supervisor.post(f"/survey/{survey_id}", data=form)
    html = again.get_data(as_text=True)
    assert again.status_code == 422
    assert "أُرسل هذا المسح من قبل" in html and "لم يُرسل المسح بعد" not in html
