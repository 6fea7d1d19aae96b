"""Writes of download requests: create, enqueue their job, move their status."""

from __future__ import annotations

import logging
from datetime import timedelta

import django_rq
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from redis.exceptions import RedisError
from rq.job import Dependency, Job

from config.queues import DOWNLOADS
from config.redis import get_fast_redis
from downloads.models import DownloadRequest, RequestStatus

log = logging.getLogger(__name__)


def downloads_queue():
    """The downloads queue over the fast Redis client: the bot enqueues from the thread
    its ``sync_to_async`` calls share, where a hung Redis must not hold other users."""
    return django_rq.get_queue(DOWNLOADS, connection=get_fast_redis())


def download_request_create(
    *,
    user_id: int,
    link_platform: str,
    media_key: str,
    url: str,
    fmt: str,
    source: str,
    chat_id: int | None,
    reply_to_message_id: int | None = None,
    progress_message_id: int | None = None,
    inline_message_id: str = "",
    status: str = RequestStatus.QUEUED,
) -> DownloadRequest:
    """A request row; a queued one also gets its job (enqueued when the row commits).
    An inline placeholder has one request: a pick that Telegram reports again (it
    resends an update the bot did not confirm) gets the first report's, no second job."""
    try:
        with transaction.atomic():
            request = DownloadRequest.objects.create(
                user_id=user_id,
                platform=link_platform,
                media_key=media_key,
                url=url,
                format=fmt,
                source=source,
                chat_id=chat_id,
                reply_to_message_id=reply_to_message_id,
                progress_message_id=progress_message_id,
                inline_message_id=inline_message_id,
                status=status,
            )
            if status == RequestStatus.QUEUED:
                transaction.on_commit(lambda: _enqueue_or_leave(request.pk))
    except IntegrityError:
        first = (
            DownloadRequest.objects.filter(inline_message_id=inline_message_id).first()
            if inline_message_id
            else None
        )
        if first is None:  # another constraint refused the row
            raise
        log.info("inline message %s picked again: its request stands", inline_message_id)
        return first
    return request


def _enqueue_or_leave(request_id: int) -> None:
    # Without Redis the row stays queued; download_requests_requeue() picks it up.
    try:
        download_request_enqueue(request_id=request_id)
    except RedisError:
        log.warning("request %s stays queued until Redis is back", request_id)


_REQUEUE_CHUNK = 1000
_ALIVE = ("queued", "started", "deferred", "scheduled")


def download_requests_requeue(*, older_than_seconds: int = 30) -> int:
    """Queue again the queued requests whose job never reached Redis or was lost with
    it (Redis down at the time, data flushed). Safe to run often: the job itself moves
    the request by compare-and-set, so a duplicate job delivers nothing twice."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    connection = downloads_queue().connection
    requeued = 0
    queued = list(
        DownloadRequest.objects.filter(
            status=RequestStatus.QUEUED, created_at__lt=cutoff
        ).values_list("pk", "job_id")
    )
    # The jobs are read in one pipelined round trip per chunk: one fetch per request
    # took 1.9 s for 10,000 queued requests.
    for start in range(0, len(queued), _REQUEUE_CHUNK):
        chunk = queued[start : start + _REQUEUE_CHUNK]
        job_ids = [job_id for _pk, job_id in chunk if job_id]
        jobs = dict(zip(job_ids, Job.fetch_many(job_ids, connection=connection), strict=True))
        for request_id, job_id in chunk:
            job = jobs.get(job_id)
            if job is not None and job.get_status(refresh=False) in _ALIVE:
                continue
            download_request_enqueue(request_id=request_id)
            requeued += 1
    if requeued:
        log.info("requeued %d download requests", requeued)
    return requeued


def download_request_enqueue(*, request_id: int) -> str:
    """Puts the request's job on the downloads queue, behind the same user's unfinished
    request if there is one: one active download per user."""
    request = DownloadRequest.objects.get(pk=request_id)
    previous = (
        DownloadRequest.objects.filter(
            user_id=request.user_id,
            status__in=[RequestStatus.QUEUED, RequestStatus.RUNNING],
            pk__lt=request.pk,
        )
        .exclude(job_id="")
        .order_by("-pk")
        .values_list("job_id", flat=True)
        .first()
    )
    queue = downloads_queue()
    depends_on = Dependency(jobs=[previous], allow_failure=True) if previous else None
    job = queue.enqueue(
        "downloads.jobs.download_request_run",
        request_id,
        job_id=f"download-{request_id}",
        depends_on=depends_on,
        job_timeout=settings.DOWNLOAD_TIMEOUT_SECONDS + 300,
        failure_ttl=7 * 24 * 3600,
    )
    DownloadRequest.objects.filter(pk=request_id).update(job_id=job.id)
    return job.id


def download_request_move(*, request_id: int, old: str, new: str, **fields) -> bool:
    """Compare-and-set on the status; True when this caller made the move."""
    if new in (RequestStatus.DONE, RequestStatus.FAILED):
        fields.setdefault("finished_at", timezone.now())
    return bool(
        DownloadRequest.objects.filter(pk=request_id, status=old).update(status=new, **fields)
    )
