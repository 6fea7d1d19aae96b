"""The event stream stays bounded under sustained load; /healthz reports dead letters
and a Redis that would lose the stream."""

from __future__ import annotations

import threading

import pytest

from analytics.events import UserSeen
from analytics.stream import DEAD_STREAM, GROUP, PAYLOAD_FIELD, STREAM, group_ensure
from analytics.worker import Worker, run_worker

ROUNDS = 5
EVENTS_PER_ROUND = 15_000  # more than one trim removed before, every round


def _publish(redis, count: int) -> None:
    payload = UserSeen(user_id=1).to_json()
    pipe = redis.pipeline(transaction=False)
    for _ in range(count):
        pipe.xadd(STREAM, {PAYLOAD_FIELD: payload})
    pipe.execute()


def _read_and_acknowledge(redis) -> int:
    acknowledged = 0
    while True:
        reply = redis.xreadgroup(GROUP, "test", {STREAM: ">"}, count=5000)
        ids = [entry_id for _stream, entries in reply or [] for entry_id, _ in entries]
        if not ids:
            return acknowledged
        acknowledged += redis.xack(STREAM, GROUP, *ids)


def test_it_keeps_the_stream_short_while_events_arrive_faster_than_one_trim_removed(redis):
    group_ensure(redis)
    worker = Worker(consumer="test")
    lengths = []
    for _ in range(ROUNDS):
        _publish(redis, EVENTS_PER_ROUND)
        assert _read_and_acknowledge(redis) == EVENTS_PER_ROUND
        worker.maintenance(partitions_due=False)
        lengths.append(redis.xlen(STREAM))
    # Approximate trimming keeps at most the node that holds the newest entries.
    assert max(lengths) <= 200, lengths


def test_it_never_trims_an_entry_still_pending(redis):
    group_ensure(redis)
    _publish(redis, 12_000)
    redis.xreadgroup(GROUP, "test", {STREAM: ">"}, count=12_000)  # read, not acknowledged
    Worker(consumer="test").maintenance(partitions_due=False)
    assert redis.xlen(STREAM) == 12_000


@pytest.mark.django_db
def test_healthz_counts_dead_letters_and_warns_when_there_are_new_ones(client, redis):
    redis.xadd(DEAD_STREAM, {"e": "{}", "reason": "unparsable"})
    response = client.get("/healthz")
    assert response.status_code == 200  # a person must look; a restart would not help
    body = response.json()
    assert body["dead_letters"] == 1
    assert any(DEAD_STREAM in warning for warning in body["warnings"])


@pytest.mark.django_db
def test_healthz_warns_when_production_redis_would_lose_the_stream(client, redis, settings):
    settings.REDIS_PERSISTENCE_CHECK = True
    # The test server is shared: its append-only setting is read, not changed; the
    # eviction policy is harmless to flip while it has no maxmemory.
    appendonly = redis.config_get("appendonly")["appendonly"] == "yes"
    policy = redis.config_get("maxmemory-policy")["maxmemory-policy"]
    try:
        redis.config_set("maxmemory-policy", "allkeys-lru")
        warnings = client.get("/healthz").json()["warnings"]
    finally:
        redis.config_set("maxmemory-policy", policy)
    assert any("allkeys-lru" in warning for warning in warnings)
    assert any("appendonly" in warning for warning in warnings) is not appendonly


@pytest.mark.django_db
def test_healthz_is_quiet_about_persistence_outside_production(client, redis):
    assert "warnings" not in client.get("/healthz").json()


def test_the_worker_warns_at_start_when_redis_would_lose_the_stream(redis, settings, caplog):
    settings.REDIS_PERSISTENCE_CHECK = True
    policy = redis.config_get("maxmemory-policy")["maxmemory-policy"]
    stop = threading.Event()
    stop.set()  # start, warn, stop
    try:
        redis.config_set("maxmemory-policy", "volatile-lru")
        run_worker(stop, consumer="test", prefetch=False, drain_on_stop=False)
    finally:
        redis.config_set("maxmemory-policy", policy)
    assert "maxmemory-policy is volatile-lru" in caplog.text
