"""The local video site: pages, manifests, byte ranges and the clips behind them."""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sandbox.clips import ffprobe
from sandbox.videosite import CATALOGUE, VideoKind, VideoSite, sample_urls


@pytest.fixture(scope="module")
def site():
    with VideoSite() as running:
        yield running


def fetch(site, path, *, method="GET", headers=None):
    connection = http.client.HTTPConnection(site.host, site.port, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.reason, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_head_announces_the_length_without_a_body(site):
    status, _, headers, body = fetch(site, "/clips/h264_480p.mp4", method="HEAD")

    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) == site.clips["h264_480p.mp4"].size
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Type"] == "video/mp4"


@pytest.mark.parametrize(
    ("range_header", "first", "last"),
    [("bytes=100-199", 100, 199), ("bytes=1000-", 1000, None), ("bytes=-50", -50, None)],
)
def test_it_serves_byte_ranges(site, range_header, first, last):
    whole = Path(site.clips["audio_aac.m4a"].path).read_bytes()
    expected = whole[first : None if last is None else last + 1]

    status, _, headers, body = fetch(site, "/clips/audio_aac.m4a", headers={"Range": range_header})

    assert status == 206
    assert body == expected
    assert headers["Content-Range"].endswith(f"/{len(whole)}")


def test_it_refuses_a_range_past_the_end(site):
    size = site.clips["audio_aac.m4a"].size
    status, *_ = fetch(site, "/clips/audio_aac.m4a", headers={"Range": f"bytes={size}-"})

    assert status == 416


def test_a_watch_page_describes_the_video_for_yt_dlp(site):
    status, _, _, body = fetch(site, "/watch?v=dQw4w9WgXcQ")
    page = body.decode()

    assert status == 200
    assert "<meta property='og:title' content='Sandbox test pattern'>" in page
    data = json.loads(re.search(r"application/ld\+json'>(.*?)</script>", page)[1])
    assert data["@type"] == "VideoObject" and data["duration"] == "PT5S"
    assert data["contentUrl"].endswith("/media/youtube/dQw4w9WgXcQ/manifest.mpd")

    _, _, headers, manifest = fetch(site, urlsplit(data["contentUrl"]).path)
    assert headers["Content-Type"] == "application/dash+xml"
    heights = re.findall(r"height='(\d+)'", manifest.decode())
    assert sorted(set(map(int, heights))) == [240, 360, 480, 720, 1080]
    assert "codecs='mp4a.40.2'" in manifest.decode() and "codecs='opus'" in manifest.decode()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/reel/C0ffeeReel1/", 200),
        ("/@sandbox.user/video/7300000000000000001", 200),
        ("/watch?v=privateVid1", 403),
        ("/watch?v=removedVid1", 404),
        ("/watch?v=noSuchVideo", 404),
        ("/watch?v=ageLimited1", 401),
        ("/watch?v=regionBlock", 451),
        ("/watch?v=rateLimited", 429),
        ("/watch?v=signInVid01", 302),
        ("/dQw4w9WgXcQ", 302),  # youtu.be/<id>
    ],
)
def test_pages_answer_like_the_real_sites(site, path, status):
    assert fetch(site, path)[0] == status


def test_a_sign_in_page_redirects_to_a_login_form(site):
    _, _, headers, _ = fetch(site, "/watch?v=signInVid01")

    assert headers["Location"].startswith("/accounts/login/?next=")


def test_a_live_stream_is_a_playlist_without_an_end(site):
    _, _, _, body = fetch(site, "/media/youtube/liveStream1/live.m3u8")

    assert body.startswith(b"#EXTM3U") and b"#EXT-X-ENDLIST" not in body


def test_the_slow_route_serves_the_same_bytes(site):
    _, _, _, body = fetch(site, "/slow/clips/audio_aac.m4a", headers={"Range": "bytes=0-9999"})

    assert body == Path(site.clips["audio_aac.m4a"].path).read_bytes()[:10000]


@pytest.mark.parametrize(
    ("name", "height", "vcodec", "acodec"),
    [
        ("h264_240p.mp4", 240, "h264", "aac"),
        ("h264_1080p.mp4", 1080, "h264", "aac"),
        ("video_720p.mp4", 720, "h264", None),
        ("audio_aac.m4a", None, None, "aac"),
        ("vp9_opus_480p.webm", 480, "vp9", "opus"),
        ("big_720p.mp4", 720, "h264", "aac"),
    ],
)
def test_clips_are_what_their_names_say(site, name, height, vcodec, acodec):
    facts = ffprobe(Path(site.clips[name].path))
    streams = {s["codec_type"]: s for s in facts["streams"]}

    assert streams.get("video", {}).get("height") == height
    assert streams.get("video", {}).get("codec_name") == vcodec
    assert streams.get("audio", {}).get("codec_name") == acodec
    assert 3 <= float(facts["format"]["duration"]) <= 6


def test_the_big_clip_is_over_telegrams_limit(site):
    assert site.clips["big_720p.mp4"].size > 50 * 1024 * 1024


def test_the_catalogue_covers_every_kind_with_real_shaped_links():
    assert {video.kind for video in CATALOGUE.values()} == set(VideoKind)
    urls = sample_urls()
    assert "https://www.youtube.com/watch?v=dQw4w9WgXcQ" in urls
    assert "https://www.instagram.com/reel/C0ffeeReel1/" in urls
    assert "https://www.tiktok.com/@sandbox.user/video/7300000000000000001" in urls
    assert len(sample_urls(None)) == len(CATALOGUE)


def test_overrides_send_every_platform_to_the_site(site):
    overrides = site.origin_overrides()

    assert overrides["https://www.youtube.com"] == site.origin
    assert overrides["https://www.instagram.com"] == site.origin
    assert overrides["https://www.tiktok.com"] == site.origin
    assert site.local_url("youtube:dQw4w9WgXcQ") == f"{site.origin}/watch?v=dQw4w9WgXcQ"
