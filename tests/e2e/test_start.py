from __future__ import annotations

from tests.e2e.conftest import ALICE, BORIS


def test_it_answers_start_through_the_offline_api(bot, telegram):
    telegram.push_start(ALICE)
    call = telegram.wait_for_call("sendMessage", lambda c: c["payload"]["chat_id"] == ALICE)
    assert call["ok"]
    assert "Send me a link to a YouTube, Instagram or TikTok video" in call["payload"]["text"]


def test_it_registers_commands_for_each_language(bot, telegram):
    telegram.push_start(ALICE)
    telegram.wait_for_call("sendMessage")
    english = {c["command"] for c in telegram.commands()}
    assert {"start", "help", "stats", "settings", "language", "dl"} <= english
    assert telegram.commands(language_code="ru")


def test_it_greets_in_the_users_language(bot, telegram):
    telegram.push_start(BORIS)
    call = telegram.wait_for_call("sendMessage", lambda c: c["payload"]["chat_id"] == BORIS)
    assert call["ok"]
