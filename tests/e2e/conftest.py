"""The real bot, started as ``runbot`` starts it, against the offline Telegram API, the
local video site, real PostgreSQL and Redis, and rq workers in threads."""

from __future__ import annotations

import pytest

from botapp.runner import BackgroundBot
from config import queues
from sandbox.telegram_api import SEED_USERS, TelegramApiDouble

ALICE, BORIS, OLENA, CARMEN = (user["id"] for user in SEED_USERS)


@pytest.fixture
def telegram():
    double = TelegramApiDouble().start()
    yield double
    double.stop()


@pytest.fixture
def bot_settings(settings, telegram, video_site, tmp_path):
    settings.TELEGRAM_BOT_TOKEN = telegram.token
    settings.TELEGRAM_API_URL = telegram.root_url
    settings.TELEGRAM_LOCAL_MODE = False
    settings.MEDIA_ORIGIN_OVERRIDES = video_site.origin_overrides()
    settings.DOWNLOAD_TMP_DIR = str(tmp_path / "downloads")
    settings.DOWNLOAD_TIMEOUT_SECONDS = 120
    return settings


@pytest.fixture
def workers(bot_settings, transactional_db):
    started = queues.start_thread_workers([queues.DOWNLOADS], 2)
    yield started
    queues.stop_thread_workers(started)


@pytest.fixture
def bot(bot_settings, workers, telegram):
    runner = BackgroundBot(poll_timeout=1).start()
    yield runner
    runner.stop()


def reply_texts(telegram, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in telegram.messages(chat_id) if m["from"].get("is_bot")]


def eventually(check, timeout: float = 30.0, interval: float = 0.05):
    """The value of ``check()`` once it is truthy (for what the bot writes after replying)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
