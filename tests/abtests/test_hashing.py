"""GrowthBook's published bucketing vectors (see data/README.md) and our use of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from abtests import hashing

CASES = json.loads((Path(__file__).parent / "data" / "growthbook_cases.json").read_text())


def _rounded(ranges):
    return [[round(start, 4), round(end, 4)] for start, end in ranges]


def test_it_uses_the_spec_version_the_vectors_come_from():
    assert CASES["specVersion"] == "0.7.1"


@pytest.mark.parametrize(("seed", "value", "version", "expected"), CASES["hash"])
def test_it_hashes_like_growthbook(seed, value, version, expected):
    result = hashing.gb_hash(seed=seed, value=value, version=version)
    if expected is None:
        assert result is None
    else:
        assert round(result, 4) == round(expected, 4)


@pytest.mark.parametrize(("name", "args", "expected"), CASES["getBucketRange"])
def test_it_builds_bucket_ranges_like_growthbook(name, args, expected):
    count, coverage, weights = args
    ranges = hashing.bucket_ranges(count, coverage=coverage, weights=weights)
    assert _rounded(ranges) == _rounded(expected), name


@pytest.mark.parametrize(("name", "n", "ranges", "expected"), CASES["chooseVariation"])
def test_it_chooses_variations_like_growthbook(name, n, ranges, expected):
    assert hashing.variation_choose(n, [tuple(r) for r in ranges]) == expected, name


@pytest.mark.parametrize(("count", "expected"), CASES["getEqualWeights"])
def test_it_makes_equal_weights_like_growthbook(count, expected):
    assert [round(w, 8) for w in hashing.equal_weights(count)] == [round(w, 8) for w in expected]


@pytest.mark.parametrize(("name", "user", "namespace", "expected"), CASES["inNamespace"])
def test_it_places_users_in_namespaces_like_growthbook(name, user, namespace, expected):
    assert hashing.in_namespace(user_key=user, namespace=tuple(namespace)) is expected, name


def test_it_splits_users_by_the_weights():
    counts = [0, 0]
    for user in range(20_000):
        index = hashing.variation_for(user_key=str(user), seed="free-limit", weights=[0.2, 0.8])
        counts[index] += 1
    assert 3600 < counts[0] < 4400
    assert sum(counts) == 20_000


def test_it_keeps_users_outside_the_coverage_out():
    inside = sum(
        hashing.variation_for(user_key=str(u), seed="s", weights=[0.5, 0.5], coverage=0.3) >= 0
        for u in range(10_000)
    )
    assert 2600 < inside < 3400


def test_it_keeps_two_tests_on_disjoint_namespace_slices_exclusive():
    both = 0
    in_a = in_b = 0
    for user in range(5_000):
        a = hashing.variation_for(
            user_key=str(user), seed="a", weights=[0.5, 0.5], namespace=("ui", 0.0, 0.5)
        )
        b = hashing.variation_for(
            user_key=str(user), seed="b", weights=[0.5, 0.5], namespace=("ui", 0.5, 1.0)
        )
        in_a += a >= 0
        in_b += b >= 0
        both += a >= 0 and b >= 0
    assert both == 0
    assert in_a > 2000 and in_b > 2000
