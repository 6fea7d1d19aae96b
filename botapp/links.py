"""Find video links in a message and compute their media keys, without network.

A media key names one video whatever link shape pointed at it: ``youtube:<11-char id>``,
``instagram:<shortcode>``, ``tiktok:<numeric id>``. Tracking parameters, hosts
(m., music., www.), and path flavours (shorts/, embed/, reel/ vs p/) never change it.

Decisions:
- Instagram: the key ignores reel/reels/p/tv; the canonical URL keeps ``p/`` for posts
  and ``reel/`` for reel, reels and tv (Instagram redirects old tv/ links to reel/).
- Instagram stories and highlights are ``unsupported``: they expire and need a
  logged-in account. ``instagram.com/share/...`` links are ``unsupported`` as well.
- TikTok: the canonical URL is ``https://www.tiktok.com/@<user>/video/<id>``, with
  ``@_`` when the user is unknown, which is what yt-dlp itself builds. Photo posts are
  ``unsupported``; short links are ``needs_resolution`` (see ``resolve_short_link``).
- YouTube clips (``/clip/``) are ``unsupported``: their video id needs a request.
- YouTube ``embed/live_stream?channel=...`` is ``live_stream``: it plays whatever the
  channel streams at the moment, so there is no video to fetch. ``youtubekids.com`` and
  ``watch_popup`` links are ordinary videos.
- A scheme-less token is a link only when its host is one of the platforms' own link
  hosts (``youtu.be/x``), so "see file.txt" is not a refused link; Telegram's ``url``
  and ``text_link`` entities are always taken as links.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
from django.conf import settings

from botapp import netsafety
from botapp.models import Platform
from config.redis import get_redis


class RefusalReason(enum.StrEnum):
    PLAYLIST_OR_CHANNEL = "playlist_or_channel"  # "send a single video"
    UNSUPPORTED = "unsupported"
    LIVE_STREAM = "live_stream"  # a channel's current live stream: no video to fetch
    NEEDS_RESOLUTION = "needs_resolution"  # a TikTok short link: call resolve_short_link
    RESOLUTION_FAILED = "resolution_failed"  # resolve_short_link only: try again later


@dataclass(frozen=True, slots=True)
class MediaLink:
    platform: str  # a Platform value
    media_key: str
    canonical_url: str
    original_url: str  # as found in the message, trailing punctuation removed
    video_id: str


@dataclass(frozen=True, slots=True)
class RefusedLink:
    reason: RefusalReason
    original_url: str
    url: str  # normalised (https, lower-case host); what resolve_short_link takes
    platform: str | None = None
    detail: str = ""  # for logs, never shown to a user


LinkMatch = MediaLink | RefusedLink


@dataclass(frozen=True, slots=True)
class SupportedSite:
    platform: str
    name: str
    examples: tuple[str, ...]


SUPPORTED_SITES: tuple[SupportedSite, ...] = (
    SupportedSite(
        Platform.YOUTUBE,
        Platform.YOUTUBE.label,
        (
            "https://www.youtube.com/watch?v=<id>",
            "https://youtu.be/<id>",
            "https://www.youtube.com/shorts/<id>",
            "https://music.youtube.com/watch?v=<id>",
        ),
    ),
    SupportedSite(
        Platform.INSTAGRAM,
        Platform.INSTAGRAM.label,
        ("https://www.instagram.com/reel/<code>/", "https://www.instagram.com/p/<code>/"),
    ),
    SupportedSite(
        Platform.TIKTOK,
        Platform.TIKTOK.label,
        ("https://www.tiktok.com/@<user>/video/<id>", "https://vm.tiktok.com/<code>/"),
    ),
)


def supported_sites() -> list[SupportedSite]:
    """The sites the bot downloads from now, for the "not supported" answer."""
    return [site for site in SUPPORTED_SITES if site.platform in settings.ENABLED_PLATFORMS]


# --- Finding links in a message -------------------------------------------------

_URL_RE = re.compile(
    r"""
    (?<![\w@./:-])  # not inside a word, an e-mail address or another URL
    (?:
        (?P<scheme>[a-z][a-z0-9+.-]{0,15}://)[^\s<>"'`]+
      | (?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}(?![\w@-])
        (?::\d{1,5})?(?:[/?#][^\s<>"'`]*)?
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)
_TRAILING = ".,;:!?'\")]}>»…"
_HAS_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,15}://", re.IGNORECASE)


def extract_links(text: str, entities: Iterable[Any] | None = None) -> list[LinkMatch]:
    """Every link in ``text``, in order, each video once.

    ``entities`` are Telegram message entities (objects or dicts with type, offset,
    length and url); their offsets count UTF-16 code units, as Telegram sends them.
    """
    results: list[LinkMatch] = []
    seen: set[str] = set()
    for candidate in _candidates(well_formed(text or ""), entities or ()):
        match = parse_link(candidate)
        identity = match.media_key if isinstance(match, MediaLink) else match.url
        if identity not in seen:
            seen.add(identity)
            results.append(match)
    return results


def _candidates(text: str, entities: Iterable[Any]) -> list[str]:
    found: dict[int, str] = {}
    for match in _URL_RE.finditer(text):
        token = _trim(match.group())
        if match.group("scheme") or _link_platform(_host_of(token)) is not None:
            found.setdefault(match.start(), token)
    for position, url in _entity_urls(text, entities):
        found.setdefault(position, _trim(url))
    return [found[position] for position in sorted(found)]


def well_formed(text: str) -> str:
    """``text`` with each lone surrogate (no UTF-8 form: it would fail wherever the
    text is logged, sent or published) replaced by U+FFFD. Both are one UTF-16 code
    unit, so Telegram's entity offsets still hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _trim(token: str) -> str:
    # "(https://youtu.be/x)." -> keep a closing bracket only when the URL opened one.
    # One pass from the end, the brackets counted once: re-counting them for each
    # character trimmed was quadratic.
    opened, closed = token.count("("), token.count(")")
    end = len(token)
    while end and token[end - 1] in _TRAILING:
        if token[end - 1] == ")":
            if opened >= closed:
                break
            closed -= 1
        end -= 1
    return token[:end]


def _entity_urls(text: str, entities: Iterable[Any]) -> Iterator[tuple[int, str]]:
    encoded = text.encode("utf-16-le")
    units = len(encoded) // 2
    for entity in entities:
        kind, offset, length, url = (_field(entity, name) for name in _ENTITY_FIELDS)
        if kind not in ("url", "text_link") or not isinstance(offset, int):
            continue
        if not isinstance(length, int) or not 0 <= offset < units or length <= 0:
            continue
        # An offset may split a surrogate pair: the half is dropped or replaced.
        position = len(encoded[: offset * 2].decode("utf-16-le", errors="ignore"))
        if kind == "text_link" and url:
            yield position, well_formed(str(url))
        elif kind == "url":
            end = min(units, offset + length)
            yield position, encoded[offset * 2 : end * 2].decode("utf-16-le", errors="replace")


_ENTITY_FIELDS = ("type", "offset", "length", "url")


def _field(entity: Any, name: str) -> Any:
    if isinstance(entity, dict):
        return entity.get(name)
    return getattr(entity, name, None)


# --- One URL --------------------------------------------------------------------

# The hosts links to each platform's videos are written with (not the CDNs).
_LINK_HOSTS: dict[str, frozenset[str]] = {
    Platform.YOUTUBE: frozenset(
        {
            "youtube.com",
            "www.youtube.com",
            "m.youtube.com",
            "music.youtube.com",
            "youtubekids.com",
            "www.youtubekids.com",
            "youtu.be",
            "www.youtu.be",
            "youtube-nocookie.com",
            "www.youtube-nocookie.com",
        }
    ),
    Platform.INSTAGRAM: frozenset(
        {"instagram.com", "www.instagram.com", "m.instagram.com", "instagr.am", "www.instagr.am"}
    ),
    Platform.TIKTOK: frozenset(
        {
            "tiktok.com",
            "www.tiktok.com",
            "m.tiktok.com",
            "vm.tiktok.com",
            "vt.tiktok.com",
            "www.tiktokv.com",
        }
    ),
}


@dataclass(frozen=True, slots=True)
class _Url:
    """A link taken apart, for the per-platform parsers."""

    original: str
    normalised: str
    host: str
    segments: list[str]
    query: dict[str, list[str]]

    def refuse(self, reason: RefusalReason, platform: str | None, detail: str = "") -> RefusedLink:
        return RefusedLink(reason, self.original, self.normalised, platform, detail)

    def param(self, name: str) -> str:
        return self.query.get(name, [""])[0]


def parse_link(url: str) -> LinkMatch:
    """Recognise one URL (with or without scheme) without network."""
    original = url.strip()
    absolute = original if _HAS_SCHEME.match(original) else "https://" + original
    try:
        parts = urllib.parse.urlsplit(absolute)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return RefusedLink(RefusalReason.UNSUPPORTED, original, absolute, detail="malformed")
    problem = _shape_problem(parts)
    host = (parts.hostname or "").rstrip(".")
    normalised = urllib.parse.urlunsplit(("https", host, parts.path, parts.query, ""))
    link = _Url(
        original=original,
        normalised=normalised if not problem else absolute,
        host=host,
        segments=[segment for segment in parts.path.split("/") if segment],
        query=urllib.parse.parse_qs(parts.query),
    )
    if problem:
        return link.refuse(RefusalReason.UNSUPPORTED, None, problem)
    platform = _link_platform(host)
    if platform is None:
        return link.refuse(RefusalReason.UNSUPPORTED, None, "not a supported site")
    if platform not in settings.ENABLED_PLATFORMS:
        return link.refuse(RefusalReason.UNSUPPORTED, platform, "platform disabled")
    return _PARSERS[platform](link)


def _shape_problem(parts: urllib.parse.SplitResult) -> str:
    if parts.scheme.lower() not in ("http", "https"):
        return "scheme"
    # user:password@ hides the real host from a reader: youtube.com@evil.net.
    if "@" in parts.netloc or "\\" in parts.netloc:
        return "credentials or backslash in host"
    if parts.port not in (None, 80, 443):
        return "port"
    host = parts.hostname or ""
    if not host:
        return "no host"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return ""
    return "ip address host"


def _host_of(token: str) -> str:
    try:
        return (urllib.parse.urlsplit("https://" + token).hostname or "").rstrip(".")
    except ValueError:
        return ""


def _link_platform(host: str) -> str | None:
    for platform, hosts in _LINK_HOSTS.items():
        if host in hosts:
            return str(platform)
    return None


# --- YouTube --------------------------------------------------------------------

_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_VIDEO_PATHS = frozenset({"shorts", "embed", "live", "v", "e"})
_YOUTUBE_LIST_PATHS = frozenset(
    {"playlist", "channel", "c", "user", "hashtag", "results", "browse"}
)


def _youtube(link: _Url) -> LinkMatch:
    segments = link.segments
    if link.host.endswith("youtu.be"):
        return _youtube_video(link, segments[0] if segments else "")
    first = segments[0].lower() if segments else ""
    if first in ("watch", "watch_popup"):
        if link.param("v"):
            return _youtube_video(link, link.param("v"))
        if link.param("list"):
            return link.refuse(RefusalReason.PLAYLIST_OR_CHANNEL, Platform.YOUTUBE, "playlist")
    elif first == "embed" and len(segments) > 1 and segments[1].lower() == "live_stream":
        # embed/live_stream?channel=...: whatever the channel streams now; the name
        # only looks like an 11-character video id.
        return link.refuse(RefusalReason.LIVE_STREAM, Platform.YOUTUBE, "channel live stream")
    elif first in _YOUTUBE_VIDEO_PATHS and len(segments) > 1 and segments[1] != "videoseries":
        return _youtube_video(link, segments[1])
    elif first == "attribution_link" and link.param("u").startswith("/"):
        return _replace_original(_youtube_attributed(link.param("u"), link), link)
    elif first in _YOUTUBE_LIST_PATHS or first.startswith("@") or link.param("list"):
        return link.refuse(RefusalReason.PLAYLIST_OR_CHANNEL, Platform.YOUTUBE, first)
    return link.refuse(RefusalReason.UNSUPPORTED, Platform.YOUTUBE, "not a video page")


# "Shared from" links wrap the video's path in ?u=; a wrapped one is unwrapped again, at
# most this often (parsing each level by calling back into parse_link recursed once per
# level: a long enough message hit Python's recursion limit).
_ATTRIBUTION_DEPTH = 4


def _youtube_attributed(target: str, link: _Url) -> LinkMatch:
    for _ in range(_ATTRIBUTION_DEPTH):
        parts = urllib.parse.urlsplit(target)
        segments = [segment for segment in parts.path.split("/") if segment]
        if not segments or segments[0].lower() != "attribution_link":
            return parse_link("https://www.youtube.com" + target)
        target = urllib.parse.parse_qs(parts.query).get("u", [""])[0]
        if not target.startswith("/"):
            break
    return link.refuse(RefusalReason.UNSUPPORTED, Platform.YOUTUBE, "attribution link nesting")


def _youtube_video(link: _Url, video_id: str) -> LinkMatch:
    if not _YOUTUBE_ID.fullmatch(video_id):
        return link.refuse(RefusalReason.UNSUPPORTED, Platform.YOUTUBE, "malformed video id")
    return MediaLink(
        platform=Platform.YOUTUBE,
        media_key=f"youtube:{video_id}",
        canonical_url=f"https://www.youtube.com/watch?v={video_id}",
        original_url=link.original,
        video_id=video_id,
    )


def _replace_original(match: LinkMatch, link: _Url) -> LinkMatch:
    """``match`` as if it had been found as ``link`` in the message."""
    if isinstance(match, MediaLink):
        return replace(match, original_url=link.original)
    return replace(match, original_url=link.original, url=link.normalised)


# --- Instagram ------------------------------------------------------------------

_INSTAGRAM_CODE = re.compile(r"[A-Za-z0-9_-]{4,64}")
_INSTAGRAM_USER = re.compile(r"[A-Za-z0-9._]{1,30}")
_INSTAGRAM_KINDS = {"p": "p", "reel": "reel", "reels": "reel", "tv": "reel"}
# First path segments that are Instagram's own pages, not user names.
_INSTAGRAM_PAGES = frozenset(
    {"accounts", "about", "api", "developer", "direct", "explore", "legal", "share", "stories"}
)
_INSTAGRAM_NOT_USERS = _INSTAGRAM_PAGES | frozenset(_INSTAGRAM_KINDS)


def _instagram(link: _Url) -> LinkMatch:
    segments = [segment.lower() for segment in link.segments]
    if not segments:
        return link.refuse(RefusalReason.UNSUPPORTED, Platform.INSTAGRAM, "home page")
    # /reel/<code>/ or, as the app now shares them, /<user>/reel/<code>/
    user_form = len(segments) > 2 and segments[0] not in _INSTAGRAM_NOT_USERS
    start = 1 if user_form else 0
    kind = _INSTAGRAM_KINDS.get(segments[start]) if len(segments) > start + 1 else None
    if kind and segments[start + 1] == "audio":
        return link.refuse(RefusalReason.PLAYLIST_OR_CHANNEL, Platform.INSTAGRAM, "audio page")
    if kind:
        return _instagram_video(link, kind, link.segments[start + 1])
    if segments[0] == "explore" and segments[1:2] == ["tags"]:
        return link.refuse(RefusalReason.PLAYLIST_OR_CHANNEL, Platform.INSTAGRAM, "hashtag")
    if segments[0] in _INSTAGRAM_PAGES or segments[0] in _INSTAGRAM_KINDS:
        return link.refuse(RefusalReason.UNSUPPORTED, Platform.INSTAGRAM, segments[0])
    if _INSTAGRAM_USER.fullmatch(segments[0]):
        return link.refuse(RefusalReason.PLAYLIST_OR_CHANNEL, Platform.INSTAGRAM, "profile")
    return link.refuse(RefusalReason.UNSUPPORTED, Platform.INSTAGRAM, "not a video page")


def _instagram_video(link: _Url, kind: str, code: str) -> LinkMatch:
    if not _INSTAGRAM_CODE.fullmatch(code):
        return link.refuse(RefusalReason.UNSUPPORTED, Platform.INSTAGRAM, "malformed shortcode")
    return MediaLink(
        platform=Platform.INSTAGRAM,
        media_key=f"instagram:{code}",
        canonical_url=f"https://www.instagram.com/{kind}/{code}/",
        original_url=link.original,
        video_id=code,
    )


# --- TikTok ---------------------------------------------------------------------

_TIKTOK_ID = re.compile(r"[0-9]{10,20}")
_TIKTOK_USER = re.compile(r"[\w.-]{1,64}")
_TIKTOK_SHORT_CODE = re.compile(r"[A-Za-z0-9]{4,32}")
_TIKTOK_SHORT_HOSTS = frozenset({"vm.tiktok.com", "vt.tiktok.com"})
_TIKTOK_LIST_PATHS = frozenset({"tag", "music", "discover"})


def _tiktok(link: _Url) -> LinkMatch:
    segments = link.segments
    first = segments[0] if segments else ""
    if link.host in _TIKTOK_SHORT_HOSTS:
        return _tiktok_short(link, first)
    if first == "t":
        return _tiktok_short(link, segments[1] if len(segments) > 1 else "")
    second = segments[1].lower() if len(segments) > 1 else ""
    third = segments[2] if len(segments) > 2 else ""
    if first.startswith("@"):
        return _tiktok_user_page(link, first[1:], second, third)
    if first == "v" and second:  # m.tiktok.com/v/<id>.html
        return _tiktok_video(link, segments[1].removesuffix(".html"), "")
    if first == "embed":  # /embed/<id> and /embed/v2/<id>
        return _tiktok_video(link, third if second == "v2" else segments[-1], "")
    if (first, second) in {("player", "v1"), ("share", "video")}:
        return _tiktok_video(link, third, "")
    if first in _TIKTOK_LIST_PATHS:
        return link.refuse(RefusalReason.PLAYLIST_OR_CHANNEL, Platform.TIKTOK, first)
    return link.refuse(RefusalReason.UNSUPPORTED, Platform.TIKTOK, "not a video page")


def _tiktok_user_page(link: _Url, user: str, section: str, item: str) -> LinkMatch:
    if section == "video":
        return _tiktok_video(link, item, user)
    if section == "photo":
        return link.refuse(RefusalReason.UNSUPPORTED, Platform.TIKTOK, "photo post")
    return link.refuse(RefusalReason.PLAYLIST_OR_CHANNEL, Platform.TIKTOK, "profile")


def _tiktok_short(link: _Url, code: str) -> LinkMatch:
    if not _TIKTOK_SHORT_CODE.fullmatch(code):
        return link.refuse(RefusalReason.UNSUPPORTED, Platform.TIKTOK, "malformed short link")
    path = f"/t/{code}/" if link.host not in _TIKTOK_SHORT_HOSTS else f"/{code}/"
    host = link.host if link.host in _TIKTOK_SHORT_HOSTS else "www.tiktok.com"
    return RefusedLink(
        RefusalReason.NEEDS_RESOLUTION, link.original, f"https://{host}{path}", Platform.TIKTOK
    )


def _tiktok_video(link: _Url, video_id: str, user: str) -> LinkMatch:
    if not _TIKTOK_ID.fullmatch(video_id):
        return link.refuse(RefusalReason.UNSUPPORTED, Platform.TIKTOK, "malformed video id")
    user = user if _TIKTOK_USER.fullmatch(user) else "_"
    return MediaLink(
        platform=Platform.TIKTOK,
        media_key=f"tiktok:{video_id}",
        canonical_url=f"https://www.tiktok.com/@{user}/video/{video_id}",
        original_url=link.original,
        video_id=video_id,
    )


_PARSERS: dict[str, Callable[[_Url], LinkMatch]] = {
    Platform.YOUTUBE: _youtube,
    Platform.INSTAGRAM: _instagram,
    Platform.TIKTOK: _tiktok,
}


# --- TikTok short links: resolved once, remembered ------------------------------

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
    cached = get_redis().get(cache_key)
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


def _remember(cache_key: str, value: dict[str, str]) -> None:
    ttl = SHORTLINK_TTL_SECONDS if "media_key" in value else SHORTLINK_REFUSAL_TTL_SECONDS
    get_redis().set(cache_key, json.dumps(value), ex=ttl)


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
