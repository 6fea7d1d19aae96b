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
  ``unsupported``; short links are ``needs_resolution`` (``downloads.shortlinks``
  resolves them, over the network).
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
import ipaddress
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings

from downloads.platforms import PLATFORMS, Platform, platform_spec


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
    url: str  # normalised (https, lower-case host); what shortlinks.resolve_short_link takes
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
    for platform, spec in PLATFORMS.items():
        if host in spec.link_hosts:
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


def link_for_key(media_key: str) -> MediaLink | None:
    """The link behind a media key (for buttons that carry only the key)."""
    platform, _sep, video_id = media_key.partition(":")
    spec = platform_spec(platform)
    match = parse_link(spec.canonical_url(video_id)) if spec else None
    return match if isinstance(match, MediaLink) and match.media_key == media_key else None
