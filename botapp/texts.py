"""Every text the bot shows a user, in one place, through Django's gettext.

Placeholders use ``{name}``; ``render()`` fills them in the user's language. Messages
are sent as HTML, so values that come from users or sites must go through ``escape``.
"""

from __future__ import annotations

from html import escape
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def render(language: str, text: Any, **values: Any) -> str:
    with translation.override(language):
        return str(text).format(**values)


def safe(value: object) -> str:
    return escape(str(value), quote=False)


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
SUPPORTED_SITES = _(
    "• YouTube: videos, Shorts, live recordings (youtube.com, youtu.be)\n"
    "• Instagram: Reels and video posts (instagram.com/reel/..., /p/...)\n"
    "• TikTok: videos (tiktok.com/@user/video/..., vm.tiktok.com/...)"
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

# --- The way of one link ---------------------------------------------------------------

CHOOSE_QUALITY = _("<b>{title}</b>\nChoose the quality:")
QUALITY_AUDIO = _("Audio only")
QUALITY_AUDIO_MP3 = _("Audio (MP3)")
LOOKING_UP = _("Looking at the link...")
QUEUED = _("In the queue: you are number {position}. I will start soon.")
QUEUED_BEHIND_OWN = _("Your previous video comes first; this one is next in line.")
WAITING_SHARED = _("Someone asked for this video just now; it is on its way to you too.")
DOWNLOADING = _("Downloading: {percent}% at {speed}")
DOWNLOADING_NO_TOTAL = _("Downloading: {done} so far at {speed}")
PROCESSING = _("Preparing the video...")
UPLOADING = _("Sending the video to Telegram...")
AUDIO_BUTTON = _("Audio only")
LOWER_QUALITY_BUTTON = _("Lower quality ({quality})")
SOURCE_LINK = _("Source")

# --- What went wrong -------------------------------------------------------------------

ERROR_UNSUPPORTED = _("This link is not supported. I can download videos from:\n{sites}")
ERROR_PLAYLIST = _("That is a playlist, channel or profile. Send a link to a single video instead.")
ERROR_PRIVATE = _("This video is private, so I can't get it.")
ERROR_REMOVED = _("This video was removed or the link is wrong.")
ERROR_SIGN_IN = _("This video needs a sign-in or an age check, so I can't download it.")
ERROR_REGION = _("This video is not available in the region I download from.")
ERROR_LIVE = _("This is a live stream. Send the link again once the stream has ended.")
ERROR_TOO_LARGE = _(
    "This video is larger than {limit} MB, the most Telegram lets me send. "
    "Try a lower quality or audio only."
)
ERROR_TOO_LARGE_NO_CHOICE = _(
    "This video is larger than {limit} MB, the most Telegram lets me send, even in the "
    "lowest quality."
)
ERROR_RATE_LIMITED = _(
    "The site is refusing downloads right now. Please try again in a few minutes."
)
ERROR_TIMEOUT = _("The download took too long and was stopped. Please try again later.")
ERROR_INTERNAL = _("Something went wrong on our side. Please try again in a minute.")
ERROR_BUTTON_EXPIRED = _("This button has expired. Send the link again.")
ERROR_NOT_YOUR_BUTTON = _("Only the person who sent the link can choose.")
ERROR_FLOOD = _("Too many requests at once. Please wait a moment and try again.")

# --- Inline mode, deep links, groups, settings -------------------------------------------

WATCH_VIDEO = _("Watch video")
INLINE_PREPARING = _("Preparing the video...")
INLINE_PLACEHOLDER_DESCRIPTION = _("The video appears here in a few seconds.")
INLINE_HELP_TITLE = _("Paste a link to a video")
INLINE_HELP_DESCRIPTION = _("YouTube, Instagram or TikTok")
INLINE_HELP_MESSAGE = _("Type <code>@{bot} link</code> with a link to a video from:\n{sites}")
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

# --- Load (one chat flooding) ----------------------------------------------------------

FLOOD_SLOW_DOWN = _(
    "You are sending messages faster than I can answer. I will finish the ones I already "
    "have; please send the rest again in a minute."
)

# --- Link shapes (issue 11) --------------------------------------------------------------

ERROR_LIVE_CHANNEL = _(
    "That link plays a channel's live stream as it happens, and live streams can't be "
    "downloaded. When the stream has ended, send me the link to its recording."
)

# --- Admission control (issue 11) ------------------------------------------------------

ERROR_TOO_MANY_QUEUED = _(
    "You already have {limit} videos on the way. Wait until they arrive, then send the next link."
)
ERROR_BUSY = _(
    "I'm very busy right now and can't take new downloads. Please try again in a few minutes."
)
ERROR_TOO_LONG = _(
    "This video is longer than {minutes} minutes, the longest I download. Send a shorter one."
)
