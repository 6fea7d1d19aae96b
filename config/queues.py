"""The one rq queue, ``downloads``, and rq workers inside the bot process.

Production runs ``python manage.py rqworker downloads`` processes (as many as you
like, on any host). Events do not go through rq: they go to a Redis stream that
``analytics_worker`` reads. The embedded default has no Redis server another process
could reach, so the bot starts the same rq workers in threads of its own.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable

import django_rq
from django.db import connections
from rq import SimpleWorker
from rq import Worker as RQWorker
from rq.job import Job
from rq.timeouts import TimerDeathPenalty

from config.logging import redact

log = logging.getLogger(__name__)

DOWNLOADS = "downloads"


class RedactingJob(Job):
    """A job whose stored failure never contains a secret.

    rq keeps a failed job's traceback text for days (the failure result, the failed
    registry, webhooks) and the queue dashboard shows it; an exception such as
    python-telegram-bot's ``InvalidToken`` quotes the bot token in its message. Every
    failure rq records goes through here, from workers and from synchronous queues.
    """

    def _handle_failure(self, exc_string: str, *args, **kwargs):
        return super()._handle_failure(redact(exc_string or ""), *args, **kwargs)


class _RedactingWorkerMixin:
    """Jobs of the redacting class, and failure text redacted before rq passes it on
    (retries and webhooks see the same text as the stored result)."""

    job_class = RedactingJob

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string="", **kwargs):
        return super().handle_job_failure(
            job, queue, started_job_registry, exc_string=redact(exc_string or ""), **kwargs
        )


class Worker(_RedactingWorkerMixin, RQWorker):
    """The rqworker processes' class (``RQ["WORKER_CLASS"]``)."""


class ThreadWorker(_RedactingWorkerMixin, SimpleWorker):
    """An rq worker that can run outside the main thread (no signal handlers)."""

    thread: threading.Thread | None = None
    death_penalty_class = TimerDeathPenalty  # SIGALRM works only in the main thread

    def _install_signal_handlers(self) -> None:
        pass

    def execute_job(self, job, queue):
        try:
            return super().execute_job(job, queue)
        finally:
            connections.close_all()  # this thread's own connections

    @property
    def dequeue_timeout(self) -> int:
        return 1

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        # rq waits for a job for ever; a thread worker looks up every second so that a
        # stop request ends it promptly (a process worker gets a signal instead).
        while not self._stop_requested:
            result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time=1)
            if result is not None:
                return result
        return None


def start_thread_workers(queue_names: Iterable[str], count: int) -> list[ThreadWorker]:
    workers = []
    for number in range(count):
        queues = [django_rq.get_queue(name) for name in queue_names]
        name = f"thread-{uuid.uuid4().hex[:8]}-{number}"
        worker = ThreadWorker(queues, connection=queues[0].connection, name=name)
        worker.thread = thread = threading.Thread(
            target=worker.work,
            kwargs={"logging_level": "WARNING", "with_scheduler": False},
            name=f"rq-{worker.name}",
            daemon=True,
        )
        thread.start()
        workers.append(worker)
    log.info("started %d in-process rq workers on %s", count, ", ".join(queue_names))
    return workers


def stop_thread_workers(workers: Iterable[ThreadWorker], timeout: float = 30) -> None:
    """Each worker finishes the job it is running, then its thread ends."""
    workers = list(workers)
    for worker in workers:
        worker._stop_requested = True
    for worker in workers:
        if worker.thread is not None:
            worker.thread.join(timeout)
