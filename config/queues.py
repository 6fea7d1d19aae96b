"""Queue helpers: enqueueing by purpose, and rq workers inside the bot process.

Production runs ``python manage.py rqworker downloads events`` processes. The embedded
default has no Redis server another process could reach, so the bot starts the same rq
workers in threads of its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import django_rq
from rq import SimpleWorker

log = logging.getLogger(__name__)

DOWNLOADS = "downloads"
EVENTS = "events"
DEFAULT = "default"


class ThreadWorker(SimpleWorker):
    """An rq worker that can run outside the main thread (no signal handlers)."""

    def _install_signal_handlers(self) -> None:
        pass


def start_thread_workers(queue_names: Iterable[str], count: int) -> list[ThreadWorker]:
    workers = []
    for number in range(count):
        queues = [django_rq.get_queue(name) for name in queue_names]
        worker = ThreadWorker(queues, connection=queues[0].connection, name=f"thread-{number}")
        thread = threading.Thread(
            target=worker.work,
            kwargs={"logging_level": "WARNING", "with_scheduler": False},
            name=f"rq-{worker.name}",
            daemon=True,
        )
        thread.start()
        workers.append(worker)
    log.info("started %d in-process rq workers on %s", count, ", ".join(queue_names))
    return workers


def stop_thread_workers(workers: Iterable[ThreadWorker]) -> None:
    for worker in workers:
        worker.request_stop(None, None)
