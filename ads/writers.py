"""The event worker's writers for the ads' tables (registered when the app is ready).

Impressions and clicks also keep the dashboard's ``ad_stats_hourly``: from the rows an
insert newly stored (its RETURNING rows), so an event delivered twice, or a second click
on one impression, counts once. Those entries also bump the dashboard's rollups
version, so its cached answers are dropped.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence

from analytics import sql
from analytics.events import AdClicked, AdNoFill, AdShown
from analytics.rollups import VERSION_INCREMENT
from analytics.writers import BatchContext, BatchPlan, Entry, writer

from .models import AdClick, AdImpression, AdNoFillRecord, AdStatsHourly


def _clip(value: str, model: type, field: str) -> str:
    return value[: model._meta.get_field(field).max_length]


@writer(AdShown)
def impressions_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    rows = []
    for entry in entries:
        e: AdShown = entry.event  # type: ignore[assignment]
        rows.append(
            (e.event_id, e.occurred_at, e.campaign_id, e.creative_id, e.user_id,
             _clip(e.surface, AdImpression, "surface"), _clip(e.language, AdImpression, "language"),
             _clip(e.media_key, AdImpression, "media_key"))
        )  # fmt: skip
    plan.insert(
        sql.Insert(
            model=AdImpression,
            columns=["impression_id", "created_at", "campaign_id", "creative_id", "user_id",
                     "surface", "language", "media_key"],
            rows=rows,
            conflict="(impression_id) DO NOTHING",
            returning=["impression_id"],
        ),
        # An impression's id is its event's id.
        functools.partial(_stats_stored, "impressions",
                          {entry.event.event_id: entry for entry in entries}),
    )  # fmt: skip


@writer(AdClicked)
def clicks_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    # One row per impression even within a batch: the first click wins.
    first: dict[uuid.UUID, Entry] = {}
    for entry in sorted(entries, key=lambda entry: entry.event.occurred_at):
        first.setdefault(entry.event.impression_id, entry)
    plan.insert(
        sql.Insert(
            model=AdClick,
            columns=["event_id", "created_at", "impression_id", "campaign_id", "user_id"],
            rows=[
                (e.event_id, e.occurred_at, e.impression_id, e.campaign_id, e.user_id)
                for e in (entry.event for entry in first.values())
            ],
            conflict="(impression_id) DO NOTHING",
            returning=["impression_id"],
        ),
        functools.partial(_stats_stored, "clicks", first),
    )


def _stats_stored(
    column: str, by_id: Mapping[uuid.UUID, Entry], stored: list[tuple], context: BatchContext
) -> list[sql.Insert]:
    """The hourly stats upsert for the rows the insert newly stored (``by_id``: the
    batch's entries by the id the insert returns)."""
    context.stored += len(stored)
    returned = {
        row[0] if isinstance(row[0], uuid.UUID) else uuid.UUID(str(row[0])) for row in stored
    }
    counts: Counter[tuple[dt.datetime, int]] = Counter()
    for key, entry in by_id.items():
        if key in returned:
            at = entry.event.occurred_at.astimezone(dt.UTC)
            counts[(at.replace(minute=0, second=0, microsecond=0), entry.event.campaign_id)] += 1
        if key in returned or context.redelivered:
            # A redelivered entry may have been stored without its bump acknowledged.
            context.counters[entry.entry_id].append(VERSION_INCREMENT)
    if not counts:
        return []
    return [
        sql.Insert(
            model=AdStatsHourly,
            columns=["hour", "campaign_id", column],
            # Sorted: concurrent workers lock the rows in one order.
            rows=[(*key, n) for key, n in sorted(counts.items())],
            conflict=f"(hour, campaign_id) DO UPDATE SET {column} = "
            f"ad_stats_hourly.{column} + excluded.{column}",
        )
    ]


@writer(AdNoFill)
def no_fills_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    plan.insert(
        sql.Insert(
            model=AdNoFillRecord,
            columns=["event_id", "created_at", "user_id", "surface", "language"],
            rows=[
                (e.event_id, e.occurred_at, e.user_id, _clip(e.surface, AdNoFillRecord, "surface"),
                 _clip(e.language, AdNoFillRecord, "language"))
                for e in (entry.event for entry in entries)
            ],
            conflict="(event_id) DO NOTHING",
            returning=["event_id"],
        )
    )  # fmt: skip
