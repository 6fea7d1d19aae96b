"""/start, with or without a deep-link payload, and /help."""

from __future__ import annotations

from django.conf import settings
from telegram import Update
from telegram.ext import ContextTypes

from botapp import deeplinks, experiments, texts
from botapp.handlers.common import current_user, reply, reply_html
from downloads import flow
from downloads import texts as download_texts

# application.bot_data key of the (command, description) pairs of the command menu,
# listed at the end of /help so the two never disagree.
COMMANDS_KEY = "commands"


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update)
    if user is None:
        return
    payload = context.args[0] if context.args else ""
    target = deeplinks.resolve(payload) if payload else None
    if target is not None:
        handler, argument = target
        if await handler(update, context, user, argument):
            return
    await send_welcome(update, context, user)


async def send_welcome(update: Update, context: ContextTypes.DEFAULT_TYPE, user) -> None:
    name = texts.safe(update.effective_user.first_name or update.effective_user.username or "")
    variant = await experiments.ui_variant(user.user_id)
    welcome = experiments.welcome_text(variant)
    await reply(update, user, welcome, name=name, bot=context.bot.username)
    experiments.welcome_shown(user.user_id, variant)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update)
    if user is None:
        return
    language = user.ui_language
    free, free_limit_arm = await experiments.free_downloads(user.user_id)
    values = help_values(language, bot=context.bot.username, free=free)
    sections = [texts.render(language, section, **values) for section in texts.HELP_SECTIONS]
    commands = context.application.bot_data.get(COMMANDS_KEY, ())
    sections.append(
        "\n".join(
            [texts.render(language, texts.HELP_COMMANDS)]
            + [f"/{name} - {texts.render(language, about)}" for name, about in commands]
        )
    )
    await reply_html(update, "\n\n".join(sections))
    experiments.free_downloads_shown(user.user_id, free_limit_arm)


def help_values(language: str, *, bot: str, free: int) -> dict[str, object]:
    """What the help sections may name: every section is formatted with all of them."""
    return {
        "bot": bot,
        "sites": texts.render(language, download_texts.SUPPORTED_SITES),
        "links": flow.MAX_LINKS_PER_MESSAGE,
        "limit": settings.MAX_UPLOAD_MB,
        "free": free,
        "stars": settings.PREMIUM_STARS,
        "bonus": settings.REFERRAL_BONUS,
    }
