"""Probe and download one video with yt-dlp and ffmpeg (synchronous; rq jobs call it).

- ``probe(url)`` reads title, duration, thumbnail and the offered qualities with sizes.
- ``download(url, quality=..., max_bytes=..., progress=..., timeout=...)`` fetches one
  quality as H.264/AAC MP4 (plays inline on every Telegram client), or audio as M4A or
  MP3, with a JPEG thumbnail Telegram accepts. Use it as a context manager so the
  upload happens before the temporary files go::

      with download(url, quality="720p", max_bytes=50 * MB) as media:
          send(media.open(), ...)

  Small files come back as bytes (``media.data``): yt-dlp writes to disk (it must, to
  merge video and audio with ffmpeg), the finished file is read into memory and the
  directory deleted before ``download`` returns. Larger ones stay as ``media.path``
  in a private (0700) directory until the ``with`` block ends.
- ``sweep_stale_downloads()`` removes directories a killed worker left behind.

Every failure is a ``DownloadError`` whose ``category`` says what went wrong.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal
from urllib.parse import urlsplit

import yt_dlp
import yt_dlp.globals
from django.conf import settings
from django.utils.text import slugify
from yt_dlp.utils import DownloadCancelled

from analytics.vocabulary import MediaKind
from config import platform_alerts, ytdlp
from downloads import netsafety
from downloads.media.errors import (
    DownloadError,
    ErrorCategory,
    classify_exception,
    exception_chain,
)
from downloads.media.origins import is_overridden, override_url
from downloads.platforms import PLATFORMS, Format

logger = logging.getLogger(__name__)

# yt-dlp plugins are third-party code found on sys.path and in users' config
# directories; a worker never runs them. (The Python API reads no config files.)
yt_dlp.globals.plugin_dirs.value = []

MB = 1024 * 1024
TMP_PREFIX = "videobot-dl-"
BEST = Format.BEST
AUDIO = Format.AUDIO  # M4A (AAC)
MP3 = Format.AUDIO_MP3
THUMBNAIL_MAX_SIDE = 320
THUMBNAIL_MAX_BYTES = 200 * 1000
_MP3_BITRATE = 160_000  # about what ffmpeg's default VBR quality for MP3 gives

Phase = Literal["downloading", "processing"]
# (downloaded bytes, total bytes or None, speed in bytes/s or None, phase)
ProgressCallback = Callable[[int, int | None, float | None, Phase], None]

# Canonical hosts -> the only yt-dlp extractor allowed for them.
_PLATFORM_EXTRACTORS = {
    domain: str(platform) for platform, spec in PLATFORMS.items() for domain in spec.page_domains
}
_H264 = "[vcodec~='^(avc1|h264)']"
_AAC = "[acodec~='^(mp4a|aac)']"
_MIME_TYPES = {
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
}


@dataclass(frozen=True)
class OfferedFormat:
    quality: str  # "360p", "720p", ... or "audio"
    height: int | None
    size: int | None  # bytes, exact or estimated from the bitrate; None if unknown
    plays_inline: bool  # H.264 video with AAC audio


@dataclass(frozen=True)
class MediaInfo:
    url: str
    title: str
    duration: float | None
    thumbnail_url: str | None
    uploader: str | None
    is_live: bool
    formats: tuple[OfferedFormat, ...]

    def offered(self, quality: str) -> OfferedFormat | None:
        return next((f for f in self.formats if f.quality == quality), None)


@dataclass
class DownloadedMedia:
    kind: str  # a MediaKind: video or audio
    quality: str
    filename: str
    mime_type: str
    size: int
    title: str
    uploader: str | None
    duration: float | None
    width: int | None
    height: int | None
    vcodec: str | None
    acodec: str | None
    thumbnail: bytes | None  # JPEG, at most 320 px a side and under 200 kB
    data: bytes | None = None  # the file, when it was small enough to keep in memory
    path: Path | None = None  # the file otherwise; gone after close()
    _tmpdir: Path | None = field(default=None, repr=False)

    @property
    def plays_inline(self) -> bool:
        return self.vcodec == "h264" and self.acodec in ("aac", None)

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.path is None:
            raise ValueError("the downloaded file was already cleaned up")
        return open(self.path, "rb")

    def close(self) -> None:
        """Delete the temporary file, if any. Safe to call twice."""
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
            self.path = None

    def __enter__(self) -> DownloadedMedia:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def probe(url: str, *, timeout: float | None = None) -> MediaInfo:
    """What the page at canonical ``url`` offers, without downloading media."""
    deadline = _Deadline(timeout or settings.DOWNLOAD_TIMEOUT_SECONDS)
    with _translated_errors(deadline, url), _youtube_dl(url, deadline=deadline) as ydl:
        info = _extract(ydl, url)
    return MediaInfo(
        url=url,
        title=info.get("title") or "video",
        duration=info.get("duration"),
        thumbnail_url=info.get("thumbnail"),
        uploader=info.get("uploader") or info.get("channel"),
        is_live=_is_live(info),
        formats=_offered_formats(info),
    )


def download(
    url: str,
    *,
    quality: str = BEST,
    max_bytes: int | None = None,
    progress: ProgressCallback | None = None,
    timeout: float | None = None,
) -> DownloadedMedia:
    """Download canonical ``url`` in ``quality`` ("720p", "best", "audio", "mp3").

    Raises ``DownloadError``; leaves no temporary file behind unless it returns a
    ``DownloadedMedia`` with a ``path``, whose ``close()`` (or ``with``) removes it.
    """
    max_bytes = max_bytes or settings.MAX_UPLOAD_MB * MB
    deadline = _Deadline(timeout or settings.DOWNLOAD_TIMEOUT_SECONDS)
    tmpdir = _make_tmpdir()
    try:
        with _translated_errors(deadline, url):
            return _download_into(
                tmpdir,
                url,
                quality=quality,
                max_bytes=max_bytes,
                progress=_Progress(max_bytes, deadline, progress),
                deadline=deadline,
            )
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise


def sweep_stale_downloads(*, older_than_seconds: float | None = None) -> int:
    """Remove download directories untouched for a while; returns how many went.

    Called when a worker starts: a killed worker cannot clean up after itself. The age
    threshold keeps the directories of downloads still running in other workers.
    """
    if older_than_seconds is None:
        older_than_seconds = max(3600, 3 * settings.DOWNLOAD_TIMEOUT_SECONDS)
    cutoff = time.time() - older_than_seconds
    removed = 0
    with os.scandir(_tmp_base()) as entries:
        for entry in entries:
            if not entry.name.startswith(TMP_PREFIX) or not entry.is_dir(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
    return removed


# --- downloading -------------------------------------------------------------------


def _download_into(
    tmpdir: Path,
    url: str,
    *,
    quality: str,
    max_bytes: int,
    progress: _Progress,
    deadline: _Deadline,
) -> DownloadedMedia:
    info, path = _fetch(tmpdir, url, quality=quality, max_bytes=max_bytes, progress=progress)
    deadline.check()
    progress.processing(path.stat().st_size)
    if path.suffix in (".mp4", ".m4a") and not _moov_first(path):
        _remux_faststart(path)
    size = path.stat().st_size
    if size > max_bytes:  # merging or conversion can outgrow the estimate
        raise DownloadError(ErrorCategory.TOO_LARGE, f"{size} bytes, limit {max_bytes}")
    media = _describe(info, path, quality=quality)
    if size <= settings.IN_MEMORY_MAX_MB * MB:
        media.data = path.read_bytes()
        shutil.rmtree(tmpdir, ignore_errors=True)
    else:
        media.path, media._tmpdir = path, tmpdir
    return media


def _fetch(
    tmpdir: Path, url: str, *, quality: str, max_bytes: int, progress: _Progress
) -> tuple[dict, Path]:
    """Let yt-dlp choose, download and post-process; returns its info and the file."""
    params = _format_params(quality)
    with _youtube_dl(url, deadline=progress.deadline, tmpdir=tmpdir, params=params) as ydl:
        ydl.add_progress_hook(progress.on_download)
        ydl.add_postprocessor_hook(progress.on_postprocess)
        info = _extract(ydl, url)
        if _is_live(info):
            raise DownloadError(ErrorCategory.LIVE_STREAM, "live streams are not downloaded")
        if too_long(info.get("duration")):
            raise DownloadError(ErrorCategory.TOO_LONG, f"{info.get('duration')} s")
        progress.planned = _selected_size(info)
        if progress.planned and progress.planned > max_bytes:
            raise DownloadError(
                ErrorCategory.TOO_LARGE, f"about {progress.planned} bytes, limit {max_bytes}"
            )
        info = ydl.process_ie_result(info, download=True)
    return info, Path(info["requested_downloads"][0]["filepath"])


def too_long(duration: float | None) -> bool:
    """Over ``MAX_DURATION_SECONDS``, as the site's metadata says, before any download
    (a media without a known duration is let through: the size cap still holds)."""
    limit = settings.MAX_DURATION_SECONDS
    return bool(limit and duration and duration > limit)


def _describe(info: dict, path: Path, *, quality: str) -> DownloadedMedia:
    facts = _stream_facts(path)
    title = info.get("title") or "video"
    return DownloadedMedia(
        kind=MediaKind.AUDIO if quality in (AUDIO, MP3) else MediaKind.VIDEO,
        quality=quality,
        filename=f"{slugify(title, allow_unicode=True)[:60] or 'video'}{path.suffix}",
        mime_type=_MIME_TYPES.get(path.suffix, "application/octet-stream"),
        size=path.stat().st_size,
        title=title,
        uploader=info.get("uploader") or info.get("channel"),
        duration=facts["duration"] or info.get("duration"),
        width=facts["width"],
        height=facts["height"],
        vcodec=facts["vcodec"],
        acodec=facts["acodec"],
        thumbnail=_thumbnail_jpeg(path.parent, path, facts),
    )


def _format_params(quality: str) -> dict:
    if quality in (AUDIO, MP3):
        codec = "mp3" if quality == MP3 and _ffmpeg_can_encode("libmp3lame") else "m4a"
        return {
            "format": f"ba{_AAC}/ba/b",
            "postprocessors": [{"key": "FFmpegExtractAudio", "preferredcodec": codec}],
        }
    # H.264 + AAC first, at the height closest to the wish (largest at or below it,
    # else smallest above: that is what "res:N" sorts by); anything else only when
    # the site offers no H.264 at all.
    sort = ["vcodec:h264", "acodec:aac", "ext:mp4:m4a"]
    if quality != BEST:
        sort.insert(0, f"res:{_height(quality)}")
    return {
        "format": f"bv*{_H264}+ba{_AAC}/b{_H264}{_AAC}/bv*{_H264}+ba/bv*+ba/b",
        "format_sort": sort,
        "merge_output_format": "mp4",
        "postprocessors": [{"key": "FFmpegVideoRemuxer", "preferedformat": "mp4"}],
    }


def _height(quality: str) -> int:
    try:
        return int(quality.removesuffix("p"))
    except ValueError:
        raise DownloadError(ErrorCategory.INTERNAL, f"unknown quality {quality!r}") from None


def _selected_size(info: dict) -> int | None:
    """The size of what yt-dlp chose to download, if the metadata tells."""
    chosen = info.get("requested_formats") or [info]
    sizes = [_format_size(f, info.get("duration")) for f in chosen]
    return sum(s for s in sizes if s) or None


class _Abort(DownloadCancelled):
    """Raised inside yt-dlp's hooks to stop a download; becomes a ``DownloadError``."""

    def __init__(self, category: ErrorCategory, detail: str) -> None:
        self.category, self.detail = category, detail
        super().__init__(detail)


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def check(self) -> None:
        if self.remaining() <= 0:
            raise _Abort(ErrorCategory.TIMEOUT, f"took longer than {self.seconds} s")


class _Progress:
    """yt-dlp's hooks: enforce the byte cap and the deadline, report to the caller."""

    def __init__(
        self, max_bytes: int, deadline: _Deadline, callback: ProgressCallback | None
    ) -> None:
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.callback = callback
        self.planned: int | None = None  # estimated size of all files to download
        self.finished = 0  # bytes of the files already downloaded (video, then audio)

    def on_download(self, status: dict) -> None:
        self.deadline.check()
        current = status.get("downloaded_bytes") or 0
        file_total = status.get("total_bytes") or status.get("total_bytes_estimate")
        if status["status"] == "finished":
            self.finished += current or file_total or 0
            return
        downloaded = self.finished + current
        announced = self.finished + (status.get("total_bytes") or 0)
        if max(downloaded, announced) > self.max_bytes:
            raise _Abort(ErrorCategory.TOO_LARGE, f"over {self.max_bytes} bytes")
        total = max(self.planned or 0, self.finished + (file_total or 0)) or None
        self._report(downloaded, total, status.get("speed"), "downloading")

    def on_postprocess(self, status: dict) -> None:
        self.deadline.check()
        if status["status"] == "started":
            self._report(self.finished, self.finished or None, None, "processing")

    def processing(self, size: int) -> None:
        self._report(size, size, None, "processing")

    def _report(self, done: int, total: int | None, speed: float | None, phase: Phase) -> None:
        if self.callback is None:
            return
        try:
            self.callback(done, total, speed, phase)
        except Exception:
            # A failed progress message must not cost the user the download.
            logger.exception("progress callback failed")


# --- yt-dlp ------------------------------------------------------------------------


@contextlib.contextmanager
def _youtube_dl(
    url: str, *, deadline: _Deadline, tmpdir: Path | None = None, params: dict | None = None
) -> Iterator[yt_dlp.YoutubeDL]:
    options = {
        "allowed_extractors": _allowed_extractors(url),
        "noplaylist": True,
        "playlist_items": "1",
        "enable_file_urls": False,
        "cachedir": False,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "color": {"stdout": "no_color", "stderr": "no_color"},
        "logger": _YtDlpLogger(),
        "socket_timeout": max(1.0, min(30.0, deadline.remaining())),
        "retries": 2,
        "fragment_retries": 2,
        "extractor_retries": 1,
        "geo_bypass": False,
        "check_formats": False,
        "restrictfilenames": True,
        "overwrites": True,
        **(params or {}),
    }
    if tmpdir is not None:
        options["writethumbnail"] = True
        options["paths"] = {"home": str(tmpdir), "temp": str(tmpdir)}
        options["outtmpl"] = {"default": "media.%(ext)s", "thumbnail": "thumbnail.%(ext)s"}
    if proxy := ytdlp.proxy_url():
        options["proxy"] = proxy
    with yt_dlp.YoutubeDL(options) as ydl:
        # Always: a downloader without the guard would fetch whatever a page points at.
        netsafety.guard_ytdlp(ydl)
        # Into the jar, not as yt-dlp's "cookiefile", which it would write back.
        ytdlp.cookies_load(ydl.cookiejar, netsafety.platform_for_host(_host(url)) or "")
        yield ydl


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _allowed_extractors(url: str) -> list[str]:
    # The local video site is plain HTML for the generic extractor; a real URL may
    # only be handled by its own platform's extractor.
    if is_overridden(url):
        return ["generic"]
    host = (urlsplit(url).hostname or "").lower()
    for domain, extractor in _PLATFORM_EXTRACTORS.items():
        if host == domain or host.endswith("." + domain):
            return [extractor]
    raise DownloadError(ErrorCategory.UNSUPPORTED, "not a link to a supported platform")


def _extract(ydl: yt_dlp.YoutubeDL, url: str) -> dict:
    info = ydl.extract_info(override_url(url), download=False)
    if info.get("_type") == "playlist":  # a carousel post: its first video
        entries = list(info.get("entries") or [])
        if not entries:
            raise DownloadError(ErrorCategory.UNSUPPORTED, "no video in this post")
        info = entries[0]
    return info


@contextlib.contextmanager
def _translated_errors(deadline: _Deadline, url: str) -> Iterator[None]:
    try:
        yield
    except DownloadError as error:
        _note_bot_check(error.category, url)
        raise
    except Exception as exc:
        abort = next((e for e in exception_chain(exc) if isinstance(e, _Abort)), None)
        if abort is not None:
            raise DownloadError(abort.category, abort.detail) from None
        category = classify_exception(exc)
        if category == ErrorCategory.INTERNAL and deadline.remaining() <= 0:
            category = ErrorCategory.TIMEOUT
        if category == ErrorCategory.INTERNAL:
            logger.exception("download failed")
        _note_bot_check(category, url)
        raise DownloadError(category, str(exc)) from exc


def _note_bot_check(category: ErrorCategory, url: str) -> None:
    if category == ErrorCategory.BOT_CHECK:
        platform = netsafety.platform_for_host(_host(url)) or ""
        platform_alerts.signin_demand_record(platform=platform)


class _YtDlpLogger:
    """yt-dlp's output goes to logging, never to stdout; errors become exceptions."""

    def debug(self, message: str) -> None:
        logger.debug("yt-dlp: %s", message)

    info = debug

    def warning(self, message: str) -> None:
        logger.info("yt-dlp: %s", message)

    error = warning


def _is_live(info: dict) -> bool:
    return bool(info.get("is_live")) or info.get("live_status") in ("is_live", "is_upcoming")


# --- what a page offers ------------------------------------------------------------


_LADDER = (144, 240, 360, 480, 720, 1080, 1440, 2160, 4320)


def _offered_formats(info: dict) -> tuple[OfferedFormat, ...]:
    formats = [f for f in info.get("formats") or [] if f.get("url")]
    duration = info.get("duration")
    audios = [f for f in formats if f.get("vcodec") == "none" and f.get("acodec") != "none"]
    best_audio = max(audios, key=_audio_rank, default=None)
    audio_size = _format_size(best_audio, duration) if best_audio else None
    by_height: dict[int, dict] = {}
    for fmt in formats:
        height = _ladder_height(fmt)
        if height and (
            height not in by_height or _video_rank(fmt) > _video_rank(by_height[height])
        ):
            by_height[height] = fmt
    offered = []
    for height, fmt in sorted(by_height.items()):
        video_only = fmt.get("acodec") == "none"
        size = _format_size(fmt, duration)
        if size is not None and video_only:
            size += audio_size or 0
        audio_ok = _is_aac(best_audio) if video_only else _is_aac(fmt)
        offered.append(OfferedFormat(f"{height}p", height, size, _is_h264(fmt) and audio_ok))
    if audios or by_height:
        offered.append(OfferedFormat(AUDIO, None, audio_size, plays_inline=False))
        if _ffmpeg_can_encode("libmp3lame"):
            mp3_size = int(duration * _MP3_BITRATE / 8) if duration else None
            offered.append(OfferedFormat(MP3, None, mp3_size, plays_inline=False))
    return tuple(offered)


def _ladder_height(fmt: dict) -> int | None:
    """The usual quality name of a video format: 1920x800 is "1080p", 1080x1920 too.

    Download picks by the short side ("res:N" in yt-dlp), which orders formats the same.
    """
    width, height = fmt.get("width"), fmt.get("height")
    if fmt.get("vcodec") == "none" or not (width or height):
        return None
    short, long = sorted((width or height * 16 // 9, height or width * 9 // 16))
    nominal = max(short, long * 9 // 16)
    return min(_LADDER, key=lambda step: abs(step - nominal))


def _video_rank(fmt: dict) -> tuple[bool, float]:
    return _is_h264(fmt), fmt.get("tbr") or 0


def _audio_rank(fmt: dict) -> tuple[bool, float]:
    return _is_aac(fmt), fmt.get("abr") or fmt.get("tbr") or 0


def _format_size(fmt: dict, duration: float | None) -> int | None:
    size = fmt.get("filesize") or fmt.get("filesize_approx")
    if not size and fmt.get("tbr") and duration:
        size = fmt["tbr"] * 1000 / 8 * duration  # tbr is in kbit/s
    return int(size) if size else None


def _is_h264(fmt: dict | None) -> bool:
    return bool(fmt) and (fmt.get("vcodec") or "").startswith(("avc1", "h264"))


def _is_aac(fmt: dict | None) -> bool:
    return bool(fmt) and (fmt.get("acodec") or "").startswith(("mp4a", "aac"))


# --- files and ffmpeg --------------------------------------------------------------


def _tmp_base() -> Path:
    base = Path(settings.DOWNLOAD_TMP_DIR or tempfile.gettempdir())
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    return base


def _make_tmpdir() -> Path:
    return Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=_tmp_base()))  # mode 0700


def _moov_first(path: Path) -> bool:
    """Whether an MP4's index (moov) precedes its media data, so playback starts at once."""
    with open(path, "rb") as media:
        while header := media.read(8):
            if len(header) < 8:
                return False
            size, kind = int.from_bytes(header[:4], "big"), header[4:]
            if kind in (b"moov", b"mdat"):
                return kind == b"moov"
            if size == 1:
                size = int.from_bytes(media.read(8), "big") - 8
            if size < 8:
                return False
            media.seek(size - 8, os.SEEK_CUR)
    return False


def _remux_faststart(path: Path) -> None:
    """Rewrite an MP4 in place with its index up front (yt-dlp's ffmpeg steps already do)."""
    tmp = path.with_name(f"faststart-{path.name}")
    _ffmpeg("-i", _local(path), "-map", "0", "-c", "copy", "-movflags", "+faststart", str(tmp))
    os.replace(tmp, path)


def _local(path: Path) -> str:
    """An ffmpeg input that can only be a local file: with "file:" ffmpeg never reads it
    as a URL, and files it opens may refer to nothing but files (its default protocol
    whitelist for them), so a downloaded "video" that is really a playlist of internal
    URLs fetches nothing. yt-dlp's ffmpeg steps pass their inputs the same way."""
    return f"file:{path}"


def _ffmpeg(*args: str) -> None:
    _run([_binary("ffmpeg"), "-nostdin", "-v", "error", "-y", *args])


def _run(command: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, check=True, capture_output=True, timeout=300)  # noqa: S603
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        stderr = (exc.stderr or b"").decode(errors="replace")[-500:]
        raise DownloadError(ErrorCategory.INTERNAL, f"{command[0]} failed: {stderr}") from exc


def _stream_facts(path: Path) -> dict:
    result = _run(
        [
            _binary("ffprobe"),
            *["-v", "error", "-print_format", "json", "-show_format", "-show_streams"],
            _local(path),
        ]
    )
    facts = json.loads(result.stdout)
    streams = facts.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), {})
    audio = next((s for s in streams if s.get("codec_type") == "audio"), {})
    if video.get("disposition", {}).get("attached_pic"):
        video = {}  # cover art of an audio file
    duration = facts.get("format", {}).get("duration")
    return {
        "duration": float(duration) if duration else None,
        "width": video.get("width"),
        "height": video.get("height"),
        "vcodec": video.get("codec_name"),
        "acodec": audio.get("codec_name"),
    }


def _thumbnail_jpeg(tmpdir: Path, media_path: Path, facts: dict) -> bytes | None:
    """The site's thumbnail, or a frame of the video, as a JPEG Telegram accepts."""
    sources = [["-i", _local(p)] for p in sorted(tmpdir.glob("thumbnail.*"))]
    if facts["vcodec"]:
        second = min(1.0, (facts["duration"] or 0) / 2)
        sources.append(["-ss", f"{second:.2f}", "-i", _local(media_path)])
    output = tmpdir / "telegram-thumbnail.jpg"
    box = f"min({THUMBNAIL_MAX_SIDE},iw)"
    scale = f"scale='{box}':'{box.replace('iw', 'ih')}':force_original_aspect_ratio=decrease"
    for source in sources:
        for jpeg_quality in (3, 8, 15, 31):
            try:
                _ffmpeg(
                    *source, "-frames:v", "1", "-vf", scale, "-q:v", str(jpeg_quality), str(output)
                )
            except DownloadError:
                break  # an unreadable source: try the next one
            if output.stat().st_size < THUMBNAIL_MAX_BYTES:
                return output.read_bytes()
    return None


_ENCODERS: dict[str, bool] = {}


def _ffmpeg_can_encode(encoder: str) -> bool:
    if encoder not in _ENCODERS:
        result = _run([_binary("ffmpeg"), "-hide_banner", "-encoders"])
        _ENCODERS[encoder] = f" {encoder} " in result.stdout.decode(errors="replace")
    return _ENCODERS[encoder]


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise DownloadError(ErrorCategory.INTERNAL, f"{name} is not installed")
    return found
