"""Writing one batch of events to the database, set-wise and idempotently.

A batch is written in two steps. ``batch_plan`` turns its events into statements, in
Python only (the worker does it in its read-ahead thread, while the previous batch is
being written). Each event type has one writer, registered with ``@writer(EventClass)``
and run in registration order: it records in the ``BatchContext`` what its events mean
for users, and plans one insert of its own table, idempotent on the event UUID, with a
function that interprets the rows its INSERT ... RETURNING reports as newly stored.
Those decide the rest, so nothing counts twice on redelivery: users' and videos'
``total_downloads`` grow, and counters move, only by newly stored downloads. The users
the batch touched are upserted once, after all writers (a ``@batch_finisher``).

Each app registers the writers of its own tables, in its ``writers.py`` imported by its
``AppConfig.ready``: this module writes analytics' tables (downloads, videos, clicks,
funnel events); ``users/writers.py`` the users table; ``referrals/writers.py`` only
makes sure referred users exist (the referrals app writes its rows itself).

``batch_store`` writes the plan in one transaction. A fresh batch is nearly always new
from first to last event, so its plan is speculative: it derives the videos and users
statements from the assumption that every insert stores all its rows, and the whole
batch goes to the database at once (one round trip on PostgreSQL, ``analytics.sql``).
Before the commit the RETURNING rows are checked against the assumption; if an event
had been stored before (published twice, say), the transaction is rolled back and the
batch written the exact way: the inserts, then what follows from what they returned. A
redelivered batch is written the exact way from the start.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence

from django.db import connection, transaction

from . import rollups, sql
from .counters import CounterIncrement, download_increments
from .events import (
    DownloadCompleted,
    DownloadFailed,
    Event,
    InlineQueried,
    InlineResultChosen,
    UserSeen,
    VideoViewClicked,
)
from .models import ClickEvent, Download, FunnelEvent, FunnelStep, Video


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """An event as read from the stream."""

    entry_id: str
    event: Event


@dataclasses.dataclass(slots=True)
class UserTouch:
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    downloads: int = 0
    profile: UserSeen | None = None

    def see(self, at: dt.datetime) -> None:
        self.first_seen_at = min(self.first_seen_at, at)
        self.last_seen_at = max(self.last_seen_at, at)


@dataclasses.dataclass
class BatchContext:
    # Entries this worker (or another) may have committed before: a download that is
    # already stored still owes its counters if its entry is still pending.
    redelivered: bool = False
    users: dict[int, UserTouch] = dataclasses.field(default_factory=dict)
    users_to_ensure: dict[int, dt.datetime] = dataclasses.field(default_factory=dict)
    counters: dict[str, list[CounterIncrement]] = dataclasses.field(
        default_factory=lambda: defaultdict(list)
    )
    stored: int = 0

    def user_seen(self, user_id: int, at: dt.datetime) -> UserTouch:
        touch = self.users.get(user_id)
        if touch is None:
            touch = self.users[user_id] = UserTouch(first_seen_at=at, last_seen_at=at)
        else:
            touch.see(at)
        return touch


Following = list[sql.Insert | sql.Statement]
# Given the RETURNING rows of a writer's insert (its newly stored rows), records what
# they mean in the context and returns the statements that follow from them.
Stored = Callable[[list[tuple], BatchContext], Following]


def _count_stored(stored: list[tuple], context: BatchContext) -> Following:
    context.stored += len(stored)
    return []


@dataclasses.dataclass(eq=False)
class _Step:
    insert: sql.Insert
    stored: Stored


@dataclasses.dataclass(eq=False)
class BatchPlan:
    """A batch as statements, made before its transaction opens (``batch_plan``)."""

    entries: list[Entry]
    context: BatchContext
    steps: list[_Step] = dataclasses.field(default_factory=list)
    # Speculative plans only: what follows if every insert stores all its rows.
    following: Following | None = None

    def insert(self, insert: sql.Insert, stored: Stored = _count_stored) -> None:
        self.steps.append(_Step(insert, stored))


Writer = Callable[[Sequence[Entry], BatchPlan], None]
# Runs after every writer's inserts returned: the statements that follow from the whole
# batch (the users app upserts each user the batch touched, once).
Finisher = Callable[[BatchContext], Following]
_WRITERS: dict[type[Event], Writer] = {}
_FINISHERS: list[Finisher] = []


def writer(event_class: type[Event]) -> Callable[[Writer], Writer]:
    """Register the one writer of ``event_class``'s events. The app that owns the table
    registers it, in a ``writers`` module its ``AppConfig.ready`` imports."""

    def register(function: Writer) -> Writer:
        _WRITERS[event_class] = function
        return function

    return register


def batch_finisher(function: Finisher) -> Finisher:
    """Register a step that runs once per batch, after all writers (idempotent)."""
    if function not in _FINISHERS:
        _FINISHERS.append(function)
    return function


def registered_writers() -> dict[type[Event], Writer]:
    return dict(_WRITERS)


def batch_plan(
    entries: Sequence[Entry], *, redelivered: bool, speculative: bool | None = None
) -> BatchPlan:
    """The statements of a batch; speculative unless redelivered (module docstring).
    Touches no database, so any thread may make it."""
    plan = BatchPlan(_unique(entries), BatchContext(redelivered=redelivered))
    by_type: dict[type[Event], list[Entry]] = defaultdict(list)
    for entry in plan.entries:
        by_type[type(entry.event)].append(entry)
    for event_class, write in _WRITERS.items():
        if by_type.get(event_class):
            write(by_type[event_class], plan)
    statements = [step.insert for step in plan.steps]
    if speculative is None:
        speculative = not redelivered  # a redelivered batch was likely stored before
    if speculative:
        plan.following = _following(plan, [i.returned_if_all_new() for i in statements])
        statements += plan.following
    if connection.vendor == "postgresql":
        for statement in statements:
            if isinstance(statement, sql.Insert):
                statement.encode()
    return plan


def _following(plan: BatchPlan, returned: list[list[tuple]]) -> Following:
    following = []
    for step, stored in zip(plan.steps, returned, strict=True):
        following += step.stored(stored, plan.context)
    for finish in _FINISHERS:
        following += finish(plan.context)
    return following


class _Mispredicted(Exception):
    """Some event of a speculative plan had been stored before."""


def batch_store(plan: BatchPlan) -> BatchContext:
    """Write a plan in one transaction (committed on return unless the caller holds one
    open); returns what to count."""
    inserts = [step.insert for step in plan.steps]
    if plan.following is not None:
        try:
            with transaction.atomic():
                returned = sql.run([*inserts, *plan.following])
                for insert, stored in zip(inserts, returned[: len(inserts)], strict=True):
                    if len(stored) != len(insert.rows):  # what it returns is a subset
                        raise _Mispredicted
            return plan.context
        except _Mispredicted:
            plan = batch_plan(plan.entries, redelivered=plan.context.redelivered, speculative=False)
            inserts = [step.insert for step in plan.steps]
    with transaction.atomic():
        sql.run(_following(plan, sql.run(inserts)))
    return plan.context


def _unique(entries: Sequence[Entry]) -> list[Entry]:
    """One entry per event id: an event spooled and also published arrives twice."""
    seen: set[uuid.UUID] = set()
    unique = []
    for entry in entries:
        if entry.event.event_id not in seen:
            seen.add(entry.event.event_id)
            unique.append(entry)
    return unique


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def clip(value: str, model: type, field: str) -> str:
    return value[: model._meta.get_field(field).max_length]


@writer(DownloadCompleted)
def downloads_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    events: list[DownloadCompleted] = [entry.event for entry in entries]  # type: ignore[misc]
    for event in events:
        plan.context.user_seen(event.user_id, event.occurred_at)
    insert = sql.Insert(
        model=Download,
        columns=[
            "event_id", "created_at", "user_id", "video_id", "platform", "source", "format",
            "from_cache",
        ],
        rows=[
            (e.event_id, e.occurred_at, e.user_id, e.video_id, e.platform, e.source,
             clip(e.format, Download, "format"), e.from_cache)
            for e in events
        ],
        conflict="(event_id, created_at) DO NOTHING",
        returning=["event_id"],
    )  # fmt: skip
    plan.insert(insert, functools.partial(_downloads_stored, entries, events))


def _downloads_stored(
    entries: Sequence[Entry],
    events: list[DownloadCompleted],
    stored: list[tuple],
    context: BatchContext,
) -> Following:
    new_ids = {_as_uuid(row[0]) for row in stored}
    new = []
    today = dt.datetime.now(tz=dt.UTC).date()
    for entry, event in zip(entries, events, strict=True):
        is_new = event.event_id in new_ids
        if is_new:
            context.users[event.user_id].downloads += 1
            new.append(event)
        if is_new or context.redelivered:
            context.counters[entry.entry_id] = [
                *download_increments(
                    user_id=event.user_id,
                    video_id=event.video_id,
                    at=event.occurred_at,
                    today=today,
                ),
                rollups.VERSION_INCREMENT,  # cached dashboard answers are stale now
            ]
    context.stored += len(new_ids)
    return [videos_upsert(new), *rollups.downloads_rollup_statements(new)]


def videos_upsert(downloads: Sequence[DownloadCompleted]) -> sql.Insert:
    videos: dict[str, dict] = {}
    for event in sorted(downloads, key=lambda e: e.occurred_at):
        video = videos.setdefault(
            event.video_id,
            {"platform": event.platform, "title": "", "url": "", "duration": None, "count": 0,
             "first": event.occurred_at},
        )  # fmt: skip
        video["count"] += 1
        video["last"] = event.occurred_at
        # The newest event that knows a title, url or duration wins.
        video["title"] = clip(event.title, Video, "title") or video["title"]
        video["url"] = clip(event.url, Video, "url") or video["url"]
        video["duration"] = event.duration if event.duration is not None else video["duration"]
    return sql.Insert(
        model=Video,
        columns=[
            "video_id", "platform", "title", "url", "duration", "first_seen_at",
            "total_downloads", "last_download_at",
        ],
        rows=[
            (video_id, v["platform"], v["title"], v["url"], v["duration"], v["first"],
             v["count"], v["last"])
            for video_id, v in sorted(videos.items())
        ],
        conflict=(
            "(video_id) DO UPDATE SET "
            "total_downloads = videos.total_downloads + excluded.total_downloads, "
            "first_seen_at = CASE WHEN excluded.first_seen_at < videos.first_seen_at "
            "THEN excluded.first_seen_at ELSE videos.first_seen_at END, "
            "last_download_at = CASE WHEN videos.last_download_at IS NULL "
            "OR excluded.last_download_at > videos.last_download_at "
            "THEN excluded.last_download_at ELSE videos.last_download_at END, "
            "title = CASE WHEN excluded.title <> '' THEN excluded.title ELSE videos.title END, "
            "url = CASE WHEN excluded.url <> '' THEN excluded.url ELSE videos.url END, "
            "duration = COALESCE(excluded.duration, videos.duration)"
        ),
    )  # fmt: skip


@writer(VideoViewClicked)
def clicks_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    rows = []
    for entry in entries:
        event: VideoViewClicked = entry.event  # type: ignore[assignment]
        plan.context.user_seen(event.user_id, event.occurred_at)
        video_id = clip(event.video_id, Video, "video_id") if event.video_id else None
        rows.append((event.event_id, event.occurred_at, event.user_id, event.event_type, video_id))
    plan.insert(
        sql.Insert(
            model=ClickEvent,
            columns=["event_id", "created_at", "user_id", "event_type", "video_id"],
            rows=rows,
            conflict="(event_id) DO NOTHING",
            returning=["event_id"],
        )
    )


FUNNEL_COLUMNS = ["event_id", "created_at", "user_id", "step", "platform", "url", "reason",
                  "video_id", "from_cache"]  # fmt: skip


def _funnel_insert(rows: list[tuple]) -> sql.Insert:
    return sql.Insert(
        model=FunnelEvent,
        columns=FUNNEL_COLUMNS,
        rows=rows,
        conflict="(event_id) DO NOTHING",
        returning=["event_id"],
    )


@writer(DownloadFailed)
def failures_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    rows = []
    for entry in entries:
        event: DownloadFailed = entry.event  # type: ignore[assignment]
        plan.context.user_seen(event.user_id, event.occurred_at)
        rows.append(
            (event.event_id, event.occurred_at, event.user_id, FunnelStep.DOWNLOAD_FAILED,
             clip(event.platform, FunnelEvent, "platform"), event.url, event.reason, "", False)
        )  # fmt: skip
    plan.insert(_funnel_insert(rows))


@writer(InlineQueried)
def inline_queries_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    rows = []
    for entry in entries:
        event: InlineQueried = entry.event  # type: ignore[assignment]
        plan.context.user_seen(event.user_id, event.occurred_at)
        rows.append(
            (event.event_id, event.occurred_at, event.user_id, FunnelStep.INLINE_QUERY,
             clip(event.platform, FunnelEvent, "platform"), "", "", "", False)
        )  # fmt: skip
    plan.insert(_funnel_insert(rows))


@writer(InlineResultChosen)
def inline_chosen_write(entries: Sequence[Entry], plan: BatchPlan) -> None:
    rows = []
    for entry in entries:
        event: InlineResultChosen = entry.event  # type: ignore[assignment]
        plan.context.user_seen(event.user_id, event.occurred_at)
        rows.append(
            (event.event_id, event.occurred_at, event.user_id, FunnelStep.INLINE_CHOSEN,
             clip(event.platform, FunnelEvent, "platform"), "", "",
             clip(event.video_id, FunnelEvent, "video_id"), event.from_cache)
        )  # fmt: skip
    plan.insert(_funnel_insert(rows))
