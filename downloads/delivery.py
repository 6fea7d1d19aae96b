"""The ONE delivery service: every video or audio that reaches a user ends here.

``media_deliver`` is called for a cache hit (``flow``), a fresh download (``jobs``), in
a private chat, a group, an inline message or after a deep link. In that order it:

1. builds a ``DeliveryContext`` and awaits the policies' plan (``policy.delivery_plan``);
2. sends the media (a stored file_id, or a fresh upload) or edits an inline message
   into it, with the plan's ``media_buttons`` under it on the inline surface;
3. records it (a fresh upload's file_id goes into the cache);
4. publishes ``DownloadCompleted``, exactly once;
5. runs the plan's ``on_media_sent`` callbacks;
6. sends the plan's follow-up messages, calling each one's ``on_sent``/``on_failed``.

Policies and follow-ups can never stop the media: their failures are logged. With no
policy registered the plan is empty and a delivery is exactly the media.

One delivery is Telegram's own: a cached inline result, once picked, is sent by
Telegram without a call from the bot. Its policies were asked when the result was
served (``botapp.handlers.inline``), and its ``DownloadCompleted`` goes out through
``publish_completed`` when Telegram reports the pick (``inline.cached_pick_publish``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaAudio,
    InputMediaVideo,
    Message,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from analytics.events import DownloadCompleted
from analytics.publisher import publish
from analytics.vocabulary import ChatKind, DownloadSource, MediaKind
from config.bot_api import api_call
from downloads import texts
from downloads.cache import CachedFile, cache_slot, cached_file_store
from downloads.platforms import platform_of_media_key
from downloads.policy import DeliveryContext, DeliveryPlan, FollowUp, UrlButton, delivery_plan
from users.models import BotUser

log = logging.getLogger(__name__)

CAPTION_LIMIT = 1024

# A fresh upload: given the reply markup, sends the file and returns Telegram's message.
Upload = Callable[[InlineKeyboardMarkup | None], Awaitable[Message]]
# The keyboard under the media, given the policies' media buttons (inline surface).
Markup = InlineKeyboardMarkup | None


@dataclass(frozen=True)
class Target:
    """Who gets the media and where: a chat (``chat_id``) or an inline message."""

    user: BotUser
    media_key: str
    fmt: str
    url: str
    source: str  # a DownloadSource value
    chat_id: int | None = None
    reply_to: int | None = None
    inline_message_id: str = ""

    @property
    def chat_type(self) -> str:
        if self.inline_message_id:
            return ChatKind.INLINE
        if self.source == DownloadSource.GROUP:
            return ChatKind.GROUP
        return ChatKind.PRIVATE

    def context(self, *, cached: bool) -> DeliveryContext:
        return DeliveryContext(
            user_id=self.user.user_id,
            language=self.user.ui_language,
            chat_id=None if self.inline_message_id else self.chat_id,
            chat_type=self.chat_type,
            source=self.source,
            media_key=self.media_key,
            fmt=self.fmt,
            cached=cached,
        )


async def media_deliver(
    bot,
    target: Target,
    *,
    item: CachedFile | None = None,
    upload: Upload | None = None,
    cached: bool,
    reply_markup: Markup = None,
    title: str = "",
) -> CachedFile | None:
    """Deliver one piece of media (see the module docstring for the steps).

    Exactly one of ``item`` (a stored file_id) and ``upload`` (a fresh file, titled
    ``title``) is given;
    ``cached`` says whether the answer came from the cache. Returns what Telegram now
    holds, or None when it rejected a stored file_id (nothing was delivered; the caller
    drops it and downloads). Telegram errors of the media itself (403, a failed inline
    edit) propagate to the caller, which knows the request they belong to.
    """
    plan = await delivery_plan(target.context(cached=cached))
    if target.inline_message_id:
        delivered = await _inline_edit(bot, target, item, reply_markup, plan.media_buttons)
    elif upload is not None:
        message = await upload(reply_markup)
        delivered = file_from_message(
            message, media_key=target.media_key, fmt=target.fmt, title=title
        )
        await sync_to_async(cached_file_store)(delivered)
    else:
        message = await send_cached(
            bot,
            item,
            chat_id=target.chat_id,
            language=target.user.ui_language,
            url=target.url,
            reply_to=target.reply_to,
            reply_markup=reply_markup,
        )
        if message is None:
            return None
        delivered = item
    publish_completed(
        user_id=target.user.user_id,
        media_key=target.media_key,
        source=target.source,
        fmt=target.fmt,
        url=target.url,
        item=delivered,
        from_cache=cached,
    )
    _run_callbacks(plan)
    await _follow_ups_send(bot, target, plan.follow_ups)
    return delivered


async def _inline_edit(
    bot, target: Target, item: CachedFile, markup: Markup, buttons: list[UrlButton]
) -> CachedFile:
    """Turn an inline placeholder message into the media (Telegram accepts only a
    file_id there, hence a fresh download is uploaded to the storage chat first)."""
    media_class = InputMediaAudio if item.kind == MediaKind.AUDIO else InputMediaVideo
    text = caption(target.user.ui_language, item.title, target.url)
    await bot.edit_message_media(
        media=media_class(item.file_id, caption=text, parse_mode=ParseMode.HTML),
        inline_message_id=target.inline_message_id,
        reply_markup=markup_with_buttons(markup, buttons),
    )
    return item


def markup_with_buttons(markup: Markup, buttons: list[UrlButton]) -> Markup:
    """The keyboard under inline media: the bot's own rows, then one row per button."""
    if not buttons:
        return markup
    rows = [list(row) for row in markup.inline_keyboard] if markup else []
    rows.extend([InlineKeyboardButton(button.text, url=button.url)] for button in buttons)
    return InlineKeyboardMarkup(rows)


def _keyboard(buttons: list[UrlButton]) -> dict[str, Any] | None:
    """One URL button a row, as the Bot API takes it (no Telegram objects built for a
    message nothing reads back)."""
    if not buttons:
        return None
    return {"inline_keyboard": [[{"text": b.text, "url": b.url}] for b in buttons]}


def publish_completed(
    *,
    user_id: int,
    media_key: str,
    source: str,
    fmt: str,
    url: str,
    item: CachedFile | None,
    from_cache: bool,
    event_id: uuid.UUID | None = None,
    occurred_at: dt.datetime | None = None,
) -> None:
    """Publish the ``DownloadCompleted`` of one delivery; ``item`` (what was sent, when
    known) gives the title and duration. ``event_id`` and ``occurred_at`` (new ones by
    default) let a delivery that may be reported twice publish the same event again: the
    worker stores and counts an event id and time once, however often it arrives."""
    identity = {"event_id": event_id, "occurred_at": occurred_at}
    identity = {name: value for name, value in identity.items() if value is not None}
    publish(
        DownloadCompleted(
            user_id=user_id,
            video_id=media_key,
            platform=platform_of_media_key(media_key),
            source=source,
            format=fmt,
            from_cache=from_cache,
            title=(item.title if item else "") or "",
            url=url or "",
            duration=item.duration if item else None,
            **identity,
        )
    )


def _run_callbacks(plan: DeliveryPlan) -> None:
    for callback in plan.on_media_sent:
        try:
            callback()
        except Exception:
            log.exception("on_media_sent callback %r failed", callback)


async def _follow_ups_send(bot, target: Target, follow_ups: list[FollowUp]) -> None:
    """Messages after the media, in order. There is no chat after an inline message,
    so there they are not sent (a policy offers ``media_buttons`` there instead)."""
    if target.inline_message_id or target.chat_id is None:
        return
    for follow_up in follow_ups:
        try:
            # The raw call: nothing reads the sent message back, and turning Telegram's
            # answer into a Message object was 60% of the bot's CPU for a follow-up.
            await api_call(
                bot,
                "sendMessage",
                {
                    "chat_id": target.chat_id,
                    "text": follow_up.text,
                    "parse_mode": ParseMode.HTML,
                    "reply_markup": _keyboard(follow_up.buttons),
                    "link_preview_options": {"is_disabled": True},
                },
            )
        except Exception as error:
            log.warning("follow-up to chat %s failed: %s", target.chat_id, error)
            _call_quietly(follow_up.on_failed, error)
            if isinstance(error, Forbidden):
                return  # the chat is closed: the next follow-ups would fail the same way
            continue
        _call_quietly(follow_up.on_sent)


def _call_quietly(callback: Callable[..., None] | None, *args: Any) -> None:
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:
        log.exception("follow-up callback %r failed", callback)


# --- Sending by file_id -------------------------------------------------------------


def caption(language: str, title: str, url: str) -> str:
    """Title and source link, within Telegram's 1024 characters (counted as displayed)."""
    link = f'<a href="{texts.safe(url)}">{texts.render(language, texts.SOURCE_LINK)}</a>'
    visible_link = len(texts.render(language, texts.SOURCE_LINK))
    room = CAPTION_LIMIT - visible_link - 2
    title = title.strip()
    if len(title) > room:
        title = title[: room - 1].rstrip() + "…"
    return f"<b>{texts.safe(title)}</b>\n{link}" if title else link


def is_rejected_file_id(error: BadRequest) -> bool:
    message = str(error).lower()
    return (
        "wrong file identifier" in message
        or "file reference" in message
        or ("wrong remote file" in message)
    )


def is_blocked_by_user(error: BaseException) -> bool:
    """A 403 that heals only when the user writes again (not a kick from a group)."""
    return isinstance(error, Forbidden) and "blocked by the user" in str(error).lower()


def send_kwargs(item: CachedFile) -> tuple[str, dict[str, Any]]:
    """The Bot API method and its media arguments for a stored file_id: the method of its
    kind, as Telegram refuses a file_id of another kind ("type of file mismatch"). A
    user's "send as file" picks the cache slot, not the method (``cache.cache_slot``)."""
    if item.kind == MediaKind.AUDIO:
        return "sendAudio", _present({"audio": item.file_id, "duration": item.duration})
    if item.kind == MediaKind.DOCUMENT:
        return "sendDocument", {"document": item.file_id}
    return "sendVideo", _present(
        {
            "video": item.file_id,
            "duration": item.duration,
            "width": item.width,
            "height": item.height,
            "supports_streaming": True,
        }
    )


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


async def send_cached(
    bot,
    item: CachedFile,
    *,
    chat_id: int,
    language: str,
    url: str,
    reply_to: int | None = None,
    reply_markup=None,
) -> dict[str, Any] | None:
    """Re-send a stored file_id: Telegram's answer (the sent message, as JSON), or None
    when Telegram rejects the file_id (the caller downloads).

    The raw call (``config.bot_api``), because nothing reads the sent message back:
    turning Telegram's answer into a ``Message`` object was a sixth of the bot's CPU for
    a cache hit."""
    method, media = send_kwargs(item)
    arguments: dict[str, Any] = {
        "chat_id": chat_id,
        "caption": caption(language, item.title, url),
        "parse_mode": ParseMode.HTML,
        **media,
    }
    if reply_to is not None:
        arguments["reply_parameters"] = {
            "message_id": reply_to,
            "allow_sending_without_reply": True,
        }
    if reply_markup is not None:
        arguments["reply_markup"] = reply_markup
    try:
        return await api_call(bot, method, arguments)
    except BadRequest as error:
        if is_rejected_file_id(error):
            log.warning("Telegram rejected cached %s [%s]: %s", item.media_key, item.format, error)
            return None
        raise


def file_from_message(message: Message, *, media_key: str, fmt: str, title: str) -> CachedFile:
    """What Telegram now holds, read from the message that carried the upload; a video
    sent as a file goes into the format's file slot, not over the video."""
    media = message.video or message.audio or message.document
    kind = (
        MediaKind.VIDEO
        if message.video
        else MediaKind.AUDIO
        if message.audio
        else MediaKind.DOCUMENT
    )
    return CachedFile(
        media_key=media_key,
        format=cache_slot(fmt, as_file=kind == MediaKind.DOCUMENT),
        file_id=media.file_id,
        kind=str(kind),
        file_unique_id=media.file_unique_id,
        size=media.file_size,
        duration=getattr(media, "duration", None) and int(_seconds(media.duration)),
        width=getattr(media, "width", None),
        height=getattr(media, "height", None),
        title=title,
    )


def _seconds(value) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)
