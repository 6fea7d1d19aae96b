"""TikTok short links (``vm.tiktok.com/<code>``): the one part of recognising a link that
needs the network. Each is resolved once, over HTTP through the network guard, and the
answer remembered in Redis; without Redis it is simply resolved again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import urllib.parse
from dataclasses import replace

import httpx
from redis.exceptions import RedisError

from config.redis import get_redis
from downloads import netsafety
from downloads.links import LinkMatch, MediaLink, RefusalReason, RefusedLink, parse_link

log = logging.getLogger(__name__)

SHORTLINK_TTL_SECONDS = 30 * 24 * 3600
# A short link that leads to no video stays that way; remembered for a day so that
# resending it costs no request either.
SHORTLINK_REFUSAL_TTL_SECONDS = 24 * 3600
MAX_REDIRECTS = 5
_PEEK_BYTES = 8 * 1024
_TIMEOUT = httpx.Timeout(5.0)
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_VIDEO_URL_IN_PAGE = re.compile(rb"https://www\.tiktok\.com/@[\w.-]+/video/[0-9]{10,20}")
_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0 Safari/537.36"
)


class _NoVideo(Exception):
    """The short link leads somewhere that is not a single TikTok video."""

    def __init__(self, reason: RefusalReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def resolve_short_link(url: str) -> LinkMatch:
    """The video a TikTok short link points at, asking TikTok at most once per link.

    Redirects are followed by hand, only to tiktok.com and its subdomains, at most
    ``MAX_REDIRECTS`` hops, each checked by ``netsafety`` before connecting. Any other
    URL is simply parsed (no network).
    """
    link = parse_link(url)
    if not (isinstance(link, RefusedLink) and link.reason is RefusalReason.NEEDS_RESOLUTION):
        return link
    cache_key = "shortlink:" + hashlib.sha256(link.url.encode()).hexdigest()[:32]
    cached = _recall(cache_key)
    if cached is not None:
        return _from_cache(json.loads(cached), link)
    try:
        found = _follow(link.url)
    except _NoVideo as refusal:
        _remember(cache_key, {"reason": refusal.reason, "detail": refusal.detail})
        return replace(link, reason=refusal.reason, detail=refusal.detail)
    except netsafety.UnsafeURLError as unsafe:
        return replace(link, reason=RefusalReason.UNSUPPORTED, detail=f"unsafe: {unsafe}")
    except (httpx.HTTPError, OSError) as error:
        return replace(link, reason=RefusalReason.RESOLUTION_FAILED, detail=repr(error))
    _remember(cache_key, {"media_key": found.media_key, "canonical_url": found.canonical_url})
    return replace(found, original_url=link.original_url)


def _recall(cache_key: str) -> bytes | None:
    try:
        return get_redis().get(cache_key)
    except RedisError:
        log.warning("short links: Redis unavailable, resolving again")
        return None


def _remember(cache_key: str, value: dict[str, str]) -> None:
    ttl = SHORTLINK_TTL_SECONDS if "media_key" in value else SHORTLINK_REFUSAL_TTL_SECONDS
    try:
        get_redis().set(cache_key, json.dumps(value), ex=ttl)
    except RedisError:
        log.warning("short links: Redis unavailable, answer not remembered")


def _from_cache(value: dict[str, str], link: RefusedLink) -> LinkMatch:
    if "media_key" not in value:
        return replace(link, reason=RefusalReason(value["reason"]), detail=value["detail"])
    platform, _, video_id = value["media_key"].partition(":")
    return MediaLink(
        platform=platform,
        media_key=value["media_key"],
        canonical_url=value["canonical_url"],
        original_url=link.original_url,
        video_id=video_id,
    )


def _follow(url: str) -> MediaLink:
    with httpx.Client(follow_redirects=False, timeout=_TIMEOUT, trust_env=False) as client:
        for _hop in range(MAX_REDIRECTS):
            location = _next_location(client, url)
            if location is None:
                raise _NoVideo(RefusalReason.UNSUPPORTED, "short link led to no video")
            url = urllib.parse.urljoin(url, location)
            if not _is_tiktok_host(url):
                raise _NoVideo(RefusalReason.UNSUPPORTED, f"redirect left TikTok: {url}")
            match = parse_link(url)
            if isinstance(match, MediaLink):
                return match
            if match.reason is not RefusalReason.NEEDS_RESOLUTION:
                raise _NoVideo(match.reason, match.detail)
            url = match.url
    raise _NoVideo(RefusalReason.UNSUPPORTED, "too many redirects")


def _is_tiktok_host(url: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").rstrip(".")
    return (
        parts.scheme in ("http", "https")
        and "@" not in parts.netloc
        and (host == "tiktok.com" or host.endswith(".tiktok.com"))
    )


def _next_location(client: httpx.Client, url: str) -> str | None:
    """Where ``url`` redirects to: HEAD first, then a GET that reads a few KB at most."""
    for method in ("HEAD", "GET"):
        response = _send_pinned(client, method, url)
        try:
            if response.status_code in _REDIRECT_CODES and response.headers.get("location"):
                return response.headers["location"]
            if method == "GET" and response.status_code == 200:
                return _video_url_in_page(response)
        finally:
            response.close()
    return None


def _video_url_in_page(response: httpx.Response) -> str | None:
    # Some short links answer 200 with the video page itself; its canonical link says
    # which video it is.
    head = b""
    for chunk in response.iter_bytes():
        head += chunk
        if len(head) >= _PEEK_BYTES:
            break
    found = _VIDEO_URL_IN_PAGE.search(head[:_PEEK_BYTES])
    return found.group().decode() if found else None


def _send_pinned(client: httpx.Client, method: str, url: str) -> httpx.Response:
    """Send to the addresses netsafety checked, with the real name for Host and SNI."""
    real_url = netsafety.override_origin(url)
    target = netsafety.validate_url(real_url)
    if target.is_override:
        return client.send(client.build_request(method, real_url), stream=True)
    parts = urllib.parse.urlsplit(real_url)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    error: httpx.ConnectError | None = None
    for address in target.addresses:
        literal = f"[{address}]" if ":" in address else address
        pinned = parts._replace(netloc=f"{literal}:{target.port}").geturl()
        request = client.build_request(
            method,
            pinned,
            headers={"Host": host_header, "User-Agent": _USER_AGENT},
            extensions={"sni_hostname": target.host},
        )
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError as failure:
            error = failure
    raise error or httpx.ConnectError(f"no address for {target.host}")
