"""Putting a file into a chat: by a cached file_id, or by uploading a fresh download."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Message
from telegram.constants import ParseMode
from telegram.error import BadRequest

from botapp import texts
from botapp.cache import CachedFile

log = logging.getLogger(__name__)

CAPTION_LIMIT = 1024


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


def send_kwargs(item: CachedFile, *, as_file: bool) -> tuple[str, dict[str, Any]]:
    """The Bot API method and its media arguments for a stored file_id."""
    if item.kind == "audio":
        return "send_audio", {"audio": item.file_id, "duration": item.duration}
    if item.kind == "document" or as_file:
        return "send_document", {"document": item.file_id}
    return "send_video", {
        "video": item.file_id,
        "duration": item.duration,
        "width": item.width,
        "height": item.height,
        "supports_streaming": True,
    }


async def send_cached(
    bot,
    item: CachedFile,
    *,
    chat_id: int,
    language: str,
    url: str,
    reply_to: int | None = None,
    reply_markup=None,
    as_file: bool = False,
) -> Message | None:
    """Re-send a stored file_id. None when Telegram rejects it (the caller downloads)."""
    method, media = send_kwargs(item, as_file=as_file)
    try:
        return await getattr(bot, method)(
            chat_id=chat_id,
            caption=caption(language, item.title, url),
            parse_mode=ParseMode.HTML,
            reply_to_message_id=reply_to,
            allow_sending_without_reply=True,
            reply_markup=reply_markup,
            **media,
        )
    except BadRequest as error:
        if is_rejected_file_id(error):
            log.warning("Telegram rejected cached %s [%s]: %s", item.media_key, item.format, error)
            return None
        raise


def file_from_message(message: Message, *, media_key: str, fmt: str, title: str) -> CachedFile:
    """What Telegram now holds, read from the message that carried the upload."""
    media = message.video or message.audio or message.document
    kind = "video" if message.video else "audio" if message.audio else "document"
    return CachedFile(
        media_key=media_key,
        format=fmt,
        file_id=media.file_id,
        kind=kind,
        file_unique_id=media.file_unique_id,
        size=media.file_size,
        duration=getattr(media, "duration", None) and int(_seconds(media.duration)),
        width=getattr(media, "width", None),
        height=getattr(media, "height", None),
        title=title,
    )


def _seconds(value) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)
