"""Top videos over any period, exact, without summing the long tail.

Each UTC day keeps its ``TOP_PER_DAY`` videos (``dash_video_day_top``) and a threshold:
no video outside that list has more downloads that day. Over a period's whole UTC
days, a video's total lies between the sum of its listed days (lower bound) and that
plus the thresholds of the days it is not listed on (upper bound); a video on no list
has at most the sum of all thresholds. The partial UTC days at either end of a local
period (a time zone other than UTC) are bounded the same way by their day's list: the
listed videos' part is counted exactly, any other video has at most the day's threshold
in it. A part is counted from raw downloads, half a day's worth at most (a longer part
is its day's rollup less the rest). Only the videos whose upper bound reaches the N-th
lower bound are counted exactly; if the N-th exact total does not beat what an unlisted
video could have, the answer falls back to summing every video (correct, only slower).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from typing import Any

from analytics.rollups import TOP_PER_DAY

from .params import Period
from .selectors import fetch_rows

MAX_LIMIT = TOP_PER_DAY


@dataclasses.dataclass
class _Split:
    """A period as whole UTC days and the partial UTC intervals at its ends."""

    first_day: dt.date | None
    last_day: dt.date | None
    edges: list[tuple[dt.datetime, dt.datetime]]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def period_split(period: Period) -> _Split:
    low, high = period.utc_start, period.utc_end
    first = low.date() if low == _midnight(low.date()) else low.date() + dt.timedelta(days=1)
    last = high.date() - dt.timedelta(days=1)  # the day before the one high falls in
    edges = []
    if _midnight(first) > low:
        edges.append((low, min(_midnight(first), high)))
    if high > _midnight(high.date()) and _midnight(high.date()) >= _midnight(first):
        edges.append((_midnight(high.date()), high))
    if first > last:
        return _Split(None, None, edges)
    return _Split(first, last, edges)


def _edge_counts(split: _Split) -> Counter[str]:
    """Downloads per video in the partial UTC days at the ends, every video."""
    counts: Counter[str] = Counter()
    for low, high in split.edges:
        counts.update(_counts_in(low, high, None))
    return counts


def _listed(split: _Split) -> tuple[dict[str, list[int]], int]:
    """Per listed video (sum of its listed days, number of days listed), and the sum of
    the thresholds of the period's days."""
    if split.first_day is None:
        return {}, 0
    # A day whose top list is older than its downloads (the job is up to a minute
    # behind) is read in full instead, with no threshold.
    days = fetch_rows(
        """
        SELECT h.day, coalesce(u.downloads = h.downloads, false), coalesce(u.top_threshold, 0)
        FROM (SELECT (hour AT TIME ZONE 'UTC')::date AS day, sum(downloads) AS downloads
              FROM dash_downloads_hourly WHERE hour >= %s AND hour < %s GROUP BY 1) h
        LEFT JOIN dash_utc_days u ON u.day = h.day
        """,
        [_midnight(split.first_day), _midnight(split.last_day + dt.timedelta(days=1))],
    )
    fresh = [day for day, is_fresh, _ in days if is_fresh]
    stale = [day for day, is_fresh, _ in days if not is_fresh]
    threshold_sum = sum(threshold for _, is_fresh, threshold in days if is_fresh)
    rows = fetch_rows(
        "SELECT video_id, downloads FROM dash_video_day_top WHERE day = ANY(%s) "
        "UNION ALL SELECT video_id, downloads FROM dash_video_daily WHERE day = ANY(%s)",
        [fresh, stale],
    )
    listed: dict[str, list[int]] = {}
    for video_id, downloads in rows:
        entry = listed.setdefault(video_id, [0, 0])
        entry[0] += downloads
        entry[1] += 1
    return listed, threshold_sum


def _exact_full_days(split: _Split, video_ids: list[str] | None) -> Counter[str]:
    if split.first_day is None or video_ids == []:
        return Counter()
    where = "day BETWEEN %s AND %s"
    params: list[Any] = [split.first_day, split.last_day]
    if video_ids is not None:
        where += " AND video_id = ANY(%s)"
        params.append(video_ids)
    rows = fetch_rows(
        f"SELECT video_id, sum(downloads) FROM dash_video_daily WHERE {where} "  # noqa: S608
        "GROUP BY video_id",
        params,
    )
    return Counter({video_id: int(n) for video_id, n in rows})


def _ranked(totals: Counter[str], limit: int) -> list[tuple[str, int]]:
    ranked = sorted(((v, n) for v, n in totals.items() if n > 0), key=lambda x: (-x[1], x[0]))
    return ranked[:limit]


@dataclasses.dataclass
class _Edge:
    """A partial UTC day at an end of the period: the exact counts known so far (of its
    day's listed videos; of every video when ``complete``) and what any other video can
    have in it at most."""

    low: dt.datetime
    high: dt.datetime
    counts: Counter[str]
    threshold: int
    complete: bool

    def exact(self, video_ids: list[str]) -> Counter[str]:
        """The counts of these videos in the part."""
        missing = [v for v in video_ids if v not in self.counts and not self.complete]
        if missing:
            self.counts.update(_counts_in(self.low, self.high, missing))
            self.counts.update({v: 0 for v in missing if v not in self.counts})
        return Counter({v: self.counts.get(v, 0) for v in video_ids})


def _counts_in(low: dt.datetime, high: dt.datetime, video_ids: list[str] | None) -> Counter[str]:
    """Downloads of these videos (None: of every video) from ``low`` to ``high`` within
    one UTC day: from raw rows, or, for more than half a day, as the day's rollup less
    the raw rows outside the part (a time zone east of UTC leaves 21 hours of a day at
    the end of its period). One statement, so the rollup and the rows are read at the
    same moment."""
    start = _midnight(low.date())
    end = start + dt.timedelta(days=1)
    among = "" if video_ids is None else "AND video_id = ANY(%(videos)s)"
    params = {"low": low, "high": high, "start": start, "end": end, "videos": video_ids}
    if high - low <= dt.timedelta(hours=12):
        sql = f"""
            SELECT video_id, count(*) FROM downloads
            WHERE created_at >= %(low)s AND created_at < %(high)s {among} GROUP BY video_id
        """  # noqa: S608 (no value is formatted in)
    else:
        sql = f"""
            SELECT video_id, sum(n) FROM (
                SELECT video_id, downloads AS n FROM dash_video_daily
                WHERE day = %(day)s {among}
                UNION ALL
                SELECT video_id, -count(*) FROM downloads
                WHERE ((created_at >= %(start)s AND created_at < %(low)s)
                       OR (created_at >= %(high)s AND created_at < %(end)s)) {among}
                GROUP BY video_id
            ) t GROUP BY video_id HAVING sum(n) > 0
        """  # noqa: S608 (no value is formatted in)
        params["day"] = start.date()
    return Counter({video_id: int(n) for video_id, n in fetch_rows(sql, params)})


def _edges(split: _Split) -> list[_Edge]:
    """The period's partial UTC days, each with its listed videos counted exactly; a
    day whose list is older than its downloads is counted in full (no threshold)."""
    if not split.edges:
        return []
    days = [low.date() for low, _ in split.edges]
    fresh_days = {
        day: threshold
        for day, is_fresh, threshold in fetch_rows(
            """
            SELECT h.day, coalesce(u.downloads = h.downloads, false),
                   coalesce(u.top_threshold, 0)
            FROM (SELECT (hour AT TIME ZONE 'UTC')::date AS day, sum(downloads) AS downloads
                  FROM dash_downloads_hourly
                  WHERE (hour AT TIME ZONE 'UTC')::date = ANY(%s) GROUP BY 1) h
            LEFT JOIN dash_utc_days u ON u.day = h.day
            """,
            [days],
        )
        if is_fresh
    }
    listed: dict[dt.date, list[str]] = {}
    for day, video_id in fetch_rows(
        "SELECT day, video_id FROM dash_video_day_top WHERE day = ANY(%s)", [list(fresh_days)]
    ):
        listed.setdefault(day, []).append(video_id)
    edges = []
    for low, high in split.edges:
        day = low.date()
        if day in fresh_days:
            ids = listed.get(day, [])
            counts = _counts_in(low, high, ids) if ids else Counter()
            counts.update({v: 0 for v in ids if v not in counts})
            edges.append(_Edge(low, high, counts, fresh_days[day], complete=False))
        else:
            whole = _edge_counts(_Split(None, None, [(low, high)]))
            edges.append(_Edge(low, high, whole, 0, complete=True))
    return edges


def top_video_counts(period: Period, limit: int) -> list[tuple[str, int]]:
    split = period_split(period)
    edges = _edges(split)
    listed, threshold_sum = _listed(split)
    # On a day (or part of one) a video is not listed it has at most that day's
    # threshold: its total exceeds its lower bound by at most the sum of them, as does
    # an unlisted video's.
    threshold_sum += sum(edge.threshold for edge in edges)
    counted: Counter[str] = Counter()
    for edge in edges:
        counted.update(edge.counts)
    lower = {
        video_id: listed.get(video_id, (0, 0))[0] + counted.get(video_id, 0)
        for video_id in listed.keys() | counted.keys()
    }
    bar = sorted(lower.values(), reverse=True)[limit - 1] if len(lower) >= limit else 0
    kept = sorted(video_id for video_id, n in lower.items() if n + threshold_sum >= bar)
    totals = _exact_full_days(split, kept)
    for edge in edges:
        totals.update(edge.exact(kept))
    ranked = _ranked(totals, limit)
    beaten = ranked[-1][1] > threshold_sum if len(ranked) == limit else threshold_sum == 0
    if beaten:
        return ranked
    everything = _exact_full_days(split, None)
    everything.update(_edge_counts(split))
    return _ranked(everything, limit)


def top_videos(period: Period, limit: int) -> dict[str, Any]:
    counts = top_video_counts(period, limit)
    details = {
        video_id: (platform, title, url)
        for video_id, platform, title, url in fetch_rows(
            "SELECT video_id, platform, title, url FROM videos WHERE video_id = ANY(%s)",
            [[video_id for video_id, _ in counts]],
        )
    }
    videos = []
    for rank, (video_id, downloads) in enumerate(counts, start=1):
        platform, title, url = details.get(video_id, (video_id.split(":")[0], "", ""))
        videos.append({
            "rank": rank, "video_id": video_id, "platform": platform,
            "title": title or video_id, "url": url, "downloads": downloads,
        })  # fmt: skip
    return {"videos": videos}
