"""Staff readiness in the daily field survey (issue 20, point 9; R49 "التأكد من تهيئة علاقات
المستفيدين وموظفي الخدمة لاستقبال المستفيدين/ات"): a kind of survey item the admin adds, carrying
who is on duty (staff accounts or typed names) and whether the reception is staffed during the
opening hours; saved with the survey, refused when it does not hold, shown in the reports."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from desk.errors import ValidationFailed
from desk.models import AnswerState, ItemCode, Site, SurveyAnswer, SurveyItem
from desk.survey import report, service


@pytest.fixture
def site(db):
    row = Site(name_ar="المقر الرئيسي", name_en="Main office", position=1, active=True)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def readiness_item(db, people):
    service.items(db.session)
    return service.save_item(db.session, people.admin, service.ItemData(
        "التأكد من تهيئة علاقات المستفيدين وموظفي الخدمة لاستقبال المستفيدين",
        "Beneficiary relations and service staff are ready to receive visitors", 8, True,
        ItemCode.STAFF_READINESS.value))


def answers(session, item, readiness, state=AnswerState.OK):
    found = {i.id: service.AnswerData(AnswerState.OK, "") for i in service.items(session)}
    found[item.id] = service.AnswerData(state, "", readiness)
    return found


def test_the_admin_adds_one_readiness_item(db, people, admin, readiness_item):
    assert readiness_item.code == ItemCode.STAFF_READINESS
    page = admin.get("/admin/survey-items").get_data(as_text=True)
    assert 'name="kind"' in page
    refused = admin.post("/admin/survey-items", {"kind": "staff_readiness", "text_ar": "جاهزية", "text_en": "Ready",
                                                 "position": "9", "active": "y"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "The survey already has a staff-readiness item." in html and "Ready</textarea>" in html
    assert len([i for i in service.items(db.session) if i.code == ItemCode.STAFF_READINESS]) == 1
    # a policy item keeps its code whatever kind is sent
    first = service.items(db.session)[0]
    assert admin.post(f"/admin/survey-items/{first.id}", {"kind": "staff_readiness", "text_ar": first.text_ar,
                                                          "text_en": first.text_en, "position": "1",
                                                          "active": "y"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(SurveyItem, first.id).code == ItemCode.PUBLIC_ORDER
    # nor does the readiness item become a plain one (its answers keep their meaning)
    assert admin.post(f"/admin/survey-items/{readiness_item.id}", {"kind": "", "text_ar": "جاهزية الموظفين",
                                                                   "text_en": "Staff readiness", "position": "8",
                                                                   "active": "y"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(SurveyItem, readiness_item.id).code == ItemCode.STAFF_READINESS


@pytest.mark.parametrize("readiness, field", [
    (None, "staffed"),                                                         # nothing said
    (service.ReadinessData("sometimes"), "staffed"),                           # not an answer
    (service.ReadinessData("yes"), "on_duty"),                                 # staffed by nobody
    (service.ReadinessData("no", names=["سارة"]), "on_duty"),                 # nobody can be on duty then
    (service.ReadinessData("yes", user_ids=[999999]), "on_duty"),             # no such account
    (service.ReadinessData("yes", names=["س" * 121]), "on_duty"),             # too long
])
def test_an_invalid_readiness_is_refused_and_nothing_is_submitted(db, people, site, readiness_item, readiness, field):
    survey = service.open_survey(db.session, people.supervisor, site, date(2026, 11, 24))
    with pytest.raises(ValidationFailed) as refused:
        service.submit(db.session, people.supervisor, survey, answers(db.session, readiness_item, readiness))
    assert f"{field}_{readiness_item.id}" in refused.value.errors
    db.session.refresh(survey)
    assert not survey.submitted and survey.answers == []


def test_a_focal_point_or_a_committee_member_is_not_on_duty_staff(db, people, site, readiness_item):
    survey = service.open_survey(db.session, people.supervisor, site, date(2026, 11, 24))
    with pytest.raises(ValidationFailed):
        service.submit(db.session, people.supervisor, survey,
                       answers(db.session, readiness_item, service.ReadinessData("yes", user_ids=[people.focal.id])))


def test_the_readiness_is_saved_with_the_survey(db, people, site, readiness_item):
    survey = service.open_survey(db.session, people.supervisor, site, date(2026, 11, 24))
    data = service.ReadinessData("partly", user_ids=[people.staff.id, people.staff.id], names=[" متطوع الاستقبال ", ""])
    service.submit(db.session, people.supervisor, survey, answers(db.session, readiness_item, data))
    answer = db.session.scalar(select(SurveyAnswer).where(SurveyAnswer.item_id == readiness_item.id))
    assert answer.readiness == {"staffed": "partly", "on_duty": [
        {"user_id": people.staff.id, "name": "سارة"}, {"user_id": None, "name": "متطوع الاستقبال"}]}
    [row] = report.readiness_between(db.session, date(2026, 11, 1), date(2026, 11, 30))
    assert (row.site.id, row.staffed, row.on_duty) == (site.id, "partly", ["سارة", "متطوع الاستقبال"])


def test_not_applicable_needs_no_particulars(db, people, site, readiness_item):
    survey = service.open_survey(db.session, people.supervisor, site, date(2026, 11, 24))
    service.submit(db.session, people.supervisor, survey,
                   answers(db.session, readiness_item, None, state=AnswerState.NOT_APPLICABLE))
    assert survey.submitted


def test_the_draft_keeps_it_and_the_submit_checks_what_was_saved(db, people, site, readiness_item):
    survey = service.open_survey(db.session, people.supervisor, site, date(2026, 11, 24))
    service.save_answer(db.session, people.supervisor, survey, readiness_item,
                        service.AnswerData(AnswerState.OK, "", service.ReadinessData("yes")))  # a draft may be partial
    rest = {i.id: service.AnswerData(AnswerState.OK, "") for i in service.items(db.session) if i.id != readiness_item.id}
    with pytest.raises(ValidationFailed) as refused:
        service.submit(db.session, people.supervisor, survey, rest)
    assert f"on_duty_{readiness_item.id}" in refused.value.errors
    service.save_answer(db.session, people.supervisor, survey, readiness_item,
                        service.AnswerData(AnswerState.OK, "", service.ReadinessData("yes", [people.supervisor.id])))
    service.submit(db.session, people.supervisor, survey, rest)
    assert survey.submitted


def test_the_survey_page_refuses_with_the_message_beside_the_field_and_keeps_the_input(
        as_user, db, people, site, readiness_item):
    supervisor = as_user(people.supervisor)
    survey = service.open_survey(db.session, people.supervisor, site)
    page = supervisor.get(f"/survey/{survey.id}").get_data(as_text=True)
    rid = readiness_item.id
    assert f'name="staffed_{rid}"' in page and f'name="on_duty_{rid}" id="on-duty-{rid}-{people.staff.id}"' in page
    assert f'value="{people.focal.id}"' not in page.split(f'id="item-{rid}"')[1]
    form = {f"state_{i.id}": "ok" for i in service.items(db.session)}
    form.update({"action": "submit", f"staffed_{rid}": "no", f"names_{rid}": "متطوع الاستقبال"})
    refused = supervisor.post(f"/survey/{survey.id}", form)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert f'id="on-duty-{rid}-msg"' in html and "متطوع الاستقبال</textarea>" in html
    assert f'id="staffed-{rid}-no" value="no" autocomplete="off" checked' in html
    form.update({f"staffed_{rid}": "yes", f"on_duty_{rid}": str(people.staff.id)})
    assert supervisor.post(f"/survey/{survey.id}", form).status_code == 302
    shown = supervisor.get(f"/survey/{survey.id}").get_data(as_text=True)
    assert 'id="readiness-staffed"' in shown and "سارة، متطوع الاستقبال" in shown
    report_page = supervisor.get("/stats/report?preset=this_month").get_data(as_text=True)
    assert 'id="table-readiness"' in report_page and "سارة، متطوع الاستقبال" in report_page


def test_the_autosave_of_the_item(as_user, db, people, site, readiness_item):
    supervisor = as_user(people.supervisor)
    survey = service.open_survey(db.session, people.supervisor, site)
    rid = readiness_item.id
    url = f"/survey/{survey.id}/items/{rid}"
    bad = supervisor.post(url, htmx=True, data={f"state_{rid}": "ok", f"staffed_{rid}": "no",
                                                f"on_duty_{rid}": str(people.staff.id)})
    assert bad.status_code == 422
    assert db.session.scalar(select(SurveyAnswer)) is None
    good = supervisor.post(url, htmx=True, data={f"state_{rid}": "ok", f"staffed_{rid}": "yes",
                                                 f"on_duty_{rid}": str(people.staff.id)})
    assert good.status_code == 200
    answer = db.session.scalar(select(SurveyAnswer))
    assert answer.readiness == {"staffed": "yes", "on_duty": [{"user_id": people.staff.id, "name": "سارة"}]}


def test_a_failure_half_way_through_the_submit_leaves_the_draft_as_it_was(db, people, site, readiness_item,
                                                                           monkeypatch):
    """The readiness answer is written after the other items: the database failing there rolls
    the whole submit back (no answer, still a draft), and the same submit then goes through."""
    survey = service.open_survey(db.session, people.supervisor, site, date(2026, 11, 24))
    write = service._write_answer

    def failing(session, actor, survey, item, data, readiness=None):
        if item.code == ItemCode.STAFF_READINESS:
            session.flush()  # the other answers are in the database by now
            raise RuntimeError("the database went away")
        return write(session, actor, survey, item, data, readiness)
    monkeypatch.setattr(service, "_write_answer", failing)
    given = answers(db.session, readiness_item, service.ReadinessData("yes", [people.staff.id]))
    with pytest.raises(RuntimeError):
        service.submit(db.session, people.supervisor, survey, given)
    db.session.expire_all()
    assert not survey.submitted and db.session.scalar(select(SurveyAnswer)) is None
    monkeypatch.undo()
    service.submit(db.session, people.supervisor, survey, given)
    assert survey.submitted and len(survey.answers) == len(service.items(db.session))
