"""The event worker's writers for the ads' tables (registered when the app is ready)."""

from __future__ import annotations

from collections.abc import Sequence

from analytics import sql
from analytics.events import AdClicked, AdNoFill, AdShown
from analytics.writers import BatchPlan, Entry, writer

from .models import AdClick, AdImpression, AdNoFillRecord


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
        )
    )  # fmt: skip


@writer(AdClicked)
def clicks_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    # One row per impression even within a batch: the first click wins.
    first: dict = {}
    for entry in sorted(entries, key=lambda entry: entry.event.occurred_at):
        first.setdefault(entry.event.impression_id, entry.event)
    plan.insert(
        sql.Insert(
            model=AdClick,
            columns=["event_id", "created_at", "impression_id", "campaign_id", "user_id"],
            rows=[
                (e.event_id, e.occurred_at, e.impression_id, e.campaign_id, e.user_id)
                for e in first.values()
            ],
            conflict="(impression_id) DO NOTHING",
            returning=["impression_id"],
        )
    )


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
