"""Tags (issue 18, point 4): added and removed inline on the ticket page by whoever may act on
the ticket, each a timeline event; a queue filter; the tags on the queue's rows; counts per
tag in the statistics; admins rename, recolour and delete; a palette that passes WCAG AA."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from desk.errors import Forbidden, NotFound, ValidationFailed
from desk.models import EventKind, Tag, Ticket, TicketEvent, TicketTag, utcnow
from desk.queue import service as queue
from desk.stats import service as stats
from desk.tags import service as tags
from tests.conftest import count

CSS = Path(__file__).resolve().parent.parent / "static" / "css" / "desk.css"


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("key", sorted(tags.PALETTE))
def test_every_colour_of_the_palette_passes_wcag_aa_and_the_css_says_the_same(key):
    colour = tags.PALETTE[key]
    assert contrast(colour.background, colour.text) >= 4.5
    pattern = r"\.desk-tag-" + key + r" \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6}); \}"
    rule = re.search(pattern, CSS.read_text())
    assert rule and rule.groups() == (colour.background, colour.text)


def test_contrast_is_computed_as_wcag_does():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#777777", "#ffffff") < 4.5  # the classic grey that fails


def test_a_tag_added_and_removed_is_a_timeline_event_and_two_spellings_are_one_tag(db, people, make_ticket):
    ticket = make_ticket()
    version = ticket.version
    assert tags.add(db.session, people.focal, ticket, "  عاجلة   جدا ")
    assert not tags.add(db.session, people.staff, ticket, "عاجله جدا")  # taa marbuta: the same tag
    assert count(db, Tag) == 1 and count(db, TicketTag) == 1
    tag = db.session.query(Tag).one()
    assert tag.name == "عاجلة جدا" and tag.colour == "grey"
    assert db.session.get(Ticket, ticket.id).version == version  # no conflict for anyone editing
    assert tags.remove(db.session, people.focal, ticket, tag.id)
    assert not tags.remove(db.session, people.focal, ticket, tag.id)
    kinds = [(e.kind, e.old_value, e.new_value, e.actor_id) for e in db.session.query(TicketEvent)
             .filter(TicketEvent.kind.in_(["tag_added", "tag_removed"])).order_by(TicketEvent.id)]
    assert kinds == [(EventKind.TAG_ADDED, None, "عاجلة جدا", people.focal.id),
                     (EventKind.TAG_REMOVED, "عاجلة جدا", None, people.focal.id)]


def test_only_whoever_may_act_on_the_ticket_tags_it(db, people, make_ticket):
    ticket = make_ticket()  # SOCIAL's
    with pytest.raises(NotFound):
        tags.add(db.session, people.other_focal, ticket, "x")  # another department's focal point
    with pytest.raises(ValidationFailed) as refused:
        tags.add(db.session, people.focal, ticket, "   ")
    assert "tag" in refused.value.errors
    with pytest.raises(ValidationFailed):
        tags.add(db.session, people.focal, ticket, "ب" * 41)
    assert count(db, Tag) == 0


def test_the_ticket_page_adds_and_removes_inline_with_csrf(db, people, make_ticket, as_user):
    ticket = make_ticket()
    focal = as_user(people.focal)
    page = focal.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert 'id="ticket-tags"' in page and 'name="tag"' in page
    refused = focal.post(f"/tickets/{ticket.reference}/tags", {"tag": "أيتام"}, htmx=True, csrf=False)
    assert refused.status_code == 400 and count(db, TicketTag) == 0
    answer = focal.post(f"/tickets/{ticket.reference}/tags", {"tag": "أيتام"}, htmx=True)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "desk-tag-grey" in html and "أيتام" in html
    assert 'id="ticket-timeline"' in html and 'hx-swap-oob="true"' in html
    empty = focal.post(f"/tickets/{ticket.reference}/tags", {"tag": " "}, htmx=True)
    assert empty.status_code == 422 and 'id="tag-name-msg"' in empty.get_data(as_text=True)
    tag = db.session.query(Tag).one()
    # without JavaScript: a plain post, back to the ticket
    plain = focal.post(f"/tickets/{ticket.reference}/tags/{tag.id}/remove")
    assert plain.status_code == 302 and count(db, TicketTag) == 0
    # another department's focal point: the ticket does not exist for them
    other = as_user(people.other_focal)
    assert other.post(f"/tickets/{ticket.reference}/tags", {"tag": "x"}, htmx=True).status_code == 404
    assert count(db, TicketTag) == 0


def test_the_queue_filters_by_tag_and_shows_the_tags_on_rows(db, people, make_tickets, as_user):
    first, second, third = make_tickets(3)
    tags.add(db.session, people.staff, first, "أيتام")
    tags.add(db.session, people.staff, third, "أيتام")
    tags.add(db.session, people.staff, third, "مكرر")
    orphans = db.session.query(Tag).filter_by(name="أيتام").one()
    f = queue.parse_filters({"tag": str(orphans.id)})
    assert ("tag", str(orphans.id)) in f.query_args()
    result = queue.page(db.session, people.staff, f)
    assert [t.id for t in result.tickets] == [third.id, first.id]
    assert [t.name for t in result.tags[third.id]] == ["أيتام", "مكرر"]
    assert queue.parse_filters({"tag": "x"}).tag == ""
    html = as_user(people.staff).get(f"/tickets?tag={orphans.id}").get_data(as_text=True)
    assert first.reference in html and second.reference not in html
    assert 'id="f-tag"' in html and "desk-tag-grey" in html


def test_statistics_count_per_tag_within_the_actors_departments(db, people, make_tickets, as_user):
    social = make_tickets(2)
    aid = make_tickets(1, department_id=people.aid.id)
    old = make_tickets(1, created_at=utcnow() - timedelta(days=400))
    for ticket in [*social, *aid, *old]:
        tags.add(db.session, people.staff, ticket, "أيتام")
    today = stats.today_riyadh()
    r = stats.DateRange(today - timedelta(days=30), today)
    everything = stats.statistics(db.session, people.supervisor, r)
    assert everything.by_tag == [dict(name="أيتام", colour="grey", received=3, open=4)]
    mine = stats.statistics(db.session, people.focal, r)
    assert mine.by_tag == [dict(name="أيتام", colour="grey", received=2, open=3)]
    html = as_user(people.supervisor).get("/stats").get_data(as_text=True)
    assert 'id="table-tags"' in html and "أيتام" in html


def test_admins_rename_recolour_and_delete(db, people, make_ticket, as_user):
    ticket = make_ticket()
    tags.add(db.session, people.staff, ticket, "أيتام")
    tags.add(db.session, people.staff, ticket, "مكرر")
    tag = db.session.query(Tag).filter_by(name="أيتام").one()
    with pytest.raises(NotFound):
        tags.edit(db.session, people.staff, tag.id, "x", "red")
    with pytest.raises(ValidationFailed) as taken:
        tags.edit(db.session, people.admin, tag.id, "مكرّر", "purple")  # a diacritic: the other tag's name
    assert set(taken.value.errors) == {"name"}
    with pytest.raises(ValidationFailed) as colour:
        tags.edit(db.session, people.admin, tag.id, "أيتام", "#ff0000")
    assert set(colour.value.errors) == {"colour"}

    admin = as_user(people.admin)
    assert as_user(people.staff).get("/admin/tags").status_code == 404
    assert "tag-list" in admin.get("/admin/tags").get_data(as_text=True)
    bad = admin.post(f"/admin/tags/{tag.id}", {"name": "", "colour": "red"}, htmx=True)
    assert bad.status_code == 422 and f'id="tag-{tag.id}-name-msg"' in bad.get_data(as_text=True)
    assert admin.post(f"/admin/tags/{tag.id}", {"name": "الأيتام", "colour": "red"}).status_code == 302
    db.session.expire_all()
    assert (tag.name, tag.colour) == ("الأيتام", "red")
    assert admin.post(f"/admin/tags/{tag.id}/delete").status_code == 302
    assert count(db, Tag) == 1 and count(db, TicketTag) == 1
    removed = db.session.query(TicketEvent).filter_by(kind="tag_removed").one()
    assert (removed.ticket_id, removed.actor_id, removed.old_value) == (ticket.id, people.admin.id, "الأيتام")


def test_a_database_fault_leaves_no_tag_without_its_event(db, people, make_ticket, monkeypatch):
    ticket = make_ticket()

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")
    monkeypatch.setattr("desk.tags.service.record", broken)
    with pytest.raises(RuntimeError):
        tags.add(db.session, people.staff, ticket, "أيتام")
    assert count(db, TicketTag) == 0 and count(db, Tag) == 0


def test_forbidden_is_not_raised_for_a_queue_role(db, people, make_ticket):
    ticket = make_ticket()
    for actor in (people.staff, people.supervisor, people.admin):
        try:
            tags.add(db.session, actor, ticket, "عام")
        except Forbidden:  # pragma: no cover - what the test guards against
            pytest.fail(f"{actor.email} may act on every ticket and so may tag it")
    assert count(db, TicketTag) == 1


def test_a_tag_created_by_someone_else_at_the_same_moment_is_used(db, people, make_ticket, monkeypatch):
    ticket = make_ticket()
    real = tags._find_or_create
    calls = []

    def racing(session, actor, name):
        if not calls:  # another request commits the same tag between our look and our insert
            calls.append(1)
            with db.engine.begin() as other:
                other.execute(Tag.__table__.insert().values(name=name, key=tags._key(name), colour="blue",
                                                            created_at=utcnow()))
            session.add(Tag(name=name, key=tags._key(name), colour="grey"))
            session.flush()
        return real(session, actor, name)
    monkeypatch.setattr(tags, "_find_or_create", racing)
    assert tags.add(db.session, people.staff, ticket, "أيتام")
    assert count(db, Tag) == 1 and count(db, TicketTag) == 1
    assert db.session.query(Tag).one().colour == "blue"  # theirs, put on our ticket
