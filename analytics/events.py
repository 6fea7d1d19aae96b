"""Typed, versioned analytics events.

An event is a frozen dataclass with an ``event_id`` (UUID, the idempotency key) and an
``occurred_at`` (aware UTC datetime). On the stream it is one JSON object:
``{"type": "DownloadCompleted", "v": 1, "event_id": "...", "occurred_at": "...", ...}``.

Adding an event type is one class here (decorated with ``@event_type``) and one writer
(``@writer(EventClass)`` from ``analytics.writers``) in the app that owns its table.
This module is the contract every app may import: it depends on nothing but
``analytics.vocabulary``. A payload written by an older version of a class is
upgraded by its ``upgrade`` classmethod; a payload from a newer version than this code
knows is refused (and dead-lettered by the worker) rather than guessed at.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import json.scanner
import types
import typing
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from .vocabulary import ClickType, DownloadSource, Platform


class EventError(ValueError):
    """A payload that is not a valid event; the worker dead-letters it with this text."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(tz=dt.UTC)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    version: ClassVar[int] = 1
    # Allowed values of str fields, checked when an event is made and when it is parsed.
    choices: ClassVar[dict[str, frozenset[str]]] = {}

    event_id: uuid.UUID = dataclasses.field(default_factory=uuid.uuid4)
    occurred_at: dt.datetime = dataclasses.field(default_factory=_utcnow)

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise EventError("occurred_at must be timezone-aware")
        for name, allowed in self.choices.items():
            if getattr(self, name) not in allowed:
                raise EventError(f"{name}={getattr(self, name)!r} is not one of {sorted(allowed)}")

    @property
    def type_name(self) -> str:
        return type(self).__name__

    def to_json(self) -> str:
        payload: dict[str, Any] = {"type": self.type_name, "v": self.version}
        for name in _FIELDS[type(self)]:
            value = getattr(self, name)
            if isinstance(value, uuid.UUID):
                value = str(value)
            elif isinstance(value, dt.datetime):
                value = value.astimezone(dt.UTC).isoformat()
            payload[name] = value
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def upgrade(cls, payload: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Turn a payload of an older version into the current shape."""
        return payload


_REGISTRY: dict[str, type[Event]] = {}
# Per class: field name -> a function that turns a JSON value into the field's type.
_FIELDS: dict[type[Event], dict[str, Callable[[Any], Any]]] = {}


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise EventError(f"expected an integer, got {value!r}")
    return int(value)


def _as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise EventError(f"expected a string, got {value!r}")
    if "\x00" in value:
        raise EventError("NUL character in a string")
    return value


def _as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise EventError(f"expected a boolean, got {value!r}")
    return value


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(_as_str(value))


def _as_datetime(value: Any) -> dt.datetime:
    is_datetime = isinstance(value, dt.datetime)
    parsed = value if is_datetime else dt.datetime.fromisoformat(_as_str(value))
    if parsed.tzinfo is None:
        raise EventError("timestamp without a time zone")
    return parsed.astimezone(dt.UTC)


_CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    int: _as_int,
    str: _as_str,
    bool: _as_bool,
    uuid.UUID: _as_uuid,
    dt.datetime: _as_datetime,
}


def _converter(hint: Any) -> Callable[[Any], Any]:
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) and type(None) in args:
        inner = _CONVERTERS[next(arg for arg in args if arg is not type(None))]
        return lambda value: None if value is None else inner(value)
    return _CONVERTERS[hint]


def event_type(cls: type[Event]) -> type[Event]:
    """Register an event class so the worker can parse it by name."""
    hints = typing.get_type_hints(cls)
    _FIELDS[cls] = {f.name: _converter(hints[f.name]) for f in dataclasses.fields(cls)}
    _REGISTRY[cls.__name__] = cls
    return cls


# json's C scanner, called directly: ``json.loads`` around it (type checks, two regex
# matches for whitespace) cost as much again for a payload of a couple hundred bytes.
_scan_once = json.scanner.make_scanner(json.JSONDecoder())


def _json_loads(raw: str | bytes) -> Any:
    if isinstance(raw, str) and raw.startswith("{"):
        try:
            value, end = _scan_once(raw, 0)
        except (ValueError, StopIteration):
            pass  # json.loads says what is wrong
        else:
            if end == len(raw):
                return value
    return json.loads(raw)


def event_from_json(raw: str | bytes) -> Event:
    """Parse one stream payload; raises ``EventError`` with a reason a person can read."""
    try:
        payload = _json_loads(raw)
    except (ValueError, TypeError) as exc:
        raise EventError(f"not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise EventError("payload is not an object")
    cls = _REGISTRY.get(payload.pop("type", None))
    if cls is None:
        raise EventError("unknown event type")
    version = payload.pop("v", None)
    if not isinstance(version, int) or not 1 <= version <= cls.version:
        raise EventError(f"unsupported version {version!r} of {cls.__name__}")
    if version < cls.version:
        payload = cls.upgrade(payload, version)
    fields = _FIELDS[cls]
    try:
        values = {name: fields[name](value) for name, value in payload.items()}
        return cls(**values)
    except KeyError:  # only the lookup of a field name raises it
        unknown = payload.keys() - fields.keys()
        raise EventError(f"unknown fields {sorted(unknown)}") from None
    except EventError:
        raise
    except (TypeError, ValueError) as exc:
        raise EventError(str(exc)) from exc


def registered_event_types() -> dict[str, type[Event]]:
    return dict(_REGISTRY)


_PLATFORMS = frozenset(Platform.values)


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class DownloadCompleted(Event):
    """A video reached the user. ``title``/``url``/``duration`` fill the videos row."""

    choices: ClassVar[dict[str, frozenset[str]]] = {
        "platform": _PLATFORMS,
        "source": frozenset(DownloadSource.values),
    }

    user_id: int
    video_id: str
    platform: str
    source: str
    format: str = ""
    from_cache: bool = False
    title: str = ""
    url: str = ""
    duration: int | None = None


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class DownloadFailed(Event):
    user_id: int
    platform: str = ""
    url: str = ""
    reason: str = ""


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class VideoViewClicked(Event):
    choices: ClassVar[dict[str, frozenset[str]]] = {"event_type": frozenset(ClickType.values)}

    user_id: int
    video_id: str | None = None
    event_type: str = ClickType.BUTTON_CLICK.value


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class UserReferred(Event):
    referrer_id: int
    new_user_id: int

    def __post_init__(self) -> None:
        Event.__post_init__(self)
        if self.referrer_id == self.new_user_id:
            raise EventError("a user cannot refer themselves")


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class UserSeen(Event):
    """A user interacted with the bot; carries the profile Telegram reported."""

    user_id: int
    username: str = ""
    first_name: str = ""
    language_code: str = ""


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class InlineQueried(Event):
    user_id: int
    platform: str = ""


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class AdShown(Event):
    """An ad reached a user. ``event_id`` is the impression id the click token names."""

    user_id: int
    campaign_id: int
    creative_id: int | None = None
    surface: str = ""  # "private" or "inline"
    language: str = ""
    media_key: str = ""


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class AdClicked(Event):
    """A press of an ad's button, through the click redirect; stored once per impression."""

    impression_id: uuid.UUID
    user_id: int
    campaign_id: int


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class AdNoFill(Event):
    """An ad was due but no campaign was eligible: the delivery went out without one."""

    user_id: int
    surface: str = ""
    language: str = ""


# --- The paid tier (Telegram Stars) -----------------------------------------------------

_PREMIUM_KINDS = frozenset({"one_time", "subscription"})


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class PaymentCompleted(Event):
    """A Stars payment was stored (once per charge id); ``paid_until`` is the user's
    premium end after it."""

    choices: ClassVar[dict[str, frozenset[str]]] = {"kind": _PREMIUM_KINDS}

    user_id: int
    telegram_payment_charge_id: str
    stars: int
    kind: str
    days: int
    is_recurring: bool = False
    paid_until: dt.datetime | None = None


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class PaymentRefunded(Event):
    """A stored payment was refunded and the days it bought taken back."""

    choices: ClassVar[dict[str, frozenset[str]]] = {"kind": _PREMIUM_KINDS}

    user_id: int
    telegram_payment_charge_id: str
    stars: int
    kind: str
    paid_until: dt.datetime | None = None


# --- Experiments (abtests) --------------------------------------------------------------


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ExperimentAssigned(Event):
    """A user's first (sticky) variant in a phase of an experiment; stored once."""

    user_id: int
    test_id: int
    phase: int
    variant_id: int


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ExperimentViewed(Event):
    """A user's variant changed what they saw; the first one per user, test and phase
    makes them count in the results."""

    user_id: int
    test_id: int
    phase: int
    variant_name: str
    surface: str = ""


# --- The inline funnel -------------------------------------------------------------------


@event_type
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class InlineResultChosen(Event):
    """A user picked the bot's inline result for a video (the funnel's second step).
    ``from_cache``: the result was the cached video itself, delivered by the pick."""

    user_id: int
    video_id: str
    platform: str = ""
    from_cache: bool = False
