"""Referral jobs (on the rq queue): a referral's activation after a delivery, and
the notices to the referrer. They run off the delivery path, so a slow or blocked
referrer never delays the friend's video.

An activation job can be lost: its enqueue failed or timed out (Redis down or slow just
then), Redis lost it with its data, or it failed. ``referral_activations_catch_up``,
run by the bot every few minutes, activates what such a job left pending once the
friend's download is recorded, so the bonus never waits for a next delivery.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError

from botapp import texts
from botapp.telegram_bot import make_bot
from downloads.delivery import is_blocked_by_user
from referrals import texts as referral_texts
from referrals.selectors import (
    referral_activations_missed,
    referral_bonus_amount,
    referral_stats,
)
from referrals.services import Activation, referral_activate
from users.models import BotUser
from users.services import user_mark_blocked

log = logging.getLogger(__name__)


def referral_activation_run(user_id: int) -> None:
    """The user completed a download: the first one pays their referrer."""
    _activate_and_tell(user_id)


# Activations one catch-up makes at most (each may wait for Telegram with its notice);
# the next run takes the rest.
CATCH_UP_LIMIT = 200


def referral_activations_catch_up(*, limit: int = CATCH_UP_LIMIT) -> int:
    """Activate the referrals still pending although the friend's download is recorded
    (``referral_activations_missed``), as their lost job would have, telling each
    referrer; returns how many this call activated. Safe beside the jobs and another
    catch-up: an activation happens once, and only the caller that made it sends the
    notice, so a job that turns up late pays and tells nothing."""
    activated = sum(
        _activate_and_tell(user_id) is not None
        for user_id in referral_activations_missed(limit=limit)
    )
    if activated:
        log.info("caught up %d referral activations left by a lost job", activated)
    return activated


def _activate_and_tell(user_id: int) -> Activation | None:
    activation = referral_activate(referred_user_id=user_id)
    if activation is not None and activation.amount:
        asyncio.run(
            _notice_send(
                activation.referrer_id,
                activation.referred_user_id,
                referral_texts.NOTICE_BONUS_CREDITED,
                bonus=activation.amount,
            )
        )
    return activation


def referral_joined_notify(referrer_id: int, friend_id: int) -> None:
    """A friend joined through the referrer's link; the bonus is promised only while
    the referrer can still earn one."""
    if referral_stats(user_id=referrer_id).left > 0:
        text = referral_texts.NOTICE_FRIEND_JOINED
    else:
        text = referral_texts.NOTICE_FRIEND_JOINED_NO_BONUS
    bonus = referral_bonus_amount(referrer_id=referrer_id)
    asyncio.run(_notice_send(referrer_id, friend_id, text, bonus=bonus))


async def _notice_send(referrer_id: int, friend_id: int, text, *, bonus: int) -> None:
    referrer = await BotUser.objects.filter(pk=referrer_id).afirst()
    if referrer is None or referrer.is_blocked:  # nobody to tell
        return
    friend = await BotUser.objects.filter(pk=friend_id).afirst()
    language = referrer.ui_language
    name = texts.safe(friend.first_name or friend.username) if friend else ""
    name = name or texts.render(language, referral_texts.A_FRIEND)
    message = texts.render(language, text, name=name, bonus=bonus)
    async with make_bot() as bot:
        try:
            await bot.send_message(referrer_id, message, parse_mode=ParseMode.HTML)
        except Forbidden as error:
            if is_blocked_by_user(error):
                await sync_to_async(user_mark_blocked)(user_id=referrer_id)
            log.info("referral notice to %s not delivered: %s", referrer_id, error)
        except TelegramError as error:
            log.warning("referral notice to %s failed: %s", referrer_id, error)
