"""The bot's transport to the Bot API (aiohttp), against the offline double and
against servers that misbehave: what reaches Telegram, and what python-telegram-bot
sees when the network fails."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import socket
import threading

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import BaseRateLimiter, ExtBot

from botapp.telegram_request import AiohttpRequest
from config.bot_api import api_call
from sandbox.telegram_api import TelegramApiDouble

ALICE = 500001


@pytest.fixture
def double():
    double = TelegramApiDouble().start()
    yield double
    double.stop()


def run(
    scenario,
    *,
    base_url: str,
    token: str = "123:abc",  # noqa: S107 (no server checks it)
    base_file_url: str | None = None,
):
    async def main():
        request = AiohttpRequest()
        bot = Bot(
            token, base_url=base_url, base_file_url=base_file_url or base_url,
            request=request, get_updates_request=request,
        )  # fmt: skip
        await request.initialize()
        try:
            return await scenario(bot)
        finally:
            await request.shutdown()

    return asyncio.run(main())


def test_calls_uploads_and_downloads_reach_the_double(double):
    payload = bytes(range(256)) * 64
    streamed = io.BytesIO(b"streamed from a file object")
    double.push_private_message(ALICE, "hi")  # Alice has started the bot

    async def scenario(bot: Bot):
        await bot.send_message(ALICE, "<b>hello</b> & goodbye", parse_mode="HTML")
        video = await bot.send_video(
            ALICE, payload, filename="clip.mp4", duration=3, width=640, height=360,
            supports_streaming=True, caption="a caption",
        )  # fmt: skip
        document = await bot.send_document(ALICE, streamed, filename="notes.txt")
        again = await bot.send_video(ALICE, video.video.file_id)
        file = await bot.get_file(video.video.file_id)
        return video, document, again, bytes(await file.download_as_bytearray())

    video, document, again, downloaded = run(
        scenario, base_url=double.base_url, token=double.token,
        base_file_url=double.base_file_url,
    )  # fmt: skip
    message = double.wait_for_call("sendMessage")["payload"]
    assert message["text"] == "<b>hello</b> & goodbye"
    assert video.video.duration == dt.timedelta(seconds=3)
    assert (video.video.width, video.video.height, video.caption) == (640, 360, "a caption")
    assert video.video.file_size == len(payload)
    assert document.document.file_name == "notes.txt"
    assert again.video.file_unique_id == video.video.file_unique_id
    assert downloaded == payload


def test_telegrams_refusal_comes_back_as_its_error(double):
    double.push_private_message(ALICE, "hi")

    async def scenario(bot: Bot):
        await bot.send_video(ALICE, "BAACAgIAAxkBAAIunknown")

    with pytest.raises(BadRequest, match="Wrong file identifier"):
        run(scenario, base_url=double.base_url, token=double.token)


@pytest.fixture
def silent_server():
    """Accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/bot"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_an_answer_that_never_comes_is_a_timeout(silent_server):
    async def scenario(bot: Bot):
        await bot.get_me(read_timeout=0.3)

    with pytest.raises(TimedOut):
        run(scenario, base_url=silent_server)


def test_a_refused_connection_is_a_network_error():
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario(bot: Bot):
        await bot.get_me()

    with pytest.raises(NetworkError) as caught:
        run(scenario, base_url=f"http://127.0.0.1:{port}/bot")
    assert not isinstance(caught.value, TimedOut)
    assert "123:abc" not in str(caught.value)  # never the token


def test_it_must_be_initialised_and_can_be_shut_down_twice():
    async def scenario():
        request = AiohttpRequest()
        with pytest.raises(RuntimeError, match="not initialized"):
            await request.do_request("http://127.0.0.1:9/", "GET")
        await request.initialize()
        await request.shutdown()
        await request.shutdown()
        assert request.read_timeout == 30.0

    asyncio.run(scenario())


def test_a_proxy_from_the_environment_is_used_unless_no_proxy_names_the_host(
    double, silent_server, monkeypatch
):
    proxy = silent_server.removesuffix("/bot")  # a proxy that never answers
    monkeypatch.setenv("http_proxy", proxy)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)

    async def scenario(bot: Bot):
        return await bot.get_me(read_timeout=0.3)

    with pytest.raises(TimedOut):  # the call went to the proxy
        run(scenario, base_url=double.base_url, token=double.token)

    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert run(scenario, base_url=double.base_url, token=double.token).is_bot


def test_a_plain_json_call_reaches_the_double_as_json_and_errors_come_back_typed(double):
    double.push_private_message(ALICE, "hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Open", url="https://example.com/")]])

    async def scenario(bot: Bot):
        sent = await api_call(
            bot,
            "sendMessage",
            {"chat_id": ALICE, "text": "<b>hi</b>", "parse_mode": "HTML",
             "reply_markup": keyboard, "reply_parameters": None},
        )  # fmt: skip
        with pytest.raises(BadRequest, match="Wrong file identifier"):
            await api_call(bot, "sendVideo", {"chat_id": ALICE, "video": "BAACAgIAAxkBAAIunknown"})
        return sent

    sent = run(scenario, base_url=double.base_url, token=double.token)
    assert sent["text"] == "hi" and sent["chat"]["id"] == ALICE  # the raw result
    payload = double.wait_for_call("sendMessage")["payload"]
    assert payload["reply_markup"] == keyboard.to_dict()  # nested JSON, not a string
    assert "reply_parameters" not in payload  # None is left out


def test_a_json_call_goes_through_the_bots_rate_limiter(double):
    double.push_private_message(ALICE, "hi")
    seen = []

    class Counting(BaseRateLimiter):
        async def initialize(self):
            pass

        async def shutdown(self):
            pass

        async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
            seen.append((endpoint, data["chat_id"]))
            return await callback(*args, **kwargs)

    async def main():
        request = AiohttpRequest()
        bot = ExtBot(
            double.token, base_url=double.base_url, request=request,
            get_updates_request=request, rate_limiter=Counting(),
        )  # fmt: skip
        await request.initialize()
        try:
            return await api_call(bot, "sendMessage", {"chat_id": ALICE, "text": "x"})
        finally:
            await request.shutdown()

    assert asyncio.run(main())["text"] == "x"
    assert seen == [("sendMessage", ALICE)]
