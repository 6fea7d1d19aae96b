"""The sandbox chat page in headless Chromium, with the test playing the bot over HTTP."""

from __future__ import annotations

import threading

import httpx
import pytest

from sandbox.telegram_api import SEED_GROUP_ID, TelegramApiDouble
from sandbox.videosite import CATALOGUE, KIND_HINTS, VideoKind

ALICE = 500001


class FakeBot:
    """Just enough of a bot: answers each user message with a keyboard, in a thread."""

    def __init__(self, double: TelegramApiDouble) -> None:
        self.url = f"{double.base_url}{double.token}"
        self.client = httpx.Client(timeout=30)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def call(self, method: str, **params: object) -> object:
        answer = self.client.post(f"{self.url}/{method}", json=params).json()
        assert answer["ok"], answer
        return answer["result"]

    def _run(self) -> None:
        offset = 0
        while not self.stopped.is_set():
            for update in self.call("getUpdates", offset=offset, timeout=1):
                offset = update["update_id"] + 1
                self._handle(update)

    def _handle(self, update: dict) -> None:
        if message := update.get("message"):
            if message.get("text", "").startswith("http"):
                self.call(
                    "sendMessage",
                    chat_id=message["chat"]["id"],
                    text="Found a <b>video</b>. Which quality?",
                    parse_mode="HTML",
                    reply_markup={
                        "inline_keyboard": [[{"text": "720p", "callback_data": "q:720"}]]
                    },
                )
        elif query := update.get("callback_query"):
            self.call("answerCallbackQuery", callback_query_id=query["id"], text="Sending 720p")
            self.call(
                "editMessageText",
                chat_id=query["message"]["chat"]["id"],
                message_id=query["message"]["message_id"],
                text="Here you go",
            )
        elif inline := update.get("inline_query"):
            article = {
                "type": "article",
                "id": "r1",
                "title": "Send the video",
                "input_message_content": {"message_text": "Video for " + inline["query"]},
            }
            self.call("answerInlineQuery", inline_query_id=inline["id"], results=[article])

    def __enter__(self) -> FakeBot:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)
        self.client.close()


@pytest.mark.browser
def test_a_person_sends_a_link_taps_a_button_and_uses_inline_mode(page):
    with TelegramApiDouble() as double, FakeBot(double):
        page.goto(double.page_url)
        page.wait_for_selector("body[data-ready='1']")
        page.fill("#text", "https://youtu.be/dQw4w9WgXcQ")
        page.click("#send")

        reply = page.locator(".msg.bot", has_text="Found a video")
        reply.wait_for()
        assert reply.locator("b").inner_text() == "video"
        reply.locator("button[data-callback='q:720']").click()
        page.locator("#toast", has_text="Sending 720p").wait_for()
        page.locator(".msg.bot", has_text="Here you go").wait_for()
        assert page.locator(".msg.bot button[data-callback='q:720']").count() == 0

        page.click(f".chat-item[data-chat-id='{SEED_GROUP_ID}']")
        page.fill("#text", "@SandboxVideoBot cats")
        page.locator(".inline-result[data-result-id='r1']").click()
        posted = page.locator(".msg.mine", has_text="Video for cats")
        posted.wait_for()
        assert "via @SandboxVideoBot" in posted.inner_text()

    assert [m["text"] for m in double.messages(ALICE)] == [
        "https://youtu.be/dQw4w9WgXcQ",
        "Here you go",
    ]
    assert double.messages(SEED_GROUP_ID)[-1]["via_bot"]["username"] == "SandboxVideoBot"


@pytest.mark.browser
def test_a_video_the_bot_sends_appears_as_a_playable_video(page):
    with TelegramApiDouble() as double:
        double.push_private_message(ALICE, "hi")
        bot = FakeBot(double)
        files = {"video": ("clip.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * 2000, "video/mp4")}
        bot.client.post(f"{bot.url}/sendVideo", data={"chat_id": ALICE}, files=files)
        page.goto(double.page_url)
        video = page.locator(".msg.bot video")
        video.wait_for()
        status = page.evaluate(
            "src => fetch(src, {headers: {Range: 'bytes=0-3'}}).then(r => r.status)",
            video.get_attribute("src"),
        )
        bot.client.close()
    assert status == 206


def test_it_lists_every_sample_link_with_a_hint_of_what_it_does():
    with TelegramApiDouble() as double:
        state = httpx.get(f"{double.root_url}/sandbox/api/state", timeout=10).json()

    listed = {sample["url"]: sample for sample in state["samples"]}
    assert set(listed) == {video.url for video in CATALOGUE.values()}
    for video in CATALOGUE.values():
        sample = listed[video.url]
        assert sample["kind"] == video.kind
        assert sample["platform"] == video.platform
        assert sample["hint"]
    assert "private" in listed["https://www.youtube.com/watch?v=privateVid1"]["hint"]
    assert "too large" in listed["https://www.youtube.com/watch?v=tooLarge50M"]["hint"]
    assert "quality buttons" in listed["https://www.youtube.com/watch?v=dQw4w9WgXcQ"]["hint"]
    assert "quality buttons" not in listed["https://www.instagram.com/reel/C0ffeeReel1/"]["hint"]


def test_it_has_a_hint_for_every_kind_of_video():
    assert set(KIND_HINTS) == set(VideoKind)


@pytest.mark.browser
def test_a_newcomer_clicks_a_sample_link_and_it_lands_in_the_message_box(page):
    removed = "https://www.youtube.com/watch?v=removedVid1"
    with TelegramApiDouble() as double, FakeBot(double):
        page.goto(double.page_url)
        page.wait_for_selector("body[data-ready='1']")
        sample = page.locator(f".sample[data-url='{removed}']")
        assert "removed" in sample.inner_text()
        sample.click()
        assert page.input_value("#text") == removed
        assert double.messages(ALICE) == []  # pasted, not sent

        page.click("#send")
        page.locator(".msg.bot", has_text="Found a video").wait_for()

        # In inline mode a sample keeps the @bot prefix the person typed.
        page.click(f".chat-item[data-chat-id='{SEED_GROUP_ID}']")
        page.fill("#text", "@SandboxVideoBot ")
        page.locator(".sample[data-kind='normal']").first.click()
        assert page.input_value("#text") == (
            "@SandboxVideoBot https://www.youtube.com/watch?v=dQw4w9WgXcQ"
        )
        page.locator(".inline-result[data-result-id='r1']").wait_for()

    assert [m["text"] for m in double.messages(ALICE)][:1] == [removed]
