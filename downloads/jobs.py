"""Download jobs (the ``downloads`` queue): fetch with yt-dlp, upload, remember the
file_id, and deliver to everyone who asked for the same media meanwhile.

A job takes a request id. Its status moves by compare-and-set, so a retried or
duplicated job never delivers twice. One fetch per (media key, format) at a time: the
first job holds a Redis lock and downloads; the others park their request as
``waiting_shared`` and the fetcher delivers to them from the new file_id.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from redis.exceptions import RedisError
from telegram import InputFile
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from analytics.vocabulary import MediaKind
from config.redis import get_redis
from downloads import flow, inline, keyboards, links, platforms, texts
from downloads.bots import bot_open
from downloads.cache import CachedFile, acached_file_get, cache_slot, cached_file_store
from downloads.delivery import (
    Target,
    caption,
    file_from_message,
    is_blocked_by_user,
    media_deliver,
)
from downloads.media.downloader import download, sweep_stale_downloads
from downloads.media.errors import DownloadError, ErrorCategory
from downloads.models import DownloadRequest, RequestStatus
from downloads.services import download_request_enqueue, download_request_move
from users.models import BotUser
from users.services import user_mark_blocked

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 3.0


def download_request_run(request_id: int) -> None:
    sweep_stale_downloads()  # what a killed worker left behind
    asyncio.run(_run(request_id))


async def _run(request_id: int) -> None:
    if not await sync_to_async(download_request_move)(
        request_id=request_id, old=RequestStatus.QUEUED, new=RequestStatus.RUNNING
    ):
        return  # delivered or taken by another worker already
    request = await DownloadRequest.objects.select_related("user").aget(pk=request_id)
    async with bot_open() as bot:
        await Job(bot, request).run()


class Job:
    def __init__(self, bot, request: DownloadRequest) -> None:
        self.bot = bot
        self.request = request
        self.user = request.user
        self.language = request.user.ui_language
        # One fetch per cache slot: a video and the same video sent as a file are two
        # uploads, so neither waits for the other.
        self.lock_key = f"fetch:{request.media_key}:{slot_of(request)}"
        self.blocked: set[int] = set()  # users whose 403 this job has seen

    async def run(self) -> None:
        try:
            if await self.closed_chat(self.request):
                await self.drop(self.request)
                return
            if await self.deliver_from_cache(self.request):
                return
            if not self.take_fetch_lock():
                await self.wait_for_shared_fetch()
                return
            try:
                await self.fetch_and_deliver()
            finally:
                self.release_fetch_lock()
            await self.serve_waiting()
        except Exception:
            log.exception("download request %s failed unexpectedly", self.request.pk)
            await self.fail(self.request, ErrorCategory.INTERNAL)

    # --- users who blocked the bot ------------------------------------------------

    async def closed_chat(self, request: DownloadRequest) -> bool:
        """Whether the request's private chat is closed because its user blocked the bot:
        after the first 403 nothing more is sent there until they write again. Groups and
        inline messages are other people's chats and stay open."""
        if request.chat_id != request.user_id:
            return False
        if request.user_id in self.blocked:
            return True
        if await BotUser.objects.filter(pk=request.user_id, is_blocked=True).aexists():
            self.blocked.add(request.user_id)
            return True
        return False

    async def forbidden(self, request: DownloadRequest, error: Forbidden) -> None:
        """Record a 403; the request is over, with nothing more sent to that chat."""
        if not is_blocked_by_user(error):  # kicked from the group, chat deactivated
            log.info("request %s: chat %s is closed: %s", request.pk, request.chat_id, error)
            await self.drop(request, reason="forbidden")
            return
        self.blocked.add(request.user_id)
        await sync_to_async(user_mark_blocked)(user_id=request.user_id)
        await self.drop(request)

    async def drop(self, request: DownloadRequest, *, reason: str = "blocked") -> None:
        """The request ends without a word: there is nobody to tell."""
        await sync_to_async(download_request_move)(
            request_id=request.pk, old=RequestStatus.RUNNING, new=RequestStatus.FAILED, error=reason
        )

    # --- one fetch per media ------------------------------------------------------

    def take_fetch_lock(self) -> bool:
        ttl = settings.DOWNLOAD_TIMEOUT_SECONDS + 120  # a killed worker's lock expires
        try:
            return bool(get_redis().set(self.lock_key, self.request.pk, nx=True, ex=ttl))
        except RedisError:
            log.warning("fetch lock: Redis unavailable, downloading without sharing")
            return True

    def release_fetch_lock(self) -> None:
        try:
            if get_redis().get(self.lock_key) == str(self.request.pk).encode():
                get_redis().delete(self.lock_key)
        except RedisError:
            pass

    def fetch_running(self) -> bool:
        try:
            return bool(get_redis().exists(self.lock_key))
        except RedisError:
            return False

    async def wait_for_shared_fetch(self) -> None:
        """Park this request; the fetcher delivers it. If the fetcher finished in the
        meantime, take the request back and deliver it here."""
        await self.edit_progress(self.request, texts.WAITING_SHARED)
        await sync_to_async(download_request_move)(
            request_id=self.request.pk, old=RequestStatus.RUNNING, new=RequestStatus.WAITING_SHARED
        )
        if not self.fetch_running():
            await self.serve_waiting()

    async def claim_waiting(self) -> list[DownloadRequest]:
        """The requests parked on this media, each moved to running by this job."""
        waiting = await sync_to_async(list)(
            DownloadRequest.objects.select_related("user").filter(
                media_key=self.request.media_key,
                format=self.request.format,
                status=RequestStatus.WAITING_SHARED,
            )
        )
        claimed = []
        for request in waiting:
            if await sync_to_async(download_request_move)(
                request_id=request.pk, old=RequestStatus.WAITING_SHARED, new=RequestStatus.RUNNING
            ):
                claimed.append(request)
        return claimed

    async def serve_waiting(self) -> None:
        for request in await self.claim_waiting():
            if not await self.deliver_from_cache(request):
                # The fetch failed; the request goes back to the queue for a new try.
                await sync_to_async(download_request_move)(
                    request_id=request.pk, old=RequestStatus.RUNNING, new=RequestStatus.QUEUED
                )
                await sync_to_async(download_request_enqueue)(request_id=request.pk)

    # --- delivering ---------------------------------------------------------------

    async def deliver_from_cache(self, request: DownloadRequest) -> bool:
        """True when the request is settled: delivered, or dropped for a closed chat."""
        item = await acached_file_get(media_key=request.media_key, fmt=slot_of(request))
        if item is None:
            return False
        if request.inline_message_id:
            return await self.deliver_inline(request, item, cached=True)
        if await self.closed_chat(request):
            await self.drop(request)
            return True
        origin = flow.Origin(
            chat_id=request.chat_id,
            source=request.source,
            reply_to=request.reply_to_message_id,
            language=request.user.ui_language,
        )
        try:
            delivered = await flow.send_from_cache(
                self.bot, request.user, request.media_key, request.format, request.url, origin
            )
        except Forbidden as error:
            await self.forbidden(request, error)
            return True
        if not delivered:
            return False
        await self.finish(request, progress_done=True)
        return True

    async def fetch_and_deliver(self) -> None:
        request = self.request
        reporter = ProgressReporter(self, request)
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int | None, speed: float | None, phase: str) -> None:
            loop.call_soon_threadsafe(reporter.update, done, total, speed, phase)

        try:
            media = await asyncio.to_thread(
                download,
                request.url,
                quality=request.format,
                max_bytes=flow.upload_limit_bytes(),
                progress=progress,
                timeout=settings.DOWNLOAD_TIMEOUT_SECONDS,
            )
        except DownloadError as error:
            await self.fail(request, error.category)
            return
        stored = None
        try:
            await reporter.flush_phase("uploading")
            if await self.closed_chat(request):
                await self.drop(request)  # requests waiting for this media fetch again
                return
            if request.inline_message_id:
                stored = await self.upload_for_file_id(request, media)
            else:
                await media_deliver(
                    self.bot,
                    target_of(request),
                    upload=functools.partial(self.upload, request, media),
                    cached=False,
                    reply_markup=self.media_keyboard(request),
                    title=media.title,
                )
        except Forbidden as error:
            await self.forbidden(request, error)
            return
        finally:
            await asyncio.to_thread(media.close)  # the temporary files go, whatever happened
        if stored is not None:
            # Uploaded to the storage chat for a file_id; now the inline message gets it.
            await self.deliver_inline(request, stored, cached=False)
            return
        await self.finish(request, progress_done=True)

    async def upload_for_file_id(self, request: DownloadRequest, media) -> CachedFile:
        """An inline request's file goes to the storage chat first: an inline message
        can only be edited into media Telegram already holds. Not a delivery yet."""
        message = await self.upload(request, media, self.media_keyboard(request))
        item = file_from_message(
            message, media_key=request.media_key, fmt=request.format, title=media.title
        )
        await sync_to_async(cached_file_store)(item)
        return item

    def media_keyboard(self, request: DownloadRequest):
        return flow.after_delivery_keyboard(
            self.language,
            request.media_key,
            request.format,
            flow.Origin(chat_id=request.chat_id, source=request.source),
        )

    async def deliver_inline(
        self, request: DownloadRequest, item: CachedFile, *, cached: bool
    ) -> bool:
        """Turn an inline placeholder message into the video."""
        try:
            await media_deliver(
                self.bot,
                target_of(request),
                item=item,
                cached=cached,
                # An edit without a keyboard drops it; the others in that chat keep
                # their way to the video in a chat with the bot.
                reply_markup=inline.watch_keyboard(
                    self.language, request.media_key, self.bot.username
                ),
            )
        except BadRequest as error:
            log.warning("inline message %s not updated: %s", request.inline_message_id, error)
            await self.fail(request, ErrorCategory.INTERNAL)
            return False
        await self.finish(request, progress_done=False)
        return True

    async def upload(self, request: DownloadRequest, media, reply_markup) -> object:
        await self._chat_action(request, media)
        duration = round(media.duration) if media.duration else None
        thumbnail = InputFile(media.thumbnail, filename="thumb.jpg") if media.thumbnail else None
        document = media.open()
        common = {
            "chat_id": request.chat_id,
            "caption": caption(self.language, media.title, request.url),
            "parse_mode": ParseMode.HTML,
            "reply_to_message_id": request.reply_to_message_id,
            "allow_sending_without_reply": True,
            "reply_markup": reply_markup,
            "read_timeout": 600,
            "write_timeout": 600,
        }
        if media.kind == MediaKind.AUDIO:
            return await self.bot.send_audio(
                audio=InputFile(document, filename=media.filename),
                duration=duration,
                title=media.title[:64] or None,
                thumbnail=thumbnail,
                **common,
            )
        if sends_as_file(request):
            return await self.bot.send_document(
                document=InputFile(document, filename=media.filename), thumbnail=thumbnail, **common
            )
        return await self.bot.send_video(
            video=InputFile(document, filename=media.filename),
            duration=duration,
            width=media.width,
            height=media.height,
            supports_streaming=True,
            thumbnail=thumbnail,
            **common,
        )

    async def _chat_action(self, request: DownloadRequest, media) -> None:
        action = (
            ChatAction.UPLOAD_VOICE if media.kind == MediaKind.AUDIO else ChatAction.UPLOAD_VIDEO
        )
        try:
            await self.bot.send_chat_action(request.chat_id, action)
        except Forbidden:
            raise  # the upload would be refused the same way
        except TelegramError as error:
            log.info("chat action for request %s: %s", request.pk, error)

    async def finish(self, request: DownloadRequest, *, progress_done: bool) -> None:
        await sync_to_async(download_request_move)(
            request_id=request.pk, old=RequestStatus.RUNNING, new=RequestStatus.DONE
        )
        if progress_done and request.progress_message_id and not await self.closed_chat(request):
            await flow.delete_quietly(self.bot, request.chat_id, request.progress_message_id)

    async def fail(self, request: DownloadRequest, category: str) -> None:
        moved = await sync_to_async(download_request_move)(
            request_id=request.pk,
            old=RequestStatus.RUNNING,
            new=RequestStatus.FAILED,
            error=str(category)[:32],
        )
        if not moved:
            return
        link = links.link_for_key(request.media_key)
        if link:
            flow.publish_failed(request.user_id, link, category)
        markup = None
        if category == ErrorCategory.TOO_LARGE:
            markup = keyboards.too_large_keyboard(
                self.language, request.media_key, lower_quality(request.format)
            )
        await self.edit_progress(
            request, None, text=flow.error_text(self.language, category), markup=markup
        )
        await self.fail_waiting(category)

    async def fail_waiting(self, category: str) -> None:
        for request in await self.claim_waiting():
            await Job(self.bot, request).fail(request, category)

    async def edit_progress(
        self, request: DownloadRequest, template, *, markup=None, text: str = "", **values
    ) -> None:
        if await self.closed_chat(request):
            return
        rendered = text or texts.render(self.language, template, **values)
        try:
            if request.inline_message_id:
                await self.bot.edit_message_text(
                    rendered,
                    inline_message_id=request.inline_message_id,
                    parse_mode=ParseMode.HTML,
                )
            elif request.progress_message_id:
                await self.bot.edit_message_text(
                    rendered,
                    chat_id=request.chat_id,
                    message_id=request.progress_message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            else:
                sent = await self.bot.send_message(
                    request.chat_id,
                    rendered,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    reply_to_message_id=request.reply_to_message_id,
                    allow_sending_without_reply=True,
                )
                request.progress_message_id = sent.message_id
        except Forbidden as error:
            if is_blocked_by_user(error):
                self.blocked.add(request.user_id)
                await sync_to_async(user_mark_blocked)(user_id=request.user_id)
        except BadRequest as error:
            if "not modified" not in str(error):
                log.info("progress message for request %s: %s", request.pk, error)


def target_of(request: DownloadRequest) -> Target:
    """Where a request's media goes: its chat, or its inline message."""
    return Target(
        user=request.user,
        media_key=request.media_key,
        fmt=request.format,
        url=request.url,
        source=request.source,
        chat_id=request.chat_id,
        reply_to=request.reply_to_message_id,
        inline_message_id=request.inline_message_id,
    )


def sends_as_file(request: DownloadRequest) -> bool:
    """A "send as file" user's video goes as a document, except into an inline message:
    Telegram edits one only into a video (or audio), so there it is always a video."""
    return request.user.wants_file and not request.inline_message_id


def slot_of(request: DownloadRequest) -> str:
    """The cache slot that answers the request (see ``downloads.cache.cache_slot``)."""
    return cache_slot(request.format, as_file=sends_as_file(request))


def lower_quality(fmt: str) -> str | None:
    qualities = platforms.VIDEO_QUALITIES
    if fmt in qualities and qualities.index(fmt) > 0:
        return qualities[qualities.index(fmt) - 1]
    return None


class ProgressReporter:
    """One progress message, edited at most every few seconds."""

    def __init__(self, job: Job, request: DownloadRequest) -> None:
        self.job = job
        self.request = request
        self.last_edit = 0.0
        self.phase = ""
        self.pending: asyncio.Task | None = None

    def update(self, done: int, total: int | None, speed: float | None, phase: str) -> None:
        now = time.monotonic()
        if phase == self.phase and now - self.last_edit < PROGRESS_EVERY_SECONDS:
            return
        if self.pending and not self.pending.done():
            return
        self.phase, self.last_edit = phase, now
        self.pending = asyncio.ensure_future(self._edit(done, total, speed, phase))

    async def flush_phase(self, phase: str) -> None:
        if self.pending and not self.pending.done():
            await self.pending
        self.phase, self.last_edit = phase, time.monotonic()
        await self.job.edit_progress(self.request, texts.UPLOADING)

    async def _edit(self, done: int, total: int | None, speed: float | None, phase: str) -> None:
        speed_text = f"{keyboards.human_size(int(speed or 0)) or '0 B'}/s"
        if phase == "processing":
            await self.job.edit_progress(self.request, texts.PROCESSING)
        elif total:
            percent = min(100, int(done * 100 / total))
            await self.job.edit_progress(
                self.request, texts.DOWNLOADING, percent=percent, speed=speed_text
            )
        else:
            done_text = keyboards.human_size(done) or "0 B"
            await self.job.edit_progress(
                self.request, texts.DOWNLOADING_NO_TOTAL, done=done_text, speed=speed_text
            )
