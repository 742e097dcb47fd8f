"""WhatsApp media (issue 22, points 2 and 3): the bearer token goes only to Meta's hosts, and
media are fetched by the worker, not in the webhook call. Against the fake Graph API on
loopback, a hostile one that names a URL on another host, and one that hangs."""
from __future__ import annotations

import pytest

from desk.channels.graph import GraphClient
from desk.channels.media import FetchFailed, MediaHosts, download
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
