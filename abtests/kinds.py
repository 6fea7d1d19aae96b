"""What a variant may change, per experiment kind, and the validation of its config.

- ``ad_text``: ``{"creative": <creative name>}``, optionally ``"campaign": <campaign
  name>`` to limit it to one campaign; the ad rotation shows that creative of the
  campaign instead of its own pick. ``{}`` keeps the rotation's pick (a control).
- ``free_limit``: ``{"free_downloads": N}``, the quota's base for the user.
- ``ui``: any of ``{"welcome": ..., "quality_order": ..., "quality_labels": ...}`` with
  the values below (the texts themselves live with the bot's texts, in every language);
  a key left out means the default.

A user is exposed only where the variants of their experiment differ: ``surfaces``
lists the config keys on which they do, and the caller names the surface it showed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .models import ExperimentKind

WELCOME_VARIANTS = ("default", "short", "steps")
QUALITY_ORDERS = ("ascending", "descending")
QUALITY_LABELS = ("plain", "named")
FREE_DOWNLOADS_MAX = 1_000_000
NAME_MAX_LENGTH = 64

# The surface a consumer shows, by config key.
SURFACE_AD = "creative"
SURFACE_QUOTA = "free_downloads"
SURFACE_WELCOME = "welcome"
SURFACE_QUALITY_ORDER = "quality_order"
SURFACE_QUALITY_LABELS = "quality_labels"

_KEYS: dict[str, frozenset[str]] = {
    ExperimentKind.AD_TEXT: frozenset({"creative", "campaign"}),
    ExperimentKind.FREE_LIMIT: frozenset({"free_downloads"}),
    ExperimentKind.UI: frozenset({"welcome", "quality_order", "quality_labels"}),
}


class ConfigError(ValueError):
    """A variant config that its experiment kind does not accept."""


def _name(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > NAME_MAX_LENGTH:
        raise ConfigError(f'"{key}" must be a non-empty name of at most {NAME_MAX_LENGTH} chars')
    return value.strip()


def _one_of(value: Any, key: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f'"{key}" must be one of {", ".join(allowed)}')
    return value


def config_validate(*, kind: str, config: Any) -> dict[str, Any]:
    """The config, normalised; raises ``ConfigError`` with a message for the admin."""
    if kind not in _KEYS:
        raise ConfigError(f"unknown experiment kind {kind!r}")
    if not isinstance(config, Mapping):
        raise ConfigError("the variant config must be a JSON object")
    unknown = set(config) - _KEYS[kind]
    if unknown:
        raise ConfigError(
            f"unknown keys {', '.join(sorted(unknown))}; a {kind} variant accepts "
            f"{', '.join(sorted(_KEYS[kind]))}"
        )
    clean: dict[str, Any] = {}
    if kind == ExperimentKind.AD_TEXT:
        if "campaign" in config and "creative" not in config:
            raise ConfigError('"campaign" needs a "creative"')
        for key in ("creative", "campaign"):
            if key in config:
                clean[key] = _name(config[key], key)
    elif kind == ExperimentKind.FREE_LIMIT:
        value = config.get("free_downloads")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError('"free_downloads" (a whole number) is required')
        if not 0 <= value <= FREE_DOWNLOADS_MAX:
            raise ConfigError(f'"free_downloads" must be between 0 and {FREE_DOWNLOADS_MAX}')
        clean["free_downloads"] = value
    else:
        allowed = {
            "welcome": WELCOME_VARIANTS,
            "quality_order": QUALITY_ORDERS,
            "quality_labels": QUALITY_LABELS,
        }
        for key, values in allowed.items():
            if key in config:
                clean[key] = _one_of(config[key], key, values)
    return clean


_DEFAULTS: dict[str, Any] = {
    "welcome": "default",
    "quality_order": "ascending",
    "quality_labels": "plain",
}


def surfaces(configs: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The config keys on which the variants differ (a missing key is the default)."""
    configs = list(configs)
    keys = {key for config in configs for key in config}
    return frozenset(
        key for key in keys if len({repr(c.get(key, _DEFAULTS.get(key))) for c in configs}) > 1
    )
