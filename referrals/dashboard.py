"""The dashboard's referrals section: invitations that arrived in the period, referrals
activated in it (the friend's first download), the bonus paid in it (the ledger's sum:
grants less revocations) per day, and the referrers who brought the most.

At a million users the referrals tables are too large to group on a request, so the
rollup job keeps two rollups of them (recounted from the tables on every run, like new
users: a referral is activated, and a bonus revoked, long after it was made):

- ``dash_referrals_hourly``: invited, activated and the bonus per UTC hour, cut into
  local days on a request;
- ``dash_referrer_totals``: the referrals of each referrer who made at least
  ``REFERRER_TOTAL_MIN``. A period with few referrals groups its rows directly; a long
  one takes its top referrers from these candidates: whoever brought k friends in the
  period brought at least k in all, so once ``limit`` referrers with at least k in the
  period are found, every referrer with a total of k or more holds the rest.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from analytics.dashboard.api import endpoint
from analytics.dashboard.pages import Page, Widget, page_register
from analytics.dashboard.params import Period, int_param
from analytics.dashboard.selectors import fetch_rows, local_day_bounds
from analytics.rollups import rollup_rebuilder, rollup_refresher

from .models import Referral, ReferralBonus, ReferralsHourly, ReferrerTotal

# Table names come from model metadata, never from a request; hence the S608 exemptions.
_REFERRALS = Referral._meta.db_table
_BONUSES = ReferralBonus._meta.db_table
_HOURLY = ReferralsHourly._meta.db_table
_TOTALS = ReferrerTotal._meta.db_table
REFERRER_TOTAL_MIN = 2
# Up to this many referrals in the period, its top referrers are grouped directly.
DIRECT_TOP_MAX = 30_000
# Candidates read first, by total, to find the bar the top referrers clear.
_FIRST_CANDIDATES = 4

_HOURLY_REFRESH = f"""
WITH fresh AS (
    SELECT hour, sum(invited) AS invited, sum(activated) AS activated, sum(bonus) AS bonus
    FROM (
        SELECT date_trunc('hour', created_at, 'UTC') AS hour, count(*) AS invited,
               0 AS activated, 0 AS bonus
        FROM {_REFERRALS} GROUP BY 1
        UNION ALL
        SELECT date_trunc('hour', activated_at, 'UTC'), 0, count(*), 0
        FROM {_REFERRALS} WHERE activated_at IS NOT NULL GROUP BY 1
        UNION ALL
        SELECT date_trunc('hour', created_at, 'UTC'), 0, 0, sum(amount)
        FROM {_BONUSES} GROUP BY 1
    ) t GROUP BY hour
), gone AS (
    DELETE FROM {_HOURLY} h WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.hour = h.hour)
    RETURNING 1
), moved AS (
    INSERT INTO {_HOURLY} (hour, invited, activated, bonus)
    SELECT hour, invited, activated, bonus FROM fresh
    ON CONFLICT (hour) DO UPDATE SET invited = excluded.invited,
        activated = excluded.activated, bonus = excluded.bonus
    WHERE ({_HOURLY}.invited, {_HOURLY}.activated, {_HOURLY}.bonus)
        IS DISTINCT FROM (excluded.invited, excluded.activated, excluded.bonus)
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM moved)
"""  # noqa: S608
_TOTALS_REFRESH = f"""
WITH fresh AS (
    SELECT referrer_id, count(*) AS invited FROM {_REFERRALS}
    GROUP BY 1 HAVING count(*) >= %s
), gone AS (
    DELETE FROM {_TOTALS} t
    WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.referrer_id = t.referrer_id)
    RETURNING 1
), moved AS (
    INSERT INTO {_TOTALS} (referrer_id, invited) SELECT referrer_id, invited FROM fresh
    ON CONFLICT (referrer_id) DO UPDATE SET invited = excluded.invited
    WHERE {_TOTALS}.invited <> excluded.invited RETURNING 1
)
SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM moved)
"""  # noqa: S608


# What the rollups were last recounted from, in this process: rows added, deleted or
# activated move it (read from indexes, a fraction of the recount).
_FINGERPRINT = (
    f"SELECT (SELECT count(*) FROM {_REFERRALS}), (SELECT max(id) FROM {_REFERRALS}), "  # noqa: S608
    f"(SELECT count(activated_at) FROM {_REFERRALS}), (SELECT count(*) FROM {_BONUSES}), "
    f"(SELECT max(id) FROM {_BONUSES})"
)
_recounted_from: list[tuple] = []


@rollup_refresher
def referral_rollups_refresh(cursor) -> bool:
    """Recount both rollups from the referrals tables unless nothing moved since this
    process last did; True if a row moved."""
    cursor.execute(_FINGERPRINT)
    fingerprint = cursor.fetchone()
    if _recounted_from == [fingerprint]:
        return False
    cursor.execute(_HOURLY_REFRESH)
    moved = cursor.fetchone()[0] > 0
    cursor.execute(_TOTALS_REFRESH, [REFERRER_TOTAL_MIN])
    moved = cursor.fetchone()[0] > 0 or moved
    # Remembered once the job's transaction commits (a rollback recounts next time).
    transaction.on_commit(functools.partial(_remember, fingerprint))
    return moved


def _remember(fingerprint: tuple) -> None:
    _recounted_from[:] = [fingerprint]


@rollup_rebuilder
def referral_rollups_rebuild(cursor) -> bool:
    """Emptied: the refresh that ends the rebuild recounts them."""
    cursor.execute(f"TRUNCATE {_HOURLY}, {_TOTALS}")
    _recounted_from.clear()
    return True


def _per_day(period: Period) -> dict[str, dict[dt.date, int]]:
    rows = fetch_rows(
        "SELECT width_bucket(hour, %s::timestamptz[]), sum(invited), sum(activated), "  # noqa: S608
        f"sum(bonus) FROM {_HOURLY} WHERE hour >= %s AND hour < %s GROUP BY 1",
        [local_day_bounds(period), period.utc_start, period.utc_end],
    )
    days: dict[str, dict[dt.date, int]] = {"invited": {}, "activated": {}, "bonus_paid": {}}
    for bucket, invited, activated, bonus in rows:
        day = period.start + dt.timedelta(days=bucket - 1)
        days["invited"][day], days["activated"][day] = int(invited), int(activated)
        days["bonus_paid"][day] = int(bonus)
    return days


def _counted(period: Period, where: str, params: list) -> list[tuple[int, int, int]]:
    """(referrer, referrals in the period, of them activated) of the referrers chosen by
    ``where`` (SQL over the totals ``t``) with a referral in the period."""
    return fetch_rows(
        f"SELECT t.referrer_id, p.n, p.active FROM {_TOTALS} t CROSS JOIN LATERAL ("  # noqa: S608
        f"  SELECT count(*) AS n, count(activated_at) AS active FROM {_REFERRALS} r"
        "   WHERE r.referrer_id = t.referrer_id AND r.created_at >= %s AND r.created_at < %s"
        f") p WHERE p.n > 0 AND {where}",
        [period.utc_start, period.utc_end, *params],
    )


_TOP_TOTALS = (
    f"t.referrer_id IN (SELECT referrer_id FROM {_TOTALS} "  # noqa: S608
    "ORDER BY invited DESC, referrer_id LIMIT %s)"
)


def _top_referrers(period: Period, limit: int, invited: int) -> list[tuple[int, int, int]]:
    """(referrer, invited, activated) of the ``limit`` referrers who brought the most
    friends in the period, ties by id."""
    if invited > DIRECT_TOP_MAX:
        first = _counted(period, _TOP_TOTALS, [limit * _FIRST_CANDIDATES])
        bar = sorted((n for _, n, _ in first), reverse=True)[limit - 1 : limit]
        if bar and bar[0] >= REFERRER_TOTAL_MIN:
            every = _counted(period, "t.invited >= %s", [bar[0]])
            return sorted(every, key=lambda row: (-row[1], row[0]))[:limit]
    return fetch_rows(
        f"SELECT referrer_id, count(*), count(activated_at) FROM {_REFERRALS} "  # noqa: S608
        "WHERE created_at >= %s AND created_at < %s GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s",
        [period.utc_start, period.utc_end, limit],
    )


def _names(user_ids: list[int]) -> dict[int, tuple[str, str]]:
    rows = fetch_rows(
        "SELECT user_id, coalesce(username, ''), coalesce(first_name, '') FROM users "
        "WHERE user_id = ANY(%s)",
        [user_ids],
    )
    return {user_id: (username, first_name) for user_id, username, first_name in rows}


def referrals_summary(period: Period, limit: int) -> dict[str, Any]:
    totals = _per_day(period)
    top = _top_referrers(period, limit, sum(totals["invited"].values()))
    # Names are looked up for the top rows only, after the grouping.
    names = _names([user_id for user_id, _, _ in top])
    days: dict[dt.date, dict[str, int]] = defaultdict(dict)
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
                "name": _name(user_id, *names.get(user_id, ("", ""))),
                "invited": n,
                "activated": active,
            }
            for user_id, n, active in top
        ],
        "summary": [
            {"metric": "Invited", "value": sums["invited"]},
            {"metric": "Activated (first download)", "value": sums["activated"]},
            {"metric": "Bonus paid (ad-free downloads, net)", "value": sums["bonus_paid"]},
        ],
    }


def _name(user_id: int, username: str, first_name: str) -> str:
    return f"@{username}" if username else first_name or str(user_id)


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
