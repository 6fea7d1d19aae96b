"""A person in the sandbox: the chat page in headless Chromium, the real bot behind it."""

from __future__ import annotations

import pytest

from botapp.runner import BackgroundBot
from config import queues
from sandbox.management.commands.sandbox import banner, start_sandbox
from sandbox.telegram_api import SEED_GROUP_ID
from tests.e2e.conftest import ALICE


@pytest.fixture
def sandbox(settings, transactional_db, tmp_path):
    settings.DOWNLOAD_TMP_DIR = str(tmp_path)
    telegram, site = start_sandbox(port=0)
    workers = queues.start_thread_workers([queues.DOWNLOADS], 2)
    bot = BackgroundBot(poll_timeout=1).start()
    yield telegram, site
    bot.stop()
    queues.stop_thread_workers(workers)
    telegram.stop()
    site.stop()


def open_chat(page, telegram) -> None:
    """The chat page as the first seed user (Alice) sees it."""
    page.goto(telegram.page_url)
    page.wait_for_selector("body[data-ready='1']")


def type_and_send(page, text: str) -> None:
    page.fill("#text", text)
    page.click("#send")


def start_chat(page, telegram) -> None:
    """Alice opens her chat with the bot and gets the welcome."""
    open_chat(page, telegram)
    type_and_send(page, "/start")
    page.locator(".msg.bot", has_text="Send me a link").wait_for()


@pytest.mark.browser
def test_a_person_pastes_a_link_and_watches_the_video(sandbox, page):
    telegram, _site = sandbox
    start_chat(page, telegram)
    type_and_send(page, "https://www.instagram.com/reel/C0ffeeReel1/")
    video = page.locator(".msg.bot video")
    video.wait_for()
    assert video.get_attribute("src")


def test_the_banner_lists_links_to_paste(sandbox):
    telegram, site = sandbox
    text = banner(telegram, site)
    assert telegram.page_url in text
    assert "https://www.youtube.com/watch?v=dQw4w9WgXcQ" in text


@pytest.mark.browser
def test_a_person_uses_inline_mode_in_the_group_and_follows_the_deep_link(sandbox, page):
    telegram, _site = sandbox
    start_chat(page, telegram)  # the deep link later needs her chat with the bot

    page.click(f".chat-item[data-chat-id='{SEED_GROUP_ID}']")
    page.fill(
        "#text", "@SandboxVideoBot https://www.tiktok.com/@sandbox.user/video/7300000000000000001"
    )
    page.locator(".inline-result").first.click()
    posted = page.locator(".msg.mine", has_text="via @SandboxVideoBot")
    posted.wait_for()
    posted.locator("video").wait_for()  # the placeholder became the video

    posted.locator("button", has_text="@SandboxVideoBot").click()  # the deep link
    page.locator(".msg.mine", has_text="/start v_").wait_for()
    page.locator(".msg.bot video").first.wait_for()
    assert any(
        call["ok"] and call["payload"]["chat_id"] == ALICE for call in telegram.calls("sendVideo")
    )


@pytest.mark.browser
def test_a_person_switches_the_language(sandbox, page):
    telegram, _site = sandbox
    open_chat(page, telegram)
    type_and_send(page, "/language")
    page.locator(".msg.bot button", has_text="Русский").click()
    type_and_send(page, "/help")
    page.locator(".msg.bot", has_text="Как мной пользоваться").wait_for()
