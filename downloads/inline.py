"""Media keys in deep links and buttons, and the results of an inline query.

A media key (``youtube:dQw4w9WgXcQ``) does not fit a start parameter (no ``:``), so it
travels as ``yt_dQw4w9WgXcQ``: a two-letter platform code, ``_``, the video id.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from urllib.parse import urlsplit

from django.db import DatabaseError
from redis.exceptions import RedisError
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultCachedAudio,
    InlineQueryResultCachedVideo,
    InputTextMessageContent,
)
from telegram.constants import ParseMode

from analytics.vocabulary import DownloadSource, MediaKind, Platform
from config.redis import get_fast_redis
from downloads import links, texts
from downloads.cache import CachedFile
from downloads.delivery import caption, markup_with_buttons, publish_completed
from downloads.models import DownloadRequest, InlinePick
from downloads.platforms import PLATFORMS, PLATFORMS_BY_CODE
from downloads.policy import UrlButton

log = logging.getLogger(__name__)

# What follows "v_" in a deep link, or "inl:w:" in a callback: at most 58 characters.
VIDEO_KEY = re.compile(r"^(yt|ig|tt)_([A-Za-z0-9_-]{1,55})$")
WATCH_PATTERN = re.compile(r"^inl:w:((?:yt|ig|tt)_[A-Za-z0-9_-]{1,55})$")
# chosen_inline_result ids: "dl:<video key>:<format>".
RESULT_ID = re.compile(r"^dl:((?:yt|ig|tt)_[A-Za-z0-9_-]{1,55}):([a-z0-9]{1,8})$")
# A cached result's id: "c:<format>:<file>", the format its query looked up (before the
# format was in it: "c:<file>").
CACHED_PREFIX = "c:"
CACHED_RESULT_ID = re.compile(r"^c:([a-z0-9]{1,8}):")


def video_key_encode(media_key: str) -> str | None:
    platform, _sep, video_id = media_key.partition(":")
    spec = PLATFORMS.get(platform)
    key = f"{spec.code}_{video_id}" if spec else ""
    return key if VIDEO_KEY.match(key) else None


def video_key_decode(key: str) -> links.MediaLink | None:
    """The link behind an encoded key, or None for anything malformed or unknown."""
    match = VIDEO_KEY.match(key or "")
    if match is None:
        return None
    return links.link_for_key(f"{PLATFORMS_BY_CODE[match.group(1)].platform}:{match.group(2)}")


def watch_url(bot_username: str, media_key: str) -> str | None:
    key = video_key_encode(media_key)
    return f"https://t.me/{bot_username}?start=v_{key}" if key else None


def probed_facts(media_key: str) -> dict:
    """What an earlier look at the video left in Redis (title, maybe a thumbnail), or
    {}: an inline answer has 15 s, so it never probes the site itself."""
    try:
        raw = get_fast_redis().get(f"probe:{media_key}")
        return json.loads(raw) if raw else {}
    except (RedisError, ValueError):
        log.warning("probe cache unreadable for %s", media_key)
        return {}


def thumbnail_url(link: links.MediaLink, probed: dict) -> str | None:
    """An https image of the platform itself for an article result, if one is known."""
    candidates = [probed.get("thumbnail_url"), probed.get("thumbnail")]
    if link.platform == Platform.YOUTUBE:  # known from the id alone
        candidates.append(f"https://i.ytimg.com/vi/{link.video_id}/hqdefault.jpg")
    # Telegram fetches an article's thumbnail itself; we only ever name the platforms'
    # own image hosts, over https, so a result never points it at anything else.
    spec = PLATFORMS.get(link.platform)
    hosts = spec.thumbnail_hosts if spec else ()
    subdomains = tuple(f".{host}" for host in hosts)
    for url in candidates:
        if not isinstance(url, str):
            continue
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme == "https" and (host in hosts or host.endswith(subdomains)):
            return url
    return None


def watch_keyboard(language: str, media_key: str, bot_username: str) -> InlineKeyboardMarkup:
    """ "Watch video" (counted, then it opens the deep link) and the deep link itself, for
    clients that do not follow a callback answer's url."""
    key = video_key_encode(media_key)
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.render(language, texts.WATCH_VIDEO), callback_data=f"inl:w:{key}"
                ),
                InlineKeyboardButton(f"@{bot_username}", url=watch_url(bot_username, media_key)),
            ]
        ]
    )


def cached_result(
    item: CachedFile,
    language: str,
    url: str,
    title: str,
    bot_username: str,
    media_buttons: list[UrlButton] = (),
):
    """A cached video (or audio) as an inline result; ``media_buttons`` (the policies') go
    under it. Never a document: inline lookups read the video slot, whatever the user's
    "send as file" setting."""
    keyboard = watch_keyboard(language, item.media_key, bot_username)
    common = {
        "id": f"{CACHED_PREFIX}{item.format}:{item.file_unique_id or item.file_id}"[:64],
        "caption": caption(language, item.title, url),
        "parse_mode": ParseMode.HTML,
        "reply_markup": markup_with_buttons(keyboard, list(media_buttons)),
    }
    if item.kind == MediaKind.AUDIO:
        return InlineQueryResultCachedAudio(audio_file_id=item.file_id, **common)
    return InlineQueryResultCachedVideo(video_file_id=item.file_id, title=title, **common)


def placeholder_result(
    language: str, link: links.MediaLink, fmt: str, bot_username: str, probed: dict
) -> InlineQueryResultArticle:
    """Posts "preparing the video..."; chosen, it becomes the video (see the job). The
    title and thumbnail are the video's when an earlier probe left them."""
    return InlineQueryResultArticle(
        id=f"dl:{video_key_encode(link.media_key)}:{fmt}",
        title=probed.get("title") or texts.render(language, texts.WATCH_VIDEO),
        description=texts.render(language, texts.INLINE_PLACEHOLDER_DESCRIPTION),
        input_message_content=InputTextMessageContent(
            texts.render(language, texts.INLINE_PREPARING), parse_mode=ParseMode.HTML
        ),
        reply_markup=watch_keyboard(language, link.media_key, bot_username),
        thumbnail_url=thumbnail_url(link, probed),
    )


def explanation_result(language: str, bot_username: str) -> InlineQueryResultArticle:
    sites = texts.render(language, texts.SUPPORTED_SITES)
    return InlineQueryResultArticle(
        id="help",
        title=texts.render(language, texts.INLINE_HELP_TITLE),
        description=texts.render(language, texts.INLINE_HELP_DESCRIPTION),
        input_message_content=InputTextMessageContent(
            texts.render(language, texts.INLINE_HELP_MESSAGE, sites=sites, bot=bot_username),
            parse_mode=ParseMode.HTML,
        ),
    )


# --- A cached result, chosen ---------------------------------------------------------
#
# Picked, a cached result is the media itself: Telegram sends it, and the bot hears of
# it only from the chosen_inline_result update (with inline feedback on). That update
# can come twice: Telegram sends it again when the bot did not confirm it (a restart
# between handling and the next getUpdates), and then the first report's event may well
# have been lost with the process. So every report publishes the same event, its id
# from the inline message and its time that of the first report (an ``InlinePick`` row,
# in PostgreSQL so that it holds whether or not Redis was up for either report), and
# the event worker stores and counts it once (the downloads table is unique on both).
PICK_NAMESPACE = uuid.UUID("03eb3f1e-45d8-4c30-a3c5-6325b50da8a9")
PICK_TTL = 2 * 86400  # Telegram gives up on an unconfirmed update after 24 hours


def chosen_event_id(inline_message_id: str) -> uuid.UUID:
    """The id of a pick's ``InlineResultChosen`` (its funnel row): one per inline
    message, so a pick Telegram reports again is one row (the funnel table is unique on
    the id alone: no Redis needed). Without an inline message, a fresh id."""
    if not inline_message_id:
        return uuid.uuid4()
    return uuid.uuid5(PICK_NAMESPACE, f"chosen:{inline_message_id}")


def pick_requested(inline_message_id: str) -> bool:
    """Whether a picked placeholder already has its download request (Telegram reported
    the pick before); the constraint on the requests settles a race of two reports."""
    return DownloadRequest.objects.filter(inline_message_id=inline_message_id).exists()


def cached_result_format(result_id: str) -> str | None:
    """The format a cached result's query looked up, or None if its id does not say."""
    match = CACHED_RESULT_ID.match(result_id or "")
    return match.group(1) if match else None


def cached_pick_publish(
    *,
    user_id: int,
    link: links.MediaLink,
    fmt: str,
    item: CachedFile | None,
    inline_message_id: str,
) -> bool:
    """Publish the ``DownloadCompleted`` of a chosen cached result (source inline, from
    the cache); ``item`` is the cache's entry for its title and duration, if it is still
    there. Returns False when this pick was reported before (the same event is published
    again and counted once)."""
    event_id, occurred_at, first = _pick_identity(inline_message_id)
    publish_completed(
        user_id=user_id,
        media_key=link.media_key,
        source=DownloadSource.INLINE,
        fmt=fmt,
        url=link.canonical_url,
        item=item,
        from_cache=True,
        event_id=event_id,
        occurred_at=occurred_at,
    )
    return first


def _pick_identity(inline_message_id: str) -> tuple[uuid.UUID | None, dt.datetime | None, bool]:
    """(event id, time, first report?) of a pick's event. Without an inline message
    (which a cached result always has) or without the database, each report is an event
    of its own, counted as such."""
    if not inline_message_id:
        return None, None, True
    now = dt.datetime.now(tz=dt.UTC)
    try:
        InlinePick.objects.filter(picked_at__lt=now - dt.timedelta(seconds=PICK_TTL)).delete()
        pick, first = InlinePick.objects.get_or_create(
            inline_message_id=inline_message_id, defaults={"picked_at": now}
        )
    except DatabaseError as error:
        log.warning("inline pick %s not deduplicated: %s", inline_message_id, error)
        return None, None, True
    return uuid.uuid5(PICK_NAMESPACE, inline_message_id), pick.picked_at, first
