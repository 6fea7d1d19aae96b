"""The referral program in the chat: ``/referral``, the ``ref_<code>`` deep link, and
the delivery policy that activates a referral on the friend's first download."""

from __future__ import annotations

import functools
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from redis.exceptions import RedisError
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from botapp import keyboards, referral_jobs, texts
from botapp.handlers.common import current_user, reply
from botapp.handlers.start import send_welcome
from downloads.policy import DeliveryContext, DeliveryPlan
from downloads.services import downloads_queue
from referrals import texts as referral_texts
from referrals.models import Referral
from referrals.selectors import (
    ReferralStats,
    referral_bonus_amount,
    referral_pending_acheck,
    referral_stats,
)
from referrals.services import referral_attribute, referrer_get_or_create
from users.models import BotUser

log = logging.getLogger(__name__)


def referral_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start=ref_{code}"


async def referral_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update)
    if user is None:
        return
    code, stats = await sync_to_async(_referral_page)(user_id=user.user_id)
    language = user.ui_language
    link = referral_link(context.bot.username, code)
    await update.effective_message.reply_text(
        _page_text(
            language, stats, link=link, bonus=referral_bonus_amount(referrer_id=user.user_id)
        ),
        parse_mode=ParseMode.HTML,
        reply_markup=keyboards.referral_share_keyboard(language, link),
        disable_web_page_preview=True,
    )


def _referral_page(*, user_id: int) -> tuple[str, ReferralStats]:
    return referrer_get_or_create(user_id=user_id).code, referral_stats(user_id=user_id)


def _page_text(language: str, stats: ReferralStats, *, link: str, bonus: int) -> str:
    page = texts.render(
        language,
        referral_texts.REFERRAL_PAGE,
        link=f'<a href="{texts.safe(link)}">{texts.safe(link)}</a>',
        bonus=bonus,
        invited=stats.invited,
        activated=stats.activated,
        earned=stats.earned,
        left=stats.left,
    )
    if stats.earning_blocked:
        page += "\n\n" + texts.render(language, referral_texts.REFERRAL_EARNING_BLOCKED)
    return page


async def referral_link_opened(update: Update, context, user: BotUser, code: str) -> bool:
    """``/start ref_<code>``: attributed on the user's first contact with the bot only;
    the welcome follows either way (True when it was sent here, with the gift)."""
    if not user.first_contact:
        return False
    referral = await sync_to_async(_attribute)(user_id=user.user_id, code=code)
    if referral is None or settings.REFERRAL_WELCOME_BONUS <= 0:
        return False
    await send_welcome(update, context, user)
    await reply(update, user, referral_texts.WELCOME_BONUS, bonus=settings.REFERRAL_WELCOME_BONUS)
    return True


def _attribute(*, user_id: int, code: str) -> Referral | None:
    referral = referral_attribute(user_id=user_id, code=code)
    if referral is not None:
        _enqueue(referral_jobs.referral_joined_notify, referral.referrer_id, user_id)
    return referral


async def referral_policy(ctx: DeliveryContext) -> DeliveryPlan | None:
    """Deliveries to a referred user who has not downloaded yet: once Telegram accepted
    the media, a job activates the referral (pays the referrer, tells them). A job that
    was not queued or got lost is made up for by the next delivery, or by the bot's
    catch-up (``referral_jobs.referral_activations_catch_up``) once the download is
    recorded; the activation itself is exactly-once, so a doubled job changes nothing."""
    if not await referral_pending_acheck(user_id=ctx.user_id):
        return None
    activate = functools.partial(_enqueue, referral_jobs.referral_activation_run, ctx.user_id)
    return DeliveryPlan(on_media_sent=[activate])


def _enqueue(job, *args) -> None:
    # On the one rq queue (a referral job takes milliseconds), over the fast client:
    # this runs on the event loop (after a delivery) or in the thread the bot's
    # sync_to_async calls share. Without Redis a notice is skipped and an activation
    # waits for the bot's catch-up (or the user's next delivery, whichever comes first).
    try:
        downloads_queue().enqueue(job, *args)
    except RedisError as error:
        log.warning("referral job %s not queued: %s", job.__name__, error)
