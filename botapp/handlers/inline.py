"""Inline mode: ``@bot <link>`` in any chat, the chosen result, and "Watch video".

The answer must reach Telegram within 15 s, so nothing is downloaded before it: a
cached video is offered by its file_id (its quota slot and ad decided as it is served;
once chosen, its download is published here); otherwise a placeholder is posted and,
once chosen, a download job uploads to the storage chat and edits it into the video.
"""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from telegram import Update
from telegram.ext import ContextTypes

from analytics.events import InlineQueried, InlineResultChosen, VideoViewClicked
from analytics.publisher import publish
from analytics.vocabulary import ChatKind, ClickType, DownloadSource
from botapp import texts
from botapp.handlers.common import current_user
from downloads import flow, inline, links
from downloads import texts as download_texts
from downloads.cache import acached_file_get
from downloads.policy import DeliveryContext, delivery_plan
from downloads.services import download_request_create

log = logging.getLogger(__name__)

CACHE_SECONDS = 30  # results of a cached video stay right; a placeholder soon is not


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.inline_query
    user = await current_user(update, recent=True)
    language = user.ui_language if user else "en"
    bot_username = context.bot.username
    matches = links.extract_links(query.query or "")
    link = next((m for m in matches if isinstance(m, links.MediaLink)), None)
    publish_inline_queried(query.from_user.id, link.platform if link else "")
    if link is None:
        await query.answer(
            [inline.explanation_result(language, bot_username)], cache_time=CACHE_SECONDS
        )
        return
    fmt = flow.initial_format(user, link, may_ask=False)
    # The plain slot, never the "sent as a file" one: inline results are always videos.
    item = await acached_file_get(media_key=link.media_key, fmt=fmt)
    if item is not None:
        title = item.title or texts.render(language, download_texts.WATCH_VIDEO)
        # Picked, this result is the media itself: the policies' buttons go under it.
        plan = await delivery_plan(
            DeliveryContext(
                user_id=query.from_user.id,
                language=language,
                chat_id=None,
                chat_type=ChatKind.INLINE,
                source=DownloadSource.INLINE,
                media_key=link.media_key,
                fmt=fmt,
                cached=True,
            )
        )
        result = inline.cached_result(
            item, language, link.canonical_url, title, bot_username, plan.media_buttons
        )
    else:
        probed = inline.probed_facts(link.media_key)
        result = inline.placeholder_result(language, link, fmt, bot_username, probed)
    await query.answer([result], cache_time=CACHE_SECONDS, is_personal=True)


async def on_chosen_result(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A result was picked (Telegram reports it only with inline feedback on): a cached
    video is already delivered and counted here, a placeholder becomes a download job."""
    chosen = update.chosen_inline_result
    match = inline.RESULT_ID.match(chosen.result_id or "")
    chosen_link = _chosen_link(chosen.query, match)
    publish_result_chosen(
        chosen.from_user.id, chosen_link, match is None, chosen.inline_message_id or ""
    )
    if match is None:
        if chosen_link is not None and (chosen.result_id or "").startswith(inline.CACHED_PREFIX):
            await _cached_result_chosen(update, chosen_link)
        return  # else the explanation: nothing to deliver
    if not chosen.inline_message_id:
        return
    if await sync_to_async(inline.pick_requested)(chosen.inline_message_id):
        log.info("inline pick %s reported again: its request stands", chosen.inline_message_id)
        return
    link = inline.video_key_decode(match.group(1))
    user = await current_user(update)
    if link is None or user is None:
        return
    if not settings.TELEGRAM_STORAGE_CHAT_ID:
        log.error("inline download impossible: TELEGRAM_STORAGE_CHAT_ID is not set")
        await context.bot.edit_message_text(
            texts.render(user.ui_language, texts.INLINE_NOT_CONFIGURED),
            inline_message_id=chosen.inline_message_id,
        )
        return
    refusal, _unfinished, _position = await sync_to_async(flow.admission)(user.user_id)
    if refusal is not None:  # too many of theirs waiting, or the queue is full
        await context.bot.edit_message_text(
            texts.render(user.ui_language, refusal, limit=settings.MAX_QUEUED_PER_USER),
            inline_message_id=chosen.inline_message_id,
        )
        return
    await sync_to_async(download_request_create)(
        user_id=user.user_id,
        link_platform=link.platform,
        media_key=link.media_key,
        url=link.canonical_url,
        fmt=match.group(2),
        source=DownloadSource.INLINE,
        chat_id=settings.TELEGRAM_STORAGE_CHAT_ID,
        inline_message_id=chosen.inline_message_id,
    )


async def _cached_result_chosen(update: Update, link: links.MediaLink) -> None:
    """Telegram sent the cached video itself: its download is published here, once. Its
    quota slot (and any ad button) was taken when the result was served, by the
    ``delivery_plan`` in ``on_inline_query``; no plan is asked for again."""
    chosen = update.chosen_inline_result
    user = await current_user(update, recent=True)
    if user is None:
        return
    fmt = inline.cached_result_format(chosen.result_id) or flow.initial_format(
        user, link, may_ask=False
    )
    item = await acached_file_get(media_key=link.media_key, fmt=fmt)
    first = await sync_to_async(inline.cached_pick_publish)(
        user_id=user.user_id,
        link=link,
        fmt=fmt,
        item=item,
        inline_message_id=chosen.inline_message_id or "",
    )
    if not first:
        log.info("cached inline pick %s reported again: counted once", chosen.inline_message_id)


async def on_watch_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Watch video" under an inline message: counted, then the deep link into the
    private chat opens (Telegram opens t.me/<bot>?start=... given as the answer's url)."""
    query = update.callback_query
    link = inline.video_key_decode(inline.WATCH_PATTERN.match(query.data).group(1))
    await current_user(update)
    if link is None:
        await query.answer()
        return
    publish_clicked(query.from_user.id, link.media_key, ClickType.BUTTON_CLICK)
    await query.answer(url=inline.watch_url(context.bot.username, link.media_key))


def publish_inline_queried(user_id: int, platform: str) -> None:
    publish(InlineQueried(user_id=user_id, platform=platform))


def publish_clicked(user_id: int, media_key: str, event_type: str) -> None:
    publish(VideoViewClicked(user_id=user_id, video_id=media_key, event_type=event_type))


def _chosen_link(query: str | None, match) -> links.MediaLink | None:
    """The video of a chosen result: in a placeholder's id, else in the query's link (a
    cached result's id holds the file, not the video)."""
    if match is not None:
        return inline.video_key_decode(match.group(1))
    found = links.extract_links(query or "")
    return next((m for m in found if isinstance(m, links.MediaLink)), None)


def publish_result_chosen(
    user_id: int, link: links.MediaLink | None, from_cache: bool, inline_message_id: str
) -> None:
    if link is not None:
        publish(
            InlineResultChosen(
                user_id=user_id,
                video_id=link.media_key,
                platform=link.platform,
                from_cache=from_cache,
                event_id=inline.chosen_event_id(inline_message_id),
            )
        )
