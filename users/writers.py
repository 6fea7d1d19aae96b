"""The users table's part of the analytics worker's batches (registered with
``analytics.writers``; ``UsersConfig.ready`` imports this module).

Every event says a user was there; the batch remembers each user once
(``BatchContext.user_seen``) and this finisher upserts them all in one statement per
kind, in user id order, with their profile when a ``UserSeen`` came and their new
downloads (``referred_by`` is written by the referrals app when it attributes a user).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from analytics import sql
from analytics.events import UserSeen
from analytics.writers import (
    BatchContext,
    BatchPlan,
    Entry,
    Following,
    batch_finisher,
    clip,
    writer,
)
from users.models import BotUser


@writer(UserSeen)
def users_seen_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    for entry in sorted(entries, key=lambda e: e.event.occurred_at):
        event: UserSeen = entry.event  # type: ignore[assignment]
        plan.context.user_seen(event.user_id, event.occurred_at).profile = event
        plan.context.stored += 1


# On PostgreSQL last_seen_at is kept to the minute: a touch less than a minute after
# the stored value leaves it alone. Under load nearly every batch touches a user, and
# the users table indexes last_seen_at, so rewriting it each time made every touch a
# new row version in every one of its indexes; with it unchanged, a download that bumps
# only total_downloads can be a HOT update. A profile still moves last_seen_at exactly,
# which is what keeps an older profile from overwriting a newer one.
LAST_SEEN_GRANULARITY_SECONDS = 60
_TOUCH_COLUMNS = ["user_id", "first_seen_at", "last_seen_at", "total_downloads"]
_PROFILE_COLUMNS = ["username", "first_name", "language_code"]
_FIRST_AND_TOTAL = (
    "(user_id) DO UPDATE SET "
    "first_seen_at = CASE WHEN excluded.first_seen_at < users.first_seen_at "
    "THEN excluded.first_seen_at ELSE users.first_seen_at END, "
    "total_downloads = users.total_downloads + excluded.total_downloads, "
)
# A profile from a batch older than what is stored (a late redelivery) is not applied.
_PROFILE_UPDATE = (
    _FIRST_AND_TOTAL + "last_seen_at = CASE WHEN excluded.last_seen_at > users.last_seen_at "
    "THEN excluded.last_seen_at ELSE users.last_seen_at END"
    + "".join(
        f", {column} = CASE WHEN excluded.last_seen_at >= users.last_seen_at "
        f"THEN excluded.{column} ELSE users.{column} END"
        for column in _PROFILE_COLUMNS
    )
)


def _touch_update() -> str:
    # SQLite (the embedded default, one user at a time) keeps last_seen_at exact.
    moves = (
        f"excluded.last_seen_at >= users.last_seen_at "
        f"+ interval '{LAST_SEEN_GRANULARITY_SECONDS} seconds'"
        if connection.vendor == "postgresql"
        else "excluded.last_seen_at > users.last_seen_at"
    )
    return (
        _FIRST_AND_TOTAL + f"last_seen_at = CASE WHEN {moves} THEN excluded.last_seen_at "
        "ELSE users.last_seen_at END "
        # A touch that changes nothing takes the row lock but writes no row version.
         + f"WHERE excluded.total_downloads > 0 OR {moves} "
        "OR excluded.first_seen_at < users.first_seen_at"
    )


@batch_finisher
def users_upsert(context: BatchContext) -> Following:
    """Upsert every user the batch touched, in user id order (so concurrent workers
    lock rows in the same order)."""
    plain, with_profile = [], []
    for user_id, touch in sorted(context.users.items()):
        row = (user_id, touch.first_seen_at, touch.last_seen_at, touch.downloads)
        if touch.profile is None:
            plain.append(row)
        else:
            profile = touch.profile
            with_profile.append(
                (*row, clip(profile.username, BotUser, "username"),
                 clip(profile.first_name, BotUser, "first_name"),
                 clip(profile.language_code, BotUser, "language_code"))
            )  # fmt: skip
    ensure = sorted(
        (user_id, at, at, 0)
        for user_id, at in context.users_to_ensure.items()
        if user_id not in context.users
    )
    statements: Following = [
        sql.Insert(model=BotUser, columns=_TOUCH_COLUMNS, rows=plain, conflict=_touch_update()),
        sql.Insert(
            model=BotUser,
            columns=_TOUCH_COLUMNS + _PROFILE_COLUMNS,
            rows=with_profile,
            conflict=_PROFILE_UPDATE,
        ),
        sql.Insert(model=BotUser, columns=_TOUCH_COLUMNS, rows=ensure, conflict="DO NOTHING"),
    ]
    return statements
