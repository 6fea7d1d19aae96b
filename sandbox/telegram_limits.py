"""Flood control as Telegram applies it to a bot (see /work/shared/TELEGRAM_LIMITS.md).

Sends (sendMessage, sendVideo, sendAudio, sendDocument, sendPhoto) count against three
limits: the chat (a private chat: about one a second after a short burst; a group: 20 in
any 60 seconds) and the bot as a whole (30 a second). Edits count against a separate,
per-chat bucket of the same private-chat rate: Telegram throttles frequent edits too, but
not against the send budget, and a progress message edited every few seconds never hits
it. Chat actions, callback answers, inline answers and deletions are not limited.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    capacity: float
    rate: float  # tokens per second
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def wait_time(self, now: float) -> float:
        """Seconds until a token is free (0 when one is free now); refills first."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class SlidingWindow:
    limit: int
    seconds: float
    stamps: deque[float] = field(default_factory=deque)

    def wait_time(self, now: float) -> float:
        while self.stamps and self.stamps[0] <= now - self.seconds:
            self.stamps.popleft()
        if len(self.stamps) < self.limit:
            return 0.0
        return self.stamps[0] + self.seconds - now

    def take(self, now: float) -> None:
        self.stamps.append(now)


class FloodControl:
    """Decides whether a send or an edit may go through now; thread-safe."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        private_burst: int = 5,
        private_per_second: float = 1.0,
        group_per_minute: int = 20,
        global_per_second: int = 30,
    ) -> None:
        self.enabled = enabled
        self._private = (private_burst, private_per_second)
        self._group_per_minute = group_per_minute
        self._global = TokenBucket(global_per_second, global_per_second)
        self._chat_buckets: dict[int, TokenBucket] = {}
        self._edit_buckets: dict[int, TokenBucket] = {}
        self._group_windows: dict[int, SlidingWindow] = {}
        self._lock = threading.Lock()

    def check_send(self, chat_id: int, *, is_group: bool) -> int:
        """0 and the send is counted, or the retry_after Telegram would answer with."""
        if not self.enabled:
            return 0
        now = time.monotonic()
        with self._lock:
            chat: TokenBucket | SlidingWindow
            if is_group:
                chat = self._group_windows.setdefault(
                    chat_id, SlidingWindow(self._group_per_minute, 60.0)
                )
            else:
                chat = self._chat_buckets.setdefault(chat_id, TokenBucket(*self._private))
            wait = max(chat.wait_time(now), self._global.wait_time(now))
            if wait > 0:
                return max(1, math.ceil(wait))
            self._global.take()
            if isinstance(chat, SlidingWindow):
                chat.take(now)
            else:
                chat.take()
            return 0

    def check_edit(self, chat_id: int) -> int:
        if not self.enabled:
            return 0
        now = time.monotonic()
        with self._lock:
            bucket = self._edit_buckets.setdefault(chat_id, TokenBucket(*self._private))
            wait = bucket.wait_time(now)
            if wait > 0:
                return max(1, math.ceil(wait))
            bucket.take()
            return 0
