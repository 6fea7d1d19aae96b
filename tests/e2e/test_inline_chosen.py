"""A chosen inline result is published for the funnel (InlineResultChosen, with the
video's media key), whether the result was a placeholder or the cached video itself;
a cached video picked is a delivery of its own: one download, source inline, from the
cache, counted once in the user's quota however often Telegram reports the pick; a
placeholder picked is one download request and one delivery, however often reported;
either is one funnel row."""

from __future__ import annotations

import logging

from django.utils import timezone

from ads.selectors import decided_key, quota_used
from analytics.counters import user_total_key, video_total_key
from analytics.events import DownloadCompleted, InlineResultChosen
from analytics.models import Download, FunnelEvent, FunnelStep, Video
from config.redis import get_redis
from downloads.models import DownloadRequest, RequestStatus
from downloads.services import download_request_create
from sandbox.telegram_api import SEED_GROUP_ID
from tests.e2e.conftest import ALICE, BORIS, OLENA
from tests.e2e.published import (
    STORAGE_ID,
    published,
    seed_cached_video,
    wait_published,
    wait_until,
)
from tests.e2e.test_ads import drain
from users.models import BotUser

REEL = "https://www.instagram.com/reel/C0ffeeReel1/"
YOUTUBE = "https://youtu.be/dQw4w9WgXcQ"
YOUTUBE_KEY = "youtube:dQw4w9WgXcQ"


def test_a_chosen_placeholder_is_published_with_its_video(bot, bot_settings, telegram):
    telegram.add_group(STORAGE_ID, "storage", bot_status="administrator")
    bot_settings.TELEGRAM_STORAGE_CHAT_ID = STORAGE_ID
    query_id = telegram.push_inline_query(ALICE, REEL)["inline_query"]["id"]
    [result] = telegram.inline_answer(query_id, timeout=60)["results"]
    telegram.choose_inline_result(ALICE, query_id, result["id"], chat_id=SEED_GROUP_ID)
    [event] = wait_published(InlineResultChosen, lambda e: e.user_id == ALICE)
    assert (event.video_id, event.platform, event.from_cache) == (
        "instagram:C0ffeeReel1",
        "instagram",
        False,
    )
    telegram.wait_for_call("editMessageMedia", timeout=120, ok=True)


def test_a_chosen_cached_video_is_published_as_delivered(bot, telegram):
    seed_cached_video(telegram, YOUTUBE_KEY, "720p", title="Never")
    query_id = telegram.push_inline_query(BORIS, YOUTUBE)["inline_query"]["id"]
    [result] = telegram.inline_answer(query_id, timeout=60)["results"]
    telegram.choose_inline_result(BORIS, query_id, result["id"], chat_id=SEED_GROUP_ID)
    [event] = wait_published(InlineResultChosen, lambda e: e.user_id == BORIS)
    assert (event.video_id, event.from_cache) == (YOUTUBE_KEY, True)
    assert not published(InlineResultChosen, lambda e: e.user_id == ALICE)


# --- The cached pick's download --------------------------------------------------------


def cached_pick(telegram, user_id: int) -> dict:
    """@bot <link> answered with the cached video, picked into the group: the
    chosen_inline_result Update (as Telegram sent it)."""
    query_id = telegram.push_inline_query(user_id, YOUTUBE)["inline_query"]["id"]
    [result] = telegram.inline_answer(query_id, timeout=60)["results"]
    assert result["type"] == "video"  # the media itself, not a placeholder
    return telegram.choose_inline_result(user_id, query_id, result["id"], chat_id=SEED_GROUP_ID)


def events_of(kind: type, user_id: int, count: int) -> list:
    """The user's events of ``kind``, once ``count`` of them are on the stream."""

    def found() -> list | None:
        events = published(kind, lambda e: e.user_id == user_id)
        return events if len(events) >= count else None

    return wait_until(found)


def completed(user_id: int, count: int) -> list[DownloadCompleted]:
    return events_of(DownloadCompleted, user_id, count)


def counter(key: str) -> int:
    value = get_redis().get(key)
    return int(value) if value is not None else 0


def downloads_of(user_id: int) -> list[tuple]:
    return list(
        Download.objects.filter(user_id=user_id).values_list(
            "video_id", "platform", "source", "from_cache", "format"
        )
    )


def test_a_chosen_cached_video_is_one_inline_download_from_the_cache(bot, telegram):
    seed_cached_video(telegram, YOUTUBE_KEY, "720p", title="Never", duration=212)
    chosen = cached_pick(telegram, OLENA)
    assert chosen["chosen_inline_result"]["inline_message_id"]
    [event] = completed(OLENA, 1)
    assert (event.video_id, event.platform, event.source, event.format, event.from_cache) == (
        YOUTUBE_KEY, "youtube", "inline", "720p", True,
    )  # fmt: skip
    assert (event.title, event.url, event.duration) == (
        "Never", "https://www.youtube.com/watch?v=dQw4w9WgXcQ", 212,
    )  # fmt: skip

    drain()
    assert downloads_of(OLENA) == [(YOUTUBE_KEY, "youtube", "inline", True, "720p")]
    video = Video.objects.get(pk=YOUTUBE_KEY)
    assert (video.title, video.duration, video.total_downloads) == ("Never", 212, 1)
    assert BotUser.objects.get(pk=OLENA).total_downloads == 1
    assert counter(user_total_key(OLENA)) == 1
    assert counter(video_total_key(YOUTUBE_KEY)) == 1


def test_a_cached_pick_reported_twice_is_stored_and_counted_once(bot, telegram, caplog):
    caplog.set_level(logging.INFO, logger="botapp.handlers.inline")
    seed_cached_video(telegram, YOUTUBE_KEY, "720p", title="Never")
    chosen = cached_pick(telegram, ALICE)
    completed(ALICE, 1)
    drain()  # stored before the repeat arrives, as after a restart
    assert downloads_of(ALICE) == [(YOUTUBE_KEY, "youtube", "inline", True, "720p")]

    telegram.redeliver(chosen)  # Telegram sends the unconfirmed update again
    first, again = completed(ALICE, 2)
    assert "reported again: counted once" in caplog.text
    # The same event, time included: the downloads table is unique on (event_id, time).
    assert (again.event_id, again.occurred_at) == (first.event_id, first.occurred_at)
    drain()

    assert downloads_of(ALICE) == [(YOUTUBE_KEY, "youtube", "inline", True, "720p")]
    assert BotUser.objects.get(pk=ALICE).total_downloads == 1
    assert Video.objects.get(pk=YOUTUBE_KEY).total_downloads == 1
    assert counter(user_total_key(ALICE)) == 1
    assert counter(video_total_key(YOUTUBE_KEY)) == 1
    assert counter(decided_key(ALICE)) == 1  # the pick took no quota slot of its own
    assert quota_used(ALICE) == 1
    assert FunnelEvent.objects.filter(user_id=ALICE, step=FunnelStep.INLINE_CHOSEN).count() == 1


def test_each_cached_inline_delivery_moves_the_quota_by_exactly_one(bot, telegram):
    """The slot is decided when the result is served (the ads' ``decided`` count); the
    worker counts the stored download (``downloads_total``); the quota is the higher of
    the two, so each delivery moves it by one, not two."""
    seed_cached_video(telegram, YOUTUBE_KEY, "720p")
    assert quota_used(BORIS) == 0
    for n in (1, 2):
        cached_pick(telegram, BORIS)
        completed(BORIS, n)
        assert counter(decided_key(BORIS)) == n  # served: decided once, at query time
        drain()
        assert counter(user_total_key(BORIS)) == n  # stored: counted once, by the worker
        assert BotUser.objects.get(pk=BORIS).total_downloads == n
        assert quota_used(BORIS) == n
    assert len(downloads_of(BORIS)) == 2


def test_a_placeholder_pick_reported_twice_is_one_request_one_delivery_and_one_funnel_row(
    bot, bot_settings, telegram, caplog
):
    caplog.set_level(logging.INFO, logger="botapp.handlers.inline")
    telegram.add_group(STORAGE_ID, "storage", bot_status="administrator")
    bot_settings.TELEGRAM_STORAGE_CHAT_ID = STORAGE_ID
    query_id = telegram.push_inline_query(BORIS, REEL)["inline_query"]["id"]
    [result] = telegram.inline_answer(query_id, timeout=60)["results"]
    chosen = telegram.choose_inline_result(BORIS, query_id, result["id"], chat_id=SEED_GROUP_ID)
    inline_message_id = chosen["chosen_inline_result"]["inline_message_id"]
    telegram.wait_for_call("editMessageMedia", timeout=120, ok=True)

    telegram.redeliver(chosen)  # Telegram sends the unconfirmed update again
    first, again = events_of(InlineResultChosen, BORIS, 2)
    assert again.event_id == first.event_id  # one funnel row, whatever the time
    wait_until(lambda: "reported again: its request stands" in caplog.text or None)
    drain()

    assert FunnelEvent.objects.filter(user_id=BORIS, step=FunnelStep.INLINE_CHOSEN).count() == 1
    [request] = DownloadRequest.objects.filter(inline_message_id=inline_message_id)
    assert request.status == RequestStatus.DONE
    edits = [
        call for call in telegram.calls("editMessageMedia")
        if call["payload"].get("inline_message_id") == inline_message_id
    ]  # fmt: skip
    assert len(edits) == 1  # delivered once, not downloaded and sent again


def test_a_second_request_for_one_inline_message_gets_the_first(db):
    """The race of two reports of one pick, both past the handler's check: the
    constraint keeps one request, and the second caller gets that one back."""
    now = timezone.now()
    BotUser.objects.create(user_id=ALICE, first_seen_at=now, last_seen_at=now)
    made = [
        download_request_create(
            user_id=ALICE, link_platform="instagram", media_key="instagram:C0ffeeReel1",
            url=REEL, fmt="best", source="inline", chat_id=STORAGE_ID,
            inline_message_id="AAQAinline", status=RequestStatus.FAILED,
        )
        for _ in range(2)
    ]  # fmt: skip
    assert made[0].pk == made[1].pk
    assert DownloadRequest.objects.filter(inline_message_id="AAQAinline").count() == 1
