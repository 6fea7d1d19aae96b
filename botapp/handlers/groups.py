"""The bot in groups: joining and leaving, links in messages, /dl, and group settings.

Groups get no quality buttons (only the sender could press them): YouTube comes in the
sender's default quality or 720p. The shared rate limiter keeps replies under
Telegram's 20 messages a minute per group; requests over it wait, none is dropped.
"""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.ext import ContextTypes

from analytics.vocabulary import DownloadSource
from botapp import keyboards, texts
from botapp.handlers.common import current_user, reply, via_this_bot
from botapp.handlers.links import handle_matches
from botapp.models import GroupChat
from botapp.services import group_joined, group_left, group_set_auto_download
from downloads import flow, links
from users.models import BotUser
from users.services import user_mark_blocked, user_mark_unblocked

log = logging.getLogger(__name__)

PRESENT = {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
ADMINS = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


async def on_my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    change = update.my_chat_member
    chat = change.chat
    old, new = change.old_chat_member.status, change.new_chat_member.status
    if chat.type == ChatType.PRIVATE:
        # The user blocked (kicked) or restarted the bot: no 403 needed to know it.
        service = user_mark_unblocked if new in PRESENT else user_mark_blocked
        await sync_to_async(service)(user_id=chat.id)
        return
    if new in PRESENT and old not in PRESENT:
        await sync_to_async(group_joined)(chat_id=chat.id, title=chat.title or "")
        language = "en"
        if change.from_user and not change.from_user.is_bot:
            language = (await current_user(update) or BotUser(user_id=0)).ui_language
        await context.bot.send_message(
            chat.id,
            texts.render(language, texts.GROUP_WELCOME, bot=context.bot.username),
            parse_mode=ParseMode.HTML,
        )
    elif new not in PRESENT and old in PRESENT:
        await sync_to_async(group_left)(chat_id=chat.id)  # quietly: it can't write there


def _mentions_bot(message, bot_username: str) -> bool:
    mention = "@" + bot_username.lower()
    return any(
        entity.type == "mention" and message.parse_entity(entity).lower() == mention
        for entity in message.entities or ()
    )


async def _auto_download(chat_id: int) -> bool:
    group = await GroupChat.objects.filter(chat_id=chat_id).afirst()
    return group is None or group.auto_download


async def on_group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any message the bot sees in a group: links are downloaded when auto-download is
    on; a mention of the bot is an explicit request and works either way."""
    if via_this_bot(update, context.bot):
        return  # an inline result picked here: not a link to download again
    message = update.effective_message
    text = message.text or message.caption or ""
    entities = message.entities if message.text else message.caption_entities
    matches = links.extract_links(text, entities)
    if not matches:
        return
    explicit = bool(message.text) and _mentions_bot(message, context.bot.username)
    if not explicit and not await _auto_download(message.chat_id):
        return
    user = await current_user(update, recent=True)
    if user is None:
        return
    await serve_group_links(context.bot, user, message, matches, explicit=explicit)


async def dl_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/dl <link>``: works in groups with privacy mode on and with auto-download off."""
    user = await current_user(update, recent=True)
    if user is None:
        return
    message = update.effective_message
    matches = links.extract_links(message.text or "", message.entities)
    if not matches:
        await reply(update, user, texts.GROUP_DL_USAGE)
        return
    if message.chat.type == ChatType.PRIVATE:
        origin = flow.Origin(
            chat_id=message.chat_id, source=DownloadSource.MESSAGE, language=user.ui_language
        )
        await handle_matches(context.bot, user, matches, origin)
        return
    await serve_group_links(context.bot, user, message, matches, explicit=True)


async def serve_group_links(bot, user: BotUser, message, matches, *, explicit: bool) -> None:
    """Replies to the message; unrelated links in a chat are not the bot's business, so
    refusals are answered only when the bot was asked directly."""
    origin = flow.Origin(
        chat_id=message.chat_id,
        source=DownloadSource.GROUP,
        reply_to=message.message_id,
        language=user.ui_language,
    )
    await handle_matches(bot, user, matches, origin, answer_refusals=explicit)


# --- Group settings (admins only) ------------------------------------------------------


async def _is_admin(bot, chat_id: int, user_id: int) -> bool:
    member = await bot.get_chat_member(chat_id, user_id)
    return member.status in ADMINS


def _group_settings_text(language: str, auto_download: bool) -> str:
    state = texts.render(language, texts.GROUP_AUTO_ON if auto_download else texts.GROUP_AUTO_OFF)
    return texts.render(language, texts.GROUP_SETTINGS, state=state)


async def group_settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update)
    if user is None:
        return
    chat_id = update.effective_chat.id
    if not await _is_admin(context.bot, chat_id, user.user_id):
        await reply(update, user, texts.GROUP_ADMINS_ONLY)
        return
    auto = await _auto_download(chat_id)
    await update.effective_message.reply_text(
        _group_settings_text(user.ui_language, auto),
        parse_mode=ParseMode.HTML,
        reply_markup=keyboards.group_settings_keyboard(user.ui_language, auto),
    )


async def on_group_auto_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    user = await current_user(update)
    chat = update.effective_chat
    if chat is None or not await _is_admin(context.bot, chat.id, user.user_id):
        await query.answer(texts.render(user.ui_language, texts.GROUP_ADMINS_ONLY), show_alert=True)
        return
    enabled = keyboards.GROUP_AUTO_PATTERN.match(query.data).group(1) == "on"
    await sync_to_async(group_set_auto_download)(
        chat_id=chat.id, enabled=enabled, title=chat.title or ""
    )
    await query.answer(texts.render(user.ui_language, texts.SETTINGS_SAVED))
    await query.edit_message_text(
        _group_settings_text(user.ui_language, enabled),
        parse_mode=ParseMode.HTML,
        reply_markup=keyboards.group_settings_keyboard(user.ui_language, enabled),
    )
