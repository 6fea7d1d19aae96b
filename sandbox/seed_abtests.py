"""Seed step for ``seed_analytics``: two experiments, their assignments and exposures
(a third of the users who were around while each ran, first seen then)."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np

from abtests.models import ABTest, ABTestAssignment, ABTestExposure, ABTestVariant, ExperimentKind
from sandbox.analytics_seed import SeedContext, seed_step

EXPOSED_SHARE = 0.33
TESTS = (
    ("seed-free-limit", ExperimentKind.FREE_LIMIT,
     (("control", 50, {"free_downloads": 10}), ("fifteen", 50, {"free_downloads": 15}))),
    ("seed-welcome", ExperimentKind.UI,
     (("control", 50, {}), ("short", 25, {"welcome": "short"}),
      ("steps", 25, {"welcome": "steps"}))),
)  # fmt: skip


@seed_step
def abtests_seed(context: SeedContext) -> None:
    rng = context.rng
    start = dt.datetime.combine(context.plan.start, dt.time(), dt.UTC)
    began = start + dt.timedelta(days=context.plan.days // 3)
    for name, kind, variants in TESTS:
        test = ABTest.objects.create(name=name, kind=kind, is_active=True, start_date=began)
        arms = [
            ABTestVariant.objects.create(
                test=test, variant_name=variant, position=position,
                traffic_percentage=share, variant_config=config,
            )
            for position, (variant, share, config) in enumerate(variants)
        ]  # fmt: skip
        users, at = context.sample(int(context.plan.users * EXPOSED_SHARE * 1.5))
        keep = at >= began.timestamp()
        users, at = users[keep], at[keep]
        order = np.argsort(at, kind="stable")  # each user's first moment is the exposure
        users, first = np.unique(users[order], return_index=True)
        at = at[order][first]
        shares = np.array([share for _, share, _ in variants], dtype=float)
        chosen = rng.choice(len(variants), size=len(users), p=shares / shares.sum())
        ids = os.urandom(16 * len(users)).hex()
        stamps = context.timestamps(at)
        names = [variants[c][0] for c in chosen.tolist()]
        arm_ids = [arms[c].pk for c in chosen.tolist()]
        context.copy(
            ABTestAssignment._meta.db_table,
            "user_id, test_id, variant_id, phase, assigned_at",
            (f"{u}\t{test.pk}\t{arm_ids[i]}\t{test.phase}\t{stamps[i]}\n"
             for i, u in enumerate(users.tolist())),
        )  # fmt: skip
        context.copy(
            ABTestExposure._meta.db_table,
            "event_id, test_id, phase, user_id, variant_name, exposed_at",
            (f"{ids[32 * i : 32 * i + 32]}\t{test.pk}\t{test.phase}\t{u}\t{names[i]}\t"
             f"{stamps[i]}\n" for i, u in enumerate(users.tolist())),
        )  # fmt: skip
