"""Seed step for ``seed_analytics``: campaigns, impressions, clicks and Stars payments,
shaped like the paid tier's services and the event writers leave them: a ``payments``
row per payment (a few refunded three days later), its ``payment_events`` history (a
negative line per refund) and the payers' ``users.paid_until``. The dashboard's
``ad_stats_hourly`` is then computed by the rebuild at the end of the seed."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
from django.db import connection

from ads.models import AdCampaign, Payment, PaymentEvent, PaymentStatus
from ads.payment_services import PREMIUM_DAYS
from sandbox.analytics_seed import SeedContext, seed_step, time_ordered_ids

# (name, weight, click-through rate)
CAMPAIGNS = (("VPN spring", 5, 0.031), ("Music app", 3, 0.022), ("Shoes", 2, 0.045),
             ("Language course", 1, 0.018))  # fmt: skip
IMPRESSIONS_PER_DOWNLOAD = 0.4
PAYING_SHARE = 0.02
PRICES = (100, 250, 500)


@seed_step
def ads_seed(context: SeedContext) -> None:
    campaigns = [
        AdCampaign.objects.create(
            name=name, message=f"<b>{name}</b>", button_text="Open",
            button_url="https://example.org/offer", weight=weight,
        )
        for name, weight, _ctr in CAMPAIGNS
    ]  # fmt: skip
    _impressions(context, campaigns)
    _payments(context)


def _impressions(context: SeedContext, campaigns: list[AdCampaign]) -> None:
    rng = context.rng
    size = int(context.plan.downloads * IMPRESSIONS_PER_DOWNLOAD)
    users, at = context.sample(size)
    order = np.argsort(at, kind="stable")  # time order: see ``time_ordered_ids``
    users, at = users[order], at[order]
    weights = np.array([weight for _, weight, _ in CAMPAIGNS], dtype=float)
    campaign = rng.choice(len(campaigns), size=size, p=weights / weights.sum())
    ctr = np.array([rate for _, _, rate in CAMPAIGNS])[campaign]
    clicked = rng.random(size) < ctr
    click_at = at + rng.integers(3, 900, size)
    ids = time_ordered_ids(at)
    click_ids = time_ordered_ids(click_at)
    shown, clicks = context.timestamps(at), context.timestamps(click_at)
    campaign_ids = [campaigns[c].pk for c in campaign.tolist()]
    user_ids = users.tolist()
    context.copy(
        "ad_impressions",
        "impression_id, campaign_id, creative_id, user_id, surface, language, media_key, "
        "created_at",
        (f"{ids[32 * i : 32 * i + 32]}\t{campaign_ids[i]}\t\\N\t{user_ids[i]}\tprivate\t\t\t"
         f"{shown[i]}\n" for i in range(size)),
        defer=("user_id",),
    )  # fmt: skip
    context.copy(
        "ad_clicks",
        "impression_id, event_id, campaign_id, user_id, created_at",
        (f"{ids[32 * i : 32 * i + 32]}\t{click_ids[32 * i : 32 * i + 32]}\t{campaign_ids[i]}\t"
         f"{user_ids[i]}\t{clicks[i]}\n" for i in np.flatnonzero(clicked).tolist()),
    )  # fmt: skip


def _payments(context: SeedContext) -> None:
    rng = context.rng
    size = max(1, int(context.plan.users * PAYING_SHARE * 1.6))
    users, at = context.sample(size)
    stars = rng.choice(PRICES, size=size)
    kinds = rng.choice(["one_time", "subscription"], size=size, p=[0.7, 0.3])
    refund_at = at + 86400 * 3
    end = dt.datetime.combine(context.plan.end + dt.timedelta(days=1), dt.time(), dt.UTC)
    refunded = (rng.random(size) < 0.03) & (refund_at < end.timestamp())
    ids = os.urandom(16 * size * 2).hex()
    paid, refund = context.timestamps(at), context.timestamps(refund_at)
    until = context.timestamps(at + 86400 * PREMIUM_DAYS)
    user_ids, prices, kind_names = users.tolist(), stars.tolist(), kinds.tolist()

    def payments():
        for i in range(size):
            status, refunded_at, by = PaymentStatus.PAID.value, "\\N", ""
            if refunded[i]:
                status, refunded_at, by = PaymentStatus.REFUNDED.value, refund[i], "seed"
            yield (f"{user_ids[i]}\t{kind_names[i]}\tseed-{i}\t\tXTR\t{prices[i]}\t"
                   f"{PREMIUM_DAYS}\tf\t{status}\t{paid[i]}\t{until[i]}\t{refunded_at}\t"
                   f"{by}\n")  # fmt: skip

    def history():
        for i in range(size):
            yield (f"{ids[32 * i : 32 * i + 32]}\tcompleted\t{user_ids[i]}\tseed-{i}\t"
                   f"{prices[i]}\t{kind_names[i]}\t{paid[i]}\n")  # fmt: skip
            if refunded[i]:
                j = size + i
                yield (f"{ids[32 * j : 32 * j + 32]}\trefunded\t{user_ids[i]}\tseed-{i}\t"
                       f"{-prices[i]}\t{kind_names[i]}\t{refund[i]}\n")  # fmt: skip

    context.copy(
        Payment._meta.db_table,
        "user_id, kind, telegram_payment_charge_id, provider_payment_charge_id, currency, "
        "stars, days, is_recurring, status, paid_at, paid_until, refunded_at, refunded_by",
        payments(),
    )
    context.copy(
        PaymentEvent._meta.db_table,
        "event_id, kind, user_id, telegram_payment_charge_id, stars, premium_kind, created_at",
        history(),
    )
    # What ``payment_record`` leaves on the user: the end of their last paid period
    # (refunded payments took their days back).
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE users u SET paid_until = p.until FROM (SELECT user_id, max(paid_until) "  # noqa: S608
            f"AS until FROM {Payment._meta.db_table} WHERE status = %s GROUP BY 1) p "
            "WHERE p.user_id = u.user_id",
            [PaymentStatus.PAID],
        )
        cursor.execute(f"ANALYZE {Payment._meta.db_table}, {PaymentEvent._meta.db_table}")
