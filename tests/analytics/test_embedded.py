"""The event pipeline in the embedded default: SQLite and the in-process Redis stand-in,
which live inside one process, so the scenario runs in a subprocess of its own."""

from __future__ import annotations

import json

from tests.processes import ROOT, bare_env, run_python

SCENARIO = """
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)

from analytics import counters
from analytics.events import DownloadCompleted, UserReferred, UserSeen, VideoViewClicked
from analytics.models import ClickEvent, Download, Video
from analytics.publisher import publish
from analytics.stream import DEAD_STREAM, GROUP, STREAM
from analytics.worker import Worker
from users.models import BotUser
from config.redis import get_redis

def drain(worker):
    while worker.step().read:
        pass

def download(user_id, video="tiktok:1"):
    return DownloadCompleted(user_id=user_id, video_id=video, platform="tiktok",
                             source="message", format="best", from_cache=False, title="A clip")

worker = Worker(consumer="embedded-test", block_ms=10)
first = download(1)
publish(first)
publish(download(2))
publish(UserSeen(user_id=1, username="ann", first_name="Ann", language_code="de"))
drain(worker)

# A fresh batch holding an event stored before (published twice), a referral, a click,
# and a download whose user id no SQLite integer can hold.
publish(first)
publish(download(1, video="tiktok:2"))
publish(UserReferred(referrer_id=1, new_user_id=3))
publish(VideoViewClicked(user_id=3, video_id="tiktok:2"))
publish(download(2**70))
publish(download(3, video="tiktok:2"))
drain(worker)

redis = get_redis()
print(json.dumps({
    "downloads": sorted(Download.objects.values_list("user_id", "video_id")),
    "user_totals": dict(BotUser.objects.values_list("user_id", "total_downloads")),
    "video_totals": dict(Video.objects.values_list("video_id", "total_downloads")),
    "redis_users": {u: counters.get_user_downloads_count(user_id=u) for u in (1, 2, 3)},
    "redis_videos": {v: counters.get_video_downloads_count(video_id=v)
                     for v in ("tiktok:1", "tiktok:2")},
    "profile": list(BotUser.objects.filter(user_id=1).values_list("username", "language_code")),
    "referred_by": BotUser.objects.get(user_id=3).referred_by_id,
    "clicks": ClickEvent.objects.count(),
    "dead": [fields[b"reason"].decode() for _id, fields in redis.xrange(DEAD_STREAM)],
    "pending": redis.xpending(STREAM, GROUP)["pending"],
}))
"""


def test_events_land_exactly_once_on_sqlite_with_the_stand_in(tmp_path):
    env = bare_env(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"sqlite:///{tmp_path / 'embedded.sqlite3'}",
        ANALYTICS_SPOOL_DIR=str(tmp_path / "spool"),
    )
    result = run_python("-c", SCENARIO, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["downloads"] == [[1, "tiktok:1"], [1, "tiktok:2"], [2, "tiktok:1"],
                                   [3, "tiktok:2"]]  # fmt: skip
    assert report["user_totals"] == {"1": 2, "2": 1, "3": 1}
    assert report["video_totals"] == {"tiktok:1": 2, "tiktok:2": 2}
    assert report["redis_users"] == {"1": 2, "2": 1, "3": 1}
    assert report["redis_videos"] == {"tiktok:1": 2, "tiktok:2": 2}
    assert report["profile"] == [["ann", "de"]]
    assert report["referred_by"] is None  # the referrals app's to write, not the worker's
    assert report["clicks"] == 1
    [reason] = report["dead"]
    assert "out of range" in reason
    assert report["pending"] == 0
