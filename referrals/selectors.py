"""Reads of the referral program: bonuses, a referrer's stats, the admin's flags."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone
from redis.exceptions import RedisError

from config.redis import get_fast_redis
from referrals.models import BonusOutcome, BonusReason, Referral, ReferralBonus, Referrer
from users.models import BotUser


def referral_bonus_amount(*, referrer_id: int) -> int:
    """Ad-free downloads one activated referral pays its referrer. The one place an
    experiment would vary it per referrer."""
    return settings.REFERRAL_BONUS


# A copy of each user's bonus total in Redis, read by the ads' quota decision on the bot's
# event loop (no database there), which also writes it when it read the ledger. Dropped
# when the ledger changes (services); the TTL bounds what a lost drop could cost.
BONUS_CACHE_SECONDS = 600


def bonus_key(user_id: int) -> str:
    return f"referrals:user:{user_id}:bonus"


def referral_bonus_total(*, user_id: int) -> int:
    """Ad-free downloads the user holds from the ledger: grants minus revocations. Also
    refreshes the Redis copy that the ads' quota decision reads."""
    total = ReferralBonus.objects.filter(user_id=user_id).aggregate(total=Sum("amount"))["total"]
    total = max(total or 0, 0)
    with contextlib.suppress(RedisError):
        get_fast_redis().set(bonus_key(user_id), total, ex=BONUS_CACHE_SECONDS)
    return total


def referral_pending(*, user_id: int) -> bool:
    """Whether the user was referred and has not completed a download since."""
    return Referral.objects.filter(referred_user_id=user_id, activated_at__isnull=True).exists()


# Users known to have no pending referral. A user is referred only on their first
# contact with the bot, and a delivery means they have had it, so once a delivery finds
# no pending referral none can appear later: the policy asks PostgreSQL once per user
# and process, not on every cache hit. Bounded, and simply emptied when full.
_NOT_PENDING: set[int] = set()
_NOT_PENDING_MAX = 500_000


async def referral_pending_acheck(*, user_id: int) -> bool:
    """``referral_pending`` for the delivery path, remembering the users without one."""
    if user_id in _NOT_PENDING:
        return False
    pending = await Referral.objects.filter(
        referred_user_id=user_id, activated_at__isnull=True
    ).aexists()
    if not pending:
        _not_pending_remember(user_id)
    return pending


def referral_pending_warm(user: BotUser) -> None:
    """Ask once, in the thread hop that read a user's row (a user new to this process),
    so their first delivery need not hop again. Not on the update that created the row:
    its /start may be the one that attributes the referral."""
    if user.first_contact or user.user_id in _NOT_PENDING:
        return
    # A referral sets ``referred_by`` in the same transaction (services), so a user
    # without one has none to activate: no query for most users.
    if user.referred_by_id is None or not referral_pending(user_id=user.user_id):
        _not_pending_remember(user.user_id)


def _not_pending_remember(user_id: int) -> None:
    if len(_NOT_PENDING) >= _NOT_PENDING_MAX:
        _NOT_PENDING.clear()
    _NOT_PENDING.add(user_id)


def referral_pending_forget() -> None:
    """Forget what ``referral_pending_acheck`` remembered (tests reuse user ids)."""
    _NOT_PENDING.clear()


def referral_activations_missed(*, limit: int) -> list[int]:
    """Referred users (at most ``limit``) whose referral is still pending although a
    download of theirs is recorded: the activation that should have followed it never
    ran (its job was not queued, or was lost or failed) or has not run yet. A delivery is
    recorded by the analytics worker (``users.total_downloads``) from ``DownloadCompleted``,
    which waits in the spool while Redis is down rather than being lost. A referred user
    has no download from before the referral: only their first contact attributes them.

    One pass over the pending referrals joined with their users: a few hundred
    milliseconds at 150,000 pending among a million users, so it runs every few minutes,
    never per delivery. In no particular order: each row it returns is then activated."""
    return list(
        Referral.objects.filter(activated_at__isnull=True, referred_user__total_downloads__gt=0)
        .order_by()
        .values_list("referred_user_id", flat=True)[:limit]
    )


@dataclasses.dataclass(frozen=True)
class ReferralStats:
    invited: int  # users who joined through the link
    activated: int  # of them, those who completed a download
    earned: int  # ad-free downloads earned through referrals, revocations deducted
    left: int  # ad-free downloads still to earn under the total cap
    paid_today: int
    earning_blocked: bool


def referral_stats(*, user_id: int) -> ReferralStats:
    referrals = Referral.objects.filter(referrer_id=user_id).aggregate(
        invited=Count("pk"), activated=Count("pk", filter=Q(activated_at__isnull=False))
    )
    ledger = ReferralBonus.objects.filter(user_id=user_id).exclude(reason=BonusReason.WELCOME)
    sums = ledger.aggregate(
        earned=Sum("amount"),
        paid=Count("pk", filter=Q(reason=BonusReason.REFERRAL)),
        paid_today=Count("pk", filter=Q(reason=BonusReason.REFERRAL, created_at__gte=_day_start())),
    )
    blocked = Referrer.objects.filter(pk=user_id, earning_blocked=True).exists()
    left_bonuses = 0 if blocked else max(settings.REFERRAL_MAX_TOTAL - sums["paid"], 0)
    return ReferralStats(
        invited=referrals["invited"],
        activated=referrals["activated"],
        earned=max(sums["earned"] or 0, 0),
        left=left_bonuses * referral_bonus_amount(referrer_id=user_id),
        paid_today=sums["paid_today"],
        earning_blocked=blocked,
    )


def _day_start(now: dt.datetime | None = None) -> dt.datetime:
    now = now or timezone.now()
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


# A referrer is flagged when at least this many invited users had time to download
# (a day) and fewer than one in FLAG_ACTIVATED_ONE_IN of them did, or when referrals
# found the caps full at least this often: both patterns of accounts made to farm.
FLAG_MIN_INVITED = 5
FLAG_ACTIVATED_ONE_IN = 5
FLAG_MIN_CAPPED = 3


def referrers_summary() -> QuerySet[Referrer]:
    """Every referrer with invited, activated, capped, bonus and a ``flagged`` reason
    computed in the query (the admin lists and filters these)."""
    day_ago = timezone.now() - dt.timedelta(days=1)
    capped = [BonusOutcome.CAPPED_DAY, BonusOutcome.CAPPED_TOTAL]
    made = "user__referrals_made"
    return Referrer.objects.annotate(
        invited=Count(made, distinct=True),
        activated=Count(made, filter=Q(**{f"{made}__activated_at__isnull": False}), distinct=True),
        invited_a_day_ago=Count(
            made, filter=Q(**{f"{made}__created_at__lte": day_ago}), distinct=True
        ),
        activated_a_day_ago=Count(
            made,
            filter=Q(
                **{f"{made}__created_at__lte": day_ago, f"{made}__activated_at__isnull": False}
            ),
            distinct=True,
        ),
        capped=Count(made, filter=Q(**{f"{made}__outcome__in": capped}), distinct=True),
    )


def referrer_flag_reason(referrer: Referrer) -> str:
    """Why an annotated referrer (``referrers_summary``) looks like farming, or ''."""
    reasons = []
    invited = referrer.invited_a_day_ago
    if (
        invited >= FLAG_MIN_INVITED
        and referrer.activated_a_day_ago * FLAG_ACTIVATED_ONE_IN < invited
    ):
        reasons.append(f"{referrer.activated_a_day_ago} of {invited} invited users ever downloaded")
    if referrer.capped >= FLAG_MIN_CAPPED:
        reasons.append(f"hit the caps {referrer.capped} times")
    return "; ".join(reasons)


def referrers_flagged() -> QuerySet[Referrer]:
    """Referrers whose pattern looks like farming (``referrer_flag_reason``)."""
    rarely_activated = Q(invited_a_day_ago__gte=FLAG_MIN_INVITED) & Q(
        activated_scaled__lt=F("invited_a_day_ago")
    )
    return (
        referrers_summary()
        .annotate(activated_scaled=F("activated_a_day_ago") * FLAG_ACTIVATED_ONE_IN)
        .filter(rarely_activated | Q(capped__gte=FLAG_MIN_CAPPED))
    )
