"""One chat flooding the bot does not stall everyone else."""

from __future__ import annotations

import time

import pytest

from botapp import texts
from tests.e2e.conftest import ALICE, BORIS, eventually, reply_texts

FLOOD = 200  # more than the 128 updates the bot runs at once


@pytest.fixture
def bot_settings(bot_settings):
    bot_settings.CHAT_UPDATES_BACKLOG = 5  # the flood's backlog drains in seconds
    return bot_settings


def test_a_second_user_is_answered_at_once_while_another_floods(bot, telegram):
    telegram.push_start(ALICE)
    telegram.wait_for_call("sendMessage", lambda c: c["payload"]["chat_id"] == ALICE)
    for number in range(FLOOD):  # two forwards of a hundred messages, say
        telegram.push_private_message(ALICE, f"message {number}")
    telegram.wait_until_updates_consumed()

    started = time.monotonic()
    telegram.push_start(BORIS)
    telegram.wait_for_call("sendMessage", lambda c: c["payload"]["chat_id"] == BORIS, timeout=30)
    assert time.monotonic() - started < 5  # well under a second on an idle machine

    slow_down = str(texts.FLOOD_SLOW_DOWN)
    assert eventually(lambda: slow_down in reply_texts(telegram, ALICE), timeout=60)
    answered = eventually(lambda: len(reply_texts(telegram, ALICE)) >= 1 + 5 + 1, timeout=60)
    assert answered
    time.sleep(1)  # nothing more arrives: the rest of the flood was dropped
    replies = reply_texts(telegram, ALICE)
    assert replies.count(slow_down) == 1
    assert len(replies) < 1 + FLOOD // 2
