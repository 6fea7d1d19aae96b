"""Inline keyboards of the Telegram interface (language, settings, group settings) and
the callback data they carry. The way of one link's keyboards are ``downloads.keyboards``.

Callback data is ``<feature>:<action>:<arg>`` (at most 64 bytes); each pattern is
defined next to the keyboard that makes it and matched anchored by the handlers.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.conf import settings
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from analytics.vocabulary import SendAs
from botapp import texts
from downloads.platforms import VIDEO_QUALITIES
from referrals import texts as referral_texts

# --- /language, /settings, group settings ------------------------------------------------

LANGUAGE_PATTERN = re.compile(r"^lang:set:([a-z]{2})$")
SETTINGS_QUALITY_PATTERN = re.compile(r"^set:quality:(ask|360p|480p|720p|1080p)$")
SETTINGS_SEND_AS_PATTERN = re.compile(r"^set:send:(video|file)$")
GROUP_AUTO_PATTERN = re.compile(r"^set:auto:(on|off)$")
SETTINGS_TIMEZONE_PATTERN = re.compile(r"^set:tz:ask$")
ASK_EVERY_TIME = "ask"


def language_keyboard(languages: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(name, callback_data=f"lang:set:{code}") for code, name in languages
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def settings_keyboard(language: str, quality: str, send_as: str) -> InlineKeyboardMarkup:
    """The current choice is marked with a tick."""

    def mark(label: str, chosen: bool) -> str:
        return f"✓ {label}" if chosen else label

    ask = texts.render(language, texts.SETTINGS_ASK_EVERY_TIME)
    qualities = [
        InlineKeyboardButton(mark(q, q == quality), callback_data=f"set:quality:{q}")
        for q in VIDEO_QUALITIES
    ]
    return InlineKeyboardMarkup(
        [
            qualities[:2],
            qualities[2:],
            [InlineKeyboardButton(mark(ask, not quality), callback_data="set:quality:ask")],
            [
                InlineKeyboardButton(
                    mark(texts.render(language, texts.SEND_AS_VIDEO), send_as == SendAs.VIDEO),
                    callback_data="set:send:video",
                ),
                InlineKeyboardButton(
                    mark(texts.render(language, texts.SEND_AS_FILE), send_as == SendAs.FILE),
                    callback_data="set:send:file",
                ),
            ],
            [
                InlineKeyboardButton(
                    texts.render(language, texts.TIMEZONE_BUTTON), callback_data="set:tz:ask"
                )
            ],
        ]
    )


def location_keyboard(language: str) -> ReplyKeyboardMarkup:
    """A reply keyboard whose first button sends the user's location (Telegram asks
    them first); the second one closes it."""
    return ReplyKeyboardMarkup(
        [
            [
                KeyboardButton(
                    texts.render(language, texts.TIMEZONE_SHARE_BUTTON), request_location=True
                )
            ],
            [KeyboardButton(texts.render(language, texts.TIMEZONE_CANCEL_BUTTON))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def group_settings_keyboard(language: str, auto_download: bool) -> InlineKeyboardMarkup:
    if auto_download:
        button = InlineKeyboardButton(
            texts.render(language, texts.GROUP_AUTO_TURN_OFF), callback_data="set:auto:off"
        )
    else:
        button = InlineKeyboardButton(
            texts.render(language, texts.GROUP_AUTO_TURN_ON), callback_data="set:auto:on"
        )
    return InlineKeyboardMarkup([[button]])


# --- Premium ----------------------------------------------------------------------------

PREMIUM_CANCEL_PATTERN = re.compile(r"^premium:cancel:(\d{1,18})$")


def premium_keyboard(
    language: str, *, subscribe_link: str | None, subscription_id: int | None
) -> InlineKeyboardMarkup | None:
    """Subscribe (a Stars invoice link), or cancel the running subscription."""
    if subscription_id is not None:
        button = InlineKeyboardButton(
            texts.render(language, texts.PREMIUM_CANCEL_BUTTON),
            callback_data=f"premium:cancel:{subscription_id}",
        )
    elif subscribe_link:
        stars = settings.PREMIUM_SUBSCRIPTION_STARS
        text = texts.render(language, texts.PREMIUM_SUBSCRIBE_BUTTON, stars=stars)
        button = InlineKeyboardButton(text, url=subscribe_link)
    else:
        return None
    return InlineKeyboardMarkup([[button]])


def referral_share_keyboard(language: str, link: str) -> InlineKeyboardMarkup:
    """Telegram's share dialog with the personal link and a ready text."""
    query = urlencode({"url": link, "text": texts.render(language, referral_texts.SHARE_TEXT)})
    share = f"https://t.me/share/url?{query}"
    button = InlineKeyboardButton(texts.render(language, referral_texts.SHARE_BUTTON), url=share)
    return InlineKeyboardMarkup([[button]])
