"""The policy selector: plans merged in registration order, a failing policy left out."""

from __future__ import annotations

import asyncio
import logging

import pytest

from downloads import policy as seam
from downloads.policy import (
    DeliveryContext,
    DeliveryPlan,
    FollowUp,
    UrlButton,
    delivery_plan,
    policy_register,
    policy_unregister,
    registered_policies,
)

CTX = DeliveryContext(
    user_id=1,
    language="en",
    chat_id=1,
    chat_type="private",
    source="message",
    media_key="youtube:dQw4w9WgXcQ",
    fmt="720p",
    cached=True,
)


@pytest.fixture(autouse=True)
def _only_this_tests_policies(monkeypatch):
    """The policies the application registers (ads, referrals...) are not this test's."""
    monkeypatch.setattr(seam, "_policies", [])


@pytest.fixture
def registered():
    added = []

    def register(policy):
        policy_register(policy)
        added.append(policy)
        return policy

    yield register
    for policy in added:
        policy_unregister(policy)


def test_it_returns_an_empty_plan_without_policies():
    assert registered_policies() == ()
    plan = asyncio.run(delivery_plan(CTX))
    assert plan == DeliveryPlan()


def test_it_merges_plans_in_registration_order(registered):
    async def first(ctx):
        return DeliveryPlan(media_buttons=[UrlButton("a", "https://a.example")])

    async def second(ctx):
        return DeliveryPlan(
            media_buttons=[UrlButton("b", "https://b.example")],
            follow_ups=[FollowUp(text=f"hi {ctx.user_id}")],
        )

    async def nothing(ctx):
        return None

    registered(first)
    registered(nothing)
    registered(second)
    registered(first)  # twice: still once
    plan = asyncio.run(delivery_plan(CTX))
    assert [b.text for b in plan.media_buttons] == ["a", "b"]
    assert [f.text for f in plan.follow_ups] == ["hi 1"]


def test_it_leaves_out_a_raising_or_malformed_policy_and_logs_it(registered, caplog):
    async def broken(ctx):
        raise ValueError("boom")

    async def malformed(ctx):
        return ["not a plan"]

    async def good(ctx):
        return DeliveryPlan(follow_ups=[FollowUp(text="ok")])

    registered(broken)
    registered(malformed)
    registered(good)
    with caplog.at_level(logging.ERROR, logger="downloads.policy"):
        plan = asyncio.run(delivery_plan(CTX))
    assert [f.text for f in plan.follow_ups] == ["ok"]
    assert "boom" in caplog.text
    assert "not a DeliveryPlan" in caplog.text
