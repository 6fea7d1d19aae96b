"""``python manage.py bench_cleanup``: many real downloads, some failing, and a count of
what they left in the temporary directory (the answer must be nothing).

Uses the local video site and real yt-dlp/ffmpeg; talks only to 127.0.0.1.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from downloads.media.downloader import download
from downloads.media.errors import DownloadError
from sandbox.videosite import CATALOGUE, VideoSite

# (media key, quality, timeout): successes in memory and on disk, refusals, a byte cap
# hit mid-download and a timeout.
MIX = (
    ("youtube:dQw4w9WgXcQ", "360p", None),
    ("youtube:jNQXAC9IVRw", "720p", None),
    ("youtube:dQw4w9WgXcQ", "audio", None),
    ("instagram:C0ffeeReel1", "best", None),
    ("tiktok:7300000000000000001", "best", None),
    ("youtube:privateVid1", "480p", None),
    ("youtube:removedVid1", "480p", None),
    ("youtube:signInVid01", "480p", None),
    ("youtube:tooLarge50M", "720p", None),
    ("youtube:slowThrottl", "480p", 2),
)


class Command(BaseCommand):
    help = "Runs N mixed downloads and reports the temporary files left behind."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--downloads", type=int, default=100)

    def handle(self, *args, downloads: int, **options) -> None:
        site = VideoSite().start()
        tmp = Path(tempfile.mkdtemp(prefix="bench-cleanup-"))
        settings.MEDIA_ORIGIN_OVERRIDES = site.origin_overrides()
        settings.DOWNLOAD_TMP_DIR = str(tmp)
        outcomes: Counter[str] = Counter()
        started = time.monotonic()
        try:
            for n in range(downloads):
                key, quality, timeout = MIX[n % len(MIX)]
                # Every other round keeps files on disk until "uploaded", like big videos.
                settings.IN_MEMORY_MAX_MB = 20 if n // len(MIX) % 2 else 0
                outcomes[run_one(CATALOGUE[key].url, quality, timeout)] += 1
        finally:
            site.stop()
        leftovers = [str(p.relative_to(tmp)) for p in tmp.rglob("*")]
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items()))
        self.stdout.write(f"{downloads} downloads in {elapsed:.0f} s: {summary}")
        self.stdout.write(f"temporary files left behind: {len(leftovers)} {leftovers[:5]}")
        if not leftovers:
            tmp.rmdir()


def run_one(url: str, quality: str, timeout: float | None) -> str:

    try:
        media = download(url, quality=quality, timeout=timeout)
    except DownloadError as error:
        return str(error.category)
    try:
        with media.open() as stream:  # what the upload does
            stream.read()
        return "ok on disk" if media.path else "ok in memory"
    finally:
        media.close()
