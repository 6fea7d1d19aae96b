"""Every text of the referral program a user sees, through Django's gettext.

Placeholders use ``{name}`` and are filled in the reader's language by the bot
(``botapp.texts.render``); values that come from users are escaped there.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

COMMAND_REFERRAL = pgettext_lazy("bot command", "Invite friends, get ad-free downloads")

REFERRAL_PAGE = _(
    "<b>Invite friends, get downloads without ads</b>\n"
    "Share your personal link. When a friend who joined through it downloads their "
    "first video, you get +{bonus} downloads without ads.\n\n"
    "Your link: {link}\n\n"
    "Friends invited: {invited}\n"
    "Of them downloaded a video: {activated}\n"
    "Bonus earned: {earned} downloads without ads\n"
    "Still to earn: {left} downloads without ads"
)
REFERRAL_EARNING_BLOCKED = _(
    "Your link no longer earns bonuses. Friends can still join through it."
)
SHARE_BUTTON = _("Share the link")
SHARE_TEXT = _("I download videos from YouTube, Instagram and TikTok with this bot. Try it!")

NOTICE_FRIEND_JOINED = _(
    "{name} joined through your link. You get +{bonus} downloads without ads as soon as "
    "they download their first video."
)
NOTICE_FRIEND_JOINED_NO_BONUS = _("{name} joined through your link.")
NOTICE_BONUS_CREDITED = _(
    "+{bonus} downloads without ads: {name}, whom you invited, downloaded their first "
    "video. Thank you for sharing!"
)
WELCOME_BONUS = _("A gift for joining through a friend's link: +{bonus} downloads without ads.")
A_FRIEND = _("A friend")
