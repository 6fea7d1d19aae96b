"""The referrals table's part of the analytics worker's batches (registered with
``analytics.writers``; ``ReferralsConfig.ready`` imports this module)."""

from __future__ import annotations

from collections.abc import Sequence

from analytics import sql
from analytics.events import UserReferred
from analytics.writers import BatchContext, BatchPlan, Entry, Following, writer
from referrals.models import Referral


@writer(UserReferred)
def referrals_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    first: dict[int, UserReferred] = {}
    for entry in sorted(entries, key=lambda e: e.event.occurred_at):
        event: UserReferred = entry.event  # type: ignore[assignment]
        first.setdefault(event.new_user_id, event)
        plan.context.user_seen(event.new_user_id, event.occurred_at)
        plan.context.users_to_ensure.setdefault(event.referrer_id, event.occurred_at)
    # A user already referred keeps their first referrer: the insert is ignored.
    insert = sql.Insert(
        model=Referral,
        columns=["referrer_id", "referred_user_id", "created_at"],
        rows=[(e.referrer_id, e.new_user_id, e.occurred_at) for _, e in sorted(first.items())],
        conflict="(referred_user_id) DO NOTHING",
        returning=["referrer_id", "referred_user_id"],
    )
    plan.insert(insert, _referrals_stored)


def _referrals_stored(stored: list[tuple], context: BatchContext) -> Following:
    for referrer_id, referred_user_id in stored:
        context.referred_by[referred_user_id] = referrer_id
    context.stored += len(stored)
    return []
