"""The way of one link, from a recognised link to an answer: from the cache (through
the one delivery service), with a quality keyboard, or queued as a download job
(``downloads.jobs`` does the rest). ``botapp``'s handlers call in here."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from redis.exceptions import RedisError
from telegram.constants import ParseMode
from telegram.error import TelegramError

from analytics.events import DownloadFailed
from analytics.publisher import publish
from analytics.vocabulary import DownloadSource
from config.redis import get_redis
from downloads import experiments, keyboards, links, platforms, shortlinks, texts
from downloads.cache import acached_file_get, cache_slot, cached_file_drop
from downloads.delivery import Target, media_deliver
from downloads.media.downloader import probe, too_long
from downloads.media.errors import DownloadError, ErrorCategory
from downloads.models import DownloadRequest, RequestStatus
from downloads.services import download_request_create, download_request_move, downloads_queue
from users.models import BotUser
from users.services import user_set_default_quality

log = logging.getLogger(__name__)

MAX_LINKS_PER_MESSAGE = 5
PROBE_TTL = 3600


@dataclass(frozen=True)
class Origin:
    """Where a request came from and where the answer goes."""

    chat_id: int
    source: str
    reply_to: int | None = None
    language: str = "en"


# --- Recognising ---------------------------------------------------------------------


def refusal_text(user: BotUser, refusal: links.RefusedLink) -> str:
    language = user.ui_language
    if refusal.reason == links.RefusalReason.PLAYLIST_OR_CHANNEL:
        return texts.render(language, texts.ERROR_PLAYLIST)
    if refusal.reason == links.RefusalReason.RESOLUTION_FAILED:
        return texts.render(language, texts.ERROR_REMOVED)
    if refusal.reason == links.RefusalReason.LIVE_STREAM:
        return texts.render(language, texts.ERROR_LIVE_CHANNEL)
    sites = texts.render(language, texts.SUPPORTED_SITES)
    return texts.render(language, texts.ERROR_UNSUPPORTED, sites=sites)


async def recognise(match: links.LinkMatch) -> links.LinkMatch:
    """Short links are resolved over HTTP (once, then remembered)."""
    if (
        isinstance(match, links.RefusedLink)
        and match.reason == links.RefusalReason.NEEDS_RESOLUTION
    ):
        return await asyncio.to_thread(shortlinks.resolve_short_link, match.url)
    return match


# --- Choosing a format ---------------------------------------------------------------


def upload_limit_bytes() -> int:
    return settings.MAX_UPLOAD_MB * 1024 * 1024


def initial_format(user: BotUser, link: links.MediaLink, *, may_ask: bool) -> str | None:
    """The format to fetch: best for Instagram and TikTok; for YouTube the user's default,
    else None to ask them (private chat) or 720p where quality buttons make no sense."""
    spec = platforms.platform_spec(link.platform)
    if spec is None or not spec.offers_qualities:
        return platforms.BEST
    if user.default_quality in platforms.VIDEO_QUALITIES:
        return user.default_quality
    return None if may_ask else platforms.UNASKED_QUALITY


def _probe_cached(link: links.MediaLink) -> dict:
    key = f"probe:{link.media_key}"
    try:
        raw = get_redis().get(key)
        if raw:
            return json.loads(raw)
    except RedisError:
        log.warning("probe cache: Redis unavailable")
    info = probe(link.canonical_url)
    data = {
        "title": info.title,
        "duration": info.duration,
        "thumbnail": info.thumbnail_url or "",
        "offers": [(f.quality, f.size) for f in info.formats],
    }
    with contextlib.suppress(RedisError):
        get_redis().set(key, json.dumps(data), ex=PROBE_TTL)
    return data


def offers_that_fit(offers: list[tuple[str, int | None]]) -> list[tuple[str, int | None]]:
    """Qualities whose known size fits the upload limit, in the order users expect."""
    limit = upload_limit_bytes()
    order = {
        q: i
        for i, q in enumerate((*platforms.VIDEO_QUALITIES, platforms.AUDIO, platforms.AUDIO_MP3))
    }
    fitting = [(q, s) for q, s in offers if q in order and (s is None or s <= limit)]
    return sorted(fitting, key=lambda offer: order[offer[0]])


# --- Delivering --------------------------------------------------------------------------


async def deliver_link(bot, user: BotUser, link: links.MediaLink, origin: Origin) -> None:
    """Answer one recognised link: from the cache, with a quality keyboard, or queued."""
    fmt = initial_format(user, link, may_ask=origin.source == DownloadSource.MESSAGE)
    if fmt is None:
        await offer_qualities(bot, user, link, origin)
        return
    await deliver_format(bot, user, link, fmt, origin)


async def deliver_format(
    bot,
    user: BotUser,
    link: links.MediaLink,
    fmt: str,
    origin: Origin,
    message_id: int | None = None,
) -> None:
    if await send_from_cache(bot, user, link.media_key, fmt, link.canonical_url, origin):
        if message_id:
            await delete_quietly(bot, origin.chat_id, message_id)
        return
    await queue_download(bot, user, link, fmt, origin, message_id=message_id)


async def send_from_cache(
    bot, user: BotUser, media_key: str, fmt: str, url: str, origin: Origin
) -> bool:
    """A cache hit, delivered; False when there is none (or Telegram rejected it). A
    "send as file" user is answered from the format's file slot only: a miss there is a
    download sent as a document, never the video's file_id through sendDocument."""
    slot = cache_slot(fmt, as_file=user.wants_file)
    item = await acached_file_get(media_key=media_key, fmt=slot)
    if item is None:
        return False
    target = Target(
        user=user,
        media_key=media_key,
        fmt=fmt,
        url=url,
        source=origin.source,
        chat_id=origin.chat_id,
        reply_to=origin.reply_to,
    )
    delivered = await media_deliver(
        bot,
        target,
        item=item,
        cached=True,
        reply_markup=after_delivery_keyboard(user.ui_language, media_key, fmt, origin),
    )
    if delivered is None:
        await sync_to_async(cached_file_drop)(media_key=media_key, fmt=slot, file_id=item.file_id)
        return False
    return True


def after_delivery_keyboard(language: str, media_key: str, fmt: str, origin: Origin):
    """Instagram and TikTok videos arrive in the best format, with "audio only" after."""
    if fmt != platforms.BEST or origin.source == DownloadSource.GROUP:
        return None
    return keyboards.after_video_keyboard(language, media_key)


def _queue_position() -> int:
    try:
        return downloads_queue().count + 1
    except RedisError:
        return 1


UNFINISHED = (RequestStatus.QUEUED, RequestStatus.RUNNING, RequestStatus.WAITING_SHARED)


def admission(user_id: int) -> tuple[str | None, int, int]:
    """(refusal text or None, the user's unfinished requests, the queue position), in
    one thread hop."""
    unfinished = DownloadRequest.objects.filter(user_id=user_id, status__in=UNFINISHED).count()
    if unfinished >= settings.MAX_QUEUED_PER_USER:
        return texts.ERROR_TOO_MANY_QUEUED, unfinished, 0
    if unfinished:  # behind their own request: no position shown, the queue not counted
        return None, unfinished, 0
    position = _queue_position()
    if position > settings.DOWNLOADS_QUEUE_MAX:
        return texts.ERROR_BUSY, unfinished, position
    return None, unfinished, position


async def queue_download(
    bot,
    user: BotUser,
    link: links.MediaLink,
    fmt: str,
    origin: Origin,
    message_id: int | None = None,
) -> None:
    language = user.ui_language
    refusal, unfinished, position = await sync_to_async(admission)(user.user_id)
    if refusal is not None:
        text = texts.render(language, refusal, limit=settings.MAX_QUEUED_PER_USER)
    elif unfinished:
        text = texts.render(language, texts.QUEUED_BEHIND_OWN)
    else:
        text = texts.render(language, texts.QUEUED, position=position)
    if message_id:
        await bot.edit_message_text(text, chat_id=origin.chat_id, message_id=message_id)
    else:
        sent = await bot.send_message(
            origin.chat_id,
            text,
            reply_to_message_id=origin.reply_to,
            allow_sending_without_reply=True,
        )
        message_id = sent.message_id
    if refusal is not None:
        return
    await sync_to_async(download_request_create)(
        user_id=user.user_id,
        link_platform=link.platform,
        media_key=link.media_key,
        url=link.canonical_url,
        fmt=fmt,
        source=origin.source,
        chat_id=origin.chat_id,
        reply_to_message_id=origin.reply_to,
        progress_message_id=message_id,
    )


async def offer_qualities(bot, user: BotUser, link: links.MediaLink, origin: Origin) -> None:
    language = user.ui_language
    looking = await bot.send_message(
        origin.chat_id,
        texts.render(language, texts.LOOKING_UP),
        reply_to_message_id=origin.reply_to,
        allow_sending_without_reply=True,
    )
    try:
        probed = await asyncio.to_thread(_probe_cached, link)
        if too_long(probed["duration"]):
            raise DownloadError(ErrorCategory.TOO_LONG, "longer than MAX_DURATION_SECONDS")
    except DownloadError as error:
        await bot.edit_message_text(
            error_text(language, error.category),
            chat_id=origin.chat_id,
            message_id=looking.message_id,
            parse_mode=ParseMode.HTML,
        )
        publish_failed(user.user_id, link, error.category)
        return
    offers = offers_that_fit(probed["offers"])
    if not offers:
        text = texts.render(language, texts.ERROR_TOO_LARGE_NO_CHOICE, limit=settings.MAX_UPLOAD_MB)
        await bot.edit_message_text(text, chat_id=origin.chat_id, message_id=looking.message_id)
        return
    request = await sync_to_async(download_request_create)(
        user_id=user.user_id,
        link_platform=link.platform,
        media_key=link.media_key,
        url=link.canonical_url,
        fmt="",
        source=origin.source,
        chat_id=origin.chat_id,
        reply_to_message_id=origin.reply_to,
        progress_message_id=looking.message_id,
        status=RequestStatus.CHOOSING,
    )
    variant = await experiments.ui_variant(user.user_id)
    await bot.edit_message_text(
        texts.render(
            language, texts.CHOOSE_QUALITY, title=texts.safe(probed["title"] or link.media_key)
        ),
        chat_id=origin.chat_id,
        message_id=looking.message_id,
        parse_mode=ParseMode.HTML,
        reply_markup=keyboards.quality_keyboard(
            language, request.pk, offers, **experiments.quality_style(variant)
        ),
    )
    experiments.quality_buttons_shown(user.user_id, variant)


async def quality_chosen(bot, user: BotUser, request_id: int, quality: str) -> str | None:
    """A quality button was pressed. Returns an error text for the button's toast, or None."""
    request = await DownloadRequest.objects.filter(pk=request_id).afirst()
    if request is None or request.status != RequestStatus.CHOOSING:
        return texts.render(user.ui_language, texts.ERROR_BUTTON_EXPIRED)
    if request.user_id != user.user_id:
        return texts.render(user.ui_language, texts.ERROR_NOT_YOUR_BUTTON)
    moved = await sync_to_async(download_request_move)(
        request_id=request_id, old=RequestStatus.CHOOSING, new=RequestStatus.DONE, format=quality
    )
    if not moved:
        return texts.render(user.ui_language, texts.ERROR_BUTTON_EXPIRED)
    if quality in platforms.VIDEO_QUALITIES:
        await sync_to_async(user_set_default_quality)(user_id=user.user_id, quality=quality)
        user.default_quality = quality
    link = links.MediaLink(
        platform=request.platform,
        media_key=request.media_key,
        canonical_url=request.url,
        original_url=request.url,
        video_id=request.media_key.split(":", 1)[1],
    )
    origin = Origin(
        chat_id=request.chat_id,
        source=request.source,
        reply_to=request.reply_to_message_id,
        language=user.ui_language,
    )
    await deliver_format(bot, user, link, quality, origin, message_id=request.progress_message_id)
    return None


# --- Failures ------------------------------------------------------------------------


def error_text(language: str, category: str) -> str:
    messages = {
        ErrorCategory.UNSUPPORTED: texts.ERROR_UNSUPPORTED,
        ErrorCategory.PRIVATE: texts.ERROR_PRIVATE,
        ErrorCategory.REMOVED: texts.ERROR_REMOVED,
        ErrorCategory.SIGN_IN_REQUIRED: texts.ERROR_SIGN_IN,
        ErrorCategory.REGION_BLOCKED: texts.ERROR_REGION,
        ErrorCategory.LIVE_STREAM: texts.ERROR_LIVE,
        ErrorCategory.TOO_LARGE: texts.ERROR_TOO_LARGE,
        ErrorCategory.TOO_LONG: texts.ERROR_TOO_LONG,
        ErrorCategory.RATE_LIMITED: texts.ERROR_RATE_LIMITED,
        ErrorCategory.BOT_CHECK: texts.ERROR_BOT_CHECK,
        ErrorCategory.TIMEOUT: texts.ERROR_TIMEOUT,
    }
    text = messages.get(category, texts.ERROR_INTERNAL)
    return texts.render(
        language,
        text,
        limit=settings.MAX_UPLOAD_MB,
        sites=texts.render(language, texts.SUPPORTED_SITES),
        minutes=settings.MAX_DURATION_SECONDS // 60,
    )


def publish_failed(user_id: int, link: links.MediaLink, category: str) -> None:
    publish(
        DownloadFailed(
            user_id=user_id, url=link.canonical_url, platform=link.platform, reason=str(category)
        )
    )


async def delete_quietly(bot, chat_id: int, message_id: int) -> None:
    try:
        await bot.delete_message(chat_id, message_id)
    except TelegramError:
        log.info("could not delete message %s in %s", message_id, chat_id)
