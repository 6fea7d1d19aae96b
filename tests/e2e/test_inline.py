"""Inline mode end to end: @bot <link> in a chat, the chosen result, "Watch video"."""

from __future__ import annotations

import json

import pytest

from analytics.events import DownloadCompleted, InlineQueried, VideoViewClicked
from config.redis import get_redis
from downloads.models import DownloadRequest, RequestStatus
from sandbox.telegram_api import SEED_GROUP_ID
from tests.e2e.conftest import ALICE
from tests.e2e.published import STORAGE_ID, seed_cached_video, wait_published, wait_until

YOUTUBE = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
REEL = "https://www.instagram.com/reel/C0ffeeReel1/"
REEL_DEEP_LINK = "https://t.me/SandboxVideoBot?start=v_ig_C0ffeeReel1"


def inline_result(telegram, user_id: int, text: str) -> dict:
    query_id = telegram.push_inline_query(user_id, text)["inline_query"]["id"]
    [result] = telegram.inline_answer(query_id, timeout=60)["results"]
    return result


def watch_buttons(markup: dict) -> dict:
    """{"callback": data, "url": url} of a "Watch video" keyboard."""
    [row] = markup["inline_keyboard"]
    return {
        ("url" if "url" in b else "callback"): b.get("url", b.get("callback_data")) for b in row
    }


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
    assert result["id"].startswith("c:720p:")  # the format, for the pick's download
    assert result["video_file_id"] == file_id
    assert result["title"] == "Never"
    assert watch_buttons(result["reply_markup"]) == {
        "callback": "inl:w:yt_dQw4w9WgXcQ",
        "url": "https://t.me/SandboxVideoBot?start=v_yt_dQw4w9WgXcQ",
    }
    wait_published(InlineQueried, lambda e: e.user_id == ALICE and e.platform == "youtube")


def test_it_titles_an_uncached_result_from_an_earlier_probe_without_fetching(
    bot, telegram, video_site
):
    probe = {"title": "Sandbox reel", "duration": 5, "offers": [["best", 1000]]}
    probe["thumbnail"] = "https://scontent-ams2-1.cdninstagram.com/v/t51/reel.jpg"
    get_redis().set("probe:instagram:C0ffeeReel1", json.dumps(probe))
    served_before = sum(video_site.bytes_served.values())

    result = inline_result(telegram, ALICE, REEL)
    assert result["type"] == "article"
    assert result["title"] == "Sandbox reel"
    assert result["thumbnail_url"] == probe["thumbnail"]
    assert watch_buttons(result["reply_markup"]) == {
        "callback": "inl:w:ig_C0ffeeReel1",
        "url": REEL_DEEP_LINK,
    }
    assert sum(video_site.bytes_served.values()) == served_before  # nothing fetched


def test_it_offers_no_thumbnail_outside_the_platform_and_no_title_unknown(bot, telegram):
    probe = {"title": "", "thumbnail": "http://127.0.0.1:9/reel.jpg"}  # not the platform's
    get_redis().set("probe:instagram:C0ffeeReel1", json.dumps(probe))
    result = inline_result(telegram, ALICE, REEL)
    assert result["title"] == "Watch video"
    assert "thumbnail_url" not in result
    # A YouTube thumbnail is known from the video id alone.
    youtube = inline_result(telegram, ALICE, "https://youtu.be/jNQXAC9IVRw")
    assert youtube["thumbnail_url"] == "https://i.ytimg.com/vi/jNQXAC9IVRw/hqdefault.jpg"
    assert youtube["title"] == "Watch video"


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
    assert result["title"] == "Watch video"  # nothing known about it yet
    buttons = watch_buttons(result["reply_markup"])
    assert buttons == {"callback": "inl:w:ig_C0ffeeReel1", "url": REEL_DEEP_LINK}

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
    assert watch_buttons(placeholder["reply_markup"]) == buttons  # still leads to the bot
    done = DownloadRequest.objects.filter(  # the job marks it done just after the edit
        inline_message_id=inline_message_id, source="inline", status=RequestStatus.DONE
    )
    assert wait_until(done.exists)


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
    done = DownloadRequest.objects.filter(  # the job marks it done just after the edit
        inline_message_id=inline_message_id, source="inline", status=RequestStatus.DONE
    )
    assert wait_until(done.exists)


@pytest.mark.parametrize(
    ("link", "where"),
    [(YOUTUBE, "group"), (YOUTUBE, "private"), (REEL, "private")],
    ids=["cached-video-in-a-group", "cached-video-in-private", "placeholder-in-private"],
)
def test_a_picked_result_the_bot_sees_in_the_chat_is_not_a_request(bot, telegram, link, where):
    """Telegram shows the bot the message its picked result became (``via_bot``): a
    cached video, whose caption links its source, or a placeholder without a link. The
    pick delivered it; the bot neither sends it again nor asks for a link."""
    seed_cached_video(telegram, "youtube:dQw4w9WgXcQ", "720p", title="Never")
    chat_id = SEED_GROUP_ID if where == "group" else ALICE
    query_id = telegram.push_inline_query(ALICE, link)["inline_query"]["id"]
    [result] = telegram.inline_answer(query_id, timeout=60)["results"]
    telegram.choose_inline_result(ALICE, query_id, result["id"], chat_id=chat_id)
    posted = telegram.messages(chat_id)[-1]
    assert posted["via_bot"]["username"] == "SandboxVideoBot"
    assert ("video" in posted) == (link == YOUTUBE)

    # A chat's updates are handled in order: once a later message is answered, the
    # picked result's message has been handled too.
    if where == "group":
        telegram.push_group_message(ALICE, "/dl")  # answered with how to use /dl
        answer = "/dl link"
    else:
        telegram.push_private_message(ALICE, "/help")
        answer = "/premium"
    telegram.wait_for_call(
        "sendMessage",
        lambda c: c["payload"]["chat_id"] == chat_id and answer in c["payload"]["text"],
        timeout=60,
        ok=True,
    )
    to_chat = [
        c for c in telegram.calls()
        if c["method"].startswith("send") and c["payload"].get("chat_id") == chat_id
    ]  # fmt: skip
    assert [c["method"] for c in to_chat] == ["sendMessage"]  # only that answer
