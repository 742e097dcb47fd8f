"""WhatsApp media (issue 22, points 2 and 3): the bearer token goes only to Meta's hosts, and
media are fetched by the worker, not in the webhook call. Against the fake Graph API on
loopback, a hostile one that names a URL on another host, and one that hangs."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from desk.channels.graph import GraphClient
from desk.channels.media import FetchFailed, MediaHosts, MediaSettings, download, fetch_due
from desk.models import Attachment, EventKind, MediaJob, MediaStatus, Ticket, TicketEvent, utcnow
from desk.notify.outbox import backoff
from desk.settings import WHATSAPP_MEDIA_HOSTS
from tests import test_channels_whatsapp as whatsapp_tests
from tests.test_channels_whatsapp import PNG, FakeGraph

graph, hook = whatsapp_tests.graph, whatsapp_tests.hook  # the fake Graph API and the signed poster (fixtures)


@pytest.fixture
def other_host():
    """Another origin (127.0.0.1 on another port): not on the allow-list."""
    fake = FakeGraph()
    yield fake
    fake.stop()


def client_for(graph) -> GraphClient:
    return GraphClient(graph.url, "graph-token", timeout=5)


# Point 2: the token goes only to Meta --------------------------------------------------------

def test_the_default_allow_list_is_metas_cdn_over_https_only():
    hosts = MediaHosts.parse(WHATSAPP_MEDIA_HOSTS)
    assert hosts.allows("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")
    assert hosts.allows("https://scontent.xx.fbcdn.net/v/t1/abc.jpg")
    for url in ("http://lookaside.fbsbx.com/x",             # not HTTPS
                "https://lookaside.fbsbx.com:8443/x",        # another port
                "https://evil.example/x", "https://lookaside.fbsbx.com.evil.example/x",
                "https://notfbcdn.net/x", "https://fbcdn.net.evil.example/x",
                "https://user:pw@lookaside.fbsbx.com/x",     # credentials in the URL
                "https://lookaside.fbsbx.com:bad/x", "ftp://lookaside.fbsbx.com/x", "/relative", ""):
        assert not hosts.allows(url), url


def test_an_explicit_http_origin_allows_exactly_that_origin():
    hosts = MediaHosts.parse("http://127.0.0.1:8080")
    assert hosts.allows("http://127.0.0.1:8080/files/1")
    assert not hosts.allows("http://127.0.0.1:8081/files/1")
    assert not hosts.allows("https://127.0.0.1:8080/files/1") and not hosts.allows("http://localhost:8080/x")


def test_a_media_url_on_another_host_is_refused_and_the_token_never_sent(app, graph, other_host):
    graph.media["m1"] = (PNG, "image/png")
    other_host.media["m1"] = (PNG, "image/png")
    graph.urls["m1"] = f"{other_host.url}/files/m1"  # the hostile API names a URL elsewhere
    with pytest.raises(FetchFailed) as refused:
        download(client_for(graph), MediaHosts.parse(graph.url), "m1", 1_000_000)
    assert refused.value.permanent and "not on DESK_WHATSAPP_MEDIA_HOSTS" in refused.value.reason
    assert other_host.requests == []  # not a byte, so not the token


def test_a_redirect_to_another_host_is_not_followed(app, graph, other_host):
    graph.media["m1"] = (PNG, "image/png")
    other_host.media["m1"] = (PNG, "image/png")
    graph.redirects["m1"] = f"{other_host.url}/files/m1"
    with pytest.raises(FetchFailed) as refused:
        download(client_for(graph), MediaHosts.parse(graph.url), "m1", 1_000_000)
    assert refused.value.permanent
    assert other_host.requests == []


def test_a_redirect_on_an_allowed_host_is_followed(app, graph):
    graph.media["m1"] = (PNG, "image/png")
    graph.media["m2"] = (b"", "image/png")
    graph.redirects["m2"] = f"{graph.url}/files/m1"
    assert download(client_for(graph), MediaHosts.parse(graph.url), "m2", 1_000_000) == (PNG, "image/png")


def test_a_redirect_loop_ends(app, graph):
    graph.media["m1"] = (PNG, "image/png")
    graph.redirects["m1"] = f"{graph.url}/files/m1"
    with pytest.raises(FetchFailed) as refused:
        download(client_for(graph), MediaHosts.parse(graph.url), "m1", 1_000_000)
    assert "redirects" in refused.value.reason


def test_a_file_over_the_limit_is_refused_while_it_is_read(app, graph):
    graph.media["big"] = (PNG * 1000, "image/png")
    with pytest.raises(FetchFailed) as refused:
        download(client_for(graph), MediaHosts.parse(graph.url), "big", 10_000)
    assert refused.value.permanent


def test_a_media_id_that_is_not_a_plain_id_is_refused_by_the_schema(db, people, graph, hook):
    payload = whatsapp_tests.text_message()
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update({"type": "image", "image": {"id": "../../me/messages?x=1"}})
    assert hook(payload).status_code == 400


# Point 3: media by the worker -----------------------------------------------------------------

def image_message(wamid="wamid.img.1", media_id="m1", caption="", **extra):
    payload = whatsapp_tests.text_message(wamid=wamid)
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update({"type": "image", "image": {"id": media_id, "mime_type": "image/png", "caption": caption, **extra}})
    del message["text"]
    return payload


def settings_for(app, **changes) -> MediaSettings:
    return replace(MediaSettings.from_config(app.config), **changes)


def jobs(db) -> list[MediaJob]:
    db.session.expire_all()
    return list(db.session.scalars(select(MediaJob).order_by(MediaJob.id)))


def notes(db) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(TicketEvent.body).where(TicketEvent.kind == EventKind.NOTE)
                                   .order_by(TicketEvent.id)))


def attached(db) -> list[Attachment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Attachment).order_by(Attachment.id)))


def test_the_webhook_queues_the_media_and_answers_without_calling_meta(app, db, people, graph, hook):
    graph.media["m1"] = (PNG, "image/png")
    graph.hang.set()  # the Graph API hangs: the webhook does not wait on it
    answer = hook(image_message())
    assert answer.status_code == 200 and answer.get_json()["tickets"] == 1
    assert graph.requests == []
    (job,) = jobs(db)
    assert job.status == MediaStatus.PENDING and job.media_id == "m1" and job.ticket_id is not None
    assert attached(db) == []
    graph.hang.clear()
    result = fetch_due(db.session, settings_for(app))
    assert result.attached == 1
    (job,) = jobs(db)
    (document,) = attached(db)
    assert job.status == MediaStatus.DONE and job.attachment_id == document.id
    assert document.ticket_id == job.ticket_id and document.from_beneficiary
    assert fetch_due(db.session, settings_for(app)).claimed == 0  # attached once


def test_a_hanging_graph_api_is_retried_with_backoff_and_nothing_is_lost(app, db, people, graph, hook, monkeypatch):
    graph.media["m1"] = (PNG, "image/png")
    hook(image_message())
    monkeypatch.setitem(app.config, "DESK_GRAPH_TIMEOUT", 0.5)
    settings = settings_for(app)
    graph.hang.set()
    now = utcnow()
    result = fetch_due(db.session, settings, now=now)
    assert (result.claimed, result.retried, result.failed) == (1, 1, 0)
    (job,) = jobs(db)
    assert job.status == MediaStatus.PENDING and job.attempts == 1 and "could not be reached" in job.last_error
    assert job.next_attempt_at == now + backoff(1)
    assert fetch_due(db.session, settings, now=now + timedelta(seconds=30)).claimed == 0  # not before its backoff
    graph.hang.clear()
    assert fetch_due(db.session, settings, now=now + backoff(1)).attached == 1
    assert len(attached(db)) == 1 and notes(db) == []


def test_a_failure_past_the_retry_window_gives_up_visibly_and_staff_can_try_again(
        app, db, people, graph, hook, as_user, monkeypatch):
    graph.media["m1"] = (PNG, "image/png")
    hook(image_message())
    monkeypatch.setitem(app.config, "DESK_GRAPH_TIMEOUT", 0.5)
    settings = settings_for(app, retry_window=timedelta(hours=1))
    graph.hang.set()
    start = utcnow()
    fetch_due(db.session, settings, now=start)
    result = fetch_due(db.session, settings, now=start + timedelta(hours=2))
    assert result.failed == 1
    (job,) = jobs(db)
    assert job.status == MediaStatus.FAILED
    (note,) = notes(db)
    assert "File could not be fetched" in note and "whatsapp-image" in note
    graph.hang.clear()

    ticket = db.session.get(Ticket, job.ticket_id)
    staff = as_user(people.staff)
    page = staff.get(f"/tickets/{ticket.reference}")
    assert "ticket-media" in page.text and "could not be fetched" in page.text
    retried = staff.post(f"/tickets/{ticket.reference}/media/{job.id}/retry", data={})  # the browser's CSRF token
    assert retried.status_code in (302, 303)
    assert jobs(db)[0].status == MediaStatus.PENDING
    assert "Fetching the file again" in notes(db)[-1]
    assert fetch_due(db.session, settings).attached == 1
    assert len(attached(db)) == 1
    assert "ticket-media" not in staff.get(f"/tickets/{ticket.reference}").text  # nothing left to fetch


def test_the_retry_is_refused_outside_the_staff_members_scope_and_without_csrf(app, db, people, graph, hook, as_user):
    hook(image_message(media_id="gone"))  # Meta has no such media: given up at once
    fetch_due(db.session, settings_for(app))
    (job,) = jobs(db)
    assert job.status == MediaStatus.FAILED
    ticket = db.session.get(Ticket, job.ticket_id)
    other = as_user(people.other_focal)
    assert other.post(f"/tickets/{ticket.reference}/media/{job.id}/retry", data={}).status_code == 404
    assert other.post(f"/tickets/{ticket.reference}/media/{job.id + 1}/retry", data={}).status_code == 404
    staff = as_user(people.staff)
    assert staff.post(f"/tickets/{ticket.reference}/media/{job.id}/retry", data={}, csrf=False).status_code == 400
    assert jobs(db)[0].status == MediaStatus.FAILED


def test_a_hostile_api_naming_another_host_is_given_up_at_once_and_said(app, db, people, graph, hook, other_host):
    graph.media["m1"] = (PNG, "image/png")
    graph.urls["m1"] = f"{other_host.url}/files/m1"
    hook(image_message())
    assert fetch_due(db.session, settings_for(app)).failed == 1
    assert other_host.requests == []
    (note,) = notes(db)
    assert "not on DESK_WHATSAPP_MEDIA_HOSTS" in note


def test_a_file_the_attachment_rules_refuse_is_said_on_the_ticket(app, db, people, graph, hook):
    graph.media["m1"] = (b"OggS" + b"\x00" * 100, "audio/ogg")
    hook(image_message())
    assert fetch_due(db.session, settings_for(app)).refused == 1
    assert attached(db) == []
    (job,) = jobs(db)
    assert job.status == MediaStatus.DONE and job.last_error
    assert "File not attached" in notes(db)[0]


def test_a_worker_whose_lease_ran_out_writes_nothing(app, db, people, graph, hook, monkeypatch):
    """Worker A claims the job and is slow; its lease runs out and worker B takes the job and
    attaches the file. A's late outcome is refused (compare-and-set): the file is attached once."""
    graph.media["m1"] = (PNG, "image/png")
    hook(image_message())
    settings = settings_for(app)
    now = utcnow()
    from desk.channels import media as media_module
    (a,) = media_module.claim(db.session, settings, now)
    b_result = fetch_due(db.session, settings, now=now + settings.lease + timedelta(seconds=1))
    assert b_result.attached == 1
    late = media_module.FetchResult()
    media_module.store_fetched(db.session, settings, a, PNG, "image/png", now + settings.lease, late)
    assert late.skipped == 1 and late.attached == 0
    assert len(attached(db)) == 1


def test_a_crash_while_storing_leaves_the_job_to_be_tried_again(app, db, people, graph, hook, monkeypatch):
    graph.media["m1"] = (PNG, "image/png")
    hook(image_message())
    settings = settings_for(app)
    from desk.attachments import service as attachments

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    now = utcnow()
    with monkeypatch.context() as patch:
        patch.setattr(attachments, "store", full_disk)
        with pytest.raises(OSError):
            fetch_due(db.session, settings, now=now)
    (job,) = jobs(db)
    assert job.status == MediaStatus.FETCHING and job.attachment_id is None  # nothing half-written
    assert attached(db) == []
    assert fetch_due(db.session, settings, now=now + settings.lease + timedelta(seconds=1)).attached == 1


def test_a_replayed_webhook_queues_the_media_once(app, db, people, graph, hook):
    graph.media["m1"] = (PNG, "image/png")
    hook(image_message())
    hook(image_message())
    assert len(jobs(db)) == 1


def test_a_file_fetched_after_the_ticket_was_anonymised_is_not_attached(app, db, people, graph, hook):
    graph.media["m1"] = (PNG, "image/png")
    hook(image_message())
    (job,) = jobs(db)
    ticket = db.session.get(Ticket, job.ticket_id)
    ticket.anonymised_at = utcnow()
    db.session.commit()
    fetch_due(db.session, settings_for(app))
    (job,) = jobs(db)
    assert job.status == MediaStatus.DONE and job.last_error == "anonymised" and attached(db) == []


def test_anonymising_a_ticket_drops_the_files_still_to_fetch(app, db, people, graph, hook):
    from desk.privacy.anonymise import anonymise_ticket
    from desk.transaction import atomic
    graph.media["m1"] = (PNG, "image/png")
    hook(image_message())
    (job,) = jobs(db)
    ticket = db.session.get(Ticket, job.ticket_id)
    with atomic(db.session) as files:
        anonymise_ticket(db.session, None, ticket, files, app.config["DESK_ATTACHMENT_DIR"], reason="retention",
                         now=utcnow())
    assert jobs(db) == []
    assert fetch_due(db.session, settings_for(app)).claimed == 0 and graph.requests == []


def test_the_health_page_counts_files_waiting_and_given_up(app, db, people, en, graph, hook, as_user):
    graph.media["m1"] = (PNG, "image/png")
    hook(image_message())
    hook(image_message(wamid="wamid.img.2", media_id="gone"))
    hook(image_message(wamid="wamid.img.3", media_id="m1"))
    from desk.channels import media as media_module
    (first, *_) = media_module.claim(db.session, settings_for(app, batch=1), utcnow())  # one being fetched
    media_module.store_fetched(db.session, settings_for(app), first, PNG, "image/png", utcnow(),
                               media_module.FetchResult())
    fetch_due(db.session, settings_for(app, batch=1))  # "gone": given up
    page = as_user(people.admin).get("/admin/channels").text
    assert "Waiting to be fetched: 1" in page and "Could not be fetched: 1" in page
