"""Reads: the experiments as the hot path sees them, a user's stored variant, and the
metrics of exposed users (``abtests/metrics.py`` builds on them).

``snapshot_load`` reads the active experiments (and those with QA overrides) into
immutable values that ``abtests.services.variant_for`` keeps in the process.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from config.redis import get_redis

from . import kinds
from .models import ABTest, ABTestAssignment, ABTestOverride, ABTestVariant


@dataclasses.dataclass(frozen=True, slots=True)
class VariantChoice:
    """The variant a user gets: what the consumer applies and hands back to
    ``exposure_record`` once it has shown it."""

    test_id: int
    test_name: str
    kind: str
    phase: int
    variant_id: int
    variant_name: str
    config: Mapping[str, Any]
    surfaces: frozenset[str]  # config keys on which this test's variants differ
    forced: bool = False  # a QA override: applied, never counted
    # Every variant's config, in order: what the user would have seen in another arm
    # (exposure is due where an arm would have shown something else).
    test_configs: tuple[Mapping[str, Any], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class RunningTest:
    test_id: int
    name: str
    kind: str
    phase: int
    seed: str
    weights: tuple[float, ...]
    coverage: float
    namespace: tuple[str, float, float] | None
    starts: float | None  # epoch seconds
    ends: float | None
    active: bool
    choices: tuple[VariantChoice, ...]
    by_variant_id: Mapping[int, VariantChoice]
    overrides: Mapping[int, VariantChoice]

    def runs_at(self, now: float) -> bool:
        return (
            self.active
            and (self.starts is None or self.starts <= now)
            and (self.ends is None or now < self.ends)
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    loaded_at: float
    by_kind: Mapping[str, tuple[RunningTest, ...]]
    by_name: Mapping[str, RunningTest]


def _epoch(value) -> float | None:
    return value.timestamp() if value is not None else None


def snapshot_load(*, loaded_at: float) -> Snapshot:
    """Active experiments and those with QA overrides, in one consistent read."""
    tests = list(ABTest.objects.filter(Q(is_active=True) | Q(overrides__isnull=False)).distinct())
    ids = [test.pk for test in tests]
    variants: dict[int, list[ABTestVariant]] = {test_id: [] for test_id in ids}
    for variant in ABTestVariant.objects.filter(test_id__in=ids).order_by("position", "id"):
        variants[variant.test_id].append(variant)
    overrides: dict[int, list[ABTestOverride]] = {test_id: [] for test_id in ids}
    for override in ABTestOverride.objects.filter(test_id__in=ids):
        overrides[override.test_id].append(override)
    by_kind: dict[str, list[RunningTest]] = {}
    by_name: dict[str, RunningTest] = {}
    for test in tests:
        arms = variants[test.pk]
        if not arms:
            continue
        test_surfaces = kinds.surfaces([arm.variant_config for arm in arms])
        configs = tuple(MappingProxyType(dict(arm.variant_config)) for arm in arms)
        choices = tuple(
            VariantChoice(
                test_id=test.pk,
                test_name=test.name,
                kind=test.kind,
                phase=test.phase,
                variant_id=arm.pk,
                variant_name=arm.variant_name,
                config=MappingProxyType(dict(arm.variant_config)),
                surfaces=test_surfaces,
                test_configs=configs,
            )
            for arm in arms
        )
        by_id = {choice.variant_id: choice for choice in choices}
        running = RunningTest(
            test_id=test.pk,
            name=test.name,
            kind=test.kind,
            phase=test.phase,
            seed=test.seed,
            weights=tuple(arm.traffic_percentage / 100 for arm in arms),
            coverage=test.coverage,
            namespace=(
                (test.namespace, test.namespace_start, test.namespace_end)
                if test.namespace
                else None
            ),
            starts=_epoch(test.start_date),
            ends=_epoch(test.end_date),
            active=test.is_active,
            choices=choices,
            by_variant_id=MappingProxyType(by_id),
            overrides=MappingProxyType(
                {
                    o.user_id: dataclasses.replace(by_id[o.variant_id], forced=True)
                    for o in overrides[test.pk]
                    if o.variant_id in by_id
                }
            ),
        )
        by_kind.setdefault(test.kind, []).append(running)
        by_name[test.name] = running
    for running_tests in by_kind.values():
        running_tests.sort(key=lambda t: t.test_id)  # the oldest experiment of a kind first
    return Snapshot(
        loaded_at=loaded_at,
        by_kind=MappingProxyType({kind: tuple(v) for kind, v in by_kind.items()}),
        by_name=MappingProxyType(by_name),
    )


def assignments_key(test_id: int, phase: int) -> str:
    return f"abtests:assign:{test_id}:{phase}"


def warm_key(test_id: int, phase: int) -> str:
    return f"abtests:assign:{test_id}:{phase}:loaded"


def get_user_variant(user_id: int, test_name: str) -> ABTestVariant | None:
    """The variant a user has in an experiment now, without assigning: a QA override,
    else their stored assignment in the current phase of a running experiment."""
    test = ABTest.objects.filter(name=test_name).first()
    if test is None:
        return None
    override = ABTestOverride.objects.filter(test=test, user_id=user_id).first()
    if override is not None:
        return override.variant
    if not test.is_running(timezone.now()):
        return None
    assignment = (
        ABTestAssignment.objects.filter(test=test, user_id=user_id, phase=test.phase)
        .select_related("variant")
        .first()
    )
    if assignment is not None:
        return assignment.variant
    try:  # made by the bot, not yet written by the event worker
        stored = get_redis().hget(assignments_key(test.pk, test.phase), str(user_id))
    except RedisError:
        return None
    if stored is None:
        return None
    return ABTestVariant.objects.filter(pk=int(stored), test=test).first()
