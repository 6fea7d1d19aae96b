"""A local stand-in for YouTube, Instagram and TikTok that yt-dlp can download from.

Pages keep the real sites' URL shapes (``/watch?v=<id>``, ``/reel/<code>/``,
``/@<user>/video/<id>``), so ``MEDIA_ORIGIN_OVERRIDES`` only swaps scheme and host
of a canonical URL (see ``VideoSite.origin_overrides``).

What yt-dlp's generic extractor sees on a page: a schema.org ``VideoObject`` in
JSON-LD (title, uploader, duration, thumbnail) whose ``contentUrl`` is a DASH
manifest. The manifest lists separate H.264 video representations per height, a
VP9 one and AAC / Opus audio, each one plain file (served with HEAD and Range
support) with its bandwidth, so yt-dlp gets per-format height, codecs and bitrate
(size ~ bitrate x duration) and has to merge "bestvideo+bestaudio" with ffmpeg as it
does for YouTube. HTML5 ``<source>`` tags would give heights but neither sizes nor
separate audio, and the generic extractor reads them only when the ``html5`` embed
extractor is enabled.

The catalogue holds the sample videos, including the failures a real site shows:
private (403), removed (404), sign-in (302 to a login page), age check (401),
region block (451), a live stream (HLS without an end), a site refusing us (429), a
throttled one, and files too large for Telegram.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from sandbox.clips import ClipInfo, ensure_clips


class VideoKind(StrEnum):
    NORMAL = "normal"
    PRIVATE = "private"
    REMOVED = "removed"
    SIGN_IN_REQUIRED = "sign_in_required"
    AGE_RESTRICTED = "age_restricted"
    REGION_BLOCKED = "region_blocked"
    LIVE = "live"
    SLOW = "slow"
    RATE_LIMITED = "rate_limited"
    TOO_LARGE = "too_large"  # one > 50 MB format whose size shows only once downloading
    VIDEO_TOO_LARGE = "video_too_large"  # every video format > 50 MB, the audio is small


ALL_QUALITIES = (
    "video_240p.mp4",
    "video_360p.mp4",
    "video_480p.mp4",
    "video_720p.mp4",
    "video_1080p.mp4",
    "video_vp9_480p.webm",
    "audio_aac.m4a",
    "audio_opus.webm",
)


@dataclass(frozen=True)
class SampleVideo:
    platform: str  # youtube | instagram | tiktok
    media_id: str
    kind: VideoKind
    title: str
    uploader: str = "Sandbox Studio"
    clips: tuple[str, ...] = ALL_QUALITIES
    has_thumbnail: bool = True  # without one, the downloader makes it from a frame

    @property
    def media_key(self) -> str:
        return f"{self.platform}:{self.media_id}"

    @property
    def url(self) -> str:
        """The canonical URL on the real site."""
        if self.platform == "youtube":
            return f"https://www.youtube.com/watch?v={self.media_id}"
        if self.platform == "instagram":
            return f"https://www.instagram.com/reel/{self.media_id}/"
        return f"https://www.tiktok.com/@{self.uploader}/video/{self.media_id}"

    @property
    def path(self) -> str:
        return urlsplit(self.url)._replace(scheme="", netloc="").geturl()


def _youtube(media_id: str, kind: VideoKind, title: str, **extra) -> SampleVideo:
    assert re.fullmatch(r"[\w-]{11}", media_id), media_id
    return SampleVideo("youtube", media_id, kind, title, **extra)


_SAMPLES = (
    _youtube("dQw4w9WgXcQ", VideoKind.NORMAL, "Sandbox test pattern"),
    _youtube("jNQXAC9IVRw", VideoKind.NORMAL, "Sandbox: at the zoo", uploader="jawed"),
    _youtube("9bZkp7q19f0", VideoKind.NORMAL, "Sandbox: no thumbnail", has_thumbnail=False),
    _youtube("privateVid1", VideoKind.PRIVATE, "Private video"),
    _youtube("removedVid1", VideoKind.REMOVED, "Removed video"),
    _youtube("signInVid01", VideoKind.SIGN_IN_REQUIRED, "Members only"),
    _youtube("ageLimited1", VideoKind.AGE_RESTRICTED, "Age-restricted video"),
    _youtube("regionBlock", VideoKind.REGION_BLOCKED, "Region-blocked video"),
    _youtube("liveStream1", VideoKind.LIVE, "Live now: sandbox stream"),
    _youtube(
        "slowThrottl",
        VideoKind.SLOW,
        "Slow server",
        clips=("video_240p.mp4", "audio_aac.m4a"),
    ),
    _youtube("rateLimited", VideoKind.RATE_LIMITED, "The site refuses us"),
    _youtube("tooLarge50M", VideoKind.TOO_LARGE, "Huge video", clips=("big_720p.mp4",)),
    _youtube(
        "bigVidSmAud",
        VideoKind.VIDEO_TOO_LARGE,
        "Huge video with small audio",
        clips=("video_big_720p.mp4", "audio_aac.m4a"),
    ),
    SampleVideo(
        "instagram",
        "C0ffeeReel1",
        VideoKind.NORMAL,
        "Sandbox reel",
        uploader="sandbox.reels",
        clips=("h264_480p.mp4", "h264_720p.mp4"),
    ),
    SampleVideo(
        "instagram",
        "LoginReel01",
        VideoKind.SIGN_IN_REQUIRED,
        "Reel behind a login",
        uploader="sandbox.reels",
        clips=("h264_480p.mp4",),
    ),
    SampleVideo(
        "tiktok",
        "7300000000000000001",
        VideoKind.NORMAL,
        "Sandbox tiktok",
        uploader="sandbox.user",
        clips=("h264_720p.mp4",),
    ),
    SampleVideo(
        "tiktok",
        "7300000000000000002",
        VideoKind.REMOVED,
        "Removed tiktok",
        uploader="sandbox.user",
        clips=("h264_720p.mp4",),
    ),
)
# media key ("youtube:dQw4w9WgXcQ") -> sample video; ``.kind`` says what it does.
CATALOGUE: dict[str, SampleVideo] = {video.media_key: video for video in _SAMPLES}

REAL_ORIGINS = (
    "https://www.youtube.com",
    "https://youtube.com",
    "https://m.youtube.com",
    "https://youtu.be",
    "https://www.instagram.com",
    "https://instagram.com",
    "https://www.tiktok.com",
    "https://tiktok.com",
)


def sample_urls(kind: VideoKind | None = VideoKind.NORMAL) -> list[str]:
    """Real-shaped URLs of the catalogue's videos of one kind (``None``: all)."""
    return [video.url for video in _SAMPLES if kind is None or video.kind == kind]


# One line per kind for a newcomer: what pasting such a link shows (the chat page's
# list of samples and the sandbox banner).
KIND_HINTS: dict[VideoKind, str] = {
    VideoKind.NORMAL: "a normal video: quality buttons, then the video",
    VideoKind.PRIVATE: "a private video: the bot explains it cannot fetch it",
    VideoKind.REMOVED: "a removed video: the bot says it is gone",
    VideoKind.SIGN_IN_REQUIRED: "needs a sign-in: the bot says so",
    VideoKind.AGE_RESTRICTED: "behind an age check: the bot says it cannot pass it",
    VideoKind.REGION_BLOCKED: "blocked in the region the bot downloads from",
    VideoKind.LIVE: "a live stream: the bot asks for it once it has ended",
    VideoKind.SLOW: "a slow server: watch the progress message move",
    VideoKind.RATE_LIMITED: "the site refuses downloads: the bot asks to retry later",
    VideoKind.TOO_LARGE: "too large for Telegram, found out while downloading",
    VideoKind.VIDEO_TOO_LARGE: "every video quality too large: audio is offered",
}


def samples() -> list[dict[str, str]]:
    """The catalogue for a newcomer: URL, platform, kind, title and a one-line hint."""
    return [
        {
            "url": video.url,
            "platform": video.platform,
            "kind": str(video.kind),
            "title": video.title,
            "hint": _hint(video),
        }
        for video in _SAMPLES
    ]


def _hint(video: SampleVideo) -> str:
    if video.kind != VideoKind.NORMAL:
        return KIND_HINTS[video.kind]
    if video.platform != "youtube":
        return "a normal video: the best quality that fits, at once"
    if not video.has_thumbnail:
        return "a normal video without a thumbnail: the bot makes one"
    return KIND_HINTS[video.kind]


# (status, reason phrase, page text) a real site answers for each failure. yt-dlp
# puts the reason phrase into its error message ("HTTP Error 403: Private video").
_REFUSALS = {
    VideoKind.PRIVATE: (403, "Private video", "This video is private."),
    VideoKind.REMOVED: (404, "Video unavailable", "This video has been removed."),
    VideoKind.AGE_RESTRICTED: (
        401,
        "Sign in to confirm your age",
        "This video may be inappropriate for some users.",
    ),
    VideoKind.REGION_BLOCKED: (
        451,
        "Video not available in your country",
        "The uploader has not made this video available in your country.",
    ),
    VideoKind.RATE_LIMITED: (429, "Too Many Requests", "Too many requests. Try again later."),
}
_STREAM_CHUNK = 64 * 1024


class VideoSite:
    """The site in a daemon thread: ``VideoSite().start()``, then ``.origin``."""

    def __init__(
        self,
        clips_dir: Path | str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        throttle_bytes_per_second: int = 64 * 1024,
    ) -> None:
        self.clips_dir = clips_dir
        self.host = host
        self.port = port
        self.throttle_bytes_per_second = throttle_bytes_per_second
        self.clips: dict[str, ClipInfo] = {}
        # URL path -> body bytes written, to show how far a download went.
        self.bytes_served: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> VideoSite:
        self.clips = ensure_clips(self.clips_dir)
        server = ThreadingHTTPServer((self.host, self.port), _Handler)
        server.daemon_threads = True
        server.site = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, name="videosite", kwargs={"poll_interval": 0.2}
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> VideoSite:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def origin_overrides(self) -> dict[str, str]:
        """A ``MEDIA_ORIGIN_OVERRIDES`` value that sends every platform here."""
        return dict.fromkeys(REAL_ORIGINS, self.origin)

    def local_url(self, media_key: str) -> str:
        return self.origin + CATALOGUE[media_key].path

    def count_served(self, path: str, amount: int) -> None:
        with self._lock:
            self.bytes_served[path] += amount


class _Handler(BaseHTTPRequestHandler):
    server_version = "SandboxVideoSite/1.0"
    protocol_version = "HTTP/1.1"

    @property
    def site(self) -> VideoSite:
        return self.server.site  # type: ignore[attr-defined]

    def log_message(self, format, *args) -> None:
        pass  # tests and the sandbox would drown in access lines

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def _dispatch(self, *, head: bool) -> None:
        url = urlsplit(self.path)
        path = url.path
        routes = (
            (r"/", lambda m: self._index()),
            (r"/watch", lambda m: self._watch(parse_qs(url.query).get("v", [""])[0])),
            (r"/(?:shorts/)?([\w-]{11})", lambda m: self._redirect(f"/watch?v={m[1]}")),
            (r"/(?:reel|reels|p)/([\w-]+)/?", lambda m: self._page(f"instagram:{m[1]}")),
            (r"/@[\w.-]+/video/(\d+)/?", lambda m: self._page(f"tiktok:{m[1]}")),
            (r"/accounts/login/?", lambda m: self._login_page()),
            (r"/media/(\w+)/([\w-]+)/manifest\.mpd", lambda m: self._mpd(f"{m[1]}:{m[2]}")),
            (r"/media/(\w+)/([\w-]+)/live\.m3u8", lambda m: self._live_playlist()),
            (r"/media/\w+/[\w-]+/thumbnail\.jpg", lambda m: self._file("thumbnail.jpg", head)),
            (r"/(slow/)?clips/([\w.-]+)", lambda m: self._file(m[2], head, slow=bool(m[1]))),
        )
        for pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match:
                handler(match)
                return
        self._send_text(404, "Not Found", "No such page.")

    # --- pages ---------------------------------------------------------------

    def _watch(self, media_id: str) -> None:
        self._page(f"youtube:{media_id}")

    def _page(self, media_key: str) -> None:
        video = CATALOGUE.get(media_key)
        if video is None:
            self._send_text(404, "Video unavailable", "This video isn't available anymore.")
            return
        if video.kind in _REFUSALS:
            status, reason, text = _REFUSALS[video.kind]
            extra = {"Retry-After": "60"} if status == 429 else {}
            self._send_text(status, reason, text, headers=extra)
            return
        if video.kind == VideoKind.SIGN_IN_REQUIRED:
            self._redirect("/accounts/login/?next=" + quote(self.path, safe=""))
            return
        self._send(200, "text/html; charset=utf-8", self._page_html(video).encode())

    def _page_html(self, video: SampleVideo) -> str:
        base = f"/media/{video.platform}/{video.media_id}"
        thumbnail = self._absolute(f"{base}/thumbnail.jpg")
        data = {
            "@context": "https://schema.org",
            "@type": "VideoObject",
            "name": video.title,
            "description": f"A {video.kind} sample video of the local video site.",
            "uploadDate": "2024-01-01T12:00:00+00:00",
            "author": {"@type": "Person", "name": video.uploader},
        }
        poster = og_image = ""
        if video.has_thumbnail:
            data["thumbnailUrl"] = [thumbnail]
            poster = f" poster='{html.escape(thumbnail)}'"
            og_image = f"<meta property='og:image' content='{html.escape(thumbnail)}'>"
        if video.kind == VideoKind.LIVE:
            data["contentUrl"] = self._absolute(f"{base}/live.m3u8")
            data["encodingFormat"] = "application/vnd.apple.mpegurl"
            data["publication"] = {"@type": "BroadcastEvent", "isLiveBroadcast": True}
        else:
            duration = max(self.site.clips[name].duration for name in video.clips)
            data["duration"] = f"PT{round(duration)}S"
            data["contentUrl"] = self._absolute(f"{base}/manifest.mpd")
            data["encodingFormat"] = "application/dash+xml"
        title = html.escape(video.title)
        preview = html.escape(self._absolute("/clips/h264_480p.mp4"))
        json_ld = json.dumps(data).replace("</", "<\\/")
        return (
            "<!doctype html>\n<html><head><meta charset='utf-8'>"
            f"<title>{title} - {video.platform.title()} (sandbox)</title>"
            f"<meta property='og:title' content='{title}'>"
            f"{og_image}"
            "<meta property='og:type' content='video.other'>"
            f"<script type='application/ld+json'>{json_ld}</script>"
            f"</head><body><h1>{title}</h1><p>by {html.escape(video.uploader)}</p>"
            f"<video controls width='640'{poster} src='{preview}'>"
            "</video></body></html>\n"
        )

    def _index(self) -> None:
        items = "".join(
            f"<li><a href='{html.escape(video.path)}'>{html.escape(video.media_key)}</a>"
            f" {video.kind}: {html.escape(video.title)}</li>"
            for video in CATALOGUE.values()
        )
        body = f"<!doctype html><title>Sandbox video site</title><ul>{items}</ul>\n"
        self._send(200, "text/html; charset=utf-8", body.encode())

    def _login_page(self) -> None:
        body = (
            "<!doctype html><html><head><title>Log in</title></head><body>"
            "<form method='post'><input name='username'><input name='password' type='password'>"
            "</form></body></html>\n"
        )
        self._send(200, "text/html; charset=utf-8", body.encode())

    def _mpd(self, media_key: str) -> None:
        video = CATALOGUE.get(media_key)
        if video is None or video.kind == VideoKind.LIVE:
            self._send_text(404, "Not Found", "No such manifest.")
            return
        clips = [self.site.clips[name] for name in video.clips]
        prefix = "/slow/clips/" if video.kind == VideoKind.SLOW else "/clips/"
        # The too-large sample hides its size, as many sites do, so only the running
        # download can tell; every other sample declares its bandwidth.
        with_bandwidth = video.kind != VideoKind.TOO_LARGE
        sets = []
        for content_type in ("video", "audio"):
            for mime_type in sorted({c.mime_type for c in clips}):
                members = [c for c in clips if _content_type(c) == content_type]
                members = [c for c in members if c.mime_type == mime_type]
                if members:
                    reps = "".join(
                        _representation(c, self._absolute(prefix + c.name), with_bandwidth)
                        for c in members
                    )
                    sets.append(
                        f"<AdaptationSet contentType='{content_type}' mimeType='{mime_type}'>"
                        f"{reps}</AdaptationSet>"
                    )
        duration = max(c.duration for c in clips)
        body = (
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            "<MPD xmlns='urn:mpeg:dash:schema:mpd:2011' type='static' minBufferTime='PT2S'"
            " profiles='urn:mpeg:dash:profile:isoff-on-demand:2011'"
            f" mediaPresentationDuration='PT{duration:.3f}S'>"
            f"<Period>{''.join(sets)}</Period></MPD>\n"
        )
        self._send(200, "application/dash+xml", body.encode())

    def _live_playlist(self) -> None:
        # A sliding window with no #EXT-X-ENDLIST: players and yt-dlp treat it as live.
        sequence = int(time.time() // 5)
        segments = "".join(
            f"#EXTINF:5.0,\n{self._absolute('/clips/h264_240p.mp4')}?seq={n}\n"
            for n in range(sequence, sequence + 3)
        )
        body = (
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:5\n"
            f"#EXT-X-MEDIA-SEQUENCE:{sequence}\n{segments}"
        )
        self._send(200, "application/vnd.apple.mpegurl", body.encode())

    # --- files -----------------------------------------------------------------

    def _file(self, name: str, head: bool, *, slow: bool = False) -> None:
        clip = self.site.clips.get(name)
        if clip is None:
            self._send_text(404, "Not Found", "No such file.")
            return
        size = clip.size
        start, end = 0, size - 1
        status = 200
        headers = {"Accept-Ranges": "bytes"}
        range_header = self.headers.get("Range")
        if range_header:
            parsed = _parse_range(range_header, size)
            if parsed is None:
                headers["Content-Range"] = f"bytes */{size}"
                self._send_text(416, "Range Not Satisfiable", "Bad range.", headers=headers)
                return
            start, end = parsed
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self.send_response(status)
        self.send_header("Content-Type", clip.mime_type)
        self.send_header("Content-Length", str(end - start + 1))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self._stream(Path(clip.path), start, end - start + 1, slow=slow)

    def _stream(self, path: Path, offset: int, length: int, *, slow: bool) -> None:
        rate = self.site.throttle_bytes_per_second
        chunk_size = min(_STREAM_CHUNK, rate // 4) if slow else _STREAM_CHUNK
        url_path = urlsplit(self.path).path
        with open(path, "rb") as media:
            media.seek(offset)
            while length > 0:
                chunk = media.read(min(chunk_size, length))
                if not chunk:
                    break
                try:
                    self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                    return
                self.site.count_served(url_path, len(chunk))
                length -= len(chunk)
                if slow:
                    time.sleep(len(chunk) / rate)

    # --- plumbing --------------------------------------------------------------

    def _absolute(self, path: str) -> str:
        host = self.headers.get("Host") or f"{self.site.host}:{self.site.port}"
        return f"http://{host}{path}"

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send_text(
        self, status: int, reason: str, text: str, *, headers: dict[str, str] | None = None
    ) -> None:
        body = f"<!doctype html><title>{html.escape(reason)}</title><p>{html.escape(text)}</p>\n"
        self._send(status, "text/html; charset=utf-8", body.encode(), reason, headers)

    def _send(
        self,
        status: int,
        content_type: str,
        body: bytes,
        reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status, reason or HTTPStatus(status).phrase)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _content_type(clip: ClipInfo) -> str:
    return "video" if clip.vcodec else "audio"


def _representation(clip: ClipInfo, url: str, with_bandwidth: bool) -> str:
    codecs = ",".join(c for c in (clip.vcodec, clip.acodec) if c)
    attributes = {"id": clip.name.rsplit(".", 1)[0], "codecs": codecs}
    if with_bandwidth:
        attributes["bandwidth"] = str(clip.bitrate)
    if clip.vcodec:
        attributes.update(width=str(clip.width), height=str(clip.height), frameRate="25")
    else:
        attributes["audioSamplingRate"] = "44100" if clip.acodec.startswith("mp4a") else "48000"
    rendered = " ".join(f"{key}='{html.escape(value)}'" for key, value in attributes.items())
    return f"<Representation {rendered}><BaseURL>{html.escape(url)}</BaseURL></Representation>"


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte of a single ``bytes=`` range, or None if unsatisfiable."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not match or match[1] == match[2] == "":
        return None
    if match[1] == "":  # suffix range: the last N bytes
        start, end = max(size - int(match[2]), 0), size - 1
    else:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
    if start >= size or start > end:
        return None
    return start, end


def main() -> None:
    """``python -m sandbox.videosite [port]``: serve until interrupted."""
    import sys

    site = VideoSite(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    sys.stdout.write(f"Video site at {site.origin}\nMEDIA_ORIGIN_OVERRIDES=")
    sys.stdout.write(json.dumps(site.origin_overrides()) + "\nSample links:\n")
    sys.stdout.write("".join(f"  {url}\n" for url in sample_urls(None)))
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        site.stop()


if __name__ == "__main__":
    main()
