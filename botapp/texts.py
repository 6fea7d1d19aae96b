"""Every text the Telegram interface itself shows a user (welcome, help, commands,
settings, groups), through Django's gettext. The way of one link has its own texts
(``downloads.texts``, which also holds the ``render``/``safe`` helpers).
"""

from __future__ import annotations

import datetime as dt

from django.utils import formats, translation
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
# /help is the sections of HELP_SECTIONS (at the end of this module) in order, each
# rendered with the same values (botapp.handlers.start.help_values); a feature adds its
# paragraph by adding its text there (next to HELP_LIMITS for limits, ads and premium).
HELP = _(
    "<b>How to use me</b>\n"
    "1. Send a link to a video from YouTube, Instagram or TikTok (up to {links} links in "
    "one message).\n"
    "2. For YouTube, pick a quality or audio only; I remember your choice (/settings "
    "changes it). Instagram and TikTok come in the best quality that fits.\n"
    "3. Watch the progress, then get the video right here. Anything someone asked for "
    "before arrives at once.\n\n"
    "<b>Supported links</b>\n{sites}"
)
HELP_INLINE = _(
    "<b>In any chat</b>: type <code>@{bot} link</code> and pick the result. A video I have "
    "sent before goes out at once; a new one is posted as a placeholder that turns into "
    "the video a few seconds later."
)
HELP_GROUPS = _(
    "<b>In groups</b>: add me to the group and I answer video links with the video. If I "
    "can't read the group's messages (Telegram's privacy mode), send <code>/dl link</code>. "
    "Group admins turn these automatic answers on or off with /settings in the group; "
    "with them off, <code>/dl link</code> or a link that mentions @{bot} still works."
)
HELP_LANGUAGES = _(
    "<b>Languages</b>: English, Русский, Українська, Español. I start in the language of "
    "your Telegram app; /language changes it."
)
HELP_LIMITS = _(
    "<b>Limits</b>: a video can be up to {limit} MB, the most Telegram lets a bot send; for "
    "a bigger one pick a lower quality or audio only. One download at a time: more links "
    "wait in line. Private and removed videos, and those behind a sign-in, can't be "
    "downloaded."
)
HELP_COMMANDS = _("<b>Commands</b>")
NO_LINK = _("Send me a link to a YouTube, Instagram or TikTok video.")

# --- Commands --------------------------------------------------------------------------

COMMAND_START = pgettext_lazy("bot command", "Start the bot")
COMMAND_HELP = pgettext_lazy("bot command", "How to use the bot")
COMMAND_STATS = pgettext_lazy("bot command", "Your downloads")
COMMAND_SETTINGS = pgettext_lazy("bot command", "Default quality and sending")
COMMAND_LANGUAGE = pgettext_lazy("bot command", "Change language")
COMMAND_DL = pgettext_lazy("bot command", "Download a video: /dl link")

STATS = _("You have downloaded {total} videos so far ({today} today).")
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

# --- Premium with Telegram Stars, and payment support -----------------------------------


def moment(language: str, value: dt.datetime) -> str:
    """A date and time in the user's language, in UTC (the bot does not know their zone)."""
    with translation.override(language):
        return formats.date_format(value.astimezone(dt.UTC), "DATETIME_FORMAT") + " UTC"


COMMAND_PREMIUM = pgettext_lazy("bot command", "No ads: premium for Stars")
COMMAND_PAYSUPPORT = pgettext_lazy("bot command", "Help with a payment")
HELP_PREMIUM = _(
    "<b>No ads</b>: /premium removes ads for 30 days for {stars} Telegram Stars, or every "
    "month with a subscription. Questions about a payment: /paysupport."
)

HELP_REFERRALS = _(
    "<b>Invite friends</b>: /referral gives you a personal link to share. When a friend "
    "who joined through it downloads a first video, you get +{bonus} downloads without ads."
)
PREMIUM_OFFER = _(
    "<b>Premium: videos without ads</b>\n"
    "• 30 days for {stars} Stars: pay the invoice below. Paying again adds 30 more days.\n"
    "• A monthly subscription for {subscription_stars} Stars every 30 days; cancel any time."
)
PREMIUM_NOT_ACTIVE = _("You don't have premium right now.")
PREMIUM_ACTIVE = _("Premium is active until {until}.")
PREMIUM_RENEWS = _("Your subscription renews on {date}.")
PREMIUM_SUBSCRIBE_BUTTON = _("Subscribe: {stars} Stars a month")
PREMIUM_CANCEL_BUTTON = _("Cancel the subscription")
PREMIUM_CANCELLED = _(
    "The subscription is cancelled: there will be no more charges. Premium stays until {until}."
)
PREMIUM_CANCEL_GONE = _("This subscription is not active any more.")
PREMIUM_PRIVATE_ONLY = _("Send /premium to me in a private chat.")
INVOICE_TITLE = _("Premium: 30 days, no ads")
INVOICE_DESCRIPTION = _(
    "Every video arrives without ads for 30 days. Starts now, or extends the premium you "
    "already have."
)
INVOICE_PRICE_LABEL = _("30 days without ads")
SUBSCRIPTION_TITLE = _("Premium: monthly, no ads")
SUBSCRIPTION_DESCRIPTION = _(
    "Videos without ads, renewed every 30 days. Cancel any time: premium lasts to the end "
    "of the paid period."
)
CHECKOUT_UNKNOWN = _("This invoice is no longer valid. Send /premium for a new one.")
CHECKOUT_OTHER_USER = _("This invoice was made for someone else. Send /premium to get your own.")
CHECKOUT_PRICE_CHANGED = _(
    "The price has changed since this invoice was made. Send /premium for a new invoice."
)
CHECKOUT_ALREADY_SUBSCRIBED = _("You already have this subscription.")
CHECKOUT_UNAVAILABLE = _("Payments can't be accepted right now. Please try again in a minute.")
PAYMENT_THANKS = _("Thank you! Premium is active until {until}: no ads until then.")
PAYMENT_RENEWED = _("Your subscription was renewed: premium is active until {until}.")
PAYMENT_REFUNDED = _("Your payment of {stars} Stars was refunded, and premium ended.")
PAYMENT_REFUNDED_STILL_ACTIVE = _(
    "Your payment of {stars} Stars was refunded; premium is active until {until}."
)
PAYSUPPORT = _(
    "<b>Help with payments</b>\n"
    "For any problem with a payment made in this bot (premium, subscriptions, refunds), "
    "write to {contact}. Please include your Telegram ID <code>{user_id}</code>, the date "
    "of the payment and, if you can, the transaction ID from the receipt. We answer within "
    "3 days.\n\n"
    "If premium did not work as promised, ask within 14 days of the payment and we refund "
    "the Stars.\n\n"
    "Telegram support and @BotSupport cannot help with purchases made in this bot."
)

# --- The free quota and ads ------------------------------------------------------------

STATS_AD_FREE_LEFT = _(
    "Downloads without ads left: {left} (everyone gets {base}, invited friends added {bonus})."
)
STATS_PAID_UNTIL = _("Premium: no ads until {until}.")
STATS_GET_MORE = _(
    "<b>More downloads without ads</b>\n"
    "• Invite friends with your link, each friend who joins adds some: {link}\n"
    "• /premium: no ads at all for 30 days, paid with Telegram Stars."
)
HELP_ADS = _(
    "<b>Ads</b>: your first {free} downloads come without ads. After that a short ad, "
    "marked as one, follows a video here in our chat (never in groups). /stats shows how "
    "many you have left; invite friends for more, or /premium removes ads."
)

# --- Experiments (abtests): variants of the welcome -------------------------------------

WELCOME_SHORT = _(
    "Hi, {name}! Send me a link to a YouTube, Instagram or TikTok video and get the video "
    "back. In any chat: <code>@{bot} link</code>."
)
WELCOME_STEPS = _(
    "Hi, {name}! Three steps:\n"
    "1. Copy a link to a YouTube, Instagram or TikTok video.\n"
    "2. Send it to me.\n"
    "3. Watch the video right here.\n\n"
    "In any chat, type <code>@{bot} link</code>. /help shows everything I can do."
)
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

# --- Load (one chat flooding) ----------------------------------------------------------

FLOOD_SLOW_DOWN = _(
    "You are sending messages faster than I can answer. I will finish the ones I already "
    "have; please send the rest again in a minute."
)

# /help, in this order (see the note above HELP).
HELP_SECTIONS = (
    HELP,
    HELP_INLINE,
    HELP_GROUPS,
    HELP_LANGUAGES,
    HELP_LIMITS,
    HELP_ADS,
    HELP_PREMIUM,
    HELP_REFERRALS,
)
