"""Short test clips for the local video site, made with ffmpeg on first use.

Every clip is a few seconds of ffmpeg's test pattern with a sine tone, so the whole
set takes seconds to make. Clips are written to a temporary name and renamed into
place under an exclusive lock, so any number of processes may call ``ensure_clips``
at once and each sees either no file or a complete one.

``clips.json`` next to the clips records what ffprobe says about each one (size,
duration, resolution, codecs, bitrate); the video site builds its manifests from it.
Each recipe version lives in its own subdirectory (``v3/``), so processes still
running older code never fight newer ones over the same files.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
CLIPS_DIR_ENV = "VIDEOBOT_CLIPS_DIR"
METADATA_FILE = "clips.json"
# Bump when the recipes change so stale caches are regenerated.
RECIPE_VERSION = 3

_DURATION = 5
_SINE = ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={_DURATION}"]
_AAC = ["-c:a", "aac", "-b:a", "96k"]
_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", "-pix_fmt", "yuv420p"]
_MP4 = ["-movflags", "+faststart"]


def _testsrc(width: int, height: int) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25:duration={_DURATION}"]


def _h264_muxed(width: int, height: int) -> list[str]:
    return [*_testsrc(width, height), *_SINE, *_X264, *_AAC, *_MP4, "-shortest"]


# name -> ffmpeg arguments (inputs and output options; the output path is appended).
# Names starting with "video_" / "audio_" are derived by stream copy from a muxed clip
# listed before them, so they cost nothing to make.
RECIPES: dict[str, list[str]] = {
    "h264_240p.mp4": _h264_muxed(426, 240),
    "h264_360p.mp4": _h264_muxed(640, 360),
    "h264_480p.mp4": _h264_muxed(854, 480),
    "h264_720p.mp4": _h264_muxed(1280, 720),
    "h264_1080p.mp4": _h264_muxed(1920, 1080),
    "audio_aac.m4a": [*_SINE, "-vn", *_AAC, *_MP4],
    "vp9_opus_480p.webm": [
        *_testsrc(854, 480),
        *_SINE,
        *["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k"],
        *["-c:a", "libopus", "-b:a", "64k", "-shortest"],
    ],
    # Over 50 MB in about two seconds of encoding: lossless H.264 of random pixels
    # cannot be compressed. A valid, playable 4 s 720p MP4 of some 70 MB.
    "big_720p.mp4": [
        *["-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", "1280x720"],
        *["-framerate", "8", "-i", "/dev/urandom"],
        *_SINE,
        *["-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0"],
        *_AAC,
        *_MP4,
        "-shortest",
    ],
    "thumbnail.jpg": [
        *["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=1:duration=1"],
        *["-frames:v", "1", "-q:v", "4"],
    ],
}
DERIVED: dict[str, tuple[str, list[str]]] = {
    "video_240p.mp4": ("h264_240p.mp4", ["-an", "-c", "copy", *_MP4]),
    "video_360p.mp4": ("h264_360p.mp4", ["-an", "-c", "copy", *_MP4]),
    "video_480p.mp4": ("h264_480p.mp4", ["-an", "-c", "copy", *_MP4]),
    "video_720p.mp4": ("h264_720p.mp4", ["-an", "-c", "copy", *_MP4]),
    "video_1080p.mp4": ("h264_1080p.mp4", ["-an", "-c", "copy", *_MP4]),
    "video_big_720p.mp4": ("big_720p.mp4", ["-an", "-c", "copy", *_MP4]),
    "video_vp9_480p.webm": ("vp9_opus_480p.webm", ["-an", "-c", "copy"]),
    "audio_opus.webm": ("vp9_opus_480p.webm", ["-vn", "-c", "copy"]),
}
CLIP_NAMES = (*RECIPES, *DERIVED)


@dataclass(frozen=True)
class ClipInfo:
    name: str
    path: str
    size: int
    duration: float
    bitrate: int  # bits per second, over the whole file
    width: int | None
    height: int | None
    vcodec: str | None  # RFC 6381 style: "avc1.42c01e", "vp9"
    acodec: str | None  # "mp4a.40.2", "opus"
    mime_type: str


def default_clips_dir() -> Path:
    return Path(os.environ.get(CLIPS_DIR_ENV) or PROJECT_DIR / "var" / "clips")


def ensure_clips(directory: Path | str | None = None) -> dict[str, ClipInfo]:
    """Make the clips under ``directory`` unless they are there; return every clip's facts."""
    directory = (Path(directory) if directory else default_clips_dir()) / f"v{RECIPE_VERSION}"
    directory.mkdir(parents=True, exist_ok=True)
    metadata = directory / METADATA_FILE
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        cached = _read_metadata(metadata)
        if cached is not None:
            return cached
        for name, args in RECIPES.items():
            _ffmpeg(args, directory / name)
        for name, (source, args) in DERIVED.items():
            _ffmpeg(["-i", str(directory / source), *args], directory / name)
        clips = {name: _probe(directory / name) for name in CLIP_NAMES}
        payload = {"version": RECIPE_VERSION, "clips": {n: vars(c) for n, c in clips.items()}}
        tmp = metadata.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=1))
        os.replace(tmp, metadata)
        return clips


def _read_metadata(metadata: Path) -> dict[str, ClipInfo] | None:
    try:
        payload = json.loads(metadata.read_text())
    except (OSError, ValueError):
        return None
    if payload.get("version") != RECIPE_VERSION or set(payload["clips"]) != set(CLIP_NAMES):
        return None
    directory = metadata.parent
    # Paths follow the directory, so a moved cache stays valid.
    clips = {
        name: ClipInfo(**{**facts, "path": str(directory / name)})
        for name, facts in payload["clips"].items()
    }
    if any(
        not Path(clip.path).is_file() or Path(clip.path).stat().st_size != clip.size
        for clip in clips.values()
    ):
        return None
    return clips


def _ffmpeg(args: list[str], output: Path) -> None:
    # The temporary name keeps the real extension so ffmpeg picks the right muxer.
    tmp = output.with_name(f".partial-{os.getpid()}-{output.name}")
    command = [_tool("ffmpeg"), "-nostdin", "-v", "error", "-y", *args, str(tmp)]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=120)  # noqa: S603
    except subprocess.CalledProcessError as exc:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg failed for {output.name}: {exc.stderr.decode()}") from exc
    os.replace(tmp, output)


def ffprobe(path: Path) -> dict:
    """ffprobe's JSON description (format and streams) of a media file."""
    command = [
        _tool("ffprobe"),
        *["-v", "error", "-print_format", "json", "-show_format", "-show_streams"],
        str(path),
    ]
    result = subprocess.run(command, check=True, capture_output=True, timeout=60)  # noqa: S603
    return json.loads(result.stdout)


def _probe(path: Path) -> ClipInfo:
    facts = ffprobe(path)
    video = next((s for s in facts["streams"] if s["codec_type"] == "video"), None)
    audio = next((s for s in facts["streams"] if s["codec_type"] == "audio"), None)
    size = path.stat().st_size
    duration = float(facts["format"].get("duration") or _DURATION)
    return ClipInfo(
        name=path.name,
        path=str(path),
        size=size,
        duration=duration,
        bitrate=int(size * 8 / duration),
        width=video and video.get("width"),
        height=video and video.get("height"),
        vcodec=video and _codec_string(video),
        acodec=audio and _codec_string(audio),
        mime_type=_mime_type(path, has_video=video is not None),
    )


_AVC_PROFILES = {
    "Constrained Baseline": "42c0",
    "Baseline": "4200",
    "Main": "4d40",
    "High": "6400",
    "High 4:4:4 Predictive": "f400",
}


def _codec_string(stream: dict) -> str:
    name = stream["codec_name"]
    if name == "h264":
        profile = _AVC_PROFILES.get(stream.get("profile", ""), "6400")
        return f"avc1.{profile}{int(stream.get('level') or 30):02x}"
    if name == "aac":
        return "mp4a.40.2"
    return name  # vp9, opus


def _mime_type(path: Path, *, has_video: bool) -> str:
    kind = "video" if has_video else "audio"
    if path.suffix == ".webm":
        return f"{kind}/webm"
    if path.suffix == ".jpg":
        return "image/jpeg"
    return f"{kind}/mp4"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed; the sandbox clips need it")
    return found
