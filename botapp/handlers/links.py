"""Messages with links (private chats), and the buttons that pick a format."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import ContextTypes

from analytics.vocabulary import DownloadSource
from botapp.handlers.common import current_user, reply, via_this_bot
from botapp.texts import NO_LINK
from downloads import flow, keyboards, links


async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if via_this_bot(update, context.bot):
        return  # an inline result picked here: not a link to download again
    user = await current_user(update, recent=True)
    if user is None:
        return
    message = update.effective_message
    if message.text:
        matches = links.extract_links(message.text, message.entities)
    else:
        matches = links.extract_links(message.caption or "", message.caption_entities)
    if not matches:
        await reply(update, user, NO_LINK)
        return
    origin = flow.Origin(
        chat_id=message.chat_id,
        source=DownloadSource.MESSAGE,
        reply_to=None,
        language=user.ui_language,
    )
    await handle_matches(context.bot, user, matches, origin)


async def handle_matches(
    bot, user, matches: list[links.LinkMatch], origin: flow.Origin, *, answer_refusals=True
) -> None:
    """Each link of a message in turn; a refusal is answered and the rest go on."""
    for match in matches[: flow.MAX_LINKS_PER_MESSAGE]:
        match = await flow.recognise(match)
        if isinstance(match, links.RefusedLink):
            if not answer_refusals:
                continue
            await bot.send_message(
                origin.chat_id,
                flow.refusal_text(user, match),
                parse_mode=ParseMode.HTML,
                reply_to_message_id=origin.reply_to,
                allow_sending_without_reply=True,
                disable_web_page_preview=True,
            )
            continue
        await flow.deliver_link(bot, user, match, origin)


async def on_quality_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    user = await current_user(update, recent=True)
    request_id, quality = keyboards.QUALITY_PATTERN.match(query.data).groups()
    problem = await flow.quality_chosen(context.bot, user, int(request_id), quality)
    await query.answer(problem or None, show_alert=bool(problem))


async def on_format_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Audio only" after a video, or a lower quality after "too large"."""
    query = update.callback_query
    user = await current_user(update, recent=True)
    fmt, media_key = keyboards.FORMAT_PATTERN.match(query.data).groups()
    link = links.link_for_key(media_key)
    await query.answer()
    if link is None:
        return
    message = query.message
    origin = flow.Origin(
        chat_id=message.chat.id if message else user.user_id,
        source=DownloadSource.GROUP
        if message and message.chat.type != ChatType.PRIVATE
        else DownloadSource.MESSAGE,
        reply_to=message.message_id if message and message.chat.type != ChatType.PRIVATE else None,
        language=user.ui_language,
    )
    await flow.deliver_format(context.bot, user, link, fmt, origin)
