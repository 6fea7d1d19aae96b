"""Redis never freezes the bot: a Redis that accepts connections and never answers (a
loopback server standing in for a hung one) costs the bot one short wait, then every
update is answered from PostgreSQL, and no user waits behind another's stalled call."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from analytics.publisher import breaker_reset
from botapp.runner import BackgroundBot
from config.redis import fast_redis_breaker_reset
from downloads.models import CachedMedia
from tests.e2e.conftest import ALICE, BORIS, CARMEN, OLENA

# Within "a few seconds" on a loaded test machine; a call to the hung server with the
# ordinary client's timeouts alone takes 3 s, and a cached link makes several.
ANSWER_WITHIN = 6.0
REEL = "https://www.instagram.com/reel/C0ffeeReel1/"


class HungServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _address = self.listener.accept()
                self.connections.append(connection)  # kept open, never answered

    def close(self) -> None:
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def hung_redis():
    server = HungServer()
    yield server
    server.close()


@pytest.fixture
def bot_on_hung_redis(bot_settings, transactional_db, tmp_path, telegram, hung_redis):
    bot_settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{hung_redis.port}/0",
            # The production defaults: long enough to freeze the bot if it used them.
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1.0, "SOCKET_TIMEOUT": 3.0},
        }
    }
    bot_settings.ANALYTICS_SPOOL_DIR = str(tmp_path / "spool")
    breaker_reset()
    fast_redis_breaker_reset()
    runner = BackgroundBot(poll_timeout=1).start()
    yield runner
    runner.stop()
    breaker_reset()
    fast_redis_breaker_reset()


def to(chat_id):
    return lambda call: call["payload"].get("chat_id") == chat_id


def test_start_and_a_cached_link_are_answered_from_postgresql(bot_on_hung_redis, telegram):
    stored = telegram.store_file(b"\x00\x00\x00\x18ftypmp42" + b"0" * 2048, kind="video")
    CachedMedia.objects.create(
        media_key="instagram:C0ffeeReel1", format="best", file_id=stored["file_id"], kind="video"
    )
    started = time.monotonic()
    telegram.push_private_message(ALICE, "/start")
    welcome = telegram.wait_for_call("sendMessage", to(ALICE), timeout=ANSWER_WITHIN, ok=True)
    assert "Send me a link" in welcome["payload"]["text"]
    assert time.monotonic() - started < ANSWER_WITHIN

    started = time.monotonic()
    telegram.push_private_message(ALICE, REEL)
    video = telegram.wait_for_call("sendVideo", to(ALICE), timeout=ANSWER_WITHIN, ok=True)
    assert video["payload"]["video"] == stored["file_id"]
    assert time.monotonic() - started < ANSWER_WITHIN


def test_one_stalled_call_does_not_hold_up_other_users(bot_on_hung_redis, telegram):
    stored = telegram.store_file(b"\x00\x00\x00\x18ftypmp42" + b"0" * 2048, kind="video")
    CachedMedia.objects.create(
        media_key="instagram:C0ffeeReel1", format="best", file_id=stored["file_id"], kind="video"
    )
    started = time.monotonic()
    # The first update meets the hung Redis; the others arrive while it waits.
    telegram.push_private_message(ALICE, REEL)
    for user in (BORIS, OLENA, CARMEN):
        telegram.push_private_message(user, "/start")
    telegram.wait_for_call("sendVideo", to(ALICE), timeout=ANSWER_WITHIN, ok=True)
    for user in (BORIS, OLENA, CARMEN):
        telegram.wait_for_call("sendMessage", to(user), timeout=ANSWER_WITHIN, ok=True)
    assert time.monotonic() - started < ANSWER_WITHIN
