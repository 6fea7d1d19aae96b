"""The bot's shared rate limiter keeps a burst under the offline API's flood limits."""

from __future__ import annotations

import asyncio

import pytest

from botapp.telegram_bot import make_bot
from tests.e2e.conftest import ALICE


@pytest.mark.django_db
def test_a_burst_to_one_chat_waits_instead_of_hitting_429(bot_settings, telegram):
    telegram.push_private_message(ALICE, "hi")  # the user opened the chat

    async def burst() -> None:
        async with make_bot() as bot:
            await asyncio.gather(*(bot.send_message(ALICE, f"message {n}") for n in range(8)))

    asyncio.run(burst())
    sends = telegram.calls("sendMessage")
    assert len(sends) == 8
    assert all(call["ok"] for call in sends), [c["description"] for c in sends]
