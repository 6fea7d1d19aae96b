"""Inline mode end to end: @bot <link> in a chat, the chosen result, "Watch video"."""

from __future__ import annotations

import pytest

from analytics.events import DownloadCompleted, InlineQueried, VideoViewClicked
from botapp.models import DownloadRequest, RequestStatus
from botapp.sandbox.telegram_api import SEED_GROUP_ID
from tests.e2e.conftest import ALICE
from tests.e2e.published import STORAGE_ID, seed_cached_video, wait_published

YOUTUBE = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
REEL = "https://www.instagram.com/reel/C0ffeeReel1/"


@pytest.fixture
def storage_chat(bot_settings, telegram):
    telegram.add_group(STORAGE_ID, "storage", bot_status="administrator")
    bot_settings.TELEGRAM_STORAGE_CHAT_ID = STORAGE_ID
    return STORAGE_ID


def test_it_offers_a_cached_video_by_its_file_id(bot, telegram):
    file_id = seed_cached_video(telegram, "youtube:dQw4w9WgXcQ", "720p", title="Never")
    update = telegram.push_inline_query(ALICE, YOUTUBE)
    answer = telegram.inline_answer(update["inline_query"]["id"], timeout=60)
    [result] = answer["results"]
    assert result["type"] == "video"
    assert result["video_file_id"] == file_id
    assert result["title"] == "Never"
    wait_published(InlineQueried, lambda e: e.user_id == ALICE and e.platform == "youtube")


def test_it_explains_text_that_is_not_a_video_link(bot, telegram):
    update = telegram.push_inline_query(ALICE, "cats doing things")
    answer = telegram.inline_answer(update["inline_query"]["id"], timeout=60)
    [result] = answer["results"]
    assert result["type"] == "article"
    assert "@SandboxVideoBot" in result["input_message_content"]["message_text"]
    wait_published(InlineQueried, lambda e: e.user_id == ALICE and e.platform == "")


def test_it_edits_the_placeholder_into_the_video_after_the_result_is_chosen(
    bot, telegram, storage_chat
):
    query_id = telegram.push_inline_query(ALICE, REEL)["inline_query"]["id"]
    [result] = telegram.inline_answer(query_id, timeout=60)["results"]
    assert result["type"] == "article"
    assert result["input_message_content"]["message_text"] == "Preparing the video..."
    buttons = result["reply_markup"]["inline_keyboard"][0]
    assert buttons[0]["callback_data"] == "inl:w:ig_C0ffeeReel1"

    chosen = telegram.choose_inline_result(ALICE, query_id, result["id"], chat_id=SEED_GROUP_ID)
    inline_message_id = chosen["chosen_inline_result"]["inline_message_id"]

    upload = telegram.wait_for_call(
        "sendVideo", lambda c: c["payload"]["chat_id"] == storage_chat, timeout=120, ok=True
    )
    edit = telegram.wait_for_call("editMessageMedia", timeout=60, ok=True)
    assert edit["payload"]["inline_message_id"] == inline_message_id
    stored_id = upload["result"]["video"]["file_id"]
    assert stored_id in str(edit["payload"]["media"])
    placeholder = telegram.messages(SEED_GROUP_ID)[-1]
    assert placeholder["video"]["file_id"] == stored_id
    request = DownloadRequest.objects.get(inline_message_id=inline_message_id)
    assert (request.source, request.status) == ("inline", RequestStatus.DONE)


def test_it_publishes_the_funnel_of_one_user(bot, telegram, storage_chat):
    """inline query -> chosen (download, source inline) -> "Watch video" -> deep link."""
    query_id = telegram.push_inline_query(ALICE, REEL)["inline_query"]["id"]
    [result] = telegram.inline_answer(query_id, timeout=60)["results"]
    chosen = telegram.choose_inline_result(ALICE, query_id, result["id"], chat_id=SEED_GROUP_ID)
    inline_message_id = chosen["chosen_inline_result"]["inline_message_id"]
    press = telegram.press_button(
        ALICE, "inl:w:ig_C0ffeeReel1", inline_message_id=inline_message_id
    )
    answer = telegram.callback_answer(press["callback_query"]["id"], timeout=60)
    assert answer["url"] == "https://t.me/SandboxVideoBot?start=v_ig_C0ffeeReel1"
    telegram.wait_for_call("editMessageMedia", timeout=120, ok=True)

    telegram.push_start(ALICE, "v_ig_C0ffeeReel1")  # where the answer's url leads
    telegram.wait_for_call(
        "sendVideo", lambda c: c["payload"]["chat_id"] == ALICE, timeout=120, ok=True
    )

    key = "instagram:C0ffeeReel1"
    wait_published(InlineQueried, lambda e: e.user_id == ALICE and e.platform == "instagram")
    for click in ("button_click", "deep_link"):
        wait_published(
            VideoViewClicked,
            lambda e, click=click: (e.user_id, e.video_id, e.event_type) == (ALICE, key, click),
        )
    for source in ("inline", "deep_link"):
        wait_published(
            DownloadCompleted,
            lambda e, source=source: (e.user_id, e.video_id, e.source) == (ALICE, key, source),
        )
    request = DownloadRequest.objects.get(inline_message_id=inline_message_id)
    assert (request.source, request.status) == ("inline", RequestStatus.DONE)
