from __future__ import annotations

import httpx
import pytest
import yt_dlp
from yt_dlp.networking.exceptions import TransportError

from downloads import netsafety
from downloads.links import RefusalReason
from downloads.netsafety import (
    GuardBlockedRequest,
    UnsafeReason,
    UnsafeURLError,
    assert_url_allowed,
    guard_ytdlp,
    is_public_address,
)
from downloads.shortlinks import resolve_short_link
from tests import network_guard
from tests.links.conftest import LocalServer, Route, StubResolver

UNSAFE_ADDRESSES = [
    "127.0.0.1",  # loopback
    "127.5.6.7",
    "::1",
    "10.0.0.1",  # private
    "172.16.5.4",
    "172.31.255.255",
    "192.168.1.10",
    "100.64.0.1",  # CGNAT
    "169.254.169.254",  # link-local, the cloud metadata service
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",  # unique local
    "fd12:3456:789a::1",
    "::ffff:10.0.0.1",  # IPv4-mapped private
    "::ffff:127.0.0.1",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "224.0.0.1",  # multicast
    "ff02::1",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "0.0.0.0",  # unspecified
    "::",
    "198.18.0.1",  # benchmarking
    "192.0.2.1",  # documentation
    "2001:db8::1",
    "not an address",
]
PUBLIC_ADDRESSES = ["142.250.74.14", "31.13.72.174", "2a00:1450:4001:82b::200e", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", UNSAFE_ADDRESSES)
def test_it_judges_non_public_addresses_unsafe(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_it_judges_public_addresses_safe(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize("address", UNSAFE_ADDRESSES[:-1])
def test_it_refuses_a_platform_host_resolving_to_a_non_public_address(
    address: str, resolver: StubResolver, connections: list[object]
) -> None:
    resolver.answers["rr3---sn-abc.googlevideo.com"] = [address]

    with pytest.raises(UnsafeURLError) as refused:
        assert_url_allowed("https://rr3---sn-abc.googlevideo.com/videoplayback?id=1")

    assert refused.value.reason is UnsafeReason.PRIVATE_ADDRESS
    assert connections == []
    assert resolver.asked == ["rr3---sn-abc.googlevideo.com"]


def test_one_private_answer_among_public_ones_is_enough_to_refuse(resolver: StubResolver) -> None:
    resolver.answers["www.instagram.com"] = ["157.240.1.174", "10.1.2.3"]

    with pytest.raises(UnsafeURLError) as refused:
        assert_url_allowed("https://www.instagram.com/reel/C7abcDEF12x/")

    assert refused.value.reason is UnsafeReason.PRIVATE_ADDRESS


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://rr1---sn-4g5e6nsz.googlevideo.com/videoplayback?expire=1",
        "https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg",
        "https://scontent-ams2-1.cdninstagram.com/v/t50.2886-16/1.mp4",
        "https://scontent.xx.fbcdn.net/v/t66.1.mp4",
        "https://v16-webapp-prime.tiktok.com/video/tos/1/",
        "https://v19.tiktokcdn-us.com/abc/video.mp4",
        "https://api16-normal-c-useast1a.tiktokv.com/aweme/v1/feed/",
        "http://WWW.YOUTUBE.COM./watch?v=dQw4w9WgXcQ",
    ],
)
def test_it_allows_platform_hosts_with_public_addresses(url: str, resolver: StubResolver) -> None:
    host = url.split("/")[2].lower().rstrip(".")
    resolver.answers[host] = ["142.250.74.14", "2a00:1450:4001:82b::200e"]

    assert_url_allowed(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://youtube.com.evil.net/watch?v=dQw4w9WgXcQ", UnsafeReason.HOST_NOT_ALLOWED),
        ("https://evilyoutube.com/watch?v=dQw4w9WgXcQ", UnsafeReason.HOST_NOT_ALLOWED),
        ("https://evil.net/youtube.com/", UnsafeReason.HOST_NOT_ALLOWED),
        ("http://10.0.0.1/", UnsafeReason.HOST_NOT_ALLOWED),
        ("http://[::1]/", UnsafeReason.HOST_NOT_ALLOWED),
        ("http://2130706433/", UnsafeReason.HOST_NOT_ALLOWED),  # 127.0.0.1 as a number
        ("http://localhost/", UnsafeReason.HOST_NOT_ALLOWED),
        ("https://youtube.com@evil.net/", UnsafeReason.CREDENTIALS),
        ("https://user:pw@www.youtube.com/", UnsafeReason.CREDENTIALS),
        ("https://www.youtube.com:8443/", UnsafeReason.PORT),
        ("ftp://www.youtube.com/", UnsafeReason.SCHEME),
        ("file:///etc/passwd", UnsafeReason.SCHEME),
        ("gopher://www.youtube.com/", UnsafeReason.SCHEME),
        ("https://www.youtube.com:99999/", UnsafeReason.MALFORMED),
        ("https:///watch", UnsafeReason.MALFORMED),
    ],
)
def test_it_refuses_urls_outside_the_platforms_without_resolving_them(
    url: str, reason: UnsafeReason, resolver: StubResolver, connections: list[object]
) -> None:
    with pytest.raises(UnsafeURLError) as refused:
        assert_url_allowed(url)

    assert refused.value.reason is reason
    assert resolver.asked == []
    assert connections == []


def test_a_disabled_platforms_hosts_are_refused(settings, resolver: StubResolver) -> None:
    settings.ENABLED_PLATFORMS = ["youtube"]
    resolver.answers["v16-webapp.tiktok.com"] = ["142.250.74.14"]

    with pytest.raises(UnsafeURLError) as refused:
        assert_url_allowed("https://v16-webapp.tiktok.com/video/1")

    assert refused.value.reason is UnsafeReason.HOST_NOT_ALLOWED


def test_an_unresolvable_host_is_refused(resolver: StubResolver) -> None:
    with pytest.raises(UnsafeURLError) as refused:
        assert_url_allowed("https://nowhere.youtube.com/")

    assert refused.value.reason is UnsafeReason.UNRESOLVABLE


def test_override_targets_are_allowed_without_resolution_only_as_configured(
    settings, resolver: StubResolver
) -> None:
    settings.MEDIA_ORIGIN_OVERRIDES = {"https://www.youtube.com": "http://127.0.0.1:8765"}

    assert_url_allowed("http://127.0.0.1:8765/watch?v=dQw4w9WgXcQ")
    assert resolver.asked == []
    for other in ("http://127.0.0.1:8766/", "https://127.0.0.1:8765/", "http://127.0.0.2:8765/"):
        with pytest.raises(UnsafeURLError):
            assert_url_allowed(other)
    assert netsafety.override_origin("https://www.youtube.com/watch?v=x&t=1") == (
        "http://127.0.0.1:8765/watch?v=x&t=1"
    )
    assert netsafety.override_origin("https://m.youtube.com/x") == "https://m.youtube.com/x"


def test_without_overrides_loopback_is_refused_like_anything_else(resolver: StubResolver) -> None:
    with pytest.raises(UnsafeURLError):
        assert_url_allowed("http://127.0.0.1:8765/watch?v=dQw4w9WgXcQ")


# --- Short-link redirects ---------------------------------------------------------

SHORT = "https://vm.tiktok.com/ZMeAbCdEf/"


@pytest.fixture
def short_link_server(settings, local_server: LocalServer) -> LocalServer:
    # The short-link host is an override origin (operator-configured, as in the
    # sandbox), so production code needs no test-only switch to reach 127.0.0.1.
    settings.MEDIA_ORIGIN_OVERRIDES = {"https://vm.tiktok.com": local_server.origin}
    return local_server


@pytest.mark.parametrize(
    "location",
    [
        "http://10.0.0.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:6379/",
        "https://evil.example/@u/video/6718335390845095173",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",  # a platform, but not TikTok
        "https://tiktok.com.evil.example/t/ZMx/",
        "https://www.tiktok.com@evil.example/t/ZMx/",
        "file:///etc/passwd",
    ],
)
def test_a_short_link_redirecting_off_tiktok_is_refused(
    location: str,
    short_link_server: LocalServer,
    resolver: StubResolver,
    connections: list[object],
) -> None:
    short_link_server.routes["/ZMeAbCdEf/"] = Route(302, {"Location": location})

    match = resolve_short_link(SHORT)

    assert match.reason is RefusalReason.UNSUPPORTED
    assert "redirect left TikTok" in match.detail
    assert short_link_server.requests == [("HEAD", "/ZMeAbCdEf/")]
    assert {address[1] for address in connections} == {short_link_server.port}
    assert resolver.asked == []


@pytest.mark.parametrize("address", ["10.0.0.1", "127.0.0.1", "fd00::5", "::ffff:192.168.0.1"])
def test_a_short_link_redirecting_to_a_tiktok_name_with_a_private_address_is_refused(
    address: str,
    short_link_server: LocalServer,
    resolver: StubResolver,
    connections: list[object],
) -> None:
    short_link_server.routes["/ZMeAbCdEf/"] = Route(
        302, {"Location": "https://vt.tiktok.com/ZSnext1/"}
    )
    resolver.answers["vt.tiktok.com"] = [address]
    violations_before = len(network_guard.violations)

    match = resolve_short_link(SHORT)

    assert match.reason is RefusalReason.UNSUPPORTED
    assert match.detail.startswith("unsafe: private_address")
    assert resolver.asked == ["vt.tiktok.com"]
    assert {address[1] for address in connections} == {short_link_server.port}
    assert network_guard.violations[violations_before:] == []


def test_a_short_link_itself_resolving_to_a_private_address_is_never_contacted(
    resolver: StubResolver, connections: list[object]
) -> None:
    resolver.answers["vm.tiktok.com"] = ["192.168.0.7"]

    match = resolve_short_link(SHORT)

    assert match.detail.startswith("unsafe: private_address")
    assert connections == []


def test_short_links_connect_to_the_checked_address_with_the_real_name(
    resolver: StubResolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolver.answers["vm.tiktok.com"] = ["93.184.215.14", "2606:2800:21f:cb07::7"]
    sent: list[tuple[str, str, object]] = []

    def refuse_to_send(client, request, **kwargs):
        sent.append((str(request.url), request.headers["Host"], request.extensions["sni_hostname"]))
        raise httpx.ConnectError("refused by the test")

    monkeypatch.setattr("httpx.Client.send", refuse_to_send)

    match = resolve_short_link(SHORT)

    assert match.reason is RefusalReason.RESOLUTION_FAILED
    assert sent == [
        ("https://93.184.215.14/ZMeAbCdEf/", "vm.tiktok.com", "vm.tiktok.com"),
        ("https://[2606:2800:21f:cb07::7]/ZMeAbCdEf/", "vm.tiktok.com", "vm.tiktok.com"),
    ]
    assert resolver.asked == ["vm.tiktok.com"]


# --- yt-dlp -----------------------------------------------------------------------


@pytest.fixture
def ydl() -> yt_dlp.YoutubeDL:
    downloader = yt_dlp.YoutubeDL({"quiet": True, "no_warnings": True, "socket_timeout": 5})
    guard_ytdlp(downloader)
    yield downloader
    downloader.close()


def test_guard_stops_extraction_when_the_host_resolves_to_a_private_address(
    ydl: yt_dlp.YoutubeDL, resolver: StubResolver, connections: list[object]
) -> None:
    resolver.answers["www.youtube.com"] = ["10.0.0.1"]
    violations_before = len(network_guard.violations)

    with pytest.raises(GuardBlockedRequest) as blocked:
        ydl.extract_info("https://www.youtube.com/watch?v=dQw4w9WgXcQ", download=False)

    assert blocked.value.unsafe.reason is UnsafeReason.PRIVATE_ADDRESS
    assert network_guard.violations[violations_before:] == []
    assert "www.youtube.com" in resolver.asked
    assert connections == []
    assert netsafety.find_unsafe_url_error(blocked.value) is blocked.value.unsafe


@pytest.fixture
def ytdlp_server(settings, local_server: LocalServer) -> LocalServer:
    settings.MEDIA_ORIGIN_OVERRIDES = {"https://www.youtube.com": local_server.origin}
    return local_server


@pytest.mark.parametrize(
    ("location", "reason", "asked"),
    [
        ("http://10.0.0.1/secret", UnsafeReason.HOST_NOT_ALLOWED, []),
        ("http://169.254.169.254/latest/meta-data/", UnsafeReason.HOST_NOT_ALLOWED, []),
        ("https://evil.example/", UnsafeReason.HOST_NOT_ALLOWED, []),
        ("https://www.youtube.com:8080/", UnsafeReason.PORT, []),
        ("https://rr1---sn-x.googlevideo.com/v", UnsafeReason.PRIVATE_ADDRESS, ["rr1---sn-x"]),
    ],
)
def test_guard_stops_a_redirect_to_a_private_or_foreign_host(
    location: str,
    reason: UnsafeReason,
    asked: list[str],
    ydl: yt_dlp.YoutubeDL,
    ytdlp_server: LocalServer,
    resolver: StubResolver,
    connections: list[object],
) -> None:
    resolver.answers["rr1---sn-x.googlevideo.com"] = ["192.168.7.7"]
    ytdlp_server.routes["/start"] = Route(302, {"Location": location})

    with pytest.raises(GuardBlockedRequest) as blocked:
        ydl.urlopen(f"{ytdlp_server.origin}/start")

    assert blocked.value.unsafe.reason is reason
    assert ytdlp_server.requests == [("GET", "/start")]
    assert {address[1] for address in connections} == {ytdlp_server.port}
    assert [host.split(".")[0] for host in resolver.asked] == asked


def test_guard_stops_a_redirect_during_a_real_extraction(
    ydl: yt_dlp.YoutubeDL, ytdlp_server: LocalServer, connections: list[object]
) -> None:
    ytdlp_server.routes["/video"] = Route(302, {"Location": "http://192.168.1.1/router"})

    with pytest.raises(GuardBlockedRequest):
        ydl.extract_info(f"{ytdlp_server.origin}/video", download=False)

    assert ytdlp_server.requests[0] == ("GET", "/video")
    assert {address[1] for address in connections} == {ytdlp_server.port}


def test_guard_checks_redirects_even_through_a_proxy(
    local_server: LocalServer, resolver: StubResolver
) -> None:
    # Through a proxy the proxy dials, so the connect-time check cannot apply; the
    # redirect check still has to stop the hop. The local server plays the proxy.
    resolver.answers["www.youtube.com"] = ["93.184.215.14"]
    local_server.routes["http://www.youtube.com/start"] = Route(
        302, {"Location": "http://10.0.0.1/secret"}
    )
    proxied = yt_dlp.YoutubeDL({"quiet": True, "proxy": local_server.origin})
    guard_ytdlp(proxied)

    with proxied, pytest.raises(GuardBlockedRequest) as blocked:
        proxied.urlopen("http://www.youtube.com/start")

    assert blocked.value.unsafe.reason is UnsafeReason.HOST_NOT_ALLOWED
    assert local_server.requests == [("GET", "http://www.youtube.com/start")]


def test_guard_follows_allowed_redirects(ydl: yt_dlp.YoutubeDL, ytdlp_server: LocalServer) -> None:
    ytdlp_server.routes["/start"] = Route(302, {"Location": f"{ytdlp_server.origin}/end"})
    ytdlp_server.routes["/end"] = Route(200, {"Content-Type": "text/plain"}, b"hello")

    with ydl.urlopen(f"{ytdlp_server.origin}/start") as response:
        assert response.read() == b"hello"
    assert [path for _, path in ytdlp_server.requests] == ["/start", "/end"]


def test_guard_connects_to_the_checked_address_not_to_a_second_lookup(
    ydl: yt_dlp.YoutubeDL, resolver: StubResolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolver.answers["www.youtube.com"] = ["93.184.215.14"]
    dialled: list[tuple[str, int]] = []

    def refuse(address, *args, **kwargs):
        dialled.append(address)
        raise ConnectionRefusedError("refused by the test")

    monkeypatch.setattr(netsafety, "create_connection", refuse)

    with pytest.raises(TransportError):
        ydl.urlopen("https://www.youtube.com/robots.txt")

    assert dialled == [("93.184.215.14", 443)]


def test_guard_survives_yt_dlp_rebuilding_its_request_director(
    ydl: yt_dlp.YoutubeDL, resolver: StubResolver
) -> None:
    resolver.answers["www.youtube.com"] = ["10.0.0.1"]
    ydl.close()  # drops the cached director; the next request builds a new one

    with pytest.raises(GuardBlockedRequest):
        ydl.urlopen("https://www.youtube.com/")


def test_guard_refuses_external_downloaders(ydl: yt_dlp.YoutubeDL, tmp_path) -> None:
    live_hls = {
        "id": "x",
        "url": "https://manifest.googlevideo.com/api/manifest/hls_playlist/index.m3u8",
        "protocol": "m3u8_native",
        "is_live": True,
        "ext": "mp4",
    }

    with pytest.raises(GuardBlockedRequest) as blocked:
        ydl.dl(str(tmp_path / "x.mp4"), live_hls)

    assert blocked.value.unsafe.reason is UnsafeReason.EXTERNAL_DOWNLOADER


def test_find_unsafe_url_error_sees_through_wrapping() -> None:
    unsafe = UnsafeURLError(UnsafeReason.PRIVATE_ADDRESS, "https://www.youtube.com/")
    blocked = GuardBlockedRequest(unsafe)
    # How YoutubeDL.report_error wraps what went wrong: the error rides in exc_info.
    wrapped = yt_dlp.utils.DownloadError("ERROR: blocked", (type(blocked), blocked, None))

    assert netsafety.find_unsafe_url_error(wrapped) is unsafe
    assert netsafety.find_unsafe_url_error(ValueError("other")) is None
