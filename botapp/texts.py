"""Every text the Telegram interface itself shows a user (welcome, help, commands,
settings, groups), through Django's gettext. The way of one link has its own texts
(``downloads.texts``, which also holds the ``render``/``safe`` helpers).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from downloads.texts import render, safe

__all__ = ["render", "safe"]  # re-exported: handlers render botapp's texts with them


# --- Welcome and help ------------------------------------------------------------------

WELCOME = _(
    "Hi, {name}! Send me a link to a YouTube, Instagram or TikTok video and I will send "
    "the video back, ready to watch right here.\n\n"
    "You can also use me in any chat: type <code>@{bot} link</code>.\n"
    "/help shows everything I can do."
)
HELP = _(
    "<b>How to use me</b>\n"
    "1. Send a link to a video from YouTube, Instagram or TikTok.\n"
    "2. For YouTube, pick a quality (or audio only); I remember your choice.\n"
    "3. Get the video. Anything someone asked for before arrives instantly.\n\n"
    "<b>Supported links</b>\n{sites}\n\n"
    "<b>In other chats</b>: type <code>@{bot} link</code> and pick the result.\n"
    "<b>In groups</b>: add me and I reply to links with the video; group admins can turn "
    "that off with /settings. If I can't read all messages, use <code>/dl link</code>.\n\n"
    "<b>Commands</b>\n"
    "/start - welcome\n/help - this message\n/stats - your downloads\n"
    "/settings - default quality and how videos are sent\n/language - change language"
)
NO_LINK = _("Send me a link to a YouTube, Instagram or TikTok video.")

# --- Commands --------------------------------------------------------------------------

COMMAND_START = pgettext_lazy("bot command", "Start the bot")
COMMAND_HELP = pgettext_lazy("bot command", "How to use the bot")
COMMAND_STATS = pgettext_lazy("bot command", "Your downloads")
COMMAND_SETTINGS = pgettext_lazy("bot command", "Default quality and sending")
COMMAND_LANGUAGE = pgettext_lazy("bot command", "Change language")
COMMAND_DL = pgettext_lazy("bot command", "Download a video: /dl link")

STATS = _("You have downloaded {total} videos so far ({today} today).")
STATS_FREE_LEFT = _("Free downloads without ads left: {left}.")
LANGUAGE_PROMPT = _("Choose your language:")
LANGUAGE_SET = _("Done: I will speak English with you.")
SETTINGS_PROMPT = _(
    "<b>Settings</b>\nDefault quality: {quality}\nSend videos as: {send_as}\n\n"
    "Choose what to change:"
)
SETTINGS_ASK_EVERY_TIME = _("ask every time")
SETTINGS_SAVED = _("Saved.")
SEND_AS_VIDEO = _("video (plays in the chat)")
SEND_AS_FILE = _("file (original, no compression)")
SETTINGS_QUALITY_BUTTON = _("Default quality")
SETTINGS_SEND_AS_BUTTON = _("Send as")

# --- Inline mode, groups, settings -------------------------------------------

INLINE_NOT_CONFIGURED = _("Inline mode is not available right now.")
GROUP_WELCOME = _(
    "Hi! I send videos from YouTube, Instagram and TikTok links right here.\n"
    "Post a link (or <code>/dl link</code>, or <code>@{bot} link</code>) and I reply with "
    "the video. Admins can turn automatic downloads off and on with /settings."
)
GROUP_DL_USAGE = _("Send <code>/dl link</code> with a link to a video.")
GROUP_SETTINGS = _("<b>Group settings</b>\nAutomatic downloads of links: {state}")
GROUP_AUTO_ON = _("on")
GROUP_AUTO_OFF = _("off")
GROUP_AUTO_TURN_ON = _("Turn automatic downloads on")
GROUP_AUTO_TURN_OFF = _("Turn automatic downloads off")
GROUP_ADMINS_ONLY = _("Only group admins can change the settings.")
STATS_PAID = _("You have no limits: downloads are free of ads.")

# --- time zone from a shared location (/settings) -------------------------------------
TIMEZONE_BUTTON = _("Set my time zone")
TIMEZONE_PROMPT = _(
    "Share your location with the button below and I will set your time zone. "
    "Only the time zone is kept, never the location."
)
TIMEZONE_SHARE_BUTTON = _("Share my location")
TIMEZONE_CANCEL_BUTTON = pgettext_lazy("time zone", "Cancel")
TIMEZONE_SET = _("Your time zone is now {zone}. The location itself was not stored.")
TIMEZONE_NOT_FOUND = _("I could not find a time zone for that place. Nothing was stored.")
TIMEZONE_CANCELLED = _("Nothing changed.")
