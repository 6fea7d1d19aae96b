"""Redelivery: an event published twice, and a poison event among good ones."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from redis.exceptions import ConnectionError as RedisConnectionError

from analytics import counters
from analytics.events import DownloadCompleted
from analytics.models import Download
from analytics.stream import DEAD_STREAM, GROUP, PAYLOAD_FIELD, STREAM, group_ensure
from analytics.worker import Worker
from users.models import BotUser

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


def test_a_lone_event_refused_while_the_schema_is_broken_waits_instead_of_dead_letters(redis):
    with connection.cursor() as cursor:  # every download refused: a schema problem
        cursor.execute("ALTER TABLE downloads ADD CONSTRAINT broken CHECK (user_id < 0)")
    worker = Worker(consumer="w1", block_ms=50)
    try:
        redis.xadd(STREAM, {PAYLOAD_FIELD: download(1).to_json()})
        assert worker.step().stored == 0  # refused alone: kept for the next batch
        redis.xadd(STREAM, {PAYLOAD_FIELD: download(2).to_json()})
        assert worker.step().failed  # both refused: held
        assert worker.step().failed
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE downloads DROP CONSTRAINT broken")

    drain(worker)

    assert redis.xlen(DEAD_STREAM) == 0
    assert sorted(Download.objects.values_list("user_id", flat=True)) == [1, 2]
    assert redis.xpending(STREAM, GROUP)["pending"] == 0


def test_a_lone_bad_event_is_dead_lettered_once_a_neighbour_is_stored(redis):
    bad = json.loads(download(1).to_json()) | {"user_id": 2**70}  # PostgreSQL refuses it
    redis.xadd(STREAM, {PAYLOAD_FIELD: json.dumps(bad)})
    worker = Worker(consumer="w1", block_ms=50)
    worker.step()
    assert redis.xlen(DEAD_STREAM) == 0
    assert redis.xpending(STREAM, GROUP)["pending"] == 1

    redis.xadd(STREAM, {PAYLOAD_FIELD: download(2).to_json()})
    drain(worker)

    assert list(Download.objects.values_list("user_id", flat=True)) == [2]
    [(_id, fields)] = redis.xrange(DEAD_STREAM)
    assert b"out of range" in fields[b"reason"]
    assert redis.xpending(STREAM, GROUP)["pending"] == 0


def test_re_reading_pending_entries_after_a_restart_is_not_a_delivery(redis, monkeypatch):
    group_ensure(redis)
    for user_id in range(3):
        redis.xadd(STREAM, {PAYLOAD_FIELD: download(user_id).to_json()})
    redis.xreadgroup(GROUP, "w1", {STREAM: ">"}, count=10)  # read, then the worker died
    before = {i["message_id"]: i["times_delivered"] for i in _pending(redis)}

    # Restarted ten times, each dying before it could start an attempt.
    for _ in range(10):
        restarted = Worker(consumer="w1", block_ms=50, max_deliveries=3)
        monkeypatch.setattr(restarted, "_process", _crash_before_acknowledging)
        assert restarted.step().failed

    assert {i["message_id"]: i["times_delivered"] for i in _pending(redis)} == before
    drain(Worker(consumer="w1", block_ms=50, max_deliveries=3))
    assert Download.objects.count() == 3
    assert redis.xlen(DEAD_STREAM) == 0


def _pending(redis):
    return redis.xpending_range(STREAM, GROUP, min="-", max="+", count=100)
