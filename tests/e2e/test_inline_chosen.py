"""A chosen inline result is published for the funnel (InlineResultChosen, with the
video's media key), whether the result was a placeholder or the cached video itself."""

from __future__ import annotations

from analytics.events import InlineResultChosen
from sandbox.telegram_api import SEED_GROUP_ID
from tests.e2e.conftest import ALICE, BORIS
from tests.e2e.published import STORAGE_ID, published, seed_cached_video, wait_published

REEL = "https://www.instagram.com/reel/C0ffeeReel1/"
YOUTUBE = "https://youtu.be/dQw4w9WgXcQ"


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
    seed_cached_video(telegram, "youtube:dQw4w9WgXcQ", "720p", title="Never")
    query_id = telegram.push_inline_query(BORIS, YOUTUBE)["inline_query"]["id"]
    [result] = telegram.inline_answer(query_id, timeout=60)["results"]
    telegram.choose_inline_result(BORIS, query_id, result["id"], chat_id=SEED_GROUP_ID)
    [event] = wait_published(InlineResultChosen, lambda e: e.user_id == BORIS)
    assert (event.video_id, event.from_cache) == ("youtube:dQw4w9WgXcQ", True)
    assert not published(InlineResultChosen, lambda e: e.user_id == ALICE)
