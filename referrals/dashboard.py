"""The dashboard's referrals section: invitations that arrived in the period, how many
of the invited have downloaded since (activated), per day, and the top referrers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from analytics.dashboard.api import endpoint
from analytics.dashboard.pages import Page, Widget, page_register
from analytics.dashboard.params import Period, int_param
from analytics.dashboard.selectors import fetch_rows, local_day_bounds


def referrals_summary(period: Period, limit: int) -> dict[str, Any]:
    """Invitations that arrived in the period: how many, how many of the invited have
    downloaded since (activated), per day, and the referrers who brought the most."""
    bounds = [period.utc_start, period.utc_end]
    invited, activated = fetch_rows(
        "SELECT count(*), count(*) FILTER (WHERE u.total_downloads > 0) "
        "FROM referrals r LEFT JOIN users u ON u.user_id = r.referred_user_id "
        "WHERE r.created_at >= %s AND r.created_at < %s",
        bounds,
    )[0]
    per_day = {
        period.start + dt.timedelta(days=bucket - 1): n
        for bucket, n in fetch_rows(
            "SELECT width_bucket(created_at, %s::timestamptz[]), count(*) FROM referrals "
            "WHERE created_at >= %s AND created_at < %s GROUP BY 1",
            [local_day_bounds(period), *bounds],
        )
    }
    # Names are looked up for the top rows only, after the grouping.
    top = fetch_rows(
        "SELECT t.referrer_id, coalesce(u.username, ''), coalesce(u.first_name, ''), t.n, t.active "
        "FROM (SELECT r.referrer_id, count(*) AS n, "
        "      count(*) FILTER (WHERE invited.total_downloads > 0) AS active "
        "      FROM referrals r LEFT JOIN users invited ON invited.user_id = r.referred_user_id "
        "      WHERE r.created_at >= %s AND r.created_at < %s "
        "      GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s) t "
        "LEFT JOIN users u ON u.user_id = t.referrer_id ORDER BY t.n DESC, t.referrer_id",
        [*bounds, limit],
    )
    return {
        "invited": invited,
        "activated": activated,
        "days": [
            {"date": day.isoformat(), "invited": per_day.get(day, 0)} for day in period.dates()
        ],
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
            {"metric": "Invited", "value": invited},
            {"metric": "Activated (downloaded since)", "value": activated},
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
                id="referrals-daily", title="Invited users per day", endpoint="referrals",
                rows="days", series=(("invited", "Invited"),), kind="bar",
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
