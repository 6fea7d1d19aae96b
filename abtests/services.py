"""Writes: assigning users (the hot path the other apps call), exposures, and the
lifecycle of an experiment (start, stop, new phase, overrides, import).

``variant_for(user_id=..., kind=...)`` runs for every delivery. It answers from three
layers, PostgreSQL being the truth:

1. a snapshot of the active experiments (variants, weights, QA overrides), kept in the
   process for ``SNAPSHOT_SECONDS`` (one load is three small queries);
2. an in-process map ``(test, phase, user) -> variant`` of users resolved here before;
3. for a user this process has not resolved, one Redis round trip (a Lua script, on
   the short-timeout client the bot's event loop uses):
   ``HSETNX`` of the variant the hash gives, else ``HGET``, so the first assignment
   anywhere wins and a later one (weights edited while the test was stopped) reads the
   stored one back instead of moving the user. The script also appends the
   ``ExperimentAssigned`` event to the stream when it made the assignment, which is how
   it reaches PostgreSQL. When the Redis hash of a phase is missing (Redis
   lost its data) it is refilled from PostgreSQL before anyone is resolved from it.

With Redis unreachable, a user this process has not resolved gets the default
experience (and is not counted) rather than a variant that might contradict their
stored one.

``exposure_record`` is called by a consumer once the variant changed what the user saw;
it publishes ``ExperimentViewed`` once per user, test and phase in this process (the
event worker keeps the first one in PostgreSQL).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from redis.exceptions import RedisError

from analytics.events import ExperimentAssigned, ExperimentViewed
from analytics.publisher import publish
from analytics.stream import PAYLOAD_FIELD, STREAM
from config.redis import get_fast_redis, get_redis
from config.refresh import refresh_soon

from . import hashing, kinds
from .models import ABTest, ABTestAssignment, ABTestOverride, ABTestVariant, ExperimentKind
from .selectors import (
    RunningTest,
    Snapshot,
    VariantChoice,
    assignments_key,
    snapshot_load,
    warm_key,
)

log = logging.getLogger(__name__)

SNAPSHOT_SECONDS = float(settings.ABTESTS_SNAPSHOT_SECONDS)
SNAPSHOT_STALE_SECONDS = max(60.0, SNAPSHOT_SECONDS)
_STICKY_MAX = 200_000  # resolved users kept per process (about 150 bytes each)
_EXPOSED_MAX = 200_000
_REDIS_PAUSE_SECONDS = 5.0
_WARM_CHUNK = 5000
_UNASSIGNED = -1  # resolved: outside the coverage or the namespace

_snapshot: Snapshot | None = None
_generation = 0  # moved by each drop, so a reload begun before it is not kept
_snapshot_lock = threading.Lock()
_sticky: dict[tuple[int, int, int], int] = {}
_exposed: set[tuple[int, int, int]] = set()
_redis_paused_until = 0.0


class ExperimentError(ValueError):
    """A lifecycle change the experiment's state or configuration does not allow."""


# --- the hot path ------------------------------------------------------------------------


def snapshot() -> Snapshot:
    global _snapshot
    current = _snapshot
    if current is None or time.monotonic() - current.loaded_at > SNAPSHOT_SECONDS:
        with _snapshot_lock:
            current = _snapshot
            if current is None or time.monotonic() - current.loaded_at > SNAPSHOT_SECONDS:
                generation = _generation
                current = snapshot_load(loaded_at=time.monotonic())
                for test in current.by_name.values():
                    if test.active:
                        _warm(test)
                if generation == _generation:  # else dropped meanwhile: not stored
                    _snapshot = current
    return current


def _snapshot_usable() -> Snapshot | None:
    """The snapshot for answers without I/O: fresh, or while a reload runs in the
    background (``config.refresh``) the one before it, up to ``SNAPSHOT_STALE_SECONDS``
    old, so a delivery never waits for the reload every ``SNAPSHOT_SECONDS``."""
    current = _snapshot
    if current is None:
        return None
    age = time.monotonic() - current.loaded_at
    if age > SNAPSHOT_SECONDS:
        if age > SNAPSHOT_STALE_SECONDS:
            return None
        refresh_soon("experiments", snapshot)
    return current


def snapshot_forget() -> None:
    """Drop this process's snapshot and resolved users (after an admin change; other
    processes follow within ``SNAPSHOT_SECONDS``)."""
    global _snapshot, _generation
    _generation += 1
    _snapshot = None
    _sticky.clear()


def process_state_reset() -> None:
    """Forget everything this process keeps (snapshot, resolved and exposed users, a
    Redis pause): as a freshly started process would be."""
    global _redis_paused_until
    snapshot_forget()
    _exposed.clear()
    _redis_paused_until = 0.0


def _redis_ok() -> bool:
    return time.monotonic() >= _redis_paused_until


def _redis_failed(error: Exception) -> None:
    global _redis_paused_until
    _redis_paused_until = time.monotonic() + _REDIS_PAUSE_SECONDS
    log.warning("abtests: Redis unavailable (%s); default experience for new users", error)


def _warm(test: RunningTest) -> None:
    """Copy the phase's stored assignments into Redis if its hash is missing there."""
    if not _redis_ok():
        return
    redis = get_fast_redis()
    try:
        if redis.exists(warm_key(test.test_id, test.phase)):
            return
        rows = ABTestAssignment.objects.filter(test_id=test.test_id, phase=test.phase)
        pipe = redis.pipeline(transaction=False)
        key = assignments_key(test.test_id, test.phase)
        pairs = rows.values_list("user_id", "variant_id").iterator(chunk_size=_WARM_CHUNK)
        for count, (user_id, variant_id) in enumerate(pairs, 1):
            pipe.hsetnx(key, str(user_id), variant_id)
            if count % _WARM_CHUNK == 0:
                pipe.execute()
        pipe.set(warm_key(test.test_id, test.phase), "1")
        pipe.execute()
    except RedisError as error:
        _redis_failed(error)


def bucket(test: RunningTest, user_id: int) -> VariantChoice | None:
    """The variant GrowthBook's bucketing gives (no stickiness), or None."""
    index = hashing.variation_for(
        user_key=str(user_id),
        seed=test.seed,
        weights=test.weights,
        coverage=test.coverage,
        namespace=test.namespace,
    )
    return test.choices[index] if index >= 0 else None


# One round trip for a user this process has not resolved. Refuses (-2) while the
# phase's hash has not been filled from PostgreSQL (Redis lost its data), so a stored
# assignment is never contradicted. With no variant offered (outside the coverage) it
# only reads; else it assigns unless assigned, appending the assignment event only if
# it made the assignment. Returns [variant id or -1, created].
_ASSIGN_LUA = """
if redis.call('EXISTS', KEYS[3]) == 0 then
  return {'-2', 0}
end
if ARGV[2] == '' then
  return {redis.call('HGET', KEYS[1], ARGV[1]) or '-1', 0}
end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('XADD', KEYS[2], '*', ARGV[3], ARGV[4])
  return {ARGV[2], 1}
end
return {redis.call('HGET', KEYS[1], ARGV[1]), 0}
"""
_NOT_WARM = -2
_assign_scripts: dict[int, Any] = {}


def _assign_script():
    redis = get_fast_redis()
    script = _assign_scripts.get(id(redis))
    if script is None:
        script = _assign_scripts[id(redis)] = redis.register_script(_ASSIGN_LUA)
    return script


def _resolve(test: RunningTest, user_id: int) -> tuple[int, bool] | None:
    """(variant id or ``_UNASSIGNED``, whether this call made the assignment), or None
    when Redis cannot be asked. One round trip (two after Redis lost its data)."""
    if not _redis_ok():
        return None
    bucketed = bucket(test, user_id)
    args: list = [str(user_id), "", PAYLOAD_FIELD, ""]
    if bucketed is not None:
        event = ExperimentAssigned(
            user_id=user_id, test_id=test.test_id, phase=test.phase, variant_id=bucketed.variant_id
        )
        args[1], args[3] = bucketed.variant_id, event.to_json()
    keys = [
        assignments_key(test.test_id, test.phase),
        STREAM,
        warm_key(test.test_id, test.phase),
    ]
    try:
        for _attempt in range(2):
            stored, created = _assign_script()(keys=keys, args=args)
            if int(stored) != _NOT_WARM:
                return int(stored), bool(created)
            _warm(test)
    except RedisError as error:
        _redis_failed(error)
    return None


def _sticky_put(key: tuple[int, int, int], variant_id: int) -> None:
    if len(_sticky) >= _STICKY_MAX:
        _sticky.clear()  # cheaper than an LRU; refilled from Redis on demand
    _sticky[key] = variant_id


def test_choice(test: RunningTest, user_id: int, *, now: float) -> VariantChoice | None:
    """The user's variant in one experiment, or None for the default experience."""
    forced = test.overrides.get(user_id)
    if forced is not None:
        return forced
    if not test.runs_at(now):
        return None
    key = (test.test_id, test.phase, user_id)
    variant_id = _sticky.get(key)
    if variant_id is None:
        resolved = _resolve(test, user_id)
        if resolved is None:
            return None
        variant_id, _created = resolved
        _sticky_put(key, variant_id)
    if variant_id == _UNASSIGNED:
        return None
    return test.by_variant_id.get(variant_id)


def variant_for(*, user_id: int, kind: str) -> VariantChoice | None:
    """The variant of the running experiment of ``kind`` this user is in (the oldest
    such experiment that includes them), or None: the default experience."""
    tests = snapshot().by_kind.get(kind)
    if not tests:
        return None
    now = time.time()
    for test in tests:
        choice = test_choice(test, user_id, now=now)
        if choice is not None:
            return choice
    return None


def variant_known(*, user_id: int, kind: str) -> tuple[bool, VariantChoice | None]:
    """``(True, choice)`` when the answer needs no I/O (fresh snapshot, user resolved
    in this process), else ``(False, None)``."""
    current = _snapshot_usable()
    if current is None:
        return False, None
    tests = current.by_kind.get(kind)
    if not tests:
        return True, None
    now = time.time()
    for test in tests:
        forced = test.overrides.get(user_id)
        if forced is not None:
            return True, forced
        if not test.runs_at(now):
            continue
        variant_id = _sticky.get((test.test_id, test.phase, user_id))
        if variant_id is None:
            return False, None
        if variant_id != _UNASSIGNED:
            choice = test.by_variant_id.get(variant_id)
            if choice is not None:
                return True, choice
    return True, None


async def avariant_for(*, user_id: int, kind: str) -> VariantChoice | None:
    """``variant_for`` for the event loop: answered in place when no I/O is needed,
    else in one ``sync_to_async`` call (snapshot reload, a user new to this process)."""
    known, choice = variant_known(user_id=user_id, kind=kind)
    if known:
        return choice
    return await sync_to_async(variant_for)(user_id=user_id, kind=kind)


def exposure_record(*, user_id: int, choice: VariantChoice | None, surface: str = "") -> bool:
    """Count the user in the experiment: call it once the variant was shown. With a
    ``surface`` (a config key, ``kinds.SURFACE_*``) it counts only if the test's
    variants differ there. QA overrides never count. Returns whether it published."""
    if choice is None or choice.forced:
        return False
    if surface and surface not in choice.surfaces:
        return False
    key = (choice.test_id, choice.phase, user_id)
    if key in _exposed:
        return False
    if len(_exposed) >= _EXPOSED_MAX:
        _exposed.clear()  # a repeat is dropped by the event worker anyway
    _exposed.add(key)
    publish(
        ExperimentViewed(
            user_id=user_id,
            test_id=choice.test_id,
            phase=choice.phase,
            variant_name=choice.variant_name,
            surface=surface,
        )
    )
    return True


def free_downloads_of(choice: VariantChoice | None, *, default: int) -> int:
    """The quota's base a free-limit arm gives (``default`` without one)."""
    if choice is None or "free_downloads" not in choice.config:
        return default
    return int(choice.config["free_downloads"])


def free_downloads_for(*, user_id: int, default: int) -> tuple[int, VariantChoice | None]:
    """The quota's base for a user under a running free-limit experiment (or
    ``default``), with the arm to hand to ``quota_exposure_record``."""
    choice = variant_for(user_id=user_id, kind=ExperimentKind.FREE_LIMIT)
    if choice is None or "free_downloads" not in choice.config:
        return default, None
    return free_downloads_of(choice, default=default), choice


def quota_exposure_record(*, user_id: int, choice: VariantChoice | None, position: int) -> bool:
    """Count a free-limit user at the first delivery whose ad decision depends on the
    arm: the ``position``-th delivery past the smallest base of the experiment's arms
    (before it every arm is ad-free, so nothing the user saw differed)."""
    if choice is None:
        return False
    bases = [c["free_downloads"] for c in choice.test_configs if "free_downloads" in c]
    if not bases or position <= min(bases):
        return False
    return exposure_record(user_id=user_id, choice=choice, surface=kinds.SURFACE_QUOTA)


def ad_creative_of(
    choice: VariantChoice | None, *, campaign_name: str, creative_names: Iterable[str]
) -> tuple[str | None, VariantChoice | None]:
    """For an ad of ``campaign_name`` about to be shown to a user in ad-text arm
    ``choice``: the creative name the arm asks for (None: the rotation's own pick, a
    control) and the arm to expose once the ad was shown; ``(None, None)`` when the
    arm's experiment does not cover this campaign. An experiment covers a campaign that
    its variants name, or, naming none, any campaign holding every creative they name."""
    if choice is None:
        return None, None
    names = set(creative_names)
    campaigns = {c["campaign"] for c in choice.test_configs if "campaign" in c}
    wanted = {c["creative"] for c in choice.test_configs if "creative" in c}
    covered = campaign_name in campaigns if campaigns else wanted <= names
    if not covered:
        return None, None
    creative = choice.config.get("creative")
    if creative is not None and creative not in names:
        return None, None  # the creative was removed from the campaign: default, uncounted
    return creative, choice


def ad_creative_for(
    *, user_id: int, campaign_name: str, creative_names: Iterable[str]
) -> tuple[str | None, VariantChoice | None]:
    """``ad_creative_of`` for the user's running ad-text arm (looked up, may do I/O)."""
    choice = variant_for(user_id=user_id, kind=ExperimentKind.AD_TEXT)
    return ad_creative_of(choice, campaign_name=campaign_name, creative_names=creative_names)


# --- the synchronous API (admin, scripts, tests) -------------------------------------------


def assign_user_to_variant(user_id: int, test_name: str) -> ABTestVariant | None:
    """Assign the user (or return their existing variant) in a running experiment,
    writing PostgreSQL directly; None: the default experience (not running, outside
    the coverage or the namespace). A QA override wins and is not stored."""
    test = ABTest.objects.filter(name=test_name).first()
    if test is None:
        raise ABTest.DoesNotExist(f"no experiment named {test_name!r}")
    override = ABTestOverride.objects.filter(test=test, user_id=user_id).first()
    if override is not None:
        return override.variant
    if not test.is_running():
        return None
    existing = ABTestAssignment.objects.filter(test=test, user_id=user_id, phase=test.phase)
    found = existing.select_related("variant").first()
    if found is not None:
        return found.variant
    snapshot_forget_if_stale(test)
    running = snapshot_load(loaded_at=time.monotonic()).by_name.get(test.name)
    if running is None:
        return None
    resolved = _resolve(running, user_id)
    if resolved is None:  # Redis down: PostgreSQL alone decides
        bucketed = bucket(running, user_id)
        resolved = (bucketed.variant_id if bucketed else _UNASSIGNED), True
    variant_id = resolved[0]
    if variant_id == _UNASSIGNED:
        return None
    ABTestAssignment.objects.bulk_create(
        [ABTestAssignment(user_id=user_id, test=test, variant_id=variant_id, phase=test.phase)],
        ignore_conflicts=True,
    )
    stored = existing.select_related("variant").first()
    if stored is None:
        return None
    try:
        get_redis().hset(assignments_key(test.pk, test.phase), str(user_id), stored.variant_id)
    except RedisError as error:
        _redis_failed(error)
    return stored.variant


def snapshot_forget_if_stale(test: ABTest) -> None:
    """Forget this process's snapshot if it does not reflect ``test`` as stored."""
    current = _snapshot
    if current is None:
        return
    running = current.by_name.get(test.name)
    if running is None or running.phase != test.phase or running.active != test.is_active:
        snapshot_forget()


def variants_validate(*, kind: str, variants: Iterable[tuple[str, int, Any]]) -> list[str]:
    """Problems with a set of (name, percentage, config); empty when it can run."""
    problems = []
    variants = list(variants)
    if len(variants) < 2:
        problems.append("an experiment needs at least two variants")
    names = [name for name, _, _ in variants]
    if len(set(names)) != len(names):
        problems.append("variant names must differ")
    total = sum(percentage for _, percentage, _ in variants)
    if total != 100:
        problems.append(f"traffic percentages must sum to 100 (they sum to {total})")
    campaigns = set()
    for name, _, config in variants:
        try:
            clean = kinds.config_validate(kind=kind, config=config)
        except kinds.ConfigError as error:
            problems.append(f"{name}: {error}")
        else:
            campaigns.update([clean["campaign"]] if "campaign" in clean else [])
    if len(campaigns) > 1:
        problems.append("all variants must name the same campaign")
    return problems


def _variants_of(test: ABTest) -> list[tuple[str, int, Any]]:
    return [
        (v.variant_name, v.traffic_percentage, v.variant_config)
        for v in test.variants.order_by("position", "id")
    ]


def test_start(*, test: ABTest) -> ABTest:
    """Start a stopped experiment (compare-and-set); its variants must be valid."""
    problems = variants_validate(kind=test.kind, variants=_variants_of(test))
    if problems:
        raise ExperimentError("; ".join(problems))
    now = timezone.now()
    if test.end_date is not None and test.end_date <= now:
        raise ExperimentError("its end date has passed; clear or move it first")
    changed = ABTest.objects.filter(pk=test.pk, is_active=False).update(
        is_active=True, start_date=test.start_date or now, updated_at=now
    )
    if not changed:
        raise ExperimentError("it is already running")
    snapshot_forget()
    test.refresh_from_db()
    return test


def test_stop(*, test: ABTest) -> ABTest:
    now = timezone.now()
    changed = ABTest.objects.filter(pk=test.pk, is_active=True).update(
        is_active=False, updated_at=now
    )
    if not changed:
        raise ExperimentError("it is not running")
    snapshot_forget()
    test.refresh_from_db()
    return test


def test_new_phase(*, test: ABTest) -> ABTest:
    """Start the next phase: everyone is randomised again (the assignments and
    exposures of earlier phases stay, for the record). The phase starts now."""
    now = timezone.now()
    changed = ABTest.objects.filter(pk=test.pk, phase=test.phase).update(
        phase=F("phase") + 1, start_date=now, updated_at=now
    )
    if not changed:
        raise ExperimentError("someone else changed its phase; reload")
    snapshot_forget()
    test.refresh_from_db()
    return test


def override_set(
    *, test: ABTest, user_id: int, variant_name: str, note: str = ""
) -> ABTestOverride:
    variant = test.variants.filter(variant_name=variant_name).first()
    if variant is None:
        raise ExperimentError(f"{test.name} has no variant {variant_name!r}")
    override, _ = ABTestOverride.objects.update_or_create(
        test=test, user_id=user_id, defaults={"variant": variant, "note": note}
    )
    snapshot_forget()
    return override


# --- import / export ----------------------------------------------------------------------

EXPORT_FIELDS = (
    "name", "description", "kind", "hash_seed", "coverage", "namespace", "namespace_start",
    "namespace_end", "start_date", "end_date",
)  # fmt: skip


def tests_export(tests: Iterable[ABTest]) -> str:
    """Experiments with their variants as JSON (state and phase are not exported: an
    imported experiment starts stopped, in phase 1)."""
    out = []
    for test in tests:
        item = {field: getattr(test, field) for field in EXPORT_FIELDS}
        for field in ("start_date", "end_date"):
            item[field] = item[field].isoformat() if item[field] else None
        item["variants"] = [
            {
                "variant_name": v.variant_name,
                "traffic_percentage": v.traffic_percentage,
                "variant_config": v.variant_config,
            }
            for v in test.variants.order_by("position", "id")
        ]
        out.append(item)
    return json.dumps({"experiments": out}, indent=2, ensure_ascii=False)


def tests_import(raw: str | bytes) -> list[ABTest]:
    """Create or replace experiments from ``tests_export`` JSON, all or none. A running
    experiment of the same name is refused (stop it first)."""
    try:
        data = json.loads(raw)
        items = data["experiments"]
        if not isinstance(items, list):
            raise TypeError
    except (ValueError, TypeError, KeyError) as error:
        raise ExperimentError(f"not an experiments export: {error}") from error
    imported = []
    with transaction.atomic():
        for position, item in enumerate(items):
            imported.append(_test_import_one(item, where=f"experiment {position + 1}"))
    snapshot_forget()
    return imported


def _test_import_one(item: Any, *, where: str) -> ABTest:
    if not isinstance(item, dict) or not isinstance(item.get("variants"), list):
        raise ExperimentError(f"{where}: an object with a list of variants is expected")
    fields = {field: item[field] for field in EXPORT_FIELDS if field in item}
    name = fields.get("name")
    if not isinstance(name, str) or not name:
        raise ExperimentError(f"{where}: a name is required")
    where = f"{where} ({name})"
    if fields.get("kind") not in ExperimentKind.values:
        raise ExperimentError(f"{where}: kind must be one of {', '.join(ExperimentKind.values)}")
    variants = [
        (v.get("variant_name"), v.get("traffic_percentage"), v.get("variant_config", {}))
        for v in item["variants"]
        if isinstance(v, dict)
    ]
    if len(variants) != len(item["variants"]) or not all(
        isinstance(n, str) and isinstance(p, int) for n, p, _ in variants
    ):
        raise ExperimentError(f"{where}: each variant needs a variant_name and a percentage")
    problems = variants_validate(kind=fields["kind"], variants=variants)
    if problems:
        raise ExperimentError(f"{where}: " + "; ".join(problems))
    test = ABTest.objects.filter(name=name).first()
    if test is not None and test.is_active:
        raise ExperimentError(f"{where}: it is running here; stop it before importing")
    test = test or ABTest(name=name)
    for field, value in fields.items():
        setattr(test, field, value)
    test.is_active = False
    try:
        test.full_clean(validate_unique=False)
    except ValidationError as error:
        raise ExperimentError(f"{where}: {'; '.join(error.messages)}") from error
    test.save()
    # Variants are matched by name, so the assignments of the ones kept stay valid.
    kept = []
    for position, (variant_name, percentage, config) in enumerate(variants):
        variant, _ = ABTestVariant.objects.update_or_create(
            test=test,
            variant_name=variant_name,
            defaults={
                "traffic_percentage": percentage,
                "variant_config": kinds.config_validate(kind=test.kind, config=config),
                "position": position,
            },
        )
        kept.append(variant.pk)
    test.variants.exclude(pk__in=kept).delete()
    return test
