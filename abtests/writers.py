"""The event worker's writers for the experiment tables (registered at app start)."""

from __future__ import annotations

from collections.abc import Sequence

from analytics import sql
from analytics.events import ExperimentAssigned, ExperimentViewed
from analytics.writers import BatchPlan, Entry, clip, writer

from .models import ABTestAssignment, ABTestExposure


def _first_per_key(entries: Sequence[Entry], key) -> list:
    first: dict = {}
    for entry in sorted(entries, key=lambda e: e.event.occurred_at):
        first.setdefault(key(entry.event), entry.event)
    return list(first.values())


@writer(ExperimentAssigned)
def assignments_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    events: list[ExperimentAssigned] = _first_per_key(
        entries, lambda e: (e.user_id, e.test_id, e.phase)
    )
    # The first assignment stays: a later one (another process's race) is ignored.
    plan.insert(
        sql.Insert(
            model=ABTestAssignment,
            columns=["user_id", "test_id", "variant_id", "phase", "assigned_at"],
            rows=[(e.user_id, e.test_id, e.variant_id, e.phase, e.occurred_at) for e in events],
            conflict="DO NOTHING",
            returning=["user_id"],
        )
    )


@writer(ExperimentViewed)
def exposures_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    events: list[ExperimentViewed] = _first_per_key(
        entries, lambda e: (e.user_id, e.test_id, e.phase)
    )
    # Once per user, test and phase: a later view, here or in an earlier batch, is dropped.
    plan.insert(
        sql.Insert(
            model=ABTestExposure,
            columns=["event_id", "test_id", "phase", "user_id", "variant_name", "exposed_at"],
            rows=[
                (
                    e.event_id,
                    e.test_id,
                    e.phase,
                    e.user_id,
                    clip(e.variant_name, ABTestExposure, "variant_name"),
                    e.occurred_at,
                )
                for e in events
            ],
            conflict="DO NOTHING",
            returning=["event_id"],
        )
    )
