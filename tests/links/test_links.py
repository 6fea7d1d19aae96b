from __future__ import annotations

import pytest
from telegram import MessageEntity

from config.redis import get_redis
from downloads.links import (
    MediaLink,
    RefusalReason,
    RefusedLink,
    extract_links,
    parse_link,
    supported_sites,
)
from downloads.shortlinks import SHORTLINK_TTL_SECONDS, resolve_short_link
from tests.links.conftest import LocalServer, Route, StubResolver

PLAYLIST = RefusalReason.PLAYLIST_OR_CHANNEL
UNSUPPORTED = RefusalReason.UNSUPPORTED
NEEDS_RESOLUTION = RefusalReason.NEEDS_RESOLUTION
YT = "youtube:dQw4w9WgXcQ"
YT_SHORT = "youtube:jNQXAC9IVRw"
IG = "instagram:C7abcDEF12x"
TT = "tiktok:6718335390845095173"

# (message text, expected media key | refusal reason | None for "no link at all")
SHAPES: list[tuple[str, str | RefusalReason | None]] = [
    # YouTube videos
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", YT),
    ("https://youtube.com/watch?v=dQw4w9WgXcQ", YT),
    ("https://m.youtube.com/watch?v=dQw4w9WgXcQ&feature=youtu.be", YT),
    ("https://music.youtube.com/watch?v=dQw4w9WgXcQ&si=AbC123xyz", YT),
    ("https://www.youtube.com/watch?feature=share&v=dQw4w9WgXcQ", YT),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf", YT),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PLrAXtmE&index=3&pp=iAQB", YT),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s", YT),
    ("https://youtu.be/dQw4w9WgXcQ", YT),
    ("https://youtu.be/dQw4w9WgXcQ?si=Xb8Yq1w2E3r4T5y6", YT),
    ("https://youtu.be/dQw4w9WgXcQ?t=10", YT),
    ("youtu.be/dQw4w9WgXcQ", YT),
    ("www.youtube.com/watch?v=dQw4w9WgXcQ", YT),
    ("https://www.youtube.com/shorts/jNQXAC9IVRw", YT_SHORT),
    ("https://youtube.com/shorts/jNQXAC9IVRw?si=abc&feature=share", YT_SHORT),
    ("https://www.youtube.com/embed/dQw4w9WgXcQ?autoplay=1", YT),
    ("https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ", YT),
    ("https://www.youtube.com/live/jNQXAC9IVRw?si=abc", YT_SHORT),
    ("https://www.youtube.com/v/dQw4w9WgXcQ", YT),
    ("https://www.youtube.com/e/dQw4w9WgXcQ", YT),
    ("HTTPS://WWW.YOUTUBE.COM/watch?v=dQw4w9WgXcQ", YT),
    ("http://www.youtube.com/watch?v=dQw4w9WgXcQ", YT),
    ("https://www.youtube.com./watch?v=dQw4w9WgXcQ", YT),
    ("https://www.youtube.com/attribution_link?u=/watch%3Fv%3DdQw4w9WgXcQ%26feature%3Dshare", YT),
    # YouTube lists and other pages
    ("https://www.youtube.com/playlist?list=PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf", PLAYLIST),
    ("https://www.youtube.com/watch?list=PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf", PLAYLIST),
    ("https://www.youtube.com/embed/videoseries?list=PLrAXtmErZgOeiKm4sgN", PLAYLIST),
    ("https://music.youtube.com/playlist?list=OLAK5uy_abc", PLAYLIST),
    ("https://www.youtube.com/@MrBeast", PLAYLIST),
    ("https://www.youtube.com/@MrBeast/videos", PLAYLIST),
    ("https://www.youtube.com/channel/UCX6OQ3DkcsbYNE6H8uQQuVA", PLAYLIST),
    ("https://www.youtube.com/c/LinusTechTips", PLAYLIST),
    ("https://www.youtube.com/user/PewDiePie", PLAYLIST),
    ("https://www.youtube.com/hashtag/shorts", PLAYLIST),
    ("https://www.youtube.com/watch?v=tooShort", UNSUPPORTED),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQQ", UNSUPPORTED),
    ("https://youtu.be/", UNSUPPORTED),
    ("https://www.youtube.com/", UNSUPPORTED),
    ("https://www.youtube.com/clip/UgkxAbcDefGhi", UNSUPPORTED),
    # Lookalikes, tricks and other schemes
    ("https://youtube.com.evil.net/watch?v=dQw4w9WgXcQ", UNSUPPORTED),
    ("https://evil.net/youtube.com/watch?v=dQw4w9WgXcQ", UNSUPPORTED),
    ("https://youtube.com@evil.net/watch?v=dQw4w9WgXcQ", UNSUPPORTED),
    ("https://www.youtube.com:password@evil.net/watch?v=dQw4w9WgXcQ", UNSUPPORTED),
    (r"https://evil.net\@www.youtube.com/watch?v=dQw4w9WgXcQ", UNSUPPORTED),
    ("https://www.youtube.com%2eevil.net/watch?v=dQw4w9WgXcQ", UNSUPPORTED),
    ("https://www.youtube.com:8443/watch?v=dQw4w9WgXcQ", UNSUPPORTED),
    ("https://evilyoutube.com/watch?v=dQw4w9WgXcQ", UNSUPPORTED),
    ("ftp://www.youtube.com/watch?v=dQw4w9WgXcQ", UNSUPPORTED),
    ("javascript://www.youtube.com/%0aalert(1)", UNSUPPORTED),
    ("https://142.250.74.14/watch?v=dQw4w9WgXcQ", UNSUPPORTED),
    ("https://[2a00:1450:4001::200e]/watch?v=dQw4w9WgXcQ", UNSUPPORTED),
    ("youtube.com.evil.net/watch?v=dQw4w9WgXcQ", None),
    ("evil.net/youtube.com/watch?v=dQw4w9WgXcQ", None),
    ("write to me@youtube.com please", None),
    ("https://vimeo.com/76979871", UNSUPPORTED),
    ("https://example.com/video.mp4", UNSUPPORTED),
    # Instagram
    ("https://www.instagram.com/reel/C7abcDEF12x/", IG),
    ("https://www.instagram.com/reels/C7abcDEF12x/?igsh=MWd0bHZ5cGRi", IG),
    ("https://www.instagram.com/p/C7abcDEF12x/?utm_source=ig_web_copy_link&igshid=MzRlODBi", IG),
    ("https://instagram.com/tv/C7abcDEF12x", IG),
    ("https://instagr.am/p/C7abcDEF12x/", IG),
    ("instagram.com/reel/C7abcDEF12x", IG),
    ("https://www.instagram.com/natgeo/reel/C7abcDEF12x/?utm_medium=copy_link", IG),
    ("https://www.instagram.com/p/DAbc_12-xyz/", "instagram:DAbc_12-xyz"),
    ("https://www.instagram.com/natgeo/", PLAYLIST),
    ("https://www.instagram.com/natgeo/reels/", PLAYLIST),
    ("https://www.instagram.com/explore/tags/cats/", PLAYLIST),
    ("https://www.instagram.com/reels/audio/1234567890/", PLAYLIST),
    ("https://www.instagram.com/stories/natgeo/3312345678901234567/", UNSUPPORTED),
    ("https://www.instagram.com/stories/highlights/17890000000000000/", UNSUPPORTED),
    ("https://www.instagram.com/", UNSUPPORTED),
    ("https://www.instagram.com/accounts/login/?next=/reel/C7abcDEF12x/", UNSUPPORTED),
    ("https://www.instagram.com.evil.net/reel/C7abcDEF12x/", UNSUPPORTED),
    # TikTok
    ("https://www.tiktok.com/@scout2015/video/6718335390845095173", TT),
    (
        "https://www.tiktok.com/@scout2015/video/6718335390845095173?is_from_webapp=1&sender_device=pc",
        TT,
    ),
    ("https://m.tiktok.com/v/6718335390845095173.html", TT),
    ("https://www.tiktok.com/embed/v2/6718335390845095173", TT),
    ("https://www.tiktok.com/embed/6718335390845095173", TT),
    ("https://www.tiktok.com/@/video/6718335390845095173", TT),
    ("tiktok.com/@scout2015/video/6718335390845095173", TT),
    ("https://www.tiktokv.com/share/video/6718335390845095173/", TT),
    ("https://vm.tiktok.com/ZMeAbCdEf/", NEEDS_RESOLUTION),
    ("https://vt.tiktok.com/ZSxyz123/", NEEDS_RESOLUTION),
    ("https://www.tiktok.com/t/ZTRabc123/", NEEDS_RESOLUTION),
    ("vm.tiktok.com/ZMeAbCdEf", NEEDS_RESOLUTION),
    ("https://www.tiktok.com/@scout2015", PLAYLIST),
    ("https://www.tiktok.com/@scout2015?lang=en", PLAYLIST),
    ("https://www.tiktok.com/tag/funny", PLAYLIST),
    ("https://www.tiktok.com/@scout2015/photo/7301234567890123456", UNSUPPORTED),
    ("https://www.tiktok.com/@scout2015/video/notanumber", UNSUPPORTED),
    ("https://www.tiktok.com/", UNSUPPORTED),
    ("https://tiktok.com.evil.net/@scout2015/video/6718335390845095173", UNSUPPORTED),
]


def _outcome(match: MediaLink | RefusedLink) -> str | RefusalReason:
    return match.media_key if isinstance(match, MediaLink) else match.reason


@pytest.mark.parametrize(("text", "expected"), SHAPES, ids=[text for text, _ in SHAPES])
def test_it_recognises_link_shapes(text: str, expected: str | RefusalReason | None) -> None:
    found = extract_links(text)

    if expected is None:
        assert found == []
    else:
        assert [_outcome(match) for match in found] == [expected]


def test_the_table_is_big_enough() -> None:
    assert len(SHAPES) >= 60


@pytest.mark.parametrize(
    "variants",
    [
        [
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtu.be/dQw4w9WgXcQ?si=abc",
            "https://m.youtube.com/watch?v=dQw4w9WgXcQ&utm_source=x&feature=share",
            "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RDAMVM",
            "https://www.youtube.com/shorts/dQw4w9WgXcQ?feature=share",
        ],
        [
            "https://www.instagram.com/reel/C7abcDEF12x/",
            "https://www.instagram.com/p/C7abcDEF12x/?igsh=abc",
            "https://www.instagram.com/tv/C7abcDEF12x/?utm_source=ig_web_copy_link",
            "https://www.instagram.com/natgeo/reel/C7abcDEF12x/?igshid=xyz",
        ],
        [
            "https://www.tiktok.com/@scout2015/video/6718335390845095173",
            "https://www.tiktok.com/@other/video/6718335390845095173?_r=1&_t=8abc",
            "https://m.tiktok.com/v/6718335390845095173.html?u_code=abc",
            "https://www.tiktok.com/embed/v2/6718335390845095173",
        ],
    ],
    ids=["youtube", "instagram", "tiktok"],
)
def test_it_gives_one_key_whatever_the_shape_and_tracking(variants: list[str]) -> None:
    keys = {parse_link(url).media_key for url in variants}

    assert len(keys) == 1


def test_it_builds_canonical_urls() -> None:
    assert parse_link("youtube.com/shorts/jNQXAC9IVRw?si=x").canonical_url == (
        "https://www.youtube.com/watch?v=jNQXAC9IVRw"
    )
    assert parse_link("https://www.instagram.com/reels/C7abcDEF12x/").canonical_url == (
        "https://www.instagram.com/reel/C7abcDEF12x/"
    )
    assert parse_link("https://www.instagram.com/p/C7abcDEF12x/").canonical_url == (
        "https://www.instagram.com/p/C7abcDEF12x/"
    )
    assert parse_link("https://m.tiktok.com/v/6718335390845095173.html").canonical_url == (
        "https://www.tiktok.com/@_/video/6718335390845095173"
    )
    tiktok = parse_link("https://www.tiktok.com/@scout2015/video/6718335390845095173?lang=en")
    assert tiktok.canonical_url == "https://www.tiktok.com/@scout2015/video/6718335390845095173"
    assert (tiktok.platform, tiktok.video_id) == ("tiktok", "6718335390845095173")


def test_it_strips_trailing_punctuation_from_message_text() -> None:
    found = extract_links("Watch this (https://youtu.be/xyz12345678). Great, right?")

    assert [match.original_url for match in found] == ["https://youtu.be/xyz12345678"]
    assert found[0].media_key == "youtube:xyz12345678"


def test_it_keeps_brackets_that_belong_to_the_url() -> None:
    [match] = extract_links("see https://example.com/wiki/Foo_(bar), ok")

    assert match.original_url == "https://example.com/wiki/Foo_(bar)"


def test_it_finds_several_links_in_order() -> None:
    text = (
        "first https://www.tiktok.com/@a/video/6718335390845095173, then youtu.be/dQw4w9WgXcQ;\n"
        "a list https://www.youtube.com/playlist?list=PLx and "
        "«https://www.instagram.com/reel/C7abcDEF12x/» and vm.tiktok.com/ZMeAbCdEf/!"
    )

    found = extract_links(text)

    assert [_outcome(match) for match in found] == [TT, YT, PLAYLIST, IG, NEEDS_RESOLUTION]
    assert found[-1].url == "https://vm.tiktok.com/ZMeAbCdEf/"


def test_the_same_video_twice_counts_once() -> None:
    text = (
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ and again youtu.be/dQw4w9WgXcQ?si=x "
        "and https://m.youtube.com/shorts/dQw4w9WgXcQ"
    )

    found = extract_links(text)

    assert [match.media_key for match in found] == [YT]
    assert found[0].original_url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def test_it_reads_telegram_entities_with_utf16_offsets() -> None:
    text = "😀👍 смотри тут and here"
    hidden = "https://www.instagram.com/reel/C7abcDEF12x/"
    # Telegram counts UTF-16 code units: each emoji above is two of them.
    offset = len("😀👍 смотри ".encode("utf-16-le")) // 2
    entities = [
        MessageEntity(MessageEntity.TEXT_LINK, offset=offset, length=3, url=hidden),
        {"type": "bold", "offset": 0, "length": 2},
    ]

    found = extract_links(text, entities)

    assert [_outcome(match) for match in found] == [IG]


def test_it_takes_telegram_url_entities_as_links_even_without_a_known_host() -> None:
    text = "🎬 example.com/clip and youtu.be/dQw4w9WgXcQ"
    offset = len("🎬 ".encode("utf-16-le")) // 2
    entities = [
        MessageEntity(MessageEntity.URL, offset=offset, length=len("example.com/clip")),
        MessageEntity(MessageEntity.URL, offset=offset + 21, length=len("youtu.be/dQw4w9WgXcQ")),
    ]

    found = extract_links(text, entities)

    assert [_outcome(match) for match in found] == [UNSUPPORTED, YT]
    assert found[0].url == "https://example.com/clip"


def test_it_refuses_links_to_a_disabled_platform(settings) -> None:
    settings.ENABLED_PLATFORMS = ["youtube", "instagram"]

    [match] = extract_links("https://www.tiktok.com/@scout2015/video/6718335390845095173")

    assert (match.reason, match.platform) == (UNSUPPORTED, "tiktok")
    assert [site.platform for site in supported_sites()] == ["youtube", "instagram"]


def test_supported_sites_lists_examples_for_each_enabled_platform() -> None:
    sites = supported_sites()

    assert [site.platform for site in sites] == ["youtube", "instagram", "tiktok"]
    assert all(site.examples for site in sites)


# --- Short links ----------------------------------------------------------------

SHORT = "https://vm.tiktok.com/ZMeAbCdEf/"
VIDEO_URL = "https://www.tiktok.com/@scout2015/video/6718335390845095173?_r=1&_t=8kLm"


@pytest.fixture
def short_links(settings, local_server: LocalServer) -> LocalServer:
    """vm.tiktok.com and www.tiktok.com served by the local server, as the sandbox does."""
    settings.MEDIA_ORIGIN_OVERRIDES = {
        "https://vm.tiktok.com": local_server.origin,
        "https://www.tiktok.com": local_server.origin,
    }
    return local_server


def test_it_resolves_a_short_link_once_and_then_from_the_cache(
    short_links: LocalServer, resolver: StubResolver
) -> None:
    short_links.routes["/ZMeAbCdEf/"] = Route(301, {"Location": VIDEO_URL})

    first = resolve_short_link(SHORT)
    second = resolve_short_link("vm.tiktok.com/ZMeAbCdEf")

    assert first == MediaLink(
        platform="tiktok",
        media_key=TT,
        canonical_url="https://www.tiktok.com/@scout2015/video/6718335390845095173",
        original_url=SHORT,
        video_id="6718335390845095173",
    )
    assert (second.media_key, second.canonical_url) == (TT, first.canonical_url)
    assert second.original_url == "vm.tiktok.com/ZMeAbCdEf"
    assert short_links.requests == [("HEAD", "/ZMeAbCdEf/")]
    assert resolver.asked == []  # the override origin is never looked up
    [key] = get_redis().keys("shortlink:*")
    assert get_redis().ttl(key) > SHORTLINK_TTL_SECONDS - 60


def test_it_resolves_a_short_link_without_redis_and_asks_again_next_time(
    short_links: LocalServer, settings
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    short_links.routes["/ZMeAbCdEf/"] = Route(301, {"Location": VIDEO_URL})

    assert resolve_short_link(SHORT).media_key == TT
    assert resolve_short_link(SHORT).media_key == TT  # nothing remembered: asked again
    assert short_links.requests == [("HEAD", "/ZMeAbCdEf/"), ("HEAD", "/ZMeAbCdEf/")]


def test_it_falls_back_to_get_when_head_is_refused(short_links: LocalServer) -> None:
    short_links.routes["/ZMeAbCdEf/"] = Route(302, {"Location": VIDEO_URL}, head_status=405)

    assert resolve_short_link(SHORT).media_key == TT
    assert short_links.requests == [("HEAD", "/ZMeAbCdEf/"), ("GET", "/ZMeAbCdEf/")]


def test_it_reads_the_video_from_a_page_served_without_redirect(short_links: LocalServer) -> None:
    page = b'<html><head><link rel="canonical" href="' + VIDEO_URL.encode() + b'"></head>'
    short_links.routes["/ZMeAbCdEf/"] = Route(200, {"Content-Type": "text/html"}, page)

    assert resolve_short_link(SHORT).media_key == TT


def test_it_follows_a_chain_of_tiktok_short_links(short_links: LocalServer) -> None:
    short_links.routes["/ZMeAbCdEf/"] = Route(301, {"Location": "https://www.tiktok.com/t/ZT9x/"})
    short_links.routes["/t/ZT9x/"] = Route(302, {"Location": VIDEO_URL})

    assert resolve_short_link(SHORT).media_key == TT
    assert [path for _, path in short_links.requests] == ["/ZMeAbCdEf/", "/t/ZT9x/"]


def test_it_gives_up_after_five_redirects(short_links: LocalServer) -> None:
    short_links.routes["/ZMeAbCdEf/"] = Route(301, {"Location": "https://www.tiktok.com/t/ZLoop/"})
    short_links.routes["/t/ZLoop/"] = Route(301, {"Location": "https://www.tiktok.com/t/ZLoop/"})

    match = resolve_short_link(SHORT)

    assert (match.reason, match.detail) == (UNSUPPORTED, "too many redirects")
    assert len(short_links.requests) == 5


def test_a_short_link_to_a_profile_is_refused_and_remembered(short_links: LocalServer) -> None:
    short_links.routes["/ZMeAbCdEf/"] = Route(301, {"Location": "https://www.tiktok.com/@scout"})

    assert resolve_short_link(SHORT).reason is PLAYLIST
    assert resolve_short_link(SHORT).reason is PLAYLIST
    assert len(short_links.requests) == 1


def test_an_unreachable_short_link_fails_softly_and_is_not_remembered(
    settings, local_server: LocalServer
) -> None:
    settings.MEDIA_ORIGIN_OVERRIDES = {"https://vm.tiktok.com": "http://127.0.0.1:1"}

    match = resolve_short_link(SHORT)

    assert match.reason is RefusalReason.RESOLUTION_FAILED
    assert get_redis().keys("shortlink:*") == []


def test_resolving_a_full_link_needs_no_request(resolver: StubResolver) -> None:
    match = resolve_short_link("https://www.tiktok.com/@scout2015/video/6718335390845095173")

    assert match.media_key == TT
    assert resolver.asked == []
