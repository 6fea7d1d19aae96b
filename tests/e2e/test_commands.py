"""/stats, /settings, /language, the same message in each language, and blocked users."""

from __future__ import annotations

from downloads.models import DownloadRequest
from downloads.services import download_request_create
from tests.e2e.conftest import ALICE, BORIS, CARMEN, OLENA
from tests.e2e.published import wait_until
from users.models import BotUser

REEL = "https://www.instagram.com/reel/C0ffeeReel1/"


def answer(telegram, user_id: int, method: str = "sendMessage") -> dict:
    return telegram.wait_for_call(method, lambda c: c["payload"]["chat_id"] == user_id, timeout=60)


def test_it_shows_downloads_and_free_downloads_left(bot, telegram, bot_settings):
    bot_settings.FREE_DOWNLOADS = 10
    telegram.push_private_message(ALICE, "/stats")
    text = answer(telegram, ALICE)["payload"]["text"]
    assert "downloaded 0 videos" in text and "left: 10" in text


def test_it_saves_default_quality_and_send_as_from_settings(bot, telegram):
    telegram.push_private_message(ALICE, "/settings")
    menu = answer(telegram, ALICE)
    message_id = menu["result"]["message_id"]
    telegram.press_button(ALICE, "set:quality:480p", message_id=message_id)
    assert wait_until(lambda: BotUser.objects.filter(pk=ALICE, default_quality="480p").exists())
    telegram.wait_for_call("editMessageText", timeout=60, ok=True)
    telegram.press_button(ALICE, "set:send:file", message_id=message_id)
    assert wait_until(lambda: BotUser.objects.filter(pk=ALICE, send_as="file").exists())
    telegram.wait_for_call("editMessageText", timeout=60, ok=True)
    telegram.press_button(ALICE, "set:quality:ask", message_id=message_id)
    assert wait_until(lambda: BotUser.objects.filter(pk=ALICE, default_quality="").exists())


def test_it_speaks_each_users_language(bot, telegram):
    helps = {}
    for user in (ALICE, BORIS, OLENA, CARMEN):
        telegram.push_private_message(user, "/help")
        helps[user] = answer(telegram, user)["payload"]["text"]
    assert "How to use me" in helps[ALICE]
    assert helps[BORIS][:40].count("Как мной пользоваться")
    assert len(set(helps.values())) == 4


def test_it_switches_language_with_the_language_command(bot, telegram):
    telegram.push_private_message(ALICE, "/language")
    menu = answer(telegram, ALICE)
    buttons = [
        b["callback_data"]
        for row in menu["payload"]["reply_markup"]["inline_keyboard"]
        for b in row
    ]
    assert set(buttons) == {"lang:set:en", "lang:set:ru", "lang:set:uk", "lang:set:es"}
    telegram.press_button(ALICE, "lang:set:ru", message_id=menu["result"]["message_id"])
    done = telegram.wait_for_call("editMessageText", timeout=60, ok=True)
    assert "по-русски" in done["payload"]["text"]
    assert BotUser.objects.get(pk=ALICE).language == "ru"
    telegram.push_private_message(ALICE, "/help")
    assert answer(telegram, ALICE)["payload"]["text"][:40].count("Как мной пользоваться")


def block_without_telling_the_bot(telegram, user_id: int) -> None:
    """The user blocks the bot and the my_chat_member update never reaches it (it was
    down and dropped pending updates): only Telegram's 403 can tell."""
    with telegram.state.cond:
        telegram.state.blocked.add(user_id)


def refused_calls(telegram, user_id: int) -> list[dict]:
    return [c for c in telegram.calls() if c["payload"].get("chat_id") == user_id and not c["ok"]]


def test_it_marks_a_blocked_user_and_sends_them_nothing_more(bot, telegram):
    telegram.push_private_message(ALICE, REEL)
    answer(telegram, ALICE)  # "in the queue"; the download job is on its way
    block_without_telling_the_bot(telegram, ALICE)
    assert wait_until(lambda: BotUser.objects.filter(pk=ALICE, is_blocked=True).exists())
    first = wait_until(
        lambda: DownloadRequest.objects.filter(user_id=ALICE, finished_at__isnull=False).first(),
        timeout=120,
    )
    assert (first.status, first.error) == ("failed", "blocked")
    # One 403 told the bot; no progress edit, upload or error message was tried after it.
    refused = refused_calls(telegram, ALICE)
    assert [c["status"] for c in refused] == [403], [(c["method"], c["status"]) for c in refused]
    assert not [c for c in telegram.calls("sendVideo") if c["ok"]]
    # A request of a user already marked blocked is dropped without a call.
    calls_before = len(telegram.calls())
    again = download_request_create(
        user_id=ALICE, link_platform="instagram", media_key="instagram:C0ffeeReel1", url=REEL,
        fmt="best", source="private", chat_id=ALICE,
    )  # fmt: skip
    assert wait_until(
        lambda: DownloadRequest.objects.filter(pk=again.pk, error="blocked").exists(), timeout=120
    )
    assert not [c for c in telegram.calls()[calls_before:] if c["payload"].get("chat_id") == ALICE]
    assert len(refused_calls(telegram, ALICE)) == 1
    # Writing again unblocks the user.
    telegram.push_private_message(ALICE, "/help")
    assert answer(telegram, ALICE)["ok"]
    assert not BotUser.objects.get(pk=ALICE).is_blocked


def test_it_marks_a_user_blocked_when_telegram_says_so(bot, telegram):
    telegram.push_private_message(ALICE, "/help")
    answer(telegram, ALICE)
    telegram.block_bot(ALICE)  # the my_chat_member update: no 403 needed to know
    assert wait_until(lambda: BotUser.objects.filter(pk=ALICE, is_blocked=True).exists())
    telegram.unblock_bot(ALICE)
    assert wait_until(lambda: BotUser.objects.filter(pk=ALICE, is_blocked=False).exists())
