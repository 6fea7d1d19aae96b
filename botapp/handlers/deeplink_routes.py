"""Deep-link payloads this part of the bot understands: ``v_<key>`` and ``ref_<code>``.

Importing the module registers the routes (``botapp.application`` does).
"""

from __future__ import annotations

from analytics.vocabulary import ClickType, DownloadSource
from botapp.deeplinks import route
from botapp.handlers.inline import publish_clicked
from botapp.handlers.referral import referral_link_opened
from downloads import flow, inline


@route("v_")
async def open_video(update, context, user, argument: str) -> bool:
    """``v_yt_dQw4w9WgXcQ``: the video, in this private chat."""
    link = inline.video_key_decode(argument)
    if link is None:
        return False
    publish_clicked(user.user_id, link.media_key, ClickType.DEEP_LINK)
    origin = flow.Origin(
        chat_id=update.effective_chat.id, source=DownloadSource.DEEP_LINK, language=user.ui_language
    )
    await flow.deliver_link(context.bot, user, link, origin)  # no quality buttons here
    return True


@route("ref_")
async def referral(update, context, user, argument: str) -> bool:
    """Attributed on a first contact if the code names another user; the welcome
    follows either way."""
    return await referral_link_opened(update, context, user, argument)
