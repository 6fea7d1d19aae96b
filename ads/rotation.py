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
    if not items:
        raise ValueError("nothing to choose from")
    cumulative = list(itertools.accumulate(weights))
    point = rng.random() * cumulative[-1]
    return items[bisect.bisect_right(cumulative, point)]


def under_cap(count: int, cap: int | None) -> bool:
    return cap is None or count < cap
