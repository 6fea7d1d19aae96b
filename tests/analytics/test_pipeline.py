"""The event pipeline against real PostgreSQL and Redis."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from redis.exceptions import ConnectionError as RedisConnectionError

from analytics import counters
from analytics.events import (
    DownloadCompleted,
    DownloadFailed,
    InlineQueried,
    UserReferred,
    UserSeen,
    VideoViewClicked,
)
from analytics.models import ClickEvent, Download, FunnelEvent, Video
from analytics.partitions import partitions_ensure
from analytics.publisher import publish, spool_dir
from analytics.services import counters_rebuild
from analytics.stream import DEAD_STREAM, GROUP, STREAM
from analytics.worker import StepResult, Worker
from referrals.models import Referral
from users.models import BotUser

from .conftest import drain

pytestmark = pytest.mark.django_db(transaction=True)


def download(user_id: int, video: str = "youtube:aaaaaaaaaaa", **extra) -> DownloadCompleted:
    return DownloadCompleted(
        user_id=user_id, video_id=video, platform="youtube", source="message", **extra
    )


def assert_counters_match_database():
    for user in BotUser.objects.all():
        stored = Download.objects.filter(user_id=user.user_id).count()
        assert user.total_downloads == stored
        assert counters.get_user_downloads_count(user_id=user.user_id) == stored
    for video in Video.objects.all():
        stored = Download.objects.filter(video_id=video.video_id).count()
        assert video.total_downloads == stored
        assert counters.get_video_downloads_count(video_id=video.video_id) == stored


def test_it_writes_every_kind_of_event():
    publish(UserSeen(user_id=1, username="ann", first_name="Ann", language_code="de"))
    publish(download(1, title="A clip", url="https://youtu.be/aaaaaaaaaaa", duration=30))
    publish(download(2))
    publish(VideoViewClicked(user_id=2, video_id="youtube:aaaaaaaaaaa", event_type="deep_link"))
    publish(UserReferred(referrer_id=1, new_user_id=3))
    publish(InlineQueried(user_id=3, platform="tiktok"))
    publish(DownloadFailed(user_id=3, platform="tiktok", url="https://t.co/x", reason="private"))

    drain()

    ann = BotUser.objects.get(user_id=1)
    assert (ann.username, ann.first_name, ann.language_code) == ("ann", "Ann", "de")
    assert BotUser.objects.filter(user_id=3).exists()
    video = Video.objects.get(video_id="youtube:aaaaaaaaaaa")
    assert (video.title, video.duration, video.total_downloads) == ("A clip", 30, 2)
    assert ClickEvent.objects.get().event_type == "deep_link"
    assert sorted(FunnelEvent.objects.values_list("step", flat=True)) == [
        "download_failed",
        "inline_query",
    ]
    assert counters.get_user_downloads_today(user_id=1) == 1
    assert counters.get_user_downloads_month(user_id=2) == 1
    assert_counters_match_database()


def test_it_keeps_first_and_last_seen_whatever_the_order():
    early = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    late = dt.datetime(2026, 3, 5, tzinfo=dt.UTC)
    publish(UserSeen(user_id=9, username="new", occurred_at=late))
    drain()
    publish(UserSeen(user_id=9, username="old", occurred_at=early))
    drain()

    user = BotUser.objects.get(user_id=9)
    assert (user.first_seen_at, user.last_seen_at, user.username) == (early, late, "new")


def test_it_leaves_referrals_to_the_referrals_app():
    # The referrals app wrote the row and referred_by before publishing the event; the
    # worker only makes sure both users exist.
    publish(UserReferred(referrer_id=1, new_user_id=3))
    drain()

    assert not Referral.objects.exists()
    assert [u.referred_by_id for u in BotUser.objects.filter(user_id__in=[1, 3])] == [None, None]


def test_it_stores_a_redelivered_batch_once_and_counts_it_once(redis, monkeypatch):
    events = [download(user_id % 5, video=f"tiktok:{user_id % 3}") for user_id in range(40)]
    for event in events:
        publish(event)
    crashing = Worker(consumer="w1", block_ms=50)
    # The worker dies after PostgreSQL committed and before it acknowledged.
    monkeypatch.setattr(crashing, "_ack", _raise_connection_error)
    assert crashing.step().failed
    assert Download.objects.count() == 40
    assert redis.xpending(STREAM, GROUP)["pending"] == 40

    drain(Worker(consumer="w1", block_ms=50))  # restarted under the same name
    for event in events[:10]:  # and the same events published a second time
        publish(event)
    drain(Worker(consumer="w2", block_ms=50))

    assert Download.objects.count() == 40
    assert redis.xpending(STREAM, GROUP)["pending"] == 0
    assert sum(BotUser.objects.values_list("total_downloads", flat=True)) == 40
    assert sum(counters.get_user_downloads_count(user_id=u) for u in range(5)) == 40
    assert_counters_match_database()


def _raise_connection_error(*args, **kwargs):
    raise RedisConnectionError("simulated crash before the acknowledgement")


def test_it_stores_and_counts_once_when_reading_ahead_and_an_acknowledgement_fails(
    redis, monkeypatch
):
    events = [download(n % 7, video=f"tiktok:{n % 4}") for n in range(95)]
    for event in events:
        publish(event)
    worker = Worker(consumer="ahead", block_ms=50, batch_size=20, prefetch=True)
    worker.redis.ping()  # connects and registers the script
    real_script, calls = worker._ack_script, []

    def ack_failing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the Lua script never ran: its entries stay pending
            raise RedisConnectionError("simulated loss of Redis during the acknowledgement")
        return real_script(*args, **kwargs)

    monkeypatch.setattr(worker, "_ack_script", ack_failing_once)
    drain(worker)
    worker.finish()

    assert len(calls) > 5
    assert Download.objects.count() == 95
    assert redis.xpending(STREAM, GROUP)["pending"] == 0
    assert sum(counters.get_user_downloads_count(user_id=u) for u in range(7)) == 95
    assert_counters_match_database()


def test_a_stopped_worker_leaves_nothing_read_ahead_pending(redis):
    for n in range(30):
        publish(download(n % 3))
    worker = Worker(consumer="ahead", block_ms=50, batch_size=10, prefetch=True)
    assert worker.step().stored == 10  # and the next 10 are read meanwhile

    worker.finish()

    assert Download.objects.count() == 20
    assert redis.xpending(STREAM, GROUP)["pending"] == 0
    assert_counters_match_database()


def test_a_fresh_batch_with_some_events_stored_before_is_written_the_exact_way(redis):
    earlier = [download(n % 3, video=f"tiktok:{n % 2}") for n in range(6)]
    for event in earlier:
        publish(event)
    drain()
    # Published again (spooled and published, say): the batch is not a redelivery, so
    # its plan assumes every event new, and the RETURNING rows prove it wrong.
    later = [download(n % 4, video=f"tiktok:{n % 3}", title=f"t{n}") for n in range(5)]
    for event in [*earlier[:4], *later]:
        publish(event)
    publish(UserReferred(referrer_id=1, new_user_id=7))

    drain()

    assert Download.objects.count() == 11
    assert sum(BotUser.objects.values_list("total_downloads", flat=True)) == 11
    assert sum(counters.get_user_downloads_count(user_id=u) for u in range(4)) == 11
    assert Video.objects.get(video_id="tiktok:2").title == "t2"
    assert BotUser.objects.filter(user_id__in=[1, 7]).count() == 2
    assert redis.xpending(STREAM, GROUP)["pending"] == 0
    assert_counters_match_database()


def test_a_fresh_batch_goes_to_postgres_in_one_round(monkeypatch):
    from analytics import sql

    rounds = []
    real_run = sql.run
    monkeypatch.setattr(sql, "run", lambda statements: rounds.append(1) or real_run(statements))
    publish(UserSeen(user_id=1, username="ann"))
    publish(download(1))
    publish(VideoViewClicked(user_id=2, video_id="youtube:aaaaaaaaaaa"))
    publish(InlineQueried(user_id=3, platform="tiktok"))
    publish(UserReferred(referrer_id=1, new_user_id=3))

    assert Worker(consumer="w1", block_ms=50).step().stored == 5

    assert len(rounds) == 1
    assert BotUser.objects.filter(user_id=3).exists()
    assert_counters_match_database()


def test_an_event_that_cannot_be_encoded_is_dead_lettered_and_its_neighbours_stored(redis):
    publish(download(1))
    # A lone surrogate parses, but has no UTF-8 form: the batch fails while being sent.
    bad = json.loads(download(2).to_json()) | {"title": "\ud800"}
    redis.xadd(STREAM, {"e": json.dumps(bad)})
    publish(download(3))

    drain()

    assert sorted(Download.objects.values_list("user_id", flat=True)) == [1, 3]
    [(_id, fields)] = redis.xrange(DEAD_STREAM)
    assert b"surrogates not allowed" in fields[b"reason"]
    assert json.loads(fields[b"e"])["title"] == "\ud800"  # replayable as it came
    assert redis.xpending(STREAM, GROUP)["pending"] == 0
    assert_counters_match_database()


def test_it_counts_a_batch_once_when_two_workers_hold_it(redis):
    for user_id in range(10):
        publish(download(user_id))
    slow, rescuer = Worker(consumer="slow"), Worker(consumer="rescuer", claim_idle_ms=0)
    batch = slow._read()
    drain(rescuer)  # takes the entries over while "slow" still holds them
    batch.redelivered = True  # the worst case: "slow" cannot tell it was stored
    slow._process(batch, StepResult())

    assert Download.objects.count() == 10
    assert_counters_match_database()


def test_rebuild_counters_restores_what_redis_lost(redis):
    for user_id in range(6):
        for _ in range(user_id + 1):
            publish(download(user_id, video=f"instagram:clip{user_id % 2}"))
    drain()
    redis.flushdb()
    redis.set(counters.user_total_key(999), 5)  # a counter no stored download backs

    report = counters_rebuild()

    assert report.missing > 0
    assert report.removed == 1
    assert counters.get_user_downloads_count(user_id=5) == 6
    assert counters.get_user_downloads_today(user_id=5) == 6
    assert redis.ttl(counters.user_day_key(5, dt.datetime.now(tz=dt.UTC).date())) > 0
    assert_counters_match_database()
    assert counters_rebuild().missing == 0


def test_events_published_while_redis_is_down_arrive_in_postgres(settings):
    unreachable = {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/15"}
    with override_settings(CACHES={"default": unreachable}):
        for user_id in range(5):
            publish(download(user_id))  # returns: the event goes to the spool
    assert any(spool_dir().iterdir())

    worker = Worker(consumer="w1", block_ms=50)
    worker.maintenance(partitions_due=False)  # replays the spool into the stream
    drain(worker)

    assert Download.objects.count() == 5
    assert not list(spool_dir().glob("*.jsonl"))
    assert_counters_match_database()


def test_events_wait_in_the_stream_while_postgres_is_down(redis):
    for user_id in range(20):
        publish(download(user_id))
    worker = Worker(consumer="w1", block_ms=50)
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    try:
        assert worker.step().failed
        assert worker.step().failed
        assert redis.xpending(STREAM, GROUP)["pending"] == 20
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port

    drain(worker)

    assert Download.objects.count() == 20
    assert redis.xpending(STREAM, GROUP)["pending"] == 0
    assert_counters_match_database()


def test_a_malformed_event_is_dead_lettered_and_its_neighbours_stored(redis):
    publish(download(1))
    redis.xadd(STREAM, {"e": "{not json"})
    publish(download(2))
    too_big = json.loads(download(3).to_json()) | {"user_id": 2**70}
    redis.xadd(STREAM, {"e": json.dumps(too_big)})  # parses, but PostgreSQL refuses it
    redis.xadd(STREAM, {"other": "field"})
    publish(download(4))

    drain()

    assert sorted(Download.objects.values_list("user_id", flat=True)) == [1, 2, 4]
    reasons = [fields[b"reason"].decode() for _id, fields in redis.xrange(DEAD_STREAM)]
    assert len(reasons) == 3
    assert any(reason.startswith("unparsable: not JSON") for reason in reasons)
    assert any("out of range" in reason for reason in reasons)
    assert redis.xpending(STREAM, GROUP)["pending"] == 0


def test_an_event_dated_in_a_month_without_partition_is_stored():
    far = dt.datetime(2031, 5, 17, 12, tzinfo=dt.UTC)
    publish(download(1, occurred_at=far))
    drain()

    assert Download.objects.get().created_at == far
    assert _partition_of_download() == "downloads_default"

    assert partitions_ensure(months_ahead=0, today=far.date()) == ["downloads_p203105"]
    assert partitions_ensure(months_ahead=0, today=far.date()) == []
    assert _partition_of_download() == "downloads_p203105"
    assert Download.objects.count() == 1


def _partition_of_download() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM downloads")
        return cursor.fetchone()[0]


def test_a_second_download_row_with_the_same_event_and_time_is_refused():
    common = {
        "user_id": 1, "video_id": "youtube:x", "platform": "youtube", "source": "message",
        "created_at": dt.datetime(2026, 2, 1, tzinfo=dt.UTC), "event_id": uuid.uuid4(),
    }  # fmt: skip
    Download.objects.create(**common)

    with pytest.raises(IntegrityError), transaction.atomic():
        Download.objects.create(**common)
