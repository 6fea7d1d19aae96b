"""Redelivery: an event published twice, and a poison event among good ones."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from analytics import counters
from analytics.events import DownloadCompleted
from analytics.models import Download
from analytics.stream import GROUP, PAYLOAD_FIELD, STREAM
from analytics.worker import Worker
from botapp.models import BotUser

from .conftest import drain

pytestmark = pytest.mark.django_db(transaction=True)


def download(user_id: int) -> DownloadCompleted:
    return DownloadCompleted(
        user_id=user_id, video_id="youtube:aaaaaaaaaaa", platform="youtube", source="message"
    )


def _crash_before_acknowledging(*args, **kwargs):
    raise RedisConnectionError("simulated crash between the commit and the acknowledgement")


def test_an_event_published_twice_and_redelivered_is_counted_once(redis, monkeypatch):
    event = download(7)
    redis.xadd(STREAM, {PAYLOAD_FIELD: event.to_json()})
    drain()  # stored and counted
    # The publish had timed out, so the spool replayed the event: a second entry.
    redis.xadd(STREAM, {PAYLOAD_FIELD: event.to_json()})
    crashing = Worker(consumer="w1", block_ms=50)
    monkeypatch.setattr(crashing, "_ack", _crash_before_acknowledging)
    assert crashing.step().failed
    drain(Worker(consumer="w1", block_ms=50))  # restarted: the copy comes back redelivered

    assert redis.xpending(STREAM, GROUP)["pending"] == 0
    assert Download.objects.count() == 1
    assert BotUser.objects.get(user_id=7).total_downloads == 1
    assert counters.get_user_downloads_count(user_id=7) == 1
    assert counters.get_video_downloads_count(video_id="youtube:aaaaaaaaaaa") == 1
    assert counters.get_user_downloads_today(user_id=7) == 1


def test_a_stored_event_redelivered_alone_is_still_counted_once(redis, monkeypatch):
    event = download(8)
    redis.xadd(STREAM, {PAYLOAD_FIELD: event.to_json()})
    crashing = Worker(consumer="w1", block_ms=50)
    monkeypatch.setattr(crashing, "_ack", _crash_before_acknowledging)
    assert crashing.step().failed  # stored, never counted
    drain(Worker(consumer="w1", block_ms=50))

    assert Download.objects.count() == 1
    assert counters.get_user_downloads_count(user_id=8) == 1
