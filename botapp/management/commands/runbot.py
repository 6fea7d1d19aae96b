"""``python manage.py runbot``: the bot, long-polling Telegram until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from analytics.worker import start_worker_thread
from botapp.application import build_application
from botapp.runner import serve, start_embedded_workers
from config import queues


class Command(BaseCommand):
    help = "Runs the Telegram bot (long polling). Stops cleanly on SIGTERM or Ctrl-C."

    def handle(self, *args, **options) -> None:
        try:
            run_bot()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc


def run_bot() -> None:

    application = build_application()  # fails early, before threads start, without a token
    workers = start_embedded_workers()
    analytics = start_embedded_analytics()
    try:
        asyncio.run(_serve_until_signal(application))
    finally:
        queues.stop_thread_workers(workers)
        if analytics:
            thread, stop = analytics
            stop.set()
            thread.join(30)


def start_embedded_analytics():
    """Without a Redis server no ``analytics_worker`` process can read the in-process
    stream, so the bot runs the event worker in a thread of its own."""
    if not settings.REDIS_EMBEDDED:
        return None

    return start_worker_thread()


async def _serve_until_signal(application) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(application, stop)
