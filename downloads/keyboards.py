"""Keyboards of the way of one link (quality choice, other formats) and their callback data.

Callback data is ``<feature>:<action>:<arg>`` (at most 64 bytes); each pattern is
defined next to the keyboard that makes it and matched anchored by the handlers.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from downloads import texts
from downloads.platforms import AUDIO, AUDIO_MP3, VIDEO_QUALITIES

QUALITY_PATTERN = re.compile(r"^dl:q:(\d+):([a-z0-9]{1,8})$")
# Another format of media already identified: "audio only" after a video, or a lower
# quality when the chosen one is too large.
FORMAT_PATTERN = re.compile(r"^dl:f:([a-z0-9]{1,8}):([a-z]{1,10}:[A-Za-z0-9_-]{1,40})$")
# The quality names a UI experiment may show instead of the bare resolution.
NAMED_QUALITIES = {
    "360p": texts.QUALITY_NAMED_360P,
    "480p": texts.QUALITY_NAMED_480P,
    "720p": texts.QUALITY_NAMED_720P,
    "1080p": texts.QUALITY_NAMED_1080P,
}


def human_size(size: int | None) -> str:
    if not size:
        return ""
    for unit, step in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= step:
            return f"{size / step:.1f} {unit}" if size < 10 * step else f"{size // step} {unit}"
    return f"{size} B"


def quality_label(
    language: str, quality: str, size: int | None = None, *, labels: str = "plain"
) -> str:
    if quality == AUDIO:
        label = texts.render(language, texts.QUALITY_AUDIO)
    elif quality == AUDIO_MP3:
        label = texts.render(language, texts.QUALITY_AUDIO_MP3)
    elif labels == "named" and quality in NAMED_QUALITIES:
        label = texts.render(language, NAMED_QUALITIES[quality], quality=quality)
    else:
        label = quality
    return f"{label} · {human_size(size)}" if size else label


def quality_keyboard(
    language: str,
    request_id: int,
    offers: list[tuple[str, int | None]],
    *,
    order: str = "ascending",
    labels: str = "plain",
) -> InlineKeyboardMarkup:
    """One button per offered quality (video in pairs), audio on its own row; a UI
    experiment may put the best quality first and name the qualities."""
    videos = [(q, s) for q, s in offers if q in VIDEO_QUALITIES]
    audios = [(q, s) for q, s in offers if q not in VIDEO_QUALITIES]
    if order == "descending":
        videos.reverse()

    def button(quality: str, size: int | None) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            quality_label(language, quality, size, labels=labels),
            callback_data=f"dl:q:{request_id}:{quality}",
        )

    rows = [[button(*offer) for offer in videos[i : i + 2]] for i in range(0, len(videos), 2)]
    rows.extend([button(*offer)] for offer in audios)
    return InlineKeyboardMarkup(rows)


def format_button(label: str, fmt: str, media_key: str) -> InlineKeyboardButton | None:
    data = f"dl:f:{fmt}:{media_key}"
    return InlineKeyboardButton(label, callback_data=data) if FORMAT_PATTERN.match(data) else None


def after_video_keyboard(language: str, media_key: str) -> InlineKeyboardMarkup | None:
    button = format_button(texts.render(language, texts.AUDIO_BUTTON), AUDIO, media_key)
    return InlineKeyboardMarkup([[button]]) if button else None


def too_large_keyboard(
    language: str, media_key: str, lower: str | None
) -> InlineKeyboardMarkup | None:
    """Offered when the chosen format is over the upload limit: lower quality, audio."""
    buttons = [
        lower
        and format_button(
            texts.render(language, texts.LOWER_QUALITY_BUTTON, quality=lower), lower, media_key
        ),
        format_button(texts.render(language, texts.AUDIO_BUTTON), AUDIO, media_key),
    ]
    rows = [[button] for button in buttons if button]
    return InlineKeyboardMarkup(rows) if rows else None
