"""The media cache and "send as file", end to end: a video sent as a file is another
file_id than the same video sent as a video, so each has its own cache slot, and
neither user ever gets the other's file_id (Telegram: "type of file mismatch")."""

from __future__ import annotations

from analytics.events import DownloadCompleted
from downloads import texts
from downloads.cache import cached_file_get
from sandbox.telegram_api import SEED_GROUP_ID
from tests.e2e.conftest import ALICE, BORIS, CARMEN, OLENA, reply_texts
from tests.e2e.published import STORAGE_ID, seed_cached_video, wait_published, wait_until
from users.models import BotUser

REEL = "https://www.instagram.com/reel/C0ffeeReel1/"
REEL_KEY = "instagram:C0ffeeReel1"
TIKTOK = "https://www.tiktok.com/@sandbox.user/video/7300000000000000001"
TIKTOK_KEY = "tiktok:7300000000000000001"
WAIT = 90


def user_sending_as_file(user_id: int) -> BotUser:
    """A returning user who chose "file" in /settings."""
    return BotUser.objects.create(
        user_id=user_id,
        language_code="en",
        send_as="file",
        first_seen_at="2026-01-01T00:00Z",
        last_seen_at="2026-01-01T00:00Z",
    )


def to(chat_id):
    return lambda call: call["payload"].get("chat_id") == chat_id


def uploaded(call, field: str) -> bool:
    return isinstance(call["payload"][field], dict)


def served(site) -> int:
    return sum(site.bytes_served.values())


def cached_id(media_key: str, slot: str) -> str | None:
    item = cached_file_get(media_key=media_key, fmt=slot)
    return item and item.file_id


def refused_calls(telegram, chat_id: int) -> list[dict]:
    return [call for call in telegram.calls() if to(chat_id)(call) and not call["ok"]]


def test_a_file_user_gets_a_document_of_a_video_cached_as_a_video(bot, telegram, video_site):
    video_id = seed_cached_video(telegram, REEL_KEY, "best")
    user_sending_as_file(BORIS)
    telegram.push_private_message(BORIS, REEL)
    document = telegram.wait_for_call("sendDocument", to(BORIS), timeout=WAIT)
    assert document["ok"] and uploaded(document, "document")
    document_id = document["result"]["document"]["file_id"]
    assert wait_until(lambda: cached_id(REEL_KEY, "best-file") == document_id)
    assert cached_id(REEL_KEY, "best") == video_id  # the video's slot is left alone
    assert not refused_calls(telegram, BORIS)
    apology = texts.render(BotUser.objects.get(pk=BORIS).ui_language, texts.ERROR_INTERNAL)
    assert apology not in reply_texts(telegram, BORIS)
    # The analytics see the format asked for, not the slot.
    wait_published(DownloadCompleted, lambda e: e.user_id == BORIS and e.format == "best")

    before = served(video_site)
    telegram.push_private_message(BORIS, REEL)
    again = telegram.wait_for_call("sendDocument", to(BORIS), timeout=WAIT)
    assert again["ok"] and again["payload"]["document"] == document_id
    telegram.push_private_message(ALICE, REEL)
    video = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT)
    assert video["ok"] and video["payload"]["video"] == video_id
    assert served(video_site) == before


def test_a_video_user_gets_a_video_after_a_file_user_fetched_it_first(bot, telegram, video_site):
    user_sending_as_file(BORIS)
    telegram.push_private_message(BORIS, TIKTOK)
    document = telegram.wait_for_call("sendDocument", to(BORIS), timeout=WAIT)
    assert document["ok"] and uploaded(document, "document")
    document_id = document["result"]["document"]["file_id"]
    assert wait_until(lambda: cached_id(TIKTOK_KEY, "best-file") == document_id)
    assert cached_id(TIKTOK_KEY, "best") is None

    telegram.push_private_message(ALICE, TIKTOK)
    fresh = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT)
    assert fresh["ok"] and uploaded(fresh, "video")
    video_id = fresh["result"]["video"]["file_id"]
    assert wait_until(lambda: cached_id(TIKTOK_KEY, "best") == video_id)
    assert cached_id(TIKTOK_KEY, "best-file") == document_id

    before = served(video_site)
    telegram.push_private_message(CARMEN, TIKTOK)
    video = telegram.wait_for_call("sendVideo", to(CARMEN), timeout=WAIT)
    assert video["ok"] and video["payload"]["video"] == video_id
    telegram.push_private_message(BORIS, TIKTOK)
    again = telegram.wait_for_call("sendDocument", to(BORIS), timeout=WAIT)
    assert again["ok"] and again["payload"]["document"] == document_id
    assert served(video_site) == before
    assert not refused_calls(telegram, ALICE) and not refused_calls(telegram, CARMEN)


def test_a_file_user_and_a_video_user_at_once_each_get_theirs(bot, telegram):
    user_sending_as_file(BORIS)
    telegram.push_private_message(BORIS, TIKTOK)
    telegram.push_private_message(ALICE, TIKTOK)
    document = telegram.wait_for_call("sendDocument", to(BORIS), timeout=WAIT)
    video = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT)
    assert document["ok"] and video["ok"]
    assert not refused_calls(telegram, BORIS) and not refused_calls(telegram, ALICE)


def test_inline_mode_gives_a_file_user_videos(bot, bot_settings, telegram):
    """An inline message turns only into a video: the setting does not apply there."""
    telegram.add_group(STORAGE_ID, "storage", bot_status="administrator")
    bot_settings.TELEGRAM_STORAGE_CHAT_ID = STORAGE_ID
    user_sending_as_file(OLENA)
    query_id = telegram.push_inline_query(OLENA, REEL)["inline_query"]["id"]
    [placeholder] = telegram.inline_answer(query_id, timeout=60)["results"]
    telegram.choose_inline_result(OLENA, query_id, placeholder["id"], chat_id=SEED_GROUP_ID)
    upload = telegram.wait_for_call("sendVideo", to(STORAGE_ID), timeout=WAIT, ok=True)
    telegram.wait_for_call("editMessageMedia", timeout=60, ok=True)
    video_id = upload["result"]["video"]["file_id"]
    assert wait_until(lambda: cached_id(REEL_KEY, "best") == video_id)

    query_id = telegram.push_inline_query(OLENA, REEL)["inline_query"]["id"]
    [cached] = telegram.inline_answer(query_id, timeout=60)["results"]
    assert cached["type"] == "video" and cached["video_file_id"] == video_id
    assert not telegram.calls("sendDocument")


def test_switching_to_file_in_settings_takes_effect_on_the_next_link(bot, telegram):
    video_id = seed_cached_video(telegram, REEL_KEY, "best")
    telegram.push_private_message(ALICE, REEL)
    video = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT)
    assert video["ok"] and video["payload"]["video"] == video_id

    telegram.push_private_message(ALICE, "/settings")
    menu = telegram.wait_for_call("sendMessage", to(ALICE), timeout=60, ok=True)
    telegram.press_button(ALICE, "set:send:file", message_id=menu["result"]["message_id"])
    assert wait_until(lambda: BotUser.objects.filter(pk=ALICE, send_as="file").exists())
    telegram.wait_for_call("editMessageText", timeout=60, ok=True)
    telegram.push_private_message(ALICE, REEL)
    document = telegram.wait_for_call("sendDocument", to(ALICE), timeout=WAIT)
    assert document["ok"] and uploaded(document, "document")
    assert not refused_calls(telegram, ALICE)
    telegram.wait_for_call("deleteMessage", to(ALICE), timeout=WAIT)  # the job is over
