"""The dashboard's referrals section: invitations that arrived in the period, referrals
activated in it (the friend's first download), the bonus paid in it (the ledger's sum:
grants less revocations) per day, and the referrers who brought the most."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from analytics.dashboard.api import endpoint
from analytics.dashboard.pages import Page, Widget, page_register
from analytics.dashboard.params import Period, int_param
from analytics.dashboard.selectors import fetch_rows, local_day_bounds

from .models import Referral, ReferralBonus

_REFERRALS = Referral._meta.db_table
_BONUSES = ReferralBonus._meta.db_table


def _per_day(period: Period, table: str, column: str, value: str) -> dict[dt.date, int]:
    rows = fetch_rows(
        f"SELECT width_bucket({column}, %s::timestamptz[]), {value} FROM {table} "  # noqa: S608
        f"WHERE {column} >= %s AND {column} < %s GROUP BY 1",
        [local_day_bounds(period), period.utc_start, period.utc_end],
    )
    return {period.start + dt.timedelta(days=bucket - 1): int(n) for bucket, n in rows}


def referrals_summary(period: Period, limit: int) -> dict[str, Any]:
    bounds = [period.utc_start, period.utc_end]
    invited = _per_day(period, _REFERRALS, "created_at", "count(*)")
    activated = _per_day(period, _REFERRALS, "activated_at", "count(*)")
    bonus = _per_day(period, _BONUSES, "created_at", "sum(amount)")
    # Names are looked up for the top rows only, after the grouping.
    top = fetch_rows(
        "SELECT t.referrer_id, coalesce(u.username, ''), coalesce(u.first_name, ''), t.n, t.active "  # noqa: S608
        f"FROM (SELECT referrer_id, count(*) AS n, count(activated_at) AS active FROM {_REFERRALS} "
        "      WHERE created_at >= %s AND created_at < %s "
        "      GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s) t "
        "LEFT JOIN users u ON u.user_id = t.referrer_id ORDER BY t.n DESC, t.referrer_id",
        [*bounds, limit],
    )
    days: dict[dt.date, dict[str, int]] = defaultdict(dict)
    totals = {"invited": invited, "activated": activated, "bonus_paid": bonus}
    for key, per_day in totals.items():
        for day in period.dates():
            days[day][key] = per_day.get(day, 0)
    sums = {key: sum(per_day.values()) for key, per_day in totals.items()}
    return {
        **sums,
        "days": [{"date": day.isoformat(), **days[day]} for day in period.dates()],
        "top_referrers": [
            {
                "user_id": user_id,
                "name": f"@{username}" if username else first_name or str(user_id),
                "invited": n,
                "activated": active,
            }
            for user_id, username, first_name, n, active in top
        ],
        "summary": [
            {"metric": "Invited", "value": sums["invited"]},
            {"metric": "Activated (first download)", "value": sums["activated"]},
            {"metric": "Bonus paid (ad-free downloads, net)", "value": sums["bonus_paid"]},
        ],
    }


@endpoint("referrals", params=("limit",))
def referrals_answer(period: Period, query: Mapping[str, str]) -> dict[str, Any]:
    return referrals_summary(period, int_param(query, "limit", default=10, low=1, high=100))


page_register(
    Page(
        slug="referrals",
        title="Referrals",
        widgets=(
            Widget(
                id="referrals-summary", title="Referrals in the period", endpoint="referrals",
                rows="summary", label="metric", series=(("value", "Value"),), kind="table",
            ),
            Widget(
                id="referrals-daily", title="Invited, activated and bonus per day",
                endpoint="referrals", rows="days",
                series=(("invited", "Invited"), ("activated", "Activated"),
                        ("bonus_paid", "Bonus paid")),
                kind="bar",
            ),
            Widget(
                id="top-referrers", title="Top referrers", endpoint="referrals",
                rows="top_referrers", label="name",
                series=(("invited", "Invited"), ("activated", "Activated"), ("user_id", "User id")),
                kind="table",
            ),
        ),
    )
)  # fmt: skip
