"""A picked cached inline result is one download however often Telegram reports the
pick, and whether or not Redis was up for each report: the first report's time is kept
in PostgreSQL (``InlinePick``), so every report publishes the same event."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError

from analytics.events import DownloadCompleted
from analytics.models import Download
from analytics.publisher import breaker_reset, spool_replay
from downloads import inline, links
from downloads.models import InlinePick
from tests.e2e.published import published
from tests.e2e.test_ads import drain
from users.models import BotUser

USER = 4242
LINK = links.extract_links("https://youtu.be/dQw4w9WgXcQ")[0]
DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


def report(inline_message_id: str = "AAQApick") -> bool:
    return inline.cached_pick_publish(
        user_id=USER, link=LINK, fmt="720p", item=None, inline_message_id=inline_message_id
    )


@pytest.fixture
def spool(settings, tmp_path):
    settings.ANALYTICS_SPOOL_DIR = str(tmp_path / "spool")
    breaker_reset()
    yield
    breaker_reset()


def test_a_pick_reported_while_redis_is_down_and_again_after_is_one_download(
    transactional_db, settings, spool
):
    real = settings.CACHES
    settings.CACHES = DEAD_REDIS  # the first report's event goes to the spool
    assert report() is True
    settings.CACHES = real  # Redis is back for the second report
    breaker_reset()
    assert report() is False
    assert spool_replay() == 1  # the first report's event reaches the stream too
    drain()

    [download] = Download.objects.filter(user_id=USER)
    assert download.created_at == InlinePick.objects.get().picked_at
    assert BotUser.objects.get(pk=USER).total_downloads == 1


def test_picks_older_than_telegram_resends_are_forgotten(db, spool):
    old = dt.datetime.now(tz=dt.UTC) - dt.timedelta(seconds=inline.PICK_TTL + 60)
    InlinePick.objects.create(inline_message_id="AAQAold", picked_at=old)
    report("AAQAnew")
    assert list(InlinePick.objects.values_list("inline_message_id", flat=True)) == ["AAQAnew"]


def test_without_the_database_each_report_is_an_event_of_its_own(db, spool, monkeypatch):
    def refused(**_kwargs):
        raise DatabaseError("database unavailable")

    monkeypatch.setattr(InlinePick.objects, "get_or_create", refused)
    assert report() is True
    assert report() is True  # not known as a repeat: counted again, nothing lost
    first, again = published(DownloadCompleted, lambda e: e.user_id == USER)
    assert first.event_id != again.event_id
