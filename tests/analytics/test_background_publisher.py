"""Publishing off the bot's event loop: while the bot runs, ``publish`` queues and one
thread sends the queue in pipelined batches, in order, spooling when Redis is away."""

from __future__ import annotations

import json
import threading

import pytest
from django.test import override_settings

from analytics import publisher
from analytics.events import DownloadCompleted
from analytics.models import Download
from analytics.publisher import publish, spool_size
from analytics.stream import PAYLOAD_FIELD, STREAM

from .conftest import drain


def event(user_id: int) -> DownloadCompleted:
    return DownloadCompleted(
        user_id=user_id, video_id="youtube:bbbbbbbbbbb", platform="youtube", source="message"
    )


def stream_users(redis) -> list[int]:
    return [
        json.loads(fields[PAYLOAD_FIELD.encode()])["user_id"]
        for _id, fields in redis.xrange(STREAM)
    ]


@pytest.fixture
def background():
    publisher.background_start()
    yield
    publisher.background_stop()


@pytest.fixture(autouse=True)
def _empty_stream(redis):
    redis.delete(STREAM)
    yield
    redis.delete(STREAM)


def test_queued_events_reach_the_stream_in_order(background, redis):
    for user_id in range(1, 1201):  # more than one batch
        publish(event(user_id))

    assert publisher.background_flush()
    assert stream_users(redis) == list(range(1, 1201))


def test_publish_does_not_wait_for_redis(background, redis, monkeypatch):
    sent = threading.Event()
    release = threading.Event()
    real = publisher._publish_now

    def slow_redis(payloads):
        sent.set()
        release.wait(10)  # Redis answering slowly: only the publisher thread waits
        real(payloads)

    monkeypatch.setattr(publisher, "_publish_now", slow_redis)
    publish(event(1))
    assert sent.wait(10)
    for user_id in range(2, 6):
        publish(event(user_id))  # returns at once although the thread is stuck
    assert stream_users(redis) == []

    release.set()
    assert publisher.background_flush()
    assert stream_users(redis) == [1, 2, 3, 4, 5]


def test_stop_sends_what_is_queued_and_publishing_is_synchronous_again(redis):
    publisher.background_start()
    for user_id in range(1, 51):
        publish(event(user_id))
    publisher.background_stop()

    assert stream_users(redis) == list(range(1, 51))
    publish(event(51))  # no thread now: sent before publish returns
    assert stream_users(redis)[-1] == 51


def test_each_start_needs_its_stop(redis):
    publisher.background_start()
    publisher.background_start()  # a second bot in the same process
    publisher.background_stop()
    publish(event(1))
    assert publisher._background is not None  # still queued for the other bot
    publisher.background_stop()
    assert publisher._background is None
    assert stream_users(redis) == [1]


def test_a_backlog_over_the_bound_publishes_synchronously(background, redis, monkeypatch):
    taken = threading.Event()
    release = threading.Event()
    real = publisher._publish_now

    def stuck(payloads):
        if threading.current_thread().name == "analytics-publisher":
            taken.set()
            release.wait(10)
        real(payloads)

    monkeypatch.setattr(publisher, "_publish_now", stuck)
    monkeypatch.setattr(publisher, "BACKGROUND_BACKLOG_MAX", 3)
    publish(event(1))
    assert taken.wait(10)  # the thread holds 1
    for user_id in range(2, 6):
        publish(event(user_id))  # 2-4 queue; 5 finds the queue full

    assert stream_users(redis) == [5]  # memory stays bounded: sent by the caller
    release.set()
    assert publisher.background_flush()
    assert sorted(stream_users(redis)) == [1, 2, 3, 4, 5]


@pytest.mark.django_db(transaction=True)  # the event worker commits
def test_redis_down_the_thread_spools_and_nothing_is_lost(background, settings):
    unreachable = {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/15"}
    with override_settings(CACHES={"default": unreachable}):
        for user_id in range(1, 21):
            publish(event(user_id))
        assert publisher.background_flush()
    assert spool_size() > 0

    publisher.breaker_reset()
    assert publisher.spool_replay() == 20
    drain()
    assert sorted(Download.objects.values_list("user_id", flat=True)) == list(range(1, 21))
