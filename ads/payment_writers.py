"""Stream writers for the paid tier's events: the ``payment_events`` revenue history.

The ``payments`` table itself is written at once by ``payment_services`` (a payment must
take effect before the user's next video); these rows are the append-only history the
event worker keeps, idempotent on the event UUID like every other event table. The
dashboard sums them by day; the entries that stored one bump its rollups version, so its
cached answers are dropped.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence

from analytics import sql
from analytics.events import PaymentCompleted, PaymentRefunded
from analytics.rollups import VERSION_INCREMENT
from analytics.writers import BatchContext, BatchPlan, Entry, writer

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


def _stored(
    by_id: Mapping[uuid.UUID, Entry], stored: list[tuple], context: BatchContext
) -> list[sql.Insert]:
    context.stored += len(stored)
    returned = {
        row[0] if isinstance(row[0], uuid.UUID) else uuid.UUID(str(row[0])) for row in stored
    }
    for event_id, entry in by_id.items():
        # A redelivered entry may have been stored without its bump being acknowledged.
        if event_id in returned or context.redelivered:
            context.counters[entry.entry_id].append(VERSION_INCREMENT)
    return []


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
    plan.insert(_insert(rows), functools.partial(_stored, {e.event.event_id: e for e in entries}))


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
    plan.insert(_insert(rows), functools.partial(_stored, {e.event.event_id: e for e in entries}))
