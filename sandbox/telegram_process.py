"""The offline Bot API in a child process, for benchmarks.

In one process the double's HTTP threads and the code under test share one GIL, so a
benchmark of the bot would measure the double as much as the bot. ``DoubleProcess``
forks a child that serves a ``TelegramApiDouble`` and runs functions in it on request::

    remote = DoubleProcess(rate_limits=False).start()  # before any thread is started
    remote.run(add_users, ids)  # add_users(double, ids) runs in the child
    remote.stop()

Functions and their results cross a pipe, so they must be picklable: module-level
functions of an imported module, and plain data.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
from collections.abc import Callable
from typing import Any

from sandbox.telegram_api import TelegramApiDouble


class DoubleProcess:
    """A ``TelegramApiDouble`` in a forked child; ``token`` and ``root_url`` as its own."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.token = ""
        self.root_url = ""
        self._process = None
        self._conn = None

    def start(self, timeout: float = 30) -> DoubleProcess:
        # fork, not spawn: the child needs no Django setup and starts in milliseconds.
        # Fork before the caller starts threads (a forked lock held by another thread
        # would never be released in the child).
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, self.options), name="telegram-sandbox", daemon=True
        )
        self._process.start()
        child.close()
        if not self._conn.poll(timeout):
            self.stop()
            raise RuntimeError("the Telegram double did not start")
        self.token, self.root_url = self._receive()
        return self

    def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(double, *args)`` in the child; its result, or its error re-raised."""
        self._conn.send((function, args))
        return self._receive()

    def stop(self, timeout: float = 10) -> None:
        if self._process is None:
            return
        with contextlib.suppress(OSError, EOFError, BrokenPipeError):
            self._conn.send(None)
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout)
        self._conn.close()
        self._process = None

    def __enter__(self) -> DoubleProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _receive(self) -> Any:
        ok, value = self._conn.recv()
        if not ok:
            raise RuntimeError(f"in the Telegram double: {value}")
        return value


def _serve(conn, options: dict) -> None:
    # The child inherits everything the parent loaded (Django, the bot); frozen, none of
    # it is walked by the collector, whose full passes otherwise stalled the double's
    # answers for tens of milliseconds, which a benchmark would blame on the bot.
    gc.freeze()
    double = TelegramApiDouble(**options).start()
    conn.send((True, (double.token, double.root_url)))
    try:
        while (request := conn.recv()) is not None:
            function, args = request
            try:
                answer = (True, function(double, *args))
            except Exception as error:  # reported to the parent, which raises it
                answer = (False, f"{type(error).__name__}: {error}")
            conn.send(answer)
    except EOFError:  # the parent went away
        pass
    finally:
        double.stop()
