"""The bot keeps answering when Redis is gone: PostgreSQL has the truth."""

from __future__ import annotations

import pytest
from django.conf import settings

from botapp.runner import BackgroundBot
from config import queues
from downloads.models import CachedMedia, DownloadRequest
from downloads.services import download_requests_requeue
from tests.e2e.conftest import ALICE, eventually

TIKTOK = "https://www.tiktok.com/@sandbox.user/video/7300000000000000001"
REAL_CACHES = settings.CACHES

DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


@pytest.fixture
def bot_without_redis(bot_settings, transactional_db, tmp_path, telegram):
    from analytics.publisher import breaker_reset

    bot_settings.CACHES = DEAD_REDIS
    bot_settings.ANALYTICS_SPOOL_DIR = str(tmp_path / "spool")
    breaker_reset()
    runner = BackgroundBot(poll_timeout=1).start()
    yield runner
    runner.stop()
    breaker_reset()


def test_a_cached_video_is_sent_from_postgresql_when_redis_is_down(bot_without_redis, telegram):
    stored = telegram.store_file(b"\x00\x00\x00\x18ftypmp42" + b"0" * 2048, kind="video")
    CachedMedia.objects.create(
        media_key="instagram:C0ffeeReel1", format="best", file_id=stored["file_id"], kind="video"
    )
    telegram.push_private_message(ALICE, "/start")
    welcome = telegram.wait_for_call("sendMessage", timeout=60)
    assert welcome["ok"] and "Send me a link" in welcome["payload"]["text"]

    telegram.push_private_message(ALICE, "https://www.instagram.com/reel/C0ffeeReel1/")
    video = telegram.wait_for_call("sendVideo", timeout=60)
    assert video["ok"] and video["payload"]["video"] == stored["file_id"]


def test_a_download_asked_for_while_redis_is_down_arrives_when_it_is_back(
    bot_without_redis, bot_settings, telegram, caplog
):
    telegram.push_private_message(ALICE, TIKTOK)
    queued = telegram.wait_for_call("sendMessage", timeout=60)
    assert "In the queue" in queued["payload"]["text"]
    # The job could not reach Redis: the request waits in PostgreSQL.
    assert eventually(lambda: "stays queued until Redis is back" in caplog.text)
    assert DownloadRequest.objects.get().status == "queued"

    bot_settings.CACHES = REAL_CACHES  # Redis is back
    workers = queues.start_thread_workers([queues.DOWNLOADS], 1)
    try:
        assert (
            download_requests_requeue(older_than_seconds=0) == 1
        )  # what the bot does every minute
        video = telegram.wait_for_call("sendVideo", timeout=90)
    finally:
        queues.stop_thread_workers(workers)
    assert video["ok"]
    assert not [c for c in telegram.calls("sendMessage") if "went wrong" in c["payload"]["text"]]
