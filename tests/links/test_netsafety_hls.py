"""Encrypted HLS must not let ffmpeg (or any other program) fetch what the guard refuses.

The platform (an override origin on 127.0.0.1, as in the sandbox) serves an HLS
manifest whose key and segments live on an "internal" service: another loopback port
that is no platform host, standing for a database, a metadata service or an admin
panel. Names are answered by the stub resolver; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import yt_dlp
import yt_dlp.downloader.hls
from yt_dlp.postprocessor import FFmpegMergerPP
from yt_dlp.utils import PostProcessingError

from downloads import netsafety
from downloads.media import downloader as media_downloader
from downloads.media.errors import DownloadError
from downloads.netsafety import GuardBlockedRequest, UnsafeReason, guard_ytdlp
from tests.links.conftest import LocalServer, Route, StubResolver, _handler_for

KEY = bytes(range(16))


@pytest.fixture
def internal() -> Iterator[LocalServer]:
    """The service nobody outside may reach; it records every request it gets."""
    state = LocalServer(port=0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    state.port = httpd.server_address[1]
    state.routes["/key"] = Route(200, {"Content-Type": "application/octet-stream"}, KEY)
    for n in range(2):
        state.routes[f"/seg{n}.ts"] = Route(200, {"Content-Type": "video/mp2t"}, b"G" * 188)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def site(settings, local_server: LocalServer) -> LocalServer:
    settings.MEDIA_ORIGIN_OVERRIDES = {"https://www.youtube.com": local_server.origin}
    return local_server


def manifest(*, method: str, key_at: str, segments_at: str) -> bytes:
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-MEDIA-SEQUENCE:0",
        f'#EXT-X-KEY:METHOD={method},URI="{key_at}/key",IV=0x00000000000000000000000000000001',
    ]
    for n in range(2):
        lines += ["#EXTINF:2.0,", f"{segments_at}/seg{n}.ts"]
    lines.append("#EXT-X-ENDLIST")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def ydl(tmp_path) -> Iterator[yt_dlp.YoutubeDL]:
    downloader = yt_dlp.YoutubeDL(
        {"quiet": True, "no_warnings": True, "socket_timeout": 5, "fragment_retries": 0}
    )
    guard_ytdlp(downloader)
    yield downloader
    downloader.close()


def hls_info(site: LocalServer, protocol: str = "m3u8_native") -> dict:
    return {
        "id": "hls",
        "title": "hls",
        "url": f"{site.origin}/hls/index.m3u8",
        "protocol": protocol,
        "ext": "mp4",
        "extractor_key": "Youtube",
    }


@pytest.fixture(params=["with pycryptodomex", "without pycryptodomex"])
def cryptodome(request, monkeypatch: pytest.MonkeyPatch) -> str:
    """AES-128 decryption available to yt-dlp, or missing as on a bare install (then
    yt-dlp hands AES-128 streams to ffmpeg)."""
    if request.param == "without pycryptodomex":
        monkeypatch.setattr(yt_dlp.downloader.hls.Cryptodome, "AES", None)
    return request.param


@pytest.mark.parametrize("method", ["AES-128", "SAMPLE-AES"])
@pytest.mark.parametrize("segments", ["site", "internal"])
def test_an_encrypted_hls_stream_never_reaches_the_internal_service(
    method: str,
    segments: str,
    cryptodome: str,
    ydl: yt_dlp.YoutubeDL,
    site: LocalServer,
    internal: LocalServer,
    resolver: StubResolver,
    tmp_path,
) -> None:
    segments_at = internal.origin if segments == "internal" else site.origin
    site.routes["/hls/index.m3u8"] = Route(
        200,
        {"Content-Type": "application/vnd.apple.mpegurl"},
        manifest(method=method, key_at=internal.origin, segments_at=segments_at),
    )
    for n in range(2):
        site.routes[f"/seg{n}.ts"] = Route(200, {"Content-Type": "video/mp2t"}, b"G" * 188)

    with pytest.raises((GuardBlockedRequest, yt_dlp.utils.DownloadError)) as refused:
        if not ydl.dl(str(tmp_path / "out.mp4"), hls_info(site)):
            raise yt_dlp.utils.DownloadError("the download reported failure")

    assert internal.requests == []  # neither Python nor ffmpeg asked it for anything
    assert ("GET", "/hls/index.m3u8") in site.requests
    assert netsafety.find_unsafe_url_error(refused.value) is not None
    assert resolver.asked == []  # loopback URLs are refused before any lookup
    assert not (tmp_path / "out.mp4").exists()


def test_an_unencrypted_hls_stream_on_the_platform_still_downloads(
    ydl: yt_dlp.YoutubeDL, site: LocalServer, tmp_path
) -> None:
    site.routes["/hls/index.m3u8"] = Route(
        200,
        {"Content-Type": "application/vnd.apple.mpegurl"},
        manifest(method="NONE", key_at=site.origin, segments_at=site.origin).replace(
            b"#EXT-X-KEY:METHOD=NONE", b"#EXT-X-KEY:METHOD=NONE\n#X"
        ),
    )
    for n in range(2):
        site.routes[f"/seg{n}.ts"] = Route(200, {"Content-Type": "video/mp2t"}, b"G" * 188)

    assert ydl.dl(str(tmp_path / "out.mp4"), hls_info(site))

    assert (tmp_path / "out.mp4").stat().st_size == 2 * 188


@pytest.mark.parametrize(
    ("protocol", "downloader"),
    [
        ("rtmp", "RtmpFD"),  # rtmpdump: not an "external downloader" class in yt-dlp
        ("rtmp_ffmpeg", "FFmpegFD"),
        ("f4m", "F4mFD"),
        ("ism", "IsmFD"),
        ("mhtml", "MhtmlFD"),
        ("websocket_frag", "WebSocketFragmentFD"),
    ],
)
def test_only_yt_dlps_native_python_downloaders_run_in_a_guarded_run(
    protocol: str, downloader: str, ydl: yt_dlp.YoutubeDL, site: LocalServer, tmp_path
) -> None:
    with pytest.raises(GuardBlockedRequest) as refused:
        ydl.dl(str(tmp_path / "out.mp4"), hls_info(site, protocol))

    assert refused.value.unsafe.reason is UnsafeReason.EXTERNAL_DOWNLOADER
    assert downloader in str(refused.value)
    assert site.requests == []


def test_external_downloaders_asked_for_by_name_are_refused_too(
    ydl: yt_dlp.YoutubeDL, site: LocalServer, tmp_path
) -> None:
    ydl.params["external_downloader"] = {"default": "curl", "m3u8": "ffmpeg"}

    for protocol in ("https", "m3u8_native"):
        with pytest.raises(GuardBlockedRequest):
            ydl.dl(str(tmp_path / "out.mp4"), hls_info(site, protocol))
    assert site.requests == []


def test_ffmpeg_never_follows_a_downloaded_file_that_is_a_playlist(
    ydl: yt_dlp.YoutubeDL, internal: LocalServer, tmp_path: Path
) -> None:
    # What a hostile site could serve as "the video" or "the thumbnail": an HLS playlist
    # pointing at the internal service. ffmpeg probes content, not names; its inputs are
    # opened as local files ("file:"), whose default protocol whitelist (file, crypto,
    # data) keeps the playlist's http references unopened.
    playlist = manifest(method="NONE", key_at=internal.origin, segments_at=internal.origin)
    for name in ("media.mp4", "thumbnail.jpg"):
        (tmp_path / name).write_bytes(playlist.replace(b"#EXT-X-KEY:METHOD=NONE", b"#X"))

    with pytest.raises(PostProcessingError):
        FFmpegMergerPP(ydl).run_ffmpeg_multiple_files(
            [str(tmp_path / "media.mp4")], str(tmp_path / "merged.mp4"), ["-c", "copy"]
        )
    with pytest.raises(DownloadError):
        media_downloader._stream_facts(tmp_path / "media.mp4")
    facts = {"vcodec": "h264", "duration": 4.0}
    assert media_downloader._thumbnail_jpeg(tmp_path, tmp_path / "media.mp4", facts) is None

    assert internal.requests == []


def test_aes_128_hls_stays_with_the_native_downloader() -> None:
    requirements = (Path(__file__).resolve().parents[2] / "requirements.txt").read_text()
    assert "\npycryptodomex==" in requirements
    assert yt_dlp.downloader.hls.Cryptodome.AES is not None


def test_every_youtube_dl_the_downloader_makes_is_guarded(settings) -> None:
    deadline = media_downloader._Deadline(30)
    with media_downloader._youtube_dl(
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ", deadline=deadline
    ) as ydl:
        assert netsafety.is_guarded(ydl)
        assert ydl.params["hls_prefer_native"] is True
