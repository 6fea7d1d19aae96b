"""The downloader against the local video site: real yt-dlp, real ffmpeg, no mocks."""

from __future__ import annotations

import os
import stat
import time

import pytest

from downloads.media.downloader import (
    AUDIO,
    MP3,
    TMP_PREFIX,
    download,
    probe,
    sweep_stale_downloads,
)
from downloads.media.errors import DownloadError, ErrorCategory
from sandbox.clips import ffprobe
from sandbox.videosite import CATALOGUE

YOUTUBE = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def streams_of(tmp_path, data: bytes, suffix: str) -> dict:
    path = tmp_path / f"probe{suffix}"
    path.write_bytes(data)
    facts = ffprobe(path)
    return {
        "format": facts["format"]["format_name"],
        **{s["codec_type"]: s for s in facts["streams"]},
    }


def leftovers(download_dir) -> list[str]:
    return sorted(os.listdir(download_dir)) if download_dir.exists() else []


@pytest.mark.parametrize("quality", ["480p", "720p"])
def test_it_downloads_h264_aac_mp4_of_the_chosen_height(media_site, tmp_path, quality):
    with download(YOUTUBE, quality=quality) as media:
        assert media.data is not None and media.path is None  # small: held in memory
        streams = streams_of(tmp_path, media.data, ".mp4")

    height = int(quality[:-1])
    assert streams["video"]["height"] == height
    assert streams["video"]["codec_name"] == "h264"
    assert streams["audio"]["codec_name"] == "aac"
    assert "mp4" in streams["format"]
    assert media.data[4:8] == b"ftyp" and media.data.index(b"moov") < media.data.index(b"mdat")
    assert (media.height, media.vcodec, media.acodec) == (height, "h264", "aac")
    assert media.plays_inline and media.mime_type == "video/mp4"
    assert media.title == "Sandbox test pattern" and media.filename.endswith(".mp4")
    # video-only and audio-only formats were fetched and merged, as for real YouTube
    assert media_site.bytes_served[f"/clips/video_{quality}.mp4"] > 0
    assert media_site.bytes_served["/clips/audio_aac.m4a"] > 0


def test_it_sends_a_small_jpeg_thumbnail(media_site, tmp_path):
    with download(YOUTUBE, quality="480p") as media:
        thumbnail = media.thumbnail

    assert thumbnail[:3] == b"\xff\xd8\xff"
    assert len(thumbnail) < 200_000
    picture = streams_of(tmp_path, thumbnail, ".jpg")["video"]
    assert max(picture["width"], picture["height"]) <= 320


def test_it_makes_the_thumbnail_from_a_frame_when_the_site_has_none(media_site, tmp_path):
    with download(CATALOGUE["youtube:9bZkp7q19f0"].url, quality="1080p") as media:
        thumbnail = media.thumbnail

    assert media_site.bytes_served["/media/youtube/9bZkp7q19f0/thumbnail.jpg"] == 0
    picture = streams_of(tmp_path, thumbnail, ".jpg")["video"]
    assert (picture["codec_name"], picture["width"], picture["height"]) == ("mjpeg", 320, 180)
    assert len(thumbnail) < 200_000


def test_it_picks_the_nearest_offered_height(media_site):
    # The TikTok sample only has 720p; asking for 480p gets it rather than an error.
    with download(CATALOGUE["tiktok:7300000000000000001"].url, quality="480p") as media:
        assert media.height == 720 and media.plays_inline


def test_it_downloads_audio_as_m4a(media_site, tmp_path):
    with download(YOUTUBE, quality=AUDIO) as media:
        streams = streams_of(tmp_path, media.data, ".m4a")

    assert media.kind == "audio" and media.filename.endswith(".m4a")
    assert media.mime_type == "audio/mp4"
    assert streams["audio"]["codec_name"] == "aac" and "video" not in streams
    assert media.duration == pytest.approx(5, abs=0.5)


def test_it_converts_audio_to_mp3(media_site, tmp_path):
    with download(YOUTUBE, quality=MP3) as media:
        streams = streams_of(tmp_path, media.data, ".mp3")

    assert media.filename.endswith(".mp3") and media.mime_type == "audio/mpeg"
    assert streams["audio"]["codec_name"] == "mp3"


def test_it_probes_title_duration_thumbnail_and_sizes(media_site):
    info = probe(YOUTUBE)

    assert info.title == "Sandbox test pattern"
    assert info.uploader == "Sandbox Studio"
    assert info.duration == pytest.approx(5, abs=0.5)
    assert info.thumbnail_url.endswith("/thumbnail.jpg")
    assert not info.is_live
    assert [f.quality for f in info.formats] == [
        "240p",
        "360p",
        "480p",
        "720p",
        "1080p",
        "audio",
        "mp3",
    ]
    sizes = {f.quality: f.size for f in info.formats}
    video_and_audio = (
        media_site.clips["video_720p.mp4"].size + media_site.clips["audio_aac.m4a"].size
    )
    assert sizes["720p"] == pytest.approx(video_and_audio, rel=0.05)
    assert sizes["240p"] < sizes["360p"] < sizes["480p"] < sizes["720p"] < sizes["1080p"]
    assert all(f.plays_inline for f in info.formats if f.height)


def test_it_probes_a_live_stream_as_live(media_site):
    assert probe(CATALOGUE["youtube:liveStream1"].url).is_live


@pytest.mark.parametrize(
    ("media_key", "category"),
    [
        ("youtube:privateVid1", ErrorCategory.PRIVATE),
        ("youtube:removedVid1", ErrorCategory.REMOVED),
        ("tiktok:7300000000000000002", ErrorCategory.REMOVED),
        ("youtube:signInVid01", ErrorCategory.SIGN_IN_REQUIRED),
        ("instagram:LoginReel01", ErrorCategory.SIGN_IN_REQUIRED),
        ("youtube:ageLimited1", ErrorCategory.SIGN_IN_REQUIRED),
        ("youtube:regionBlock", ErrorCategory.REGION_BLOCKED),
        ("youtube:rateLimited", ErrorCategory.RATE_LIMITED),
        ("youtube:liveStream1", ErrorCategory.LIVE_STREAM),
    ],
)
def test_each_failing_page_gives_its_category(media_site, download_dir, media_key, category):
    with pytest.raises(DownloadError) as caught:
        download(CATALOGUE[media_key].url, quality="720p")

    assert caught.value.category == category
    assert leftovers(download_dir) == []


def test_probe_raises_the_same_categories(media_site):
    with pytest.raises(DownloadError) as caught:
        probe(CATALOGUE["youtube:privateVid1"].url)

    assert caught.value.category == ErrorCategory.PRIVATE


@pytest.mark.parametrize(
    "url", ["https://example.com/watch?v=dQw4w9WgXcQ", "file:///etc/passwd", "ftp://youtube.com/x"]
)
def test_it_refuses_links_outside_the_platforms_without_fetching(settings, url):
    settings.MEDIA_ORIGIN_OVERRIDES = {}
    with pytest.raises(DownloadError) as caught:
        download(url)

    assert caught.value.category == ErrorCategory.UNSUPPORTED


def test_it_stops_a_file_over_the_cap_once_its_size_shows(media_site, download_dir):
    # This sample declares no size, so only the running download can tell.
    big = media_site.clips["big_720p.mp4"]
    assert big.size > 50 * 1024 * 1024

    with pytest.raises(DownloadError) as caught:
        download(CATALOGUE["youtube:tooLarge50M"].url, quality="720p", max_bytes=50 * 1024 * 1024)

    assert caught.value.category == ErrorCategory.TOO_LARGE
    assert media_site.bytes_served["/clips/big_720p.mp4"] < big.size / 2
    assert leftovers(download_dir) == []


def test_it_refuses_up_front_when_the_announced_size_is_over_the_cap(media_site):
    served_before = media_site.bytes_served["/clips/video_big_720p.mp4"]
    url = CATALOGUE["youtube:bigVidSmAud"].url

    with pytest.raises(DownloadError) as caught:
        download(url, quality="720p", max_bytes=50 * 1024 * 1024)

    assert caught.value.category == ErrorCategory.TOO_LARGE
    assert media_site.bytes_served["/clips/video_big_720p.mp4"] == served_before
    # ...while its small audio track still fits
    with download(url, quality=AUDIO, max_bytes=50 * 1024 * 1024) as media:
        assert media.kind == "audio" and media.size < 1024 * 1024


def test_it_gives_up_on_a_slow_site_at_the_deadline(media_site, download_dir):
    with pytest.raises(DownloadError) as caught:
        download(CATALOGUE["youtube:slowThrottl"].url, quality="240p", timeout=1)

    assert caught.value.category == ErrorCategory.TIMEOUT
    assert leftovers(download_dir) == []


def test_it_leaves_no_temporary_file_after_an_in_memory_success(media_site, download_dir):
    with download(YOUTUBE, quality="240p") as media:
        assert media.data
        assert leftovers(download_dir) == []


def test_it_keeps_a_large_file_on_disk_in_a_private_directory_until_closed(
    media_site, settings, download_dir
):
    settings.IN_MEMORY_MAX_MB = 1
    with download(YOUTUBE, quality="720p") as media:
        assert media.data is None
        assert media.path.is_file() and media.path.stat().st_size == media.size
        assert stat.S_IMODE(media.path.parent.stat().st_mode) == 0o700
        assert media.path.parent.name.startswith(TMP_PREFIX)
        with media.open() as stream:
            assert stream.read(8)[4:] == b"ftyp"

    assert leftovers(download_dir) == []


def test_it_reports_progress_while_downloading_then_processing(media_site):
    calls = []
    with download(YOUTUBE, quality="480p", progress=lambda *args: calls.append(args)):
        pass

    phases = [phase for *_, phase in calls]
    assert phases[0] == "downloading" and phases[-1] == "processing"
    assert "processing" not in phases[: phases.index("processing")]
    downloading = [(done, total) for done, total, _speed, phase in calls if phase == "downloading"]
    assert [done for done, _ in downloading] == sorted(done for done, _ in downloading)
    assert all(total and done <= total * 1.05 for done, total in downloading)


def test_a_failing_progress_callback_does_not_stop_the_download(media_site):
    def broken(*args):
        raise RuntimeError("Telegram said no")

    with download(YOUTUBE, quality="240p", progress=broken) as media:
        assert media.height == 240


def test_sweep_removes_only_stale_download_directories(settings, download_dir):
    settings.DOWNLOAD_TMP_DIR = str(download_dir)
    download_dir.mkdir()
    stale, fresh, other = (
        download_dir / name for name in (f"{TMP_PREFIX}a", f"{TMP_PREFIX}b", "x")
    )
    for directory in (stale, fresh, other):
        directory.mkdir()
        (directory / "media.mp4").write_bytes(b"...")
    hours_ago = time.time() - 5 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    os.utime(other, (hours_ago, hours_ago))

    assert sweep_stale_downloads() == 1

    assert leftovers(download_dir) == [f"{TMP_PREFIX}b", "x"]


@pytest.mark.parametrize(
    ("width", "height", "quality"),
    [(1920, 800, "1080p"), (1080, 1920, "1080p"), (576, 1024, "480p"), (854, 480, "480p")],
)
def test_qualities_are_named_the_way_sites_name_them(width, height, quality):
    from downloads.media.downloader import _offered_formats

    video = {"url": "u", "width": width, "height": height, "vcodec": "avc1", "acodec": "mp4a"}

    offered = _offered_formats({"formats": [video], "duration": 10})

    assert offered[0].quality == quality
