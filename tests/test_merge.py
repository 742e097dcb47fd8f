"""Merging duplicates and "related to" links (issue 18, point 3): the duplicate's documents move
to the survivor marked "merged from", its timeline is shown there, it closes through the
lifecycle with a pointer, its tracking link opens the survivor, both timelines say so; only
tickets the person may see; refused into itself, into a closed one, across beneficiaries
without confirmation; one transaction, so a database fault halfway leaves both as they were."""
from __future__ import annotations

import io

import pytest
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from desk.attachments import service as attachments
from desk.errors import NotFound, StaleVersion, ValidationFailed
from desk.models import Attachment, EventKind, Status, Ticket, TicketEvent, TicketMerge, TicketRelation
from desk.portal import service as portal
from desk.portal import tracking
from desk.tickets import merge, service, workflow
from tests.conftest import count

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def store(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    return tmp_path / "attachments"


def attach(db, actor, ticket, store, name="letter.pdf"):
    upload = attachments.Upload(stream=io.BytesIO(PDF), filename=name, description="")
    return attachments.add(db.session, actor, ticket, upload, directory=store, max_bytes=1_000_000)


def english(message) -> str:
    with force_locale("en"):
        return str(message)


def fresh(db, ticket):
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


@pytest.fixture
def pair(db, people, make_ticket):
    """Two requests of one beneficiary in SOCIAL: the original and its duplicate."""
    original = make_ticket(department_id=people.social.id)
    duplicate = make_ticket(department_id=people.social.id, new_beneficiary=None,
                            beneficiary_id=original.beneficiary_id, subject="السلة لم تصل مرة أخرى")
    return fresh(db, original), fresh(db, duplicate)


def test_a_duplicate_merges_into_the_original(db, people, pair, store):
    original, duplicate = pair
    document = attach(db, people.staff, duplicate, store)
    duplicate = fresh(db, duplicate)
    original = fresh(db, original)
    event = merge.merge(db.session, people.focal, duplicate, original, duplicate_version=duplicate.version,
                        into_version=original.version)
    duplicate, original = fresh(db, duplicate), fresh(db, original)
    # Closed through the lifecycle, with the pointer on its timeline.
    assert duplicate.status == Status.CLOSED and duplicate.closed_at is not None
    assert event.kind == EventKind.STATUS and event.new_value == Status.CLOSED
    assert event.reason == f"merged_into:{original.id}"
    assert merge.surviving(db.session, duplicate).id == original.id
    # The survivor says so, and shows the duplicate's timeline and its documents, marked.
    said = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == original.id,
                                                        TicketEvent.kind == EventKind.MERGED)).one()
    assert said.reason == f"merged_from:{duplicate.id}" and said.old_value == duplicate.reference
    shown = merge.links(db.session, people.focal, original)
    assert [t.id for t in shown.merged_from] == [duplicate.id]
    assert merge.links(db.session, people.focal, duplicate).merged_into.id == original.id
    events = service.timeline(db.session, original, merged=[duplicate.id])
    assert {e.ticket_id for e in events} == {original.id, duplicate.id}
    moved = db.session.get(Attachment, document.id)
    assert moved.ticket_id == original.id and moved.merged_from == duplicate.reference
    words = service.describe_reasons(db.session, [event.reason, said.reason], "en")
    assert words[event.reason] == f"Duplicate merged into request \u2066{original.reference}\u2069"
    assert words[said.reason] == f"Request \u2066{duplicate.reference}\u2069 merged into this one"


def test_refusals(db, people, pair, make_ticket):
    original, duplicate = pair
    with pytest.raises(ValidationFailed) as refused:
        merge.merge(db.session, people.staff, original, original, duplicate_version=original.version,
                    into_version=original.version)
    assert "itself" in english(refused.value.errors["other"][0])
    workflow.change_status(db.session, original, Status.CLOSED, actor=people.staff)
    db.session.commit()
    original = fresh(db, original)
    with pytest.raises(ValidationFailed) as refused:
        merge.merge(db.session, people.staff, duplicate, original, duplicate_version=duplicate.version,
                    into_version=original.version)
    assert "closed" in english(refused.value.errors["other"][0])
    # Across beneficiaries: only when confirmed.
    stranger = make_ticket(department_id=people.social.id)
    duplicate = fresh(db, duplicate)
    with pytest.raises(merge.NeedsConfirmation) as unconfirmed:
        merge.merge(db.session, people.staff, stranger, duplicate, duplicate_version=stranger.version,
                    into_version=duplicate.version)
    assert "confirm" in unconfirmed.value.errors
    assert fresh(db, stranger).status == Status.NEW
    merge.merge(db.session, people.staff, fresh(db, stranger), fresh(db, duplicate), confirmed=True,
                duplicate_version=fresh(db, stranger).version, into_version=fresh(db, duplicate).version)
    assert fresh(db, stranger).status == Status.CLOSED
    with pytest.raises(ValidationFailed) as again:  # already merged (and closed)
        merge.merge(db.session, people.staff, fresh(db, stranger), fresh(db, duplicate), confirmed=True,
                    duplicate_version=fresh(db, stranger).version, into_version=fresh(db, duplicate).version)
    assert "already merged" in english(again.value.errors["other"][0])


def test_only_tickets_the_person_may_see(db, people, pair, make_ticket):
    original, _ = pair
    aid = make_ticket(department_id=people.aid.id, new_beneficiary=None, beneficiary_id=original.beneficiary_id)
    with pytest.raises(NotFound):  # the focal point of SOCIAL does not see AID's ticket
        merge.merge(db.session, people.focal, aid, original, duplicate_version=aid.version,
                    into_version=original.version)
    with pytest.raises(NotFound):
        merge.relate(db.session, people.focal, original, aid)
    assert aid.id not in [t.id for t in merge.candidates(db.session, people.focal, original, "")]
    assert aid.id in [t.id for t in merge.candidates(db.session, people.staff, original, "")]
    assert [t.id for t in merge.candidates(db.session, people.staff, original, aid.reference)] == [aid.id]
    with pytest.raises(ValidationFailed):
        merge.find(db.session, people.focal, aid.reference)


def test_a_stale_version_is_refused(db, people, pair):
    original, duplicate = pair
    with pytest.raises(StaleVersion):
        merge.merge(db.session, people.staff, duplicate, original, duplicate_version=duplicate.version,
                    into_version=original.version - 1)
    assert count(db, TicketMerge) == 0


@pytest.mark.parametrize("fault_at", ["closing", "recording"])
def test_a_database_fault_halfway_leaves_both_tickets_as_they_were(db, people, pair, store, monkeypatch, fault_at):
    original, duplicate = pair
    document = attach(db, people.staff, duplicate, store)
    original, duplicate = fresh(db, original), fresh(db, duplicate)
    before = {t.id: (t.status, t.version) for t in (original, duplicate)}
    events_before = count(db, TicketEvent)
    original, duplicate = fresh(db, original), fresh(db, duplicate)
    real_change, real_record = merge.change_status, merge.record

    def fault(*args, **kwargs):
        raise OperationalError("UPDATE tickets", {}, Exception("server closed the connection unexpectedly"))

    # After the documents moved and the merge row was written: closing the duplicate fails,
    # or recording the survivor's event does.
    monkeypatch.setattr(merge, "change_status" if fault_at == "closing" else "record", fault)
    with pytest.raises(OperationalError):
        merge.merge(db.session, people.staff, duplicate, original, duplicate_version=duplicate.version,
                    into_version=original.version)
    monkeypatch.setattr(merge, "change_status", real_change)
    monkeypatch.setattr(merge, "record", real_record)
    assert {t.id: (t.status, t.version) for t in (fresh(db, original), fresh(db, duplicate))} == before
    assert db.session.get(Attachment, document.id).ticket_id == duplicate.id
    assert db.session.get(Attachment, document.id).merged_from is None
    assert count(db, TicketMerge) == 0 and count(db, TicketEvent) == events_before
    # And the merge goes through once the database is back.
    merge.merge(db.session, people.staff, fresh(db, duplicate), fresh(db, original),
                duplicate_version=fresh(db, duplicate).version, into_version=fresh(db, original).version)
    assert fresh(db, duplicate).status == Status.CLOSED


def test_a_later_merge_keeps_one_hop(db, people, pair, make_ticket):
    original, duplicate = pair
    third = make_ticket(department_id=people.social.id, new_beneficiary=None, beneficiary_id=original.beneficiary_id)
    merge.merge(db.session, people.staff, fresh(db, duplicate), fresh(db, third),
                duplicate_version=fresh(db, duplicate).version, into_version=fresh(db, third).version)
    merge.merge(db.session, people.staff, fresh(db, third), fresh(db, original),
                duplicate_version=fresh(db, third).version, into_version=fresh(db, original).version)
    assert merge.surviving(db.session, fresh(db, duplicate)).id == original.id
    assert {t.id for t in merge.links(db.session, people.staff, fresh(db, original)).merged_from} == {
        duplicate.id, third.id}


def test_the_tracking_link_of_the_duplicate_opens_the_survivor(db, people, pair, visitor):
    original, duplicate = pair
    key, duplicate.access_key_hash = tracking.new_key()
    db.session.commit()
    v = visitor()
    assert v.get(f"/portal/t/{duplicate.reference}/{key}").headers["Location"].endswith(
        f"/portal/t/{duplicate.reference}")
    assert v.get(f"/portal/t/{duplicate.reference}").status_code == 200  # before the merge: its own page
    merge.merge(db.session, people.staff, fresh(db, duplicate), fresh(db, original),
                duplicate_version=fresh(db, duplicate).version, into_version=fresh(db, original).version)
    # A visitor already in: sent on to the survivor; the link itself: straight there.
    assert v.get(f"/portal/t/{duplicate.reference}").headers["Location"].endswith(f"/portal/t/{original.reference}")
    page = v.get(f"/portal/t/{original.reference}")
    assert page.status_code == 200 and original.reference in page.get_data(as_text=True)
    fresh_visitor = visitor(ip="198.51.100.9")
    assert fresh_visitor.get(f"/portal/t/{duplicate.reference}/{key}").headers["Location"].endswith(
        f"/portal/t/{original.reference}")


def test_related_links_on_both_tickets(db, people, pair):
    original, duplicate = pair
    merge.relate(db.session, people.focal, original, duplicate)
    assert [t.id for t in merge.links(db.session, people.focal, fresh(db, duplicate)).related] == [original.id]
    assert [t.id for t in merge.links(db.session, people.focal, fresh(db, original)).related] == [duplicate.id]
    with pytest.raises(ValidationFailed):
        merge.relate(db.session, people.focal, fresh(db, duplicate), fresh(db, original))
    with pytest.raises(ValidationFailed):
        merge.relate(db.session, people.focal, fresh(db, original), fresh(db, original))
    merge.unrelate(db.session, people.focal, fresh(db, duplicate), fresh(db, original))
    assert count(db, TicketRelation) == 0
    kinds = {(e.ticket_id, e.kind) for e in db.session.scalars(select(TicketEvent).where(
        TicketEvent.kind.in_([EventKind.RELATED, EventKind.UNRELATED])))}
    assert kinds == {(t, k) for t in (original.id, duplicate.id) for k in (EventKind.RELATED, EventKind.UNRELATED)}
    with pytest.raises(ValidationFailed):
        merge.unrelate(db.session, people.focal, fresh(db, duplicate), fresh(db, original))


# Through the screens ----------------------------------------------------------------------

def test_the_panel_finds_merges_and_asks_to_confirm_across_beneficiaries(db, people, pair, make_ticket, as_user):
    original, duplicate = pair
    stranger = make_ticket(department_id=people.social.id)
    staff = as_user(people.staff)
    found = staff.get(f"/tickets/{duplicate.reference}/duplicates?q={stranger.reference}", htmx=True)
    assert found.status_code == 200 and f'id="candidate-{stranger.reference}"' in found.get_data(as_text=True)
    asked = staff.post(f"/tickets/{duplicate.reference}/merge", {
        "other": stranger.reference, "other_version": str(stranger.version), "direction": "into_this",
        "version": str(duplicate.version)}, htmx=True)
    assert asked.status_code == 422
    html = asked.get_data(as_text=True)
    assert 'name="confirm" value="yes"' in html and stranger.reference in html
    assert fresh(db, stranger).status == Status.NEW
    merged = staff.post(f"/tickets/{duplicate.reference}/merge", {
        "other": original.reference, "other_version": str(original.version), "direction": "into_other",
        "version": str(duplicate.version)}, htmx=True)
    assert merged.status_code == 200 and merged.headers["HX-Redirect"] == f"/tickets/{original.reference}"
    page = staff.get(f"/tickets/{original.reference}").get_data(as_text=True)
    assert "desk-merged-from" in page and duplicate.reference in page
    closed = staff.get(f"/tickets/{duplicate.reference}").get_data(as_text=True)
    assert "desk-merged-into" in closed and f'href="/tickets/{original.reference}"' in closed
    # Another department's focal point finds nothing of SOCIAL's.
    other = as_user(people.other_focal)
    assert other.get(f"/tickets/{original.reference}/duplicates", htmx=True).status_code == 404
    assert other.post(f"/tickets/{original.reference}/related", {"other": stranger.reference},
                      htmx=True).status_code == 404


def test_relating_through_the_panel(db, people, pair, as_user):
    original, duplicate = pair
    focal = as_user(people.focal)
    linked = focal.post(f"/tickets/{original.reference}/related", {"other": duplicate.reference}, htmx=True)
    assert linked.status_code == 200
    assert f'href="/tickets/{duplicate.reference}"' in linked.get_data(as_text=True)
    assert duplicate.reference in focal.get(f"/tickets/{duplicate.reference}").get_data(as_text=True)
    removed = focal.post(f"/tickets/{duplicate.reference}/related", {"other": original.reference, "remove": "yes"})
    assert removed.status_code == 302 and count(db, TicketRelation) == 0
    refused = focal.post(f"/tickets/{original.reference}/related", {"other": "C-1400-999999"}, htmx=True)
    assert refused.status_code == 422


def test_the_portal_shows_the_beneficiary_only_their_own_merged_documents(db, people, pair, make_ticket, store):
    original, duplicate = pair
    stranger = make_ticket(department_id=people.social.id)
    theirs = attach(db, people.staff, duplicate, store, "mine.pdf")
    others = attach(db, people.staff, stranger, store, "someone-else.pdf")
    for document in (theirs, others):
        db.session.get(Attachment, document.id).from_beneficiary = True
    db.session.commit()
    merge.merge(db.session, people.staff, fresh(db, duplicate), fresh(db, original),
                duplicate_version=fresh(db, duplicate).version, into_version=fresh(db, original).version)
    merge.merge(db.session, people.staff, fresh(db, stranger), fresh(db, original), confirmed=True,
                duplicate_version=fresh(db, stranger).version, into_version=fresh(db, original).version)
    original = fresh(db, original)
    assert {a.ticket_id for a in db.session.scalars(select(Attachment))} == {original.id}  # both moved
    assert [a.id for a in portal.beneficiary_files(db.session, original)] == [theirs.id]
    assert portal.beneficiary_file(db.session, original, others.id) is None
    assert portal.beneficiary_file(db.session, original, theirs.id).id == theirs.id


def test_an_unread_beneficiary_message_waits_on_the_survivor(db, app, people, pair):
    original, duplicate = pair
    portal.reply(db.session, duplicate, "هل وصلت أوراقي؟", [], reopen_days=14,
                 directory=app.config["DESK_ATTACHMENT_DIR"], max_bytes=1_000_000)
    assert fresh(db, duplicate).unread_message and not fresh(db, original).unread_message
    merge.merge(db.session, people.staff, fresh(db, duplicate), fresh(db, original),
                duplicate_version=fresh(db, duplicate).version, into_version=fresh(db, original).version)
    assert fresh(db, original).unread_message


def test_across_beneficiaries_the_duplicates_signature_and_papers_stay_with_their_person(db, people, pair,
                                                                                       make_ticket, store):
    from desk.casefile import service as casefile
    from desk.models import Beneficiary, Kind
    casefile.set_requirement(db.session, people.admin, Kind.COMPLAINT, "signed", ["national_id_copy"])
    original, _ = pair
    stranger = make_ticket(department_id=people.social.id)
    kinds = ("signed_attestation", "national_id_copy", "")
    documents = {}
    for kind in kinds:
        upload = attachments.Upload(stream=io.BytesIO(PDF), filename=f"{kind or 'letter'}.pdf", document_type=kind)
        documents[kind] = attachments.add(db.session, people.staff, fresh(db, stranger), upload, directory=store,
                                          max_bytes=1_000_000)
    merge.merge(db.session, people.staff, fresh(db, stranger), fresh(db, original), confirmed=True,
                duplicate_version=fresh(db, stranger).version, into_version=fresh(db, original).version)
    original, stranger = fresh(db, original), fresh(db, stranger)
    where = {kind: db.session.get(Attachment, d.id).ticket_id for kind, d in documents.items()}
    assert where == {"signed_attestation": stranger.id, "national_id_copy": stranger.id, "": original.id}
    # Another person's signature is not the survivor's attestation, nor their ID copy its checklist's.
    assert casefile.signed_scan(db.session, original) is None
    assert casefile.attestation_refusal(db.session, original) is not None
    survivor_person = db.session.get(Beneficiary, original.beneficiary_id)
    assert casefile.missing_documents(db.session, survivor_person) == ["national_id_copy"]
    # They still count for the person they belong to.
    assert casefile.missing_documents(db.session, db.session.get(Beneficiary, stranger.beneficiary_id)) == []


def test_within_one_beneficiary_the_signature_and_papers_move_and_count(db, people, pair, store):
    from desk.casefile import service as casefile
    from desk.models import Beneficiary, Kind
    casefile.set_requirement(db.session, people.admin, Kind.COMPLAINT, "signed", ["national_id_copy"])
    original, duplicate = pair
    ids = []
    for kind in ("signed_attestation", "national_id_copy"):
        upload = attachments.Upload(stream=io.BytesIO(PDF), filename=f"{kind}.pdf", document_type=kind)
        ids.append(attachments.add(db.session, people.staff, fresh(db, duplicate), upload, directory=store,
                                   max_bytes=1_000_000).id)
    merge.merge(db.session, people.staff, fresh(db, duplicate), fresh(db, original),
                duplicate_version=fresh(db, duplicate).version, into_version=fresh(db, original).version)
    original = fresh(db, original)
    assert {db.session.get(Attachment, i).ticket_id for i in ids} == {original.id}
    assert casefile.signed_scan(db.session, original).id == ids[0]
    assert casefile.attestation_refusal(db.session, original) is None
    assert casefile.missing_documents(db.session, db.session.get(Beneficiary, original.beneficiary_id)) == []
