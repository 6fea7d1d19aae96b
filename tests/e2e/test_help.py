"""/help: one message that covers links, qualities, inline mode, groups, languages,
limits and premium, and the command menu, in the user's language."""

from __future__ import annotations

import pytest

from botapp.application import COMMANDS
from tests.e2e.conftest import ALICE, BORIS, CARMEN, OLENA

HEADINGS = {
    ALICE: [
        "How to use me",
        "In any chat",
        "In groups",
        "Languages",
        "Limits",
        "Ads",
        "No ads",
        "Invite friends",
    ],
    BORIS: ["Как мной пользоваться", "В любом чате", "В группах", "Языки", "Ограничения"],  # noqa: RUF001
    OLENA: ["Як мною користуватися", "У будь-якому чаті", "У групах", "Мови", "Обмеження"],  # noqa: RUF001
    CARMEN: ["Cómo usarme", "En cualquier chat", "En grupos", "Idiomas", "Límites"],
}


def help_text(telegram, user_id: int) -> str:
    telegram.push_private_message(user_id, "/help")
    call = telegram.wait_for_call(
        "sendMessage", lambda c: c["payload"]["chat_id"] == user_id, timeout=60
    )
    assert call["ok"], call
    return call["payload"]["text"]


@pytest.mark.parametrize("user_id", list(HEADINGS))
def test_it_covers_every_topic_in_the_users_language(bot, telegram, bot_settings, user_id):
    bot_settings.MAX_UPLOAD_MB = 50
    text = help_text(telegram, user_id)

    for heading in HEADINGS[user_id]:
        assert f"<b>{heading}</b>" in text
    assert "@SandboxVideoBot" in text  # inline mode and mentions name the bot
    assert "youtu.be" in text  # the supported links
    assert " 50 " in text  # the upload limit
    assert "{" not in text  # every placeholder filled
    for command in ("/dl", "/language", "/settings", "/premium", "/referral"):
        assert command in text


def test_it_ends_with_the_command_menu(bot, telegram):
    text = help_text(telegram, ALICE)

    commands = text.split("<b>Commands</b>\n", 1)[1].splitlines()
    assert [line.split(" - ", 1)[0] for line in commands] == [f"/{name}" for name, _ in COMMANDS]
    assert "/stats - Your downloads" in commands
