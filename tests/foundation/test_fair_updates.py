"""The fair update processor: one line per chat, shared slots only for the running."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from botapp.updates import ChatFairUpdateProcessor


def message_update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, "private" if chat_id > 0 else "supergroup")
    sender = User(abs(chat_id), "Someone", is_bot=False)
    return Update(update_id, message=Message(update_id, None, chat, from_user=sender, text="x"))


def test_a_chats_updates_run_in_order_one_at_a_time_and_others_pass_them():
    async def main() -> tuple[list[int], float, list[Update]]:
        told: list[Update] = []

        async def on_overflow(update: Update) -> None:
            told.append(update)

        processor = ChatFairUpdateProcessor(
            concurrency=2, backlog=5, group_backlog=50, on_overflow=on_overflow
        )
        await processor.initialize()
        order: list[int] = []
        running = {"now": 0, "most": 0}

        async def handle(number: int, seconds: float) -> None:
            flooding = number < 100
            running["now"] += flooding
            running["most"] = max(running["most"], running["now"])
            await asyncio.sleep(seconds)
            order.append(number)
            running["now"] -= flooding

        loop = asyncio.get_running_loop()
        flood = [
            asyncio.create_task(processor.process_update(message_update(n, 1), handle(n, 0.05)))
            for n in range(20)
        ]
        await asyncio.sleep(0.01)
        started = loop.time()
        await processor.process_update(message_update(100, 2), handle(100, 0))
        other_waited = loop.time() - started
        await asyncio.gather(*flood)
        await processor.shutdown()
        assert running["most"] == 1  # the flooding chat never held more than one slot
        return order, other_waited, told

    order, other_waited, told = asyncio.run(main())
    assert other_waited < 0.05
    assert order[1:] == [0, 1, 2, 3, 4]  # in order; the rest of the flood dropped
    assert order[0] == 100
    assert len(told) == 1  # one answer for the whole flood


def test_a_group_keeps_a_longer_line():
    async def main() -> int:
        processor = ChatFairUpdateProcessor(concurrency=4, backlog=2, group_backlog=30)
        await processor.initialize()
        done = []

        async def handle(number: int) -> None:
            await asyncio.sleep(0.001)
            done.append(number)

        await asyncio.gather(
            *(processor.process_update(message_update(n, -100), handle(n)) for n in range(30))
        )
        return len(done)

    assert asyncio.run(main()) == 30
