"""The policy seam: what follows a delivery (an ad, a "free downloads left" hint, an
experiment's variant) is decided here, by policies other apps register.

Every delivery (cache hit or fresh download; private chat, group, inline, deep link)
goes through ``downloads.delivery.media_deliver``, which builds a ``DeliveryContext``
and awaits ``delivery_plan(ctx)`` before sending the media. The plan's
``media_buttons`` go under the media (on the inline surface, where no message can
follow), its ``follow_ups`` are sent after the media, and ``on_media_sent`` runs once
Telegram accepted the media.

Policies are registered at startup (``botapp.application.policies_register``), must be
fast (they run on the event loop for every cache hit: blocking I/O goes through one
``sync_to_async`` call or a short-timeout Redis call) and can never stop a delivery:
a policy that raises is logged and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryContext:
    user_id: int
    language: str  # the user's UI language ("en", "ru", "uk", "es")
    chat_id: int | None  # None for inline deliveries
    chat_type: str  # "private", "group", "inline" (analytics.vocabulary.ChatKind)
    source: str  # DownloadSource value: message, inline, deep_link, group
    media_key: str  # "youtube:dQw4w9WgXcQ"
    fmt: str  # format/quality key (downloads.platforms.Format)
    cached: bool  # True when answered from the file_id cache


@dataclass(frozen=True)
class UrlButton:
    text: str
    url: str


@dataclass
class FollowUp:
    text: str  # Telegram HTML, already in the user's language
    buttons: list[UrlButton] = field(default_factory=list)
    on_sent: Callable[[], None] | None = None  # called once Telegram accepted it
    on_failed: Callable[[BaseException], None] | None = None


@dataclass
class DeliveryPlan:
    media_buttons: list[UrlButton] = field(default_factory=list)  # under the media (inline)
    follow_ups: list[FollowUp] = field(default_factory=list)  # messages after the media
    on_media_sent: list[Callable[[], None]] = field(default_factory=list)


Policy = Callable[[DeliveryContext], Awaitable[DeliveryPlan | None]]

_policies: list[Policy] = []


def policy_register(policy: Policy) -> None:
    """Add a policy (idempotent: registering the same one twice keeps one)."""
    if policy not in _policies:
        _policies.append(policy)


def policy_unregister(policy: Policy) -> None:
    """Remove a policy (tests; a feature switched off at runtime)."""
    if policy in _policies:
        _policies.remove(policy)


def registered_policies() -> tuple[Policy, ...]:
    return tuple(_policies)


async def delivery_plan(ctx: DeliveryContext) -> DeliveryPlan:
    """All registered policies' plans merged in registration order. A policy that
    raises (or returns something that is not a plan) is logged and left out."""
    merged = DeliveryPlan()
    # One after the other, in this task: a policy usually answers without waiting, and
    # gathering them as tasks put each delivery at the back of a busy loop's queue once
    # more (6 ms a delivery when a burst of new users arrived, against 1 ms in turn).
    for policy in tuple(_policies):
        plan = await _ask(policy, ctx)
        if plan is None:
            continue
        merged.media_buttons.extend(plan.media_buttons)
        merged.follow_ups.extend(plan.follow_ups)
        merged.on_media_sent.extend(plan.on_media_sent)
    return merged


async def _ask(policy: Policy, ctx: DeliveryContext) -> DeliveryPlan | None:
    try:
        plan = await policy(ctx)
    except Exception:
        log.exception("delivery policy %r failed for %s; delivering without it", policy, ctx)
        return None
    if plan is not None and not isinstance(plan, DeliveryPlan):
        log.error("delivery policy %r returned %r, not a DeliveryPlan", policy, plan)
        return None
    return plan
