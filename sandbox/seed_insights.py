"""``seed_analytics`` data for the insights: time zones from shared locations, "Watch
video" clicks and v_ deep-link opens, inline queries and chosen results.

Built around the seeded downloads (a random sample of them) so that conversions and
funnels happen in order and in realistic shares: most clicks and chosen results are
followed by the download seconds to minutes later, some never are, and some inline
queries lead nowhere."""

from __future__ import annotations

import os

import numpy as np
from django.db import connection

from sandbox.analytics_seed import USER_ID_BASE, ZONES, SeedContext, seed_step

LOCATION_SHARE = 0.2  # users who shared a location in /settings
CLICK_SHARE = 0.05  # clicks per download
CLICK_CONVERTED = 0.6  # clicks that a download of the video follows
INLINE_SHARE = 0.14  # inline queries per download
CHOSEN_SHARE = 0.7  # inline queries followed by a chosen result
CACHED_SHARE = 0.5  # chosen results that were the cached video itself


def _uuids(size: int) -> list[str]:
    raw = os.urandom(16 * size).hex()
    return [raw[32 * i : 32 * i + 32] for i in range(size)]


def _sample_downloads(share: float, source: str | None = None) -> list[tuple]:
    """(user_id, video_id, epoch seconds) of about ``share`` of the downloads."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT user_id, video_id, extract(epoch FROM created_at)::bigint "
            "FROM downloads WHERE random() < %s AND (%s::text IS NULL OR source = %s)",
            [share, source, source],
        )
        return cursor.fetchall()


@seed_step
def insights_seed(context: SeedContext) -> None:
    rng = context.rng
    users = context.plan.users
    # Shared locations: the zone the user's downloads were placed in.
    shared = np.flatnonzero(rng.random(users) < LOCATION_SHARE)
    zones = [ZONES[z][0] for z in context.people.zone[shared].tolist()]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE users u SET timezone = t.zone, timezone_source = 'location' "
            "FROM unnest(%s::bigint[], %s::text[]) AS t(user_id, zone) WHERE u.user_id = t.user_id",
            [(shared + USER_ID_BASE).tolist(), zones],
        )
    _clicks_seed(context)
    _inline_seed(context)


def _clicks_seed(context: SeedContext) -> None:
    rng = context.rng
    rows = _sample_downloads(CLICK_SHARE)
    if not rows:
        return
    size = len(rows)
    converted = rng.random(size) < CLICK_CONVERTED
    before = rng.exponential(120, size).astype(np.int64) + 1  # seconds before the download
    deep = rng.random(size) < 0.3
    stamps = context.timestamps(np.array([r[2] for r in rows], dtype=np.int64) - before)
    # A click that did not convert points at another video the user never got.
    videos = [v if ok else f"{v.split(':')[0]}:seedclick{i}" for i, ((_, v, _), ok)
              in enumerate(zip(rows, converted.tolist(), strict=True))]  # fmt: skip
    ids = _uuids(size)
    types = ["deep_link" if d else "button_click" for d in deep.tolist()]
    lines = (f"{rows[i][0]}\t{types[i]}\t{videos[i]}\t{stamps[i]}\t{ids[i]}\n" for i in range(size))
    context.copy("click_events", "user_id, event_type, video_id, created_at, event_id", lines)


def _inline_seed(context: SeedContext) -> None:
    rng = context.rng
    rows = _sample_downloads(INLINE_SHARE, "inline") + _sample_downloads(INLINE_SHARE / 4)
    if not rows:
        return
    size = len(rows)
    at = np.array([r[2] for r in rows], dtype=np.int64)
    chosen_before = rng.exponential(20, size).astype(np.int64) + 1
    query_before = chosen_before + rng.exponential(15, size).astype(np.int64) + 1
    chosen = rng.random(size) < CHOSEN_SHARE
    cached = rng.random(size) < CACHED_SHARE
    query_stamps = context.timestamps(at - query_before)
    chosen_stamps = context.timestamps(at - chosen_before)
    query_ids, chosen_ids = _uuids(size), _uuids(size)

    def lines():
        for i, (user_id, video_id, _) in enumerate(rows):
            platform = video_id.split(":")[0]
            yield (f"{query_ids[i]}\tinline_query\t{user_id}\t{platform}\t\tf\t\t\t"
                   f"{query_stamps[i]}\n")  # fmt: skip
            if chosen[i]:
                flag = "t" if cached[i] else "f"
                yield (f"{chosen_ids[i]}\tinline_chosen\t{user_id}\t{platform}\t{video_id}\t"
                       f"{flag}\t\t\t{chosen_stamps[i]}\n")  # fmt: skip

    context.copy(
        "funnel_events",
        "event_id, step, user_id, platform, video_id, from_cache, url, reason, created_at",
        lines(),
    )
