"""Stream writers for the paid tier's events: the ``payment_events`` revenue history.

The ``payments`` table itself is written at once by ``payment_services`` (a payment must
take effect before the user's next video); these rows are the append-only history the
event worker keeps, idempotent on the event UUID like every other event table.
"""

from __future__ import annotations

from collections.abc import Sequence

from analytics import sql
from analytics.events import PaymentCompleted, PaymentRefunded
from analytics.writers import BatchPlan, Entry, writer

from .models import PaymentEvent, PaymentEventKind


def _insert(rows: list[tuple]) -> sql.Insert:
    return sql.Insert(
        model=PaymentEvent,
        columns=[
            "event_id", "kind", "user_id", "telegram_payment_charge_id", "stars",
            "premium_kind", "created_at",
        ],
        rows=rows,
        conflict="(event_id) DO NOTHING",
        returning=["event_id"],
    )  # fmt: skip


@writer(PaymentCompleted)
def payments_completed_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    rows = []
    for entry in entries:
        event: PaymentCompleted = entry.event  # type: ignore[assignment]
        plan.context.user_seen(event.user_id, event.occurred_at)
        rows.append(
            (event.event_id, PaymentEventKind.COMPLETED.value, event.user_id,
             event.telegram_payment_charge_id, event.stars, event.kind, event.occurred_at)
        )  # fmt: skip
    plan.insert(_insert(rows))


@writer(PaymentRefunded)
def payments_refunded_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    rows = []
    for entry in entries:
        event: PaymentRefunded = entry.event  # type: ignore[assignment]
        # A refund is an admin's act, not the user's: it does not touch last_seen_at.
        plan.context.users_to_ensure.setdefault(event.user_id, event.occurred_at)
        rows.append(
            (event.event_id, PaymentEventKind.REFUNDED.value, event.user_id,
             event.telegram_payment_charge_id, -event.stars, event.kind, event.occurred_at)
        )  # fmt: skip
    plan.insert(_insert(rows))
