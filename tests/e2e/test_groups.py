"""The bot in a group: joining, links, /dl and mentions, admin settings, the 20/min limit."""

from __future__ import annotations

import json

import pytest

from botapp import texts
from botapp.models import GroupChat
from downloads.models import DownloadRequest
from sandbox.management.commands.sandbox import group_admin_add
from sandbox.telegram_api import SEED_GROUP_ID
from tests.e2e.conftest import ALICE, BORIS
from tests.e2e.published import seed_cached_video, wait_until

REEL = "https://www.instagram.com/reel/C0ffeeReel1/"
TIKTOK = "https://www.tiktok.com/@sandbox.user/video/7300000000000000001"


def to_group(call) -> bool:
    return call["payload"]["chat_id"] == SEED_GROUP_ID


@pytest.fixture
def alice_is_admin(telegram):
    """ALICE administers the seed group, as in ``manage.py sandbox``."""
    group_admin_add(telegram, user_id=ALICE, chat_id=SEED_GROUP_ID)


def replied_to(call) -> int | None:
    """The message a bot message answers (PTB 22 sends reply_parameters)."""
    payload = call["payload"]
    params = payload.get("reply_parameters")
    if isinstance(params, str):
        params = json.loads(params)
    return int(params["message_id"]) if params else payload.get("reply_to_message_id")


def test_it_says_how_it_works_when_added_and_leaves_quietly(bot, telegram):
    telegram.remove_bot_from_group(ALICE)  # the seed group starts with the bot in it
    telegram.add_bot_to_group(ALICE)
    call = telegram.wait_for_call("sendMessage", to_group, timeout=60, ok=True)
    assert "/dl" in call["payload"]["text"]
    assert wait_until(
        lambda: GroupChat.objects.filter(chat_id=SEED_GROUP_ID, is_member=True).exists()
    )
    telegram.remove_bot_from_group(ALICE)
    assert wait_until(
        lambda: GroupChat.objects.filter(chat_id=SEED_GROUP_ID, is_member=False).exists()
    )
    assert len([c for c in telegram.calls() if c["payload"].get("chat_id") == SEED_GROUP_ID]) == 1


def test_it_replies_to_a_link_with_the_video(bot, telegram):
    telegram.remove_bot_from_group(ALICE)
    telegram.add_bot_to_group(ALICE, admin=True)  # an admin sees every message
    message = telegram.push_group_message(BORIS, f"look {TIKTOK}")["message"]
    call = telegram.wait_for_call("sendVideo", to_group, timeout=120, ok=True)
    assert replied_to(call) == message["message_id"]
    assert not call["payload"].get("reply_markup")  # no buttons only the sender could press
    assert DownloadRequest.objects.get(user_id=BORIS).source == "group"
    # The short progress reply is gone: the bot's only message left is the video.
    wait_until(lambda: [m for m in telegram.messages(SEED_GROUP_ID) if m["from"]["is_bot"]][1:])
    bot_messages = wait_until(
        lambda: (
            (ms := [m for m in telegram.messages(SEED_GROUP_ID) if m["from"]["is_bot"]])
            and all("text" not in m for m in ms[1:])
            and ms
        )
    )
    assert "video" in bot_messages[-1]


def test_it_serves_dl_and_mentions_with_privacy_mode_on(bot, telegram):
    file_id = seed_cached_video(telegram, "instagram:C0ffeeReel1", "best")
    telegram.remove_bot_from_group(ALICE)  # the seed group starts with the bot in it
    telegram.add_bot_to_group(ALICE)
    telegram.wait_for_call("sendMessage", to_group, timeout=60)
    ignored = telegram.push_group_message(BORIS, REEL)
    assert ignored["update_id"] is None  # privacy mode: the bot never sees it
    dl = telegram.push_group_message(BORIS, f"/dl {REEL}")["message"]
    mention = telegram.push_group_message(BORIS, f"@SandboxVideoBot {REEL}")["message"]
    replies = {
        replied_to(telegram.wait_for_call("sendVideo", to_group, timeout=60, ok=True))
        for _ in range(2)
    }
    assert replies == {dl["message_id"], mention["message_id"]}
    assert all(c["payload"]["video"] == file_id for c in telegram.calls("sendVideo"))


def test_it_sends_nothing_for_links_when_admins_turned_auto_download_off(
    bot, telegram, alice_is_admin
):
    seed_cached_video(telegram, "instagram:C0ffeeReel1", "best")
    telegram.remove_bot_from_group(ALICE)
    telegram.add_bot_to_group(ALICE, admin=True)
    telegram.wait_for_call("sendMessage", to_group, timeout=60)
    telegram.push_group_message(BORIS, "/settings")
    refused = telegram.wait_for_call("sendMessage", to_group, timeout=60)
    assert refused["payload"]["text"] == texts.render("ru", texts.GROUP_ADMINS_ONLY)  # Boris: ru
    telegram.push_group_message(ALICE, "/settings")
    menu = telegram.wait_for_call("sendMessage", to_group, timeout=60)
    telegram.press_button(
        ALICE, "set:auto:off", chat_id=SEED_GROUP_ID, message_id=menu["result"]["message_id"]
    )
    assert wait_until(
        lambda: GroupChat.objects.filter(pk=SEED_GROUP_ID, auto_download=False).exists()
    )

    telegram.push_group_message(BORIS, REEL)
    dl = telegram.push_group_message(BORIS, f"/dl {REEL}")["message"]
    call = telegram.wait_for_call("sendVideo", to_group, timeout=60, ok=True)
    assert replied_to(call) == dl["message_id"]  # /dl still works
    telegram.wait_until_updates_consumed(timeout=30)
    assert len(telegram.calls("sendVideo")) == 1  # the plain link got nothing


def test_it_serves_a_burst_of_30_links_without_429_or_loss(bot, telegram):
    """Over Telegram's 20 messages a minute per group: the rest wait (takes > 60 s)."""
    seed_cached_video(telegram, "instagram:C0ffeeReel1", "best")
    telegram.add_group(
        SEED_GROUP_ID, "Busy group", members=[ALICE, BORIS], bot_status="administrator"
    )
    sent = [telegram.push_group_message(BORIS, REEL)["message"]["message_id"] for _ in range(30)]
    replies = [
        replied_to(telegram.wait_for_call("sendVideo", to_group, timeout=150, ok=True))
        for _ in sent
    ]
    assert sorted(replies) == sorted(sent)
    assert not [c for c in telegram.calls() if c.get("status") == 429]
