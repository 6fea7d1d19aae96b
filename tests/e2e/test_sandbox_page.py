"""A person in the sandbox: the chat page in headless Chromium, the real bot behind it."""

from __future__ import annotations

import pytest

from botapp.management.commands.sandbox import banner, start_sandbox
from botapp.runner import BackgroundBot
from config import queues


@pytest.fixture
def sandbox(settings, transactional_db, tmp_path):
    settings.DOWNLOAD_TMP_DIR = str(tmp_path)
    telegram, site = start_sandbox(port=0)
    workers = queues.start_thread_workers([queues.DOWNLOADS, queues.EVENTS], 2)
    bot = BackgroundBot(poll_timeout=1).start()
    yield telegram, site
    bot.stop()
    queues.stop_thread_workers(workers)
    telegram.stop()
    site.stop()


@pytest.mark.browser
def test_a_person_pastes_a_link_and_watches_the_video(sandbox, page):
    telegram, _site = sandbox
    page.goto(telegram.page_url)
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#text", "/start")
    page.click("#send")
    page.locator(".msg.bot", has_text="Send me a link").wait_for()

    page.fill("#text", "https://www.instagram.com/reel/C0ffeeReel1/")
    page.click("#send")
    video = page.locator(".msg.bot video")
    video.wait_for()
    assert video.get_attribute("src")


def test_the_banner_lists_links_to_paste(sandbox):
    telegram, site = sandbox
    text = banner(telegram, site)
    assert telegram.page_url in text
    assert "https://www.youtube.com/watch?v=dQw4w9WgXcQ" in text
