"""/stats: downloads so far, ad-free downloads left, premium, and how to get more."""

from __future__ import annotations

import datetime as dt

from asgiref.sync import sync_to_async
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from ads.selectors import Quota, quota_for
from analytics.counters import get_user_downloads_today
from botapp import experiments, texts
from botapp.handlers.common import current_user
from botapp.handlers.referral import referral_link
from referrals.services import referrer_get_or_create
from users.models import BotUser


def downloads_today(user_id: int) -> int:
    try:
        return get_user_downloads_today(user_id=user_id)
    except Exception:  # Redis down: the day's count is only kept there
        return 0


def stats_facts(user_id: int) -> tuple[Quota, int, str]:
    """The quota, today's downloads and the user's referral code (made when first needed)."""
    code = referrer_get_or_create(user_id=user_id).code
    return quota_for(user_id), downloads_today(user_id), code


def stats_text(user: BotUser, quota: Quota, today: int, invite_link: str) -> str:
    language = user.ui_language
    lines = [texts.render(language, texts.STATS, total=quota.used, today=today)]
    if quota.paid:
        until = quota.paid_until.astimezone(dt.UTC) if quota.paid_until else None
        when = f"{until:%Y-%m-%d %H:%M} UTC" if until else "-"
        lines.append(texts.render(language, texts.STATS_PAID_UNTIL, until=when))
        return "\n".join(lines)
    lines.append(
        texts.render(language, texts.STATS_AD_FREE_LEFT, left=quota.left, base=quota.base,
                     bonus=quota.bonus)
    )  # fmt: skip
    lines.append("\n" + texts.render(language, texts.STATS_GET_MORE, link=texts.safe(invite_link)))
    return "\n".join(lines)


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update)
    if user is None:
        return
    quota, today, code = await sync_to_async(stats_facts)(user.user_id)
    text = stats_text(user, quota, today, referral_link(context.bot.username, code))
    await update.effective_message.reply_text(
        text, parse_mode=ParseMode.HTML, disable_web_page_preview=True
    )
    if not quota.paid:  # the base it showed is the free-limit experiment's arm
        _base, free_limit_arm = await experiments.free_downloads(user.user_id)
        experiments.free_downloads_shown(user.user_id, free_limit_arm)
