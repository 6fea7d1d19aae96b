"""Every text the way of one link shows a user (queue, progress, errors, captions,
inline results), through Django's gettext; ``render()`` and ``safe()`` are the helpers
every app's texts module uses.

Placeholders use ``{name}``; ``render()`` fills them in the user's language. Messages
are sent as HTML, so values that come from users or sites must go through ``safe``.
"""

from __future__ import annotations

from html import escape

from django.utils.translation import gettext_lazy as _

from config.i18n import render as render  # the apps' texts modules share it


def safe(value: object) -> str:
    return escape(str(value), quote=False)


SUPPORTED_SITES = _(
    "• YouTube: videos, Shorts, live recordings (youtube.com, youtu.be)\n"
    "• Instagram: Reels and video posts (instagram.com/reel/..., /p/...)\n"
    "• TikTok: videos (tiktok.com/@user/video/..., vm.tiktok.com/...)"
)

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
ERROR_BOT_CHECK = _(
    "The site is asking my server to sign in before it hands out videos, so I can't "
    "download this right now. The admins have been alerted; please try again later."
)
ERROR_TIMEOUT = _("The download took too long and was stopped. Please try again later.")
ERROR_INTERNAL = _("Something went wrong on our side. Please try again in a minute.")
ERROR_BUTTON_EXPIRED = _("This button has expired. Send the link again.")
ERROR_NOT_YOUR_BUTTON = _("Only the person who sent the link can choose.")
ERROR_FLOOD = _("Too many requests at once. Please wait a moment and try again.")

# --- Inline mode -----------------------------------------------------------------------

WATCH_VIDEO = _("Watch video")
INLINE_PREPARING = _("Preparing the video...")
INLINE_PLACEHOLDER_DESCRIPTION = _("The video appears here in a few seconds.")
INLINE_HELP_TITLE = _("Paste a link to a video")
INLINE_HELP_DESCRIPTION = _("YouTube, Instagram or TikTok")
INLINE_HELP_MESSAGE = _("Type <code>@{bot} link</code> with a link to a video from:\n{sites}")

# --- Experiments (abtests): named quality buttons ----------------------------------------

QUALITY_NAMED_360P = _("{quality} · data saver")
QUALITY_NAMED_480P = _("{quality} · standard")
QUALITY_NAMED_720P = _("{quality} · high quality")
QUALITY_NAMED_1080P = _("{quality} · best quality")

# --- Link shapes --------------------------------------------------------------

ERROR_LIVE_CHANNEL = _(
    "That link plays a channel's live stream as it happens, and live streams can't be "
    "downloaded. When the stream has ended, send me the link to its recording."
)

# --- Admission control ------------------------------------------------------

ERROR_TOO_MANY_QUEUED = _(
    "You already have {limit} videos on the way. Wait until they arrive, then send the next link."
)
ERROR_BUSY = _(
    "I'm very busy right now and can't take new downloads. Please try again in a few minutes."
)
ERROR_TOO_LONG = _(
    "This video is longer than {minutes} minutes, the longest I download. Send a shorter one."
)
