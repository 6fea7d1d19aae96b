"""The dashboard's "Ads and money" section.

- Impressions, clicks and CTR per campaign and per local day come from
  ``ad_stats_hourly``, a rollup kept by this app's event writers from the impressions
  and clicks a batch newly stored (``ads.writers``) and recomputed from ``ad_impressions``
  and ``ad_clicks`` by ``rebuild_rollups`` (``ad_stats_rebuild`` below).
- Stars come from ``payment_events``, the paid tier's append-only history (one row per
  payment and per refund, a refund negative, indexed by time): small enough to sum as it
  is. It mirrors the ``payments`` table (``payment_services`` publishes an event for each
  payment it stores and each refund it records), and the tests recount from both.
- Paid users right now come from ``users.paid_until`` (indexed), what decides "no ads".
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from analytics.dashboard.api import endpoint
from analytics.dashboard.pages import Page, Widget, page_register
from analytics.dashboard.params import Period
from analytics.dashboard.selectors import fetch_rows, local_day_bounds
from analytics.rollups import rollup_rebuilder
from users.models import BotUser

from .models import AdCampaign, AdClick, AdImpression, AdStatsHourly, PaymentEvent, PaymentEventKind
from .payment_selectors import paid_users_filter

# Table names come from model metadata, never from a request; hence the S608 exemptions.
_STATS = AdStatsHourly._meta.db_table
_CAMPAIGNS = AdCampaign._meta.db_table
_PAYMENT_EVENTS = PaymentEvent._meta.db_table


def ctr_percent(*, clicks: int, impressions: int) -> float:
    return round(clicks * 100 / impressions, 2) if impressions else 0.0


def ads_campaigns(period: Period) -> list[dict[str, Any]]:
    """Per campaign with an impression or a click in the period, most shown first
    (names looked up after the grouping)."""
    rows = fetch_rows(
        "SELECT t.campaign_id, coalesce(c.name, ''), t.impressions, t.clicks FROM ("  # noqa: S608
        f"  SELECT campaign_id, sum(impressions) AS impressions, sum(clicks) AS clicks "
        f"  FROM {_STATS} WHERE hour >= %s AND hour < %s GROUP BY 1"
        f") t LEFT JOIN {_CAMPAIGNS} c ON c.id = t.campaign_id "
        "ORDER BY t.impressions DESC, t.campaign_id",
        [period.utc_start, period.utc_end],
    )
    return [
        {
            "campaign_id": campaign_id,
            # A deleted campaign keeps its history under its id.
            "name": name or f"campaign {campaign_id}",
            "impressions": int(shown),
            "clicks": int(clicked),
            "ctr_percent": ctr_percent(clicks=int(clicked), impressions=int(shown)),
        }
        for campaign_id, name, shown, clicked in rows
    ]


def ads_per_day(period: Period) -> dict[dt.date, dict[str, int]]:
    days: dict[dt.date, dict[str, int]] = defaultdict(
        lambda: {"impressions": 0, "clicks": 0, "stars": 0}
    )
    params = [local_day_bounds(period), period.utc_start, period.utc_end]
    for bucket, shown, clicked in fetch_rows(
        "SELECT width_bucket(hour, %s::timestamptz[]), sum(impressions), sum(clicks) "  # noqa: S608
        f"FROM {_STATS} WHERE hour >= %s AND hour < %s GROUP BY 1",
        params,
    ):
        day = days[period.start + dt.timedelta(days=bucket - 1)]
        day["impressions"], day["clicks"] = int(shown), int(clicked)
    for bucket, stars in fetch_rows(
        "SELECT width_bucket(created_at, %s::timestamptz[]), sum(stars) "  # noqa: S608
        f"FROM {_PAYMENT_EVENTS} WHERE created_at >= %s AND created_at < %s GROUP BY 1",
        params,
    ):
        days[period.start + dt.timedelta(days=bucket - 1)]["stars"] = int(stars)
    return days


def stars_summary(period: Period) -> dict[str, int]:
    """Stars paid and refunded in the period (a refund counts when it is made), the
    payments and the distinct users who paid in it."""
    gross, refunded, payments, paying = fetch_rows(
        "SELECT coalesce(sum(stars) FILTER (WHERE kind = %s), 0), "  # noqa: S608
        "coalesce(-sum(stars) FILTER (WHERE kind = %s), 0), "
        "count(*) FILTER (WHERE kind = %s), count(DISTINCT user_id) FILTER (WHERE kind = %s) "
        f"FROM {_PAYMENT_EVENTS} WHERE created_at >= %s AND created_at < %s",
        [PaymentEventKind.COMPLETED, PaymentEventKind.REFUNDED, PaymentEventKind.COMPLETED,
         PaymentEventKind.COMPLETED, period.utc_start, period.utc_end],
    )[0]  # fmt: skip
    return {
        "stars_revenue": int(gross),
        "stars_refunded": int(refunded),
        "stars_net": int(gross) - int(refunded),
        "payments": int(payments),
        "paying_users": int(paying),
    }


def paid_users_now() -> int:
    """Users whose paid period is running now (whatever the period asked)."""
    return BotUser.objects.filter(**paid_users_filter(at=timezone.now())).count()


@rollup_rebuilder
def ad_stats_rebuild(cursor) -> bool:
    """``ad_stats_hourly`` from the impressions and clicks tables. The rollup is locked
    first, so a batch either committed before (and is read here) or waits and adds its
    new rows after."""
    cursor.execute(f"LOCK TABLE {_STATS} IN ACCESS EXCLUSIVE MODE")
    cursor.execute(f"TRUNCATE {_STATS}")
    cursor.execute(
        f"INSERT INTO {_STATS} (hour, campaign_id, impressions, clicks) "  # noqa: S608
        "SELECT hour, campaign_id, sum(impressions), sum(clicks) FROM ("
        "  SELECT date_trunc('hour', created_at, 'UTC') AS hour, campaign_id, "
        f"        count(*) AS impressions, 0 AS clicks FROM {AdImpression._meta.db_table} "
        "  GROUP BY 1, 2"
        "  UNION ALL"
        "  SELECT date_trunc('hour', created_at, 'UTC'), campaign_id, 0, count(*) "
        f"  FROM {AdClick._meta.db_table} GROUP BY 1, 2"
        ") t GROUP BY 1, 2"
    )
    return True


@endpoint("ads")
def ads_answer(period: Period, query: Mapping[str, str]) -> dict[str, Any]:
    campaigns = ads_campaigns(period)
    shown = sum(c["impressions"] for c in campaigns)
    clicked = sum(c["clicks"] for c in campaigns)
    stars = stars_summary(period)
    paid_now = paid_users_now()
    per_day = ads_per_day(period)
    ctr = ctr_percent(clicks=clicked, impressions=shown)
    summary = [
        ("Impressions", shown), ("Clicks", clicked), ("CTR, %", ctr),
        ("Stars revenue", stars["stars_revenue"]), ("Stars refunded", stars["stars_refunded"]),
        ("Stars, net", stars["stars_net"]), ("Payments", stars["payments"]),
        ("Paying users", stars["paying_users"]), ("Paid users now", paid_now),
    ]  # fmt: skip
    return {
        "impressions": shown,
        "clicks": clicked,
        "ctr_percent": ctr,
        **stars,
        "paid_users_now": paid_now,
        "campaigns": campaigns,
        "days": [{"date": day.isoformat(), **per_day[day]} for day in period.dates()],
        "summary": [{"metric": metric, "value": value} for metric, value in summary],
    }


page_register(
    Page(
        slug="money",
        title="Ads and money",
        widgets=(
            Widget(id="money-summary", title="Ads and Stars in the period", endpoint="ads",
                   rows="summary", label="metric", series=(("value", "Value"),), kind="table"),
            Widget(id="ads-daily", title="Impressions and clicks per day", endpoint="ads",
                   rows="days", series=(("impressions", "Impressions"), ("clicks", "Clicks"))),
            Widget(id="ads-campaigns", title="CTR per campaign", endpoint="ads",
                   rows="campaigns", label="name",
                   series=(("ctr_percent", "CTR, %"), ("impressions", "Impressions"),
                           ("clicks", "Clicks")), kind="bar"),
            Widget(id="stars-daily", title="Stars per day (net of refunds)", endpoint="ads",
                   rows="days", series=(("stars", "Stars"),), kind="bar"),
        ),
    )
)  # fmt: skip
