"""Builds the bot: every handler is registered here and nowhere else."""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import translation
from redis.exceptions import RedisError
from telegram import BotCommand
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    filters,
)

from ads.policy import ad_policy
from ads.services import quota_warm
from botapp import keyboards, referral_jobs, texts
from botapp.handlers import (
    account,
    deeplink_routes,
    groups,
    location,
    payments,
    referral,
    stats,
)
from botapp.handlers import inline as inline_handlers
from botapp.handlers.common import user_warmer_register
from botapp.handlers.errors import on_error
from botapp.handlers.flood import on_flood
from botapp.handlers.links import on_format_button, on_private_text, on_quality_button
from botapp.handlers.start import COMMANDS_KEY as HELP_COMMANDS_KEY
from botapp.handlers.start import help_command, start
from botapp.telegram_bot import application_builder, make_bot
from botapp.updates import ChatFairUpdateProcessor
from downloads import inline
from downloads import keyboards as download_keyboards
from downloads.bots import bot_factory_register
from downloads.policy import Policy, policy_register
from downloads.services import download_requests_requeue
from referrals import texts as referral_texts
from referrals.selectors import referral_pending_warm

log = logging.getLogger(__name__)

assert deeplink_routes  # imported for its @route registrations

COMMANDS = (
    ("start", texts.COMMAND_START),
    ("help", texts.COMMAND_HELP),
    ("stats", texts.COMMAND_STATS),
    ("settings", texts.COMMAND_SETTINGS),
    ("language", texts.COMMAND_LANGUAGE),
    ("referral", referral_texts.COMMAND_REFERRAL),
    ("dl", texts.COMMAND_DL),
    ("premium", texts.COMMAND_PREMIUM),
    ("paysupport", texts.COMMAND_PAYSUPPORT),
)


REQUEUE_EVERY_SECONDS = 60
# How often referrals whose activation job was lost are caught up (one pass over the
# pending referrals, see referrals.selectors.referral_activations_missed).
REFERRAL_CATCH_UP_EVERY_SECONDS = 300

# What follows a delivery (see downloads.policy): each feature's policy, in the order
# their plans are merged. A feature plugs in with one line here, e.g.
# ``ads.policies.ad_policy``. Registered in every process (the bot and rq workers).
POLICIES: tuple[Policy, ...] = (referral.referral_policy, ad_policy)
# What those policies read of a user, loaded with the user's row (handlers.common).
USER_WARMERS = (referral_pending_warm, quota_warm)


def wire() -> None:
    """What ``downloads`` needs from the interface: the bot a job talks through, and the
    delivery policies. Idempotent; ``BotappConfig.ready`` calls it in every process."""
    bot_factory_register(make_bot)
    for policy in POLICIES:
        policy_register(policy)
    for warm in USER_WARMERS:
        user_warmer_register(warm)


def build_application() -> Application:
    wire()
    application = application_builder().post_init(_post_init).build()
    register_handlers(application)
    if isinstance(application.update_processor, ChatFairUpdateProcessor):
        application.update_processor.on_overflow = on_flood
    application.job_queue.run_repeating(
        requeue_lost_requests, interval=REQUEUE_EVERY_SECONDS, first=REQUEUE_EVERY_SECONDS
    )
    application.job_queue.run_repeating(
        referral_activations_catch_up,
        interval=REFERRAL_CATCH_UP_EVERY_SECONDS,
        first=REFERRAL_CATCH_UP_EVERY_SECONDS,
    )
    return application


async def requeue_lost_requests(context) -> None:
    """Requests queued while Redis was down (or lost with its data) get their job.

    In a thread of its own: on the one thread the handlers' ``sync_to_async`` calls
    share, a long scan would hold up every user's database work meanwhile."""
    try:
        await asyncio.to_thread(_in_own_thread, download_requests_requeue)
    except RedisError:
        log.warning("Redis still unavailable: queued requests wait")


def _in_own_thread(function) -> None:
    """Run a periodic scan in the thread ``asyncio.to_thread`` lent it."""
    try:
        function()
    finally:
        connection.close()  # the pool's threads come and go; so does their connection


async def referral_activations_catch_up(context) -> None:
    """Referrals whose activation job was lost (not queued while Redis was down, lost
    with its data, failed) are activated once the friend's download is recorded, and the
    referrer told. In a thread of its own, like the requeue: the scan and the notices
    would otherwise hold up the handlers' database thread."""
    try:
        await asyncio.to_thread(_in_own_thread, referral_jobs.referral_activations_catch_up)
    except DatabaseError as error:
        log.warning("referral catch-up failed, the next run retries: %s", error)


def register_handlers(application: Application) -> None:
    application.add_handler(CommandHandler("start", start))
    application.bot_data[HELP_COMMANDS_KEY] = COMMANDS  # /help lists the command menu
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("stats", stats.stats_command))
    application.add_handler(CommandHandler("settings", account.settings_command))
    application.add_handler(CommandHandler("language", account.language_command))
    application.add_handler(CommandHandler("dl", groups.dl_command))
    register_payment_handlers(application)
    application.add_handler(
        CommandHandler("referral", referral.referral_command, filters=filters.ChatType.PRIVATE)
    )
    application.add_handler(
        CallbackQueryHandler(account.on_language_button, pattern=keyboards.LANGUAGE_PATTERN)
    )
    for pattern in (keyboards.SETTINGS_QUALITY_PATTERN, keyboards.SETTINGS_SEND_AS_PATTERN):
        application.add_handler(CallbackQueryHandler(account.on_settings_button, pattern=pattern))
    application.add_handler(
        CallbackQueryHandler(groups.on_group_auto_button, pattern=keyboards.GROUP_AUTO_PATTERN)
    )
    application.add_handler(
        CallbackQueryHandler(
            location.on_timezone_button, pattern=keyboards.SETTINGS_TIMEZONE_PATTERN
        )
    )
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.LOCATION, location.on_location)
    )
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.Text(location.cancel_labels(settings.LANGUAGES)),
            location.on_cancel,
        )
    )
    application.add_handler(
        CallbackQueryHandler(inline_handlers.on_watch_button, pattern=inline.WATCH_PATTERN)
    )
    application.add_handler(InlineQueryHandler(inline_handlers.on_inline_query))
    application.add_handler(ChosenInlineResultHandler(inline_handlers.on_chosen_result))
    application.add_handler(
        ChatMemberHandler(groups.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(
        MessageHandler(
            filters.ChatType.GROUPS & (filters.TEXT | filters.CAPTION) & ~filters.COMMAND,
            groups.on_group_text,
        )
    )
    application.add_handler(
        CallbackQueryHandler(on_quality_button, pattern=download_keyboards.QUALITY_PATTERN)
    )
    application.add_handler(
        CallbackQueryHandler(on_format_button, pattern=download_keyboards.FORMAT_PATTERN)
    )
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & (filters.TEXT | filters.CAPTION) & ~filters.COMMAND,
            on_private_text,
        )
    )
    application.add_error_handler(on_error)


def register_payment_handlers(application: Application) -> None:
    application.add_handler(CommandHandler("premium", payments.premium_command))
    application.add_handler(CommandHandler("paysupport", payments.paysupport_command))
    application.add_handler(PreCheckoutQueryHandler(payments.on_pre_checkout))
    application.add_handler(
        MessageHandler(filters.SUCCESSFUL_PAYMENT, payments.on_successful_payment)
    )
    application.add_handler(
        MessageHandler(filters.StatusUpdate.REFUNDED_PAYMENT, payments.on_refunded_payment)
    )
    application.add_handler(
        CallbackQueryHandler(payments.on_cancel_button, pattern=keyboards.PREMIUM_CANCEL_PATTERN)
    )


async def _post_init(application: Application) -> None:
    await set_commands(application.bot)


async def set_commands(bot) -> None:
    """The command menu, in each language the bot speaks."""
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            commands = [BotCommand(name, str(description)) for name, description in COMMANDS]
        code = None if language == settings.LANGUAGE_CODE else language
        await bot.set_my_commands(commands, language_code=code)
    log.info("bot @%s: commands registered in %d languages", bot.username, len(settings.LANGUAGES))
