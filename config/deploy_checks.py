"""Judgements production settings make before they let a process start.

Pure functions of the configured values, so they are tested directly and the settings
module only turns a finding into ``ImproperlyConfigured``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise

SECRET_KEY_MIN_LENGTH = 50
# A key from `openssl rand -hex 32` has 16 distinct characters; anything random from a
# larger alphabet has more. Fewer than this means a hand-typed or patterned key.
SECRET_KEY_MIN_DISTINCT = 12
# Shannon entropy of the character frequencies times the length, a generous estimate of
# the key's strength (it cannot see patterns, which the checks below look for).
SECRET_KEY_MIN_BITS = 160
_KNOWN_PLACEHOLDERS = ("django-insecure", "change-me", "changeme", "secret-key", "embedded-default")


def secret_key_weakness(key: str) -> str | None:
    """Why ``key`` is unfit for production, or None when it looks random enough."""
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"it has {len(key)} characters; at least {SECRET_KEY_MIN_LENGTH} are needed"
    lowered = key.lower()
    if any(placeholder in lowered for placeholder in _KNOWN_PLACEHOLDERS):
        return "it contains a placeholder text"
    distinct = len(set(key))
    if distinct < SECRET_KEY_MIN_DISTINCT:
        return f"it uses only {distinct} different characters"
    if _period(key) <= len(key) // 2:
        return "it repeats a shorter sequence"
    if _longest_run(key) > 8:
        return "it contains a long run of one character"
    if _stepping_fraction(key) > 0.5:
        return "it is mostly consecutive characters (like abcdef or 123456)"
    if _entropy_bits(key) < SECRET_KEY_MIN_BITS:
        return "its characters are too unevenly used to be random"
    return None


def allowed_hosts_problem(hosts: Iterable[str]) -> str | None:
    """Why ``hosts`` is unfit for production, or None."""
    hosts = [host.strip() for host in hosts]
    if not any(hosts):
        return "it is empty"
    if any(host in ("*", ".") for host in hosts):
        return "'*' accepts any Host header (cache poisoning, password-reset links)"
    return None


def _period(text: str) -> int:
    """The length of the shortest unit ``text`` is a repetition of (len(text) if none)."""
    # Prefix function (Knuth-Morris-Pratt): linear, whatever the key looks like.
    failure = [0] * len(text)
    for index in range(1, len(text)):
        length = failure[index - 1]
        while length and text[index] != text[length]:
            length = failure[length - 1]
        if text[index] == text[length]:
            length += 1
        failure[index] = length
    period = len(text) - failure[-1]
    return period if period < len(text) else len(text)


def _longest_run(text: str) -> int:
    longest = run = 1
    for previous, current in pairwise(text):
        run = run + 1 if current == previous else 1
        longest = max(longest, run)
    return longest


def _stepping_fraction(text: str) -> float:
    steps = sum(1 for previous, current in pairwise(text) if abs(ord(current) - ord(previous)) == 1)
    return steps / (len(text) - 1)


def _entropy_bits(text: str) -> float:
    counts = Counter(text)
    per_character = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    return per_character * len(text)
