"""``UserReferred`` in the analytics worker's batches (registered with
``analytics.writers``; ``ReferralsConfig.ready`` imports this module).

The referrals app writes the ``referrals`` row and ``users.referred_by`` itself, in the
transaction of the ``/start`` that attributed the user, and publishes the event after
the commit; a second writer of those rows could only race it. So the event only tells
the worker that both users exist.
"""

from __future__ import annotations

from collections.abc import Sequence

from analytics.events import UserReferred
from analytics.writers import BatchPlan, Entry, writer


@writer(UserReferred)
def referrals_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    for entry in entries:
        event: UserReferred = entry.event  # type: ignore[assignment]
        plan.context.user_seen(event.new_user_id, event.occurred_at)
        plan.context.users_to_ensure.setdefault(event.referrer_id, event.occurred_at)
        plan.context.stored += 1
