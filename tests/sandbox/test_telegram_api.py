"""The offline Bot API against the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputMediaVideo,
    InputTextMessageContent,
    Update,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from sandbox.telegram_api import MB, SEED_GROUP_ID, TelegramApiDouble

ALICE, BORIS = 500001, 500002


@pytest.fixture
def double():
    double = TelegramApiDouble().start()
    yield double
    double.stop()


def make_bot(double: TelegramApiDouble, token: str | None = None) -> Bot:
    return Bot(token or double.token, base_url=double.base_url, base_file_url=double.base_file_url)


def run(double: TelegramApiDouble, scenario):
    """Run ``scenario(bot)`` with an initialised PTB Bot talking to the double."""

    async def main():
        async with make_bot(double) as bot:
            return await scenario(bot)

    return asyncio.run(main())


def keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data=data)]])


def test_it_long_polls_and_returns_an_update_pushed_while_waiting(double):
    async def scenario(bot: Bot):
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        poll = asyncio.create_task(bot.get_updates(timeout=20))
        # Push only once the double holds the poll, so the poll must be woken by it.
        await loop.run_in_executor(
            None, lambda: double.state.wait(lambda: double.state.poll_generation, 10)
        )
        pushed = double.push_private_message(ALICE, "https://youtu.be/dQw4w9WgXcQ")
        updates = await poll
        assert time.monotonic() - started < 15
        again = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        return pushed, updates, again

    pushed, updates, again = run(double, scenario)
    assert [u.update_id for u in updates] == [pushed["update_id"]]
    message = updates[0].message
    assert message.from_user.language_code == "en"
    assert message.parse_entities() == {message.entities[0]: "https://youtu.be/dQw4w9WgXcQ"}
    assert again == ()


def test_it_drops_updates_the_bot_did_not_ask_for(double):
    async def scenario(bot: Bot):
        await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
        double.push_private_message(ALICE, "ignored")
        return await bot.get_updates(timeout=0)

    assert run(double, scenario) == ()


def test_a_real_application_handles_commands_deep_links_and_echoes(double):
    seen_args: list[list[str]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen_args.append(context.args)
        await update.message.reply_text("welcome")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(update.message.text)

    async def main():
        app = (
            Application.builder()
            .token(double.token)
            .base_url(double.base_url)
            .base_file_url(double.base_file_url)
            .build()
        )
        app.add_handler(CommandHandler("start", start))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
        loop = asyncio.get_running_loop()
        async with app:
            await app.start()
            await app.updater.start_polling(timeout=1, poll_interval=0)
            double.push_start(ALICE, "ref_abc")
            double.push_private_message(ALICE, "hello there")
            welcome = await loop.run_in_executor(None, double.wait_for_call, "sendMessage")
            reply = await loop.run_in_executor(None, double.wait_for_call, "sendMessage")
            await app.updater.stop()
            await app.stop()
        return welcome, reply

    welcome, reply = asyncio.run(main())
    assert seen_args == [["ref_abc"]]
    assert welcome["payload"]["text"] == "welcome"
    assert reply["payload"] == {"chat_id": ALICE, "text": "hello there"}
    assert [m["text"] for m in double.messages(ALICE)] == [
        "/start ref_abc",
        "hello there",
        "welcome",
        "hello there",
    ]


def test_it_answers_429_with_retry_after_on_a_burst_to_one_chat(double):
    double.push_private_message(ALICE, "hi")

    async def scenario(bot: Bot):
        for sent in range(30):
            try:
                await bot.send_message(ALICE, f"message {sent}")
            except RetryAfter as error:
                return sent, error
        return 30, None

    sent, error = run(double, scenario)
    assert error is not None, "30 messages in a row to one chat were all accepted"
    assert sent >= 3
    refused = double.calls("sendMessage")[-1]
    assert refused["status"] == 429
    retry_after = refused["parameters"]["retry_after"]
    assert retry_after >= 1
    assert refused["description"] == f"Too Many Requests: retry after {retry_after}"


def test_it_limits_a_group_to_20_messages_a_minute():
    with TelegramApiDouble() as double:

        async def scenario(bot: Bot):
            for sent in range(21):
                try:
                    await bot.send_message(SEED_GROUP_ID, "spam")
                except RetryAfter:
                    return sent
            return 21

        assert run(double, scenario) == 20


def test_rate_limits_can_be_switched_off_for_benchmarks():
    with TelegramApiDouble(rate_limits=False) as double:
        double.push_private_message(ALICE, "hi")

        async def scenario(bot: Bot):
            for _ in range(40):
                await bot.send_message(ALICE, "fast")

        run(double, scenario)
        assert len(double.calls("sendMessage")) == 40


def test_it_rejects_callback_data_over_64_bytes(double):
    double.push_private_message(ALICE, "hi")

    async def scenario(bot: Bot):
        await bot.send_message(ALICE, "ok", reply_markup=keyboard("x" * 64))
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(ALICE, "too long", reply_markup=keyboard("x" * 65))

    run(double, scenario)


@pytest.mark.parametrize("size", [MB + 10, 3 * MB], ids=["just-over", "far-over"])
def test_it_refuses_an_upload_over_the_limit_with_413(size):
    with TelegramApiDouble(upload_limit=MB) as double:
        double.push_private_message(ALICE, "hi")

        async def scenario(bot: Bot):
            with pytest.raises(NetworkError, match="Request Entity Too Large"):
                await bot.send_video(ALICE, b"\0" * size, filename="big.mp4")
            # The connection and the bot go on working after the refusal.
            return await bot.send_video(ALICE, b"\0" * 1000, filename="small.mp4")

        small = run(double, scenario)
        assert small.video.file_size == 1000
        assert [c["status"] for c in double.calls("sendVideo")] == [413, 200]


def test_a_larger_limit_mimics_a_local_bot_api_server():
    with TelegramApiDouble(upload_limit=2000 * MB) as double:
        assert double.api.config.upload_limit == 2000 * MB
        assert double.api.config.photo_upload_limit == 10 * MB


def test_it_rejects_an_unknown_file_id(double):
    double.push_private_message(ALICE, "hi")

    async def scenario(bot: Bot):
        with pytest.raises(BadRequest, match=r"(?i)wrong file identifier/HTTP URL specified"):
            await bot.send_video(ALICE, "BAACAgIAAxkBAAIunknown")

    run(double, scenario)


def test_it_resends_a_known_file_id_without_a_body(double):
    double.push_private_message(ALICE, "hi")
    cached = double.store_file(b"cached video", width=720, height=1280, duration=15)

    async def scenario(bot: Bot):
        first = await bot.send_video(ALICE, b"fresh upload", filename="clip.mp4", duration=3)
        again = await bot.send_video(ALICE, first.video.file_id)
        same_bytes = await bot.send_video(ALICE, b"fresh upload", filename="copy.mp4")
        from_cache = await bot.send_video(ALICE, cached["file_id"], caption="cached")
        data = await (await bot.get_file(first.video.file_id)).download_as_bytearray()
        with pytest.raises(BadRequest, match=r"(?i)type of file mismatch"):
            await bot.send_audio(ALICE, first.video.file_id)
        return first, again, same_bytes, from_cache, data

    first, again, same_bytes, from_cache, data = run(double, scenario)
    assert again.video.file_id == first.video.file_id
    assert same_bytes.video.file_id != first.video.file_id
    assert same_bytes.video.file_unique_id == first.video.file_unique_id
    assert (from_cache.video.width, from_cache.video.height) == (720, 1280)
    assert bytes(data) == b"fresh upload"
    upload, resend = double.calls("sendVideo")[:2]
    assert upload["payload"]["video"] == {
        "file": "clip.mp4",
        "size": len(b"fresh upload"),
        "mime_type": "video/mp4",
    }
    assert resend["payload"]["video"] == first.video.file_id


def test_get_file_refuses_files_over_the_cloud_limit():
    with TelegramApiDouble(get_file_limit=100) as double:
        big = double.store_file(b"x" * 101)

        async def scenario(bot: Bot):
            with pytest.raises(BadRequest, match=r"(?i)file is too big"):
                await bot.get_file(big["file_id"])

        run(double, scenario)


def test_it_answers_401_for_a_wrong_token_and_404_for_an_unknown_method(double):
    with pytest.raises(InvalidToken, match="Unauthorized"):
        asyncio.run(make_bot(double, "123456:wrong-token").get_me())
    unauthorized = httpx.post(f"{double.base_url}123456:wrong/getMe")
    unknown = httpx.post(f"{double.base_url}{double.token}/sendTelepathy", json={"x": 1})
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


def test_it_accepts_json_and_query_string_bodies(double):
    double.push_private_message(ALICE, "hi")
    url = f"{double.base_url}{double.token}"
    as_json = httpx.post(f"{url}/sendMessage", json={"chat_id": ALICE, "text": "json"})
    as_query = httpx.get(f"{url}/sendMessage", params={"chat_id": ALICE, "text": "query"})
    assert as_json.json()["result"]["text"] == "json"
    assert as_query.json()["result"]["text"] == "query"


def test_it_forbids_writing_to_a_user_who_blocked_the_bot_or_a_group_that_kicked_it(double):
    double.push_private_message(ALICE, "hi")
    blocked = double.block_bot(ALICE)
    removed = double.remove_bot_from_group(BORIS)

    async def scenario(bot: Bot):
        with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
            await bot.send_message(ALICE, "still there?")
        with pytest.raises(Forbidden, match=r"(?i)bot was kicked from the supergroup chat"):
            await bot.send_message(SEED_GROUP_ID, "hello group")
        with pytest.raises(Forbidden, match=r"(?i)bot can't initiate conversation with a user"):
            await bot.send_message(BORIS, "hello stranger")
        return await bot.get_updates()

    updates = run(double, scenario)
    statuses = [u.my_chat_member.new_chat_member.status for u in updates if u.my_chat_member]
    assert statuses == ["kicked", "kicked"]
    assert blocked["my_chat_member"]["chat"]["id"] == ALICE
    assert removed["my_chat_member"]["chat"]["id"] == SEED_GROUP_ID


def test_it_validates_texts_captions_and_edits_like_telegram(double):
    double.push_private_message(ALICE, "hi")

    async def scenario(bot: Bot):
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(ALICE, "x" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(ALICE, "<b></b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
            await bot.send_document(ALICE, b"doc", filename="a.txt", caption="c" * 1025)
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(ALICE, "1.5 MB done!", parse_mode="MarkdownV2")
        sent = await bot.send_message(ALICE, "x" * 4096, reply_markup=keyboard("a:b"))
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text(
                "x" * 4096, ALICE, sent.message_id, reply_markup=keyboard("a:b")
            )
        edited = await bot.edit_message_text(
            "<i>done</i>", ALICE, sent.message_id, parse_mode="HTML"
        )
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("gone", ALICE, 9999)
        with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
            await bot.delete_message(ALICE, 9999)
        return edited

    edited = run(double, scenario)
    assert edited.text == "done"
    assert edited.reply_markup is None  # an edit without markup drops the keyboard
    assert edited.entities[0].type == "italic"


def test_inline_answers_over_50_results_are_rejected(double):
    query = double.push_inline_query(ALICE, "cats")["inline_query"]

    def results(count: int) -> list[InlineQueryResultArticle]:
        content = InputTextMessageContent("a cat")
        return [InlineQueryResultArticle(str(i), f"Cat {i}", content) for i in range(count)]

    async def scenario(bot: Bot):
        with pytest.raises(BadRequest, match=r"(?i)RESULTS_TOO_MUCH"):
            await bot.answer_inline_query(query["id"], results(51))
        with pytest.raises(BadRequest, match=r"(?i)NEXT_OFFSET_INVALID"):
            await bot.answer_inline_query(query["id"], results(1), next_offset="o" * 65)
        await bot.answer_inline_query(query["id"], results(50))
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_inline_query(query["id"], results(1))

    run(double, scenario)
    assert len(double.inline_answer(query["id"])["results"]) == 50


def test_edit_message_media_by_inline_message_id_replaces_the_posted_result(double):
    cached = double.store_file(b"the video", width=1280, height=720, duration=9)
    query = double.push_inline_query(BORIS, "https://youtu.be/dQw4w9WgXcQ", chat_type="supergroup")

    async def answer(bot: Bot):
        article = InlineQueryResultArticle(
            "yt1",
            "Send this video",
            InputTextMessageContent("Downloading…"),
            reply_markup=keyboard("dl:progress"),
        )
        await bot.answer_inline_query(query["inline_query"]["id"], [article])

    run(double, answer)
    chosen = double.choose_inline_result(
        BORIS, query["inline_query"]["id"], "yt1", chat_id=SEED_GROUP_ID
    )["chosen_inline_result"]
    inline_id = chosen["inline_message_id"]

    async def edit(bot: Bot):
        with pytest.raises(BadRequest, match=r"(?i)use a file_id"):
            await bot.edit_message_media(
                InputMediaVideo(b"new upload", filename="x.mp4"), inline_message_id=inline_id
            )
        return await bot.edit_message_media(
            InputMediaVideo(cached["file_id"], caption="Never gonna give you up"),
            inline_message_id=inline_id,
        )

    assert run(double, edit) is True
    posted = double.messages(SEED_GROUP_ID)[-1]
    assert posted["from"]["id"] == BORIS
    assert posted["via_bot"]["username"] == "SandboxVideoBot"
    assert posted["video"]["file_id"] == cached["file_id"]
    assert posted["caption"] == "Never gonna give you up"
    assert "text" not in posted and "reply_markup" not in posted


def test_edit_message_media_uploads_through_attach_references(double):
    double.push_private_message(ALICE, "hi")

    async def scenario(bot: Bot):
        sent = await bot.send_document(ALICE, b"placeholder", filename="wait.txt")
        return await bot.edit_message_media(
            InputMediaVideo(b"real video", filename="v.mp4"), ALICE, sent.message_id
        )

    edited = run(double, scenario)
    assert edited.video.file_size == len(b"real video")
    media = double.calls("editMessageMedia")[0]["payload"]["media"]
    assert media["media"] == {"file": "v.mp4", "size": 10, "mime_type": "video/mp4"}


def test_group_privacy_mode_hides_chatter_but_not_commands_mentions_or_replies(double):
    chatter = double.push_group_message(ALICE, "look https://youtu.be/dQw4w9WgXcQ")
    command = double.push_group_message(ALICE, "/dl@SandboxVideoBot https://youtu.be/x")
    other_bot = double.push_group_message(ALICE, "/dl@OtherBot https://youtu.be/x")
    mention = double.push_group_message(BORIS, "@SandboxVideoBot https://vm.tiktok.com/ZM1/")
    assert chatter["update_id"] is None
    assert other_bot["update_id"] is None
    assert command["update_id"] and mention["update_id"]
    entities = [e["type"] for e in mention["message"]["entities"]]
    assert entities == ["mention", "url"]

    double.add_bot_to_group(ALICE, admin=True)
    assert double.push_group_message(ALICE, "now visible")["update_id"]


def test_button_presses_are_checked_against_the_message(double):
    double.push_private_message(ALICE, "hi")

    async def scenario(bot: Bot):
        return await bot.send_message(ALICE, "pick", reply_markup=keyboard("fmt:720"))

    sent = run(double, scenario)
    with pytest.raises(ValueError, match="no button"):
        double.press_button(ALICE, "fmt:1080", message_id=sent.message_id)
    press = double.press_button(ALICE, "fmt:720", message_id=sent.message_id)
    assert press["callback_query"]["message"]["message_id"] == sent.message_id


def test_commands_are_stored_per_scope_and_language(double):
    async def scenario(bot: Bot):
        await bot.set_my_commands([("start", "Start"), ("help", "Help")])
        await bot.set_my_commands([("start", "Начать")], language_code="ru")
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([("Start!", "bad")])
        return await bot.get_my_commands(language_code="ru")

    ru = run(double, scenario)
    assert [(c.command, c.description) for c in ru] == [("start", "Начать")]
    assert [c["command"] for c in double.commands()] == ["start", "help"]


def test_wait_for_call_hands_out_each_call_once(double):
    double.push_private_message(ALICE, "hi")

    async def scenario(bot: Bot):
        await bot.send_message(ALICE, "one")
        await bot.send_message(ALICE, "two")

    run(double, scenario)
    assert double.wait_for_call("sendMessage")["payload"]["text"] == "one"
    assert double.wait_for_call("sendMessage")["payload"]["text"] == "two"
    with pytest.raises(TimeoutError):
        double.wait_for_call("sendMessage", timeout=0.2)


def test_media_files_are_served_with_range_support(double):
    stored = double.store_file(b"0123456789")
    url = f"{double.root_url}/sandbox/files/{stored['file_id']}"
    part = httpx.get(url, headers={"Range": "bytes=2-5"})
    assert part.status_code == 206
    assert part.content == b"2345"
    assert part.headers["Content-Range"] == "bytes 2-5/10"
    assert part.headers["Content-Type"] == "video/mp4"


def test_get_chat_member_reports_the_admins_of_a_group(double):
    from sandbox.management.commands.sandbox import group_admin_add

    group_admin_add(double, user_id=ALICE)

    async def scenario(bot: Bot):
        alice = await bot.get_chat_member(SEED_GROUP_ID, ALICE)
        boris = await bot.get_chat_member(SEED_GROUP_ID, BORIS)
        return alice, boris

    alice, boris = run(double, scenario)
    assert (alice.status, alice.user.id) == ("administrator", ALICE)
    assert alice.can_delete_messages
    assert boris.status == "member"
    double.add_group(-1009000000077, "Alice is not here", members=[BORIS])

    async def elsewhere(bot: Bot):
        return await bot.get_chat_member(-1009000000077, ALICE)

    assert run(double, elsewhere).status == "left"


def test_the_sandbox_command_lets_alice_administer_the_seed_group(settings):
    from sandbox.management.commands.sandbox import banner, start_sandbox

    telegram, site = start_sandbox(port=0)
    try:

        async def scenario(bot: Bot):
            return [(await bot.get_chat_member(SEED_GROUP_ID, u)).status for u in (ALICE, BORIS)]

        assert run(telegram, scenario) == ["administrator", "member"]
        assert "/settings" in banner(telegram, site)
    finally:
        telegram.stop()
        site.stop()


def test_concurrent_calls_are_each_handed_out_once(double):
    """Calls recorded at the same moment get their own index, so none hides another."""
    with TelegramApiDouble(rate_limits=False) as fast:
        fast.push_private_message(ALICE, "hi")

        async def scenario(bot: Bot):
            await asyncio.gather(*(bot.send_message(ALICE, f"m{n}") for n in range(60)))

        run(fast, scenario)
        indexes = [call["index"] for call in fast.calls("sendMessage")]
        assert len(set(indexes)) == 60
        handed = {fast.wait_for_call("sendMessage", timeout=5)["index"] for _ in range(60)}
        assert handed == set(indexes)
