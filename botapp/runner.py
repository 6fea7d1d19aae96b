"""Runs the bot: the same sequence whether ``runbot`` drives it in the main thread or
the sandbox and the tests drive it in a background thread."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from telegram import Update
from telegram.ext import Application

from analytics import publisher
from botapp.application import build_application
from config import queues
from downloads.cache import recent_files_forget
from users.services import users_forget_all

log = logging.getLogger(__name__)


async def serve(application: Application, stop: asyncio.Event, *, poll_timeout: int = 30) -> None:
    """Long-polls Telegram and handles updates until ``stop`` is set. While it runs,
    events are published off the event loop (``analytics.publisher.background_start``)."""
    publisher.background_start()
    # Rows and files remembered by an earlier bot in this process may be stale.
    users_forget_all()
    recent_files_forget()
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await application.updater.start_polling(
            timeout=poll_timeout,
            allowed_updates=Update.ALL_TYPES,
            bootstrap_retries=-1,  # wait for Telegram (or the sandbox) to come up
        )
        await application.start()
        _freeze_startup_objects()
        log.info("bot @%s is running", application.bot.username)
        await stop.wait()
    finally:
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        await sync_to_async(publisher.background_stop)()
        await sync_to_async(connections.close_all)()
        log.info("bot stopped")


def _freeze_startup_objects() -> None:
    """Hide what startup loaded (Django, the models, python-telegram-bot, catalogues)
    from the garbage collector: a full collection walks every tracked object, and with
    all of that in sight it paused the event loop for about 100 ms, the slowest cache
    hits of the benchmark. Garbage is collected first, so only live objects are frozen.
    """
    gc.collect()
    gc.freeze()


def start_embedded_workers() -> list:
    """rq workers in threads, for the embedded default where no rqworker can attach."""
    count = settings.RQ_EMBEDDED_WORKERS
    if count <= 0:
        return []
    return queues.start_thread_workers([queues.DOWNLOADS], count)


class BackgroundBot:
    """The bot in a thread of its own: ``start()`` returns once it is polling."""

    def __init__(self, *, poll_timeout: int = 2) -> None:
        self.poll_timeout = poll_timeout
        self.application: Application | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bot", daemon=True)
        self.error: BaseException | None = None

    def start(self, timeout: float = 30) -> BackgroundBot:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the bot did not start: {self.error!r}")
        if self.error:
            raise RuntimeError("the bot did not start") from self.error
        return self

    def stop(self, timeout: float = 30) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self.error = exc
            self._ready.set()
            log.exception("background bot crashed")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.application = build_application()
        task = asyncio.create_task(
            serve(self.application, self._stop, poll_timeout=self.poll_timeout)
        )
        while not (self.application.running or task.done()):
            await asyncio.sleep(0.01)
        self._ready.set()
        await task
