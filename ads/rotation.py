"""Which campaign an ad slot goes to: pure functions, so a seeded RNG makes them testable."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

# Production draws from the OS; tests hand the functions a seeded random.Random.
system_rng: random.Random = random.SystemRandom()


def weighted_choice(items: Sequence[T], weights: Sequence[int], *, rng: random.Random) -> T:
    """One item, each with probability weight / sum of weights (weights are > 0)."""
    return weighted_pick(items, weights, point=rng.random())


def weighted_pick(items: Sequence[T], weights: Sequence[int], *, point: float) -> T:
    """The item at ``point`` (in [0, 1)) of the weights laid end to end; the Redis
    script of ``ads.services`` picks the same way."""
    if not items:
        raise ValueError("nothing to choose from")
    cumulative = list(itertools.accumulate(weights))
    return items[bisect.bisect_right(cumulative, point * cumulative[-1])]


def under_cap(count: int, cap: int | None) -> bool:
    return cap is None or count < cap
