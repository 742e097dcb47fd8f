"""Media a WhatsApp message names (issue 22, points 2 and 3).

**The bearer token goes only to Meta.** A media's URL comes from the Graph API's answer, so
from outside: it is fetched, with the token, only when its host is on DESK_WHATSAPP_MEDIA_HOSTS
(Meta's CDN by default) and over HTTPS. A redirect is followed only to a host on the same list
(at most MAX_REDIRECTS). Anything else is refused before a byte is sent, and said.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from desk.channels.graph import GraphClient

log = logging.getLogger("desk.channels.media")

MAX_REDIRECTS = 3


class FetchFailed(Exception):
    """A media that could not be fetched: ``permanent`` when trying again cannot help (the host
    is not allowed, the file is too large, Meta no longer has it)."""

    def __init__(self, reason: str, permanent: bool):
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


@dataclass(frozen=True)
class MediaHosts:
    """The hosts the token may be sent to. An entry ``host`` allows ``https://host``, ``.domain``
    every host under that domain over HTTPS, and ``http://host:port`` exactly that origin over
    plain HTTP (a fake Graph API on loopback in tests, never in production)."""

    entries: tuple[str, ...]

    @classmethod
    def parse(cls, value: str | None) -> MediaHosts:
        return cls(tuple(e.strip().lower().rstrip("/") for e in (value or "").split(",") if e.strip()))

    def allows(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port
        except ValueError:  # a port that is not a number, a malformed IPv6 address
            return False
        if not host or parts.username or parts.password:
            return False
        scheme = parts.scheme.lower()
        for entry in self.entries:
            if entry.startswith("http://"):
                if scheme == "http" and f"http://{host}:{port or 80}" == _origin(entry):
                    return True
            elif scheme == "https" and port in (None, 443):
                if entry.startswith(".") and host.endswith(entry) or host == entry:
                    return True
        return False


def _origin(entry: str) -> str:
    parts = urlsplit(entry)
    return f"http://{(parts.hostname or '').lower()}:{parts.port or 80}"


def download(client: GraphClient, hosts: MediaHosts, media_id: str, max_bytes: int) -> tuple[bytes, str]:
    """A media's bytes and its type (as the Graph API says: the bytes are sniffed later). Raises
    FetchFailed."""
    try:
        info = client.http.get(f"/{media_id}")
    except httpx.HTTPError as error:
        raise FetchFailed(f"the Graph API could not be reached: {type(error).__name__}", permanent=False) from None
    if info.status_code != 200:
        raise FetchFailed(f"the Graph API answered {info.status_code}",
                          permanent=400 <= info.status_code < 500 and info.status_code not in (408, 429))
    try:
        data = info.json()
        url, mime = data["url"], data.get("mime_type") or ""
        if not isinstance(url, str) or not isinstance(mime, str):
            raise TypeError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise FetchFailed("the Graph API's answer names no media URL", permanent=False) from None
    body = _fetch(client, hosts, url, max_bytes)
    return body, mime.split(";")[0].strip().lower()


def _fetch(client: GraphClient, hosts: MediaHosts, url: str, max_bytes: int) -> bytes:
    for _ in range(MAX_REDIRECTS + 1):
        if not hosts.allows(url):
            host = _host_of(url)
            log.warning("whatsapp: media URL on %s refused: not on DESK_WHATSAPP_MEDIA_HOSTS", host)
            raise FetchFailed(f"the media URL's host ({host}) is not on DESK_WHATSAPP_MEDIA_HOSTS", permanent=True)
        try:
            with client.http.stream("GET", url) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                if response.status_code != 200:
                    raise FetchFailed(f"the media host answered {response.status_code}",
                                      permanent=response.status_code in (403, 404, 410))
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchFailed(f"larger than {max_bytes // (1024 * 1024)} MB", permanent=True)
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as error:
            raise FetchFailed(f"the media host could not be reached: {type(error).__name__}", permanent=False) from None
    raise FetchFailed(f"more than {MAX_REDIRECTS} redirects", permanent=True)


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "?")[:100]
    except ValueError:
        return "?"
