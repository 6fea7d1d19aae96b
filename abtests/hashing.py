"""Deterministic bucketing, bit for bit as GrowthBook's SDKs do it.

A user lands in the same variation a GrowthBook SDK would choose given the same seed,
user key, coverage and weights, so an experiment can be moved to (or checked against)
GrowthBook without reshuffling anyone. The functions mirror the SDKs' ``hash``,
``getBucketRanges``, ``chooseVariation``, ``getEqualWeights`` and ``inNamespace``; the
conformance vectors in ``tests/abtests/data`` pin them down. Pure Python, no Django.
"""

from __future__ import annotations

from collections.abc import Sequence

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_UINT32 = 0xFFFFFFFF

BucketRange = tuple[float, float]


def fnv1a32(value: str) -> int:
    """32-bit FNV-1a over the string's code points (what the Python SDK hashes)."""
    hval = _FNV_OFFSET
    for char in value:
        hval = ((hval ^ ord(char)) * _FNV_PRIME) & _UINT32
    return hval


def gb_hash(*, seed: str, value: str, version: int) -> float | None:
    """A number in [0, 1) for ``value`` under ``seed``; ``None`` for an unknown version.

    Version 2 hashes the decimal text of the first hash again, which removes the
    correlation version 1 shows between experiments whose seeds share a prefix."""
    if version == 2:
        return (fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000
    if version == 1:
        return (fnv1a32(value + seed) % 1000) / 1000
    return None


def equal_weights(count: int) -> list[float]:
    if count < 1:
        return []
    return [1 / count] * count


def bucket_ranges(
    count: int, *, coverage: float = 1.0, weights: Sequence[float] | None = None
) -> list[BucketRange]:
    """One ``[start, end)`` per variation. Each variation owns a slice of width
    ``weight`` and uses its first ``coverage`` share, so raising the coverage later only
    adds users to a variation and never moves one who was already in."""
    coverage = min(max(coverage, 0.0), 1.0)
    if weights is None or len(weights) != count or not 0.99 <= sum(weights) <= 1.01:
        weights = equal_weights(count)
    ranges = []
    cumulative = 0.0
    for weight in weights:
        start = cumulative
        cumulative += weight
        ranges.append((start, start + coverage * weight))
    return ranges


def variation_choose(n: float, ranges: Sequence[BucketRange]) -> int:
    """The index of the range holding ``n``, or -1 (outside the coverage)."""
    for index, (start, end) in enumerate(ranges):
        if start <= n < end:
            return index
    return -1


def in_namespace(*, user_key: str, namespace: tuple[str, float, float]) -> bool:
    """Whether the user falls in the namespace's ``[start, end)`` slice. Experiments
    given disjoint slices of one namespace never share a user."""
    name, start, end = namespace
    n = gb_hash(seed="__" + name, value=user_key, version=1)
    return n is not None and start <= n < end


def variation_for(
    *,
    user_key: str,
    seed: str,
    weights: Sequence[float],
    coverage: float = 1.0,
    namespace: tuple[str, float, float] | None = None,
    hash_version: int = 2,
) -> int:
    """The variation index for a user, or -1 when the user is not in the experiment
    (outside its namespace slice or its coverage)."""
    if namespace is not None and not in_namespace(user_key=user_key, namespace=namespace):
        return -1
    n = gb_hash(seed=seed, value=user_key, version=hash_version)
    if n is None:
        return -1
    return variation_choose(n, bucket_ranges(len(weights), coverage=coverage, weights=weights))
