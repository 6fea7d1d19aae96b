"""The worker as a real process, killed with SIGKILL in the middle of its work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from analytics import counters
from analytics.events import DownloadCompleted
from analytics.models import Download
from analytics.stream import GROUP, PAYLOAD_FIELD, STREAM
from users.models import BotUser

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = 20_000
USERS = 300


def _worker_process() -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "analytics_worker", "--consumer", "killed",
         "--batch-size", "50", "--block-ms", "100"],
        cwd=settings.BASE_DIR, env=env,
    )  # fmt: skip


def _wait_for(condition, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_every_event_is_stored_once_after_the_worker_is_killed(redis):
    pipe = redis.pipeline(transaction=False)
    for number in range(EVENTS):
        event = DownloadCompleted(
            user_id=number % USERS, video_id=f"youtube:{number % 97:011d}",
            platform="youtube", source="message",
        )  # fmt: skip
        pipe.xadd(STREAM, {PAYLOAD_FIELD: event.to_json()})
    pipe.execute()

    worker = _worker_process()
    try:
        assert _wait_for(lambda: Download.objects.count() > 0, seconds=120)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        worker.kill()
    stored_when_killed = Download.objects.count()

    worker = _worker_process()
    try:
        assert _wait_for(lambda: Download.objects.count() >= EVENTS, seconds=300)
        assert _wait_for(lambda: redis.xpending(STREAM, GROUP)["pending"] == 0, seconds=60)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0  # a clean stop
    finally:
        worker.kill()

    assert stored_when_killed < EVENTS, "the worker finished before it could be killed"
    assert Download.objects.count() == EVENTS
    assert Download.objects.values("event_id").distinct().count() == EVENTS
    assert sum(BotUser.objects.values_list("total_downloads", flat=True)) == EVENTS
    redis_total = sum(counters.get_user_downloads_count(user_id=u) for u in range(USERS))
    assert redis_total == EVENTS
