"""The analytics worker: stream -> PostgreSQL in batches, then counters and ack.

Delivery is at least once. A batch is read through the consumer group, written in one
transaction (``analytics.writers``), and only after the commit are its entries
acknowledged, together with the Redis counters of the downloads it stored, by one Lua
script. The script acknowledges entry by entry and moves an entry's counters only if
its XACK removed it from the pending list, so:

- a crash before the commit redelivers the batch, which is then written for the first
  time and counted once;
- a crash between the commit and the script redelivers entries whose downloads are
  already stored; they are counted now, since their entries are still pending;
- two workers holding the same entry (one reclaimed it from a slow other) count it once:
  only the first XACK returns 1;
- one event in two entries (published twice), both redelivered, counts once: the script
  adds each counted event id to a set per day (``analytics.counters.counted_set_key``)
  and skips one already there.

Failures: a batch that PostgreSQL refuses for a data reason is bisected until the bad
event is alone, and that one goes to the dead-letter stream with the reason; the rest
is stored. When PostgreSQL or Redis is unreachable the batch stays pending and is
retried from memory with backoff (its entries' idle time is refreshed so no other
worker steals them meanwhile). When every event of a batch is refused, even one by
one, the batch is held the same way: that is a schema or code problem, not bad data.
An event refused alone in a batch of one is ambiguous, so it is kept pending and tried
again with the next batch; refused there beside stored neighbours, it is dead-lettered.

Poison: entries left pending by a dead consumer are taken over with XAUTOCLAIM, and a
restarted worker re-reads its own. Neither re-read counts as a delivery (XPENDING and
XRANGE, and XAUTOCLAIM with JUSTID, leave Redis's delivery counter alone); the counter
moves when the worker starts an attempt on the entry, so it counts attempts that never
finished (the process died). Entries attempted ``max_deliveries`` times are tried one at
a time, so the good neighbours of an event that kills the process are stored, and only
an entry that also failed ``ISOLATED_ATTEMPTS`` times on its own is dead-lettered.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, connection
from redis import Redis
from redis.exceptions import RedisError, ResponseError

from config.redis import get_redis

from . import partitions, publisher, rollups
from .counters import COUNTED_TTL, counted_set_key
from .events import EventError, event_from_json
from .health import persistence_warnings
from .stream import DEAD_MAXLEN, DEAD_STREAM, GROUP, PAYLOAD_FIELD, STREAM, group_ensure
from .stream import stream_trim as stream_trim_acknowledged
from .writers import BatchContext, BatchPlan, Entry, batch_plan, batch_store

log = logging.getLogger(__name__)

# Errors that belong to the data of some event in the batch, not to the database's health.
DATA_ERRORS = (DataError, IntegrityError, EventError, ValueError, TypeError)

# ARGV: group, the number of keys, (key, ttl) per key, then per entry: its id, the
# number of the key of its "counted" set and its event's id (both empty when it counts
# nothing), and its increments as "keynumber:amount,..." (one argument, not two per
# increment: encoding thousands of arguments cost more than running the script). An
# entry's increments count only if its XACK removed it from the pending list and SADD
# adds its event to the counted set: the same event can sit in two entries (published,
# the publish timed out, the spool replayed it), and both may come back redelivered.
# Increments are summed per key, then applied with one INCRBY (and EXPIRE) per key.
_ACK_AND_COUNT = """
local stream, group = KEYS[1], ARGV[1]
local nkeys = tonumber(ARGV[2])
local sums, marked = {}, {}
local i, acked = 3 + 2 * nkeys, 0
while i <= #ARGV do
  local done = redis.call('XACK', stream, group, ARGV[i])
  acked = acked + done
  local set = ARGV[i + 1]
  if done == 1 and set ~= '' then
    set = tonumber(set)
    marked[set] = true
    if redis.call('SADD', ARGV[1 + 2 * set], ARGV[i + 2]) == 1 then
      for k, amount in string.gmatch(ARGV[i + 3], '(%d+):(%d+)') do
        k = tonumber(k)
        sums[k] = (sums[k] or 0) + tonumber(amount)
      end
    end
  end
  i = i + 4
end
for k, amount in pairs(sums) do
  local key, ttl = ARGV[1 + 2 * k], ARGV[2 + 2 * k]
  redis.call('INCRBY', key, amount)
  if ttl ~= '0' then redis.call('EXPIRE', key, ttl) end
end
for k in pairs(marked) do
  redis.call('EXPIRE', ARGV[1 + 2 * k], ARGV[2 + 2 * k])
end
return acked
"""


@dataclasses.dataclass
class StepResult:
    read: int = 0
    stored: int = 0
    dead: int = 0
    failed: bool = False
    entry_ids: list[str] = dataclasses.field(default_factory=list, repr=False)
    committed_at: float = 0.0  # time.time() once the batch was acknowledged


@dataclasses.dataclass
class _Batch:
    raw: list[tuple[str, str | None]]  # (entry id, payload)
    redelivered: bool
    # Entries re-read from the pending list: attempts so far per entry id (Redis's
    # delivery counter); None for entries read fresh.
    deliveries: dict[str, int] | None = None
    # This attempt is recorded in the counters already (a batch held and retried).
    attempted: bool = False
    # Set when the batch was parsed and planned ahead, while the previous one was being
    # written.
    parsed: tuple[list[Entry], list[tuple[str, str | None, str]]] | None = None
    plan: BatchPlan | None = None


# Attempts an entry gets on its own, after ``max_deliveries`` in batches, before it is
# dead-lettered.
ISOLATED_ATTEMPTS = 2
_SWITCH_INTERVAL_SECONDS = 0.0005
_GC_ALLOCATIONS = 50_000  # see tune_dedicated_process


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    def __init__(
        self,
        *,
        consumer: str,
        batch_size: int = 500,
        block_ms: int = 1000,
        claim_idle_ms: int = 60_000,
        max_deliveries: int = 10,
        prefetch: bool = False,
    ) -> None:
        self.consumer = consumer
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.max_deliveries = max_deliveries
        self._retry: _Batch | None = None
        self._own_pending_checked = False
        self._own_pending_after = "-"  # where the re-reading of our pending entries is
        # Entries refused alone in a batch of one, pending, waiting for the next batch.
        self._carried: dict[str, str | None] = {}
        self._next_claim = 0.0
        self._next_rollups = 0.0
        self._rollups_thread = ThreadPoolExecutor(1, "analytics-rollups")
        self._rollups: Future[None] | None = None
        self._redis: Redis | None = None
        # With prefetch, one thread reads, parses and plans the next batch (all of its
        # Python work but the acknowledgement, see ``analytics.writers``) and another
        # acknowledges the previous one while this one is written: this thread then
        # mostly waits on PostgreSQL, which the other two keep busy.
        self._prefetcher = ThreadPoolExecutor(1, "analytics-prefetch") if prefetch else None
        self._prefetched: Future[_Batch | None] | None = None
        self._acker = ThreadPoolExecutor(1, "analytics-ack") if prefetch else None
        self._acks: list[tuple[Sequence[Entry], BatchContext]] = []  # committed, not acked
        self._acking: Future[None] | None = None

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            redis = get_redis()
            group_ensure(redis)
            self._ack_script = redis.register_script(_ACK_AND_COUNT)
            self._redis = redis
        return self._redis

    # --- reading -------------------------------------------------------------------

    def _read(self) -> _Batch | None:
        if self._retry is not None:
            return self._retry
        if not self._own_pending_checked:
            # After a restart under the same name: our own unacknowledged entries first.
            batch = self._own_pending()
            if batch is not None:
                return batch
            self._own_pending_checked = True
            self._own_pending_after = "-"
        if time.monotonic() >= self._next_claim:
            self._next_claim = time.monotonic() + self.claim_idle_ms / 2000
            batch = self._autoclaim()
            if batch is not None:
                return batch
        if self._prefetched is not None:
            prefetched, self._prefetched = self._prefetched, None
            batch = prefetched.result()
        else:
            batch = self._read_new()
        if batch is not None and self._carried:
            # Planned again with the carried entries, which have to be bisected out if
            # they are refused once more.
            carried, self._carried = self._carried, {}
            batch.raw = [*carried.items(), *batch.raw]
            batch.parsed = batch.plan = None
        return batch

    def _read_new(self) -> _Batch | None:
        raw = self._xreadgroup(">", block=self.block_ms)
        if not raw:
            return None
        batch = _Batch(raw, redelivered=False)
        if self._prefetcher is not None:
            batch.parsed = _parse(batch.raw, too_often={})
            # On a data error it is planned again when stored, where the culprit is
            # bisected out.
            with contextlib.suppress(*DATA_ERRORS):
                batch.plan = batch_plan(batch.parsed[0], redelivered=False)
        return batch

    def _prefetch_next(self) -> None:
        if self._prefetcher is not None and self._prefetched is None and self._retry is None:
            self._prefetched = self._prefetcher.submit(self._read_new)

    def finish(self) -> None:
        """Store the batch read ahead and wait for the acknowledgements in flight, so a
        stopped worker holds nothing."""
        self._rollups_thread.shutdown(wait=True)
        if self._prefetcher is None or self._acker is None:
            return
        self._ack_wait()
        while self._prefetched is not None:
            prefetched, self._prefetched = self._prefetched, None
            try:
                batch = prefetched.result()
            except RedisError as exc:
                log.warning("event stream unreachable: %s", exc)
                break
            if batch is not None:
                self._retry = batch
                self.step()  # with _retry set, nothing new is read ahead
        self._ack_wait()
        self._prefetcher.shutdown()
        self._acker.shutdown()

    def _xreadgroup(self, start: str, *, block: int | None) -> list[tuple[str, str | None]]:
        try:
            reply = self.redis.xreadgroup(
                GROUP, self.consumer, {STREAM: start}, count=self.batch_size, block=block
            )
        except ResponseError as exc:
            _group_recreate_if_lost(self.redis, exc)
            return []
        return [_decode(entry) for _stream, entries in reply or [] for entry in entries]

    def _own_pending(self) -> _Batch | None:
        """The next of our own pending entries, without counting a delivery."""
        try:
            items = self.redis.xpending_range(
                STREAM, GROUP, min=self._own_pending_after, max="+",
                count=self.batch_size, consumername=self.consumer,
            )  # fmt: skip
        except ResponseError as exc:
            _group_recreate_if_lost(self.redis, exc)
            return None
        if not items:
            return None
        self._own_pending_after = _next_id(_str(items[-1]["message_id"]))
        deliveries = {
            _str(item["message_id"]): int(item["times_delivered"])
            for item in items
            if _str(item["message_id"]) not in self._carried
        }
        if not deliveries:  # only carried ones: look further
            return self._own_pending()
        return self._pending_batch(deliveries)

    def _autoclaim(self) -> _Batch | None:
        """Entries another consumer (or we, before a restart) left pending too long."""
        try:
            reply = self.redis.xautoclaim(
                STREAM, GROUP, self.consumer, self.claim_idle_ms, "0-0",
                count=self.batch_size, justid=True,
            )  # fmt: skip
        except ResponseError as exc:
            _group_recreate_if_lost(self.redis, exc)
            return None
        # With JUSTID, redis-py answers with the ids alone.
        ids = [_str(entry_id) for entry_id in reply if _str(entry_id) not in self._carried]
        if not ids:
            return None
        log.warning("reclaimed %d entries left pending", len(ids))
        items = self.redis.xpending_range(
            STREAM, GROUP, min=min(ids, key=_id_key), max=max(ids, key=_id_key),
            count=len(ids) + len(self._carried) + self.batch_size, consumername=self.consumer,
        )  # fmt: skip
        known = {_str(item["message_id"]): int(item["times_delivered"]) for item in items}
        return self._pending_batch({entry_id: known.get(entry_id, 1) for entry_id in ids})

    def _pending_batch(self, deliveries: dict[str, int]) -> _Batch:
        pipe = self.redis.pipeline(transaction=False)
        for entry_id in deliveries:
            pipe.xrange(STREAM, min=entry_id, max=entry_id)
        raw = []
        for entry_id, found in zip(deliveries, pipe.execute(), strict=True):
            # An entry deleted from the stream while pending has no payload: it is
            # dead-lettered as such.
            raw.append(_decode(found[0]) if found else (entry_id, None))
        return _Batch(raw, redelivered=True, deliveries=deliveries)

    def _attempts_record(self, deliveries: dict[str, int], ids: Sequence[str]) -> None:
        """Count one more attempt of ``ids`` before it starts: if it kills the process,
        the next worker knows."""
        by_count: dict[int, list[str]] = {}
        for entry_id in ids:
            by_count.setdefault(deliveries[entry_id] + 1, []).append(entry_id)
        pipe = self.redis.pipeline(transaction=False)
        for count, same in by_count.items():
            # JUSTID with an explicit RETRYCOUNT sets the counter without re-reading.
            pipe.xclaim(STREAM, GROUP, self.consumer, 0, same, retrycount=count, justid=True)
        pipe.execute()
        for count, same in by_count.items():
            for entry_id in same:
                deliveries[entry_id] = count

    # --- one step --------------------------------------------------------------------

    def step(self) -> StepResult:
        """Read one batch (or retry the held one), store it, acknowledge it."""
        try:
            batch = self._read()
        except RedisError as exc:
            log.warning("event stream unreachable: %s", exc)
            return StepResult(failed=True)
        if batch is None:
            return StepResult()
        self._prefetch_next()
        result = StepResult(read=len(batch.raw), entry_ids=[entry_id for entry_id, _ in batch.raw])
        try:
            self._process(batch, result)
        except (DatabaseError, RedisError) as exc:
            self._hold(batch, exc)
            result.failed = True
            self._ack_later(None)  # the parts that committed before the failure
            return result
        self._retry = None
        if self._acker is None:
            result.committed_at = time.time()
        else:
            self._ack_later(result)
        return result

    def _ack_later(self, result: StepResult | None) -> None:
        """Hand what this step committed to the acknowledging thread, after the
        previous acknowledgement finished: at most one is in flight."""
        acks, self._acks = self._acks, []
        self._ack_wait()
        if acks and self._acker is not None:
            self._acking = self._acker.submit(self._ack_all, acks, result)

    def _ack_all(
        self, acks: list[tuple[Sequence[Entry], BatchContext]], result: StepResult | None
    ) -> None:
        for entries, context in acks:
            self._ack(entries, context)
        if result is not None:
            result.committed_at = time.time()

    def _ack_now(self) -> None:
        acks, self._acks = self._acks, []
        self._ack_wait()
        for entries, context in acks:
            self._ack(entries, context)

    def _ack_wait(self) -> None:
        if self._acking is None:
            return
        acking, self._acking = self._acking, None
        try:
            acking.result()
        except RedisError as exc:
            # The entries stay pending: read our pending entries again. They are found
            # stored, and their counters move only if their XACK still removes them.
            log.warning("acknowledgement failed, entries stay pending: %s", exc)
            self._own_pending_checked = False

    def _hold(self, batch: _Batch, exc: Exception) -> None:
        log.warning("batch of %d kept pending, will retry: %s", len(batch.raw), exc)
        # Whatever committed before the failure will be found stored on the retry.
        self._retry = _Batch(
            batch.raw, redelivered=True, deliveries=batch.deliveries, attempted=True
        )
        if isinstance(exc, DatabaseError):
            connection.close()
        try:  # Reset the idle time, so no other worker reclaims what we still hold.
            ids = [entry_id for entry_id, _ in batch.raw]
            self.redis.xclaim(STREAM, GROUP, self.consumer, 0, ids, justid=True)
        except RedisError:
            pass

    def _process(self, batch: _Batch, result: StepResult) -> None:
        if batch.deliveries is not None:
            self._process_pending(batch, result)
            return
        if batch.parsed is not None:
            entries, dead = batch.parsed
        else:
            entries, dead = _parse(batch.raw, too_often={})
        self._dead_letter(dead)
        result.dead += len(dead)
        self._store(entries, redelivered=batch.redelivered, result=result, plan=batch.plan)

    def _process_pending(self, batch: _Batch, result: StepResult) -> None:
        """Entries re-read from the pending list: together while they have had fewer
        than ``max_deliveries`` attempts, then one at a time, then dead-lettered."""
        deliveries = batch.deliveries
        assert deliveries is not None
        together, alone, given_up_raw = [], [], []
        given_up: dict[str, str] = {}
        for entry_id, payload in batch.raw:
            attempts = deliveries.get(entry_id, 1)
            if attempts >= self.max_deliveries + ISOLATED_ATTEMPTS:
                given_up_raw.append((entry_id, payload))
                given_up[entry_id] = (
                    f"attempted {attempts} times without success, "
                    f"the last {ISOLATED_ATTEMPTS} on its own"
                )
            elif attempts >= self.max_deliveries:
                alone.append((entry_id, payload))
            else:
                together.append((entry_id, payload))
        if together and not batch.attempted:
            self._attempts_record(deliveries, [entry_id for entry_id, _ in together])
        entries, dead = _parse([*together, *given_up_raw], too_often=given_up)
        self._dead_letter(dead)
        result.dead += len(dead)
        self._store(entries, redelivered=True, result=result)
        for entry_id, payload in alone:
            # What committed before must be acknowledged before an attempt that may
            # kill the process, or it would come back as a suspect itself.
            self._ack_now()
            if not batch.attempted:
                self._attempts_record(deliveries, [entry_id])
            entries, dead = _parse([(entry_id, payload)], too_often={})
            self._dead_letter(dead)
            result.dead += len(dead)
            self._store(entries, redelivered=True, result=result)

    def _store(
        self,
        entries: Sequence[Entry],
        *,
        redelivered: bool,
        result: StepResult,
        plan: BatchPlan | None = None,
    ) -> None:
        refused = self._store_bisecting(entries, redelivered=redelivered, result=result, plan=plan)
        if refused and len(refused) == len(entries) > 1:
            # Every event refused on its own: a schema or code problem, not bad data.
            # Keep them pending rather than dead-letter the whole stream.
            raise DatabaseError(f"every event of the batch was refused: {refused[0][1]}")
        if refused and len(entries) == 1:
            # Alone, bad data cannot be told from a schema problem: keep it pending and
            # try it with the next batch (see the module docstring).
            entry, reason = refused[0]
            log.warning("event %s refused alone, retried with the next batch: %s",
                        entry.entry_id, reason)  # fmt: skip
            self._carried[entry.entry_id] = entry.event.to_json()
            return
        self._dead_letter([(e.entry_id, e.event.to_json(), reason) for e, reason in refused])
        result.dead += len(refused)

    def _store_bisecting(
        self,
        entries: Sequence[Entry],
        *,
        redelivered: bool,
        result: StepResult,
        plan: BatchPlan | None = None,
    ) -> list[tuple[Entry, str]]:
        """Store and acknowledge ``entries`` (planned as ``plan`` if given); returns the
        ones refused for their data."""
        if not entries:
            return []
        try:
            context = batch_store(plan or batch_plan(entries, redelivered=redelivered))
        except DATA_ERRORS as exc:
            if len(entries) == 1:
                return [(entries[0], f"not storable: {type(exc).__name__}: {exc}")]
            middle = len(entries) // 2
            return [
                *self._store_bisecting(entries[:middle], redelivered=redelivered, result=result),
                *self._store_bisecting(entries[middle:], redelivered=redelivered, result=result),
            ]
        if self._acker is None:
            self._ack(entries, context)
        else:
            self._acks.append((entries, context))
        result.stored += context.stored
        return []

    def _ack(self, entries: Sequence[Entry], context: BatchContext) -> None:
        numbers: dict[str, int] = {}
        keys: list[str | int | bytes] = []
        tail: list[str | int | bytes] = []
        for entry in entries:
            increments = context.counters.get(entry.entry_id)
            if not increments:
                tail += [entry.entry_id, "", "", ""]
                continue
            spec = []
            for key, amount, ttl in increments:
                number = numbers.get(key)
                if number is None:
                    number = numbers[key] = len(numbers) + 1
                    keys += [key, ttl]
                spec.append(f"{number}:{amount}")
            counted = counted_set_key(entry.event.occurred_at)
            number = numbers.get(counted)
            if number is None:
                number = numbers[counted] = len(numbers) + 1
                keys += [counted, COUNTED_TTL]
            tail += [entry.entry_id, number, entry.event.event_id.bytes, ",".join(spec)]
        if self._redis is None:
            self.redis.ping()  # connects and registers the script
        self._ack_script(keys=[STREAM], args=[GROUP, len(numbers), *keys, *tail])

    def _dead_letter(self, dead: Sequence[tuple[str, str | None, str]]) -> None:
        if not dead:
            return
        pipe = self.redis.pipeline(transaction=True)
        failed_at = dt.datetime.now(tz=dt.UTC).isoformat()
        for entry_id, payload, reason in dead:
            log.error("dead-lettering entry %s: %s", entry_id, reason)
            fields = {
                # A lone surrogate has no UTF-8 form, so the XADD would fail. Only an
                # event's JSON can hold one (what came from Redis was decoded), inside a
                # string, where its backslash escape is the same value.
                PAYLOAD_FIELD: (payload or "").encode("utf-8", "backslashreplace"),
                "reason": reason[:2000],
                "entry_id": entry_id,
                "consumer": self.consumer,
                "failed_at": failed_at,
            }
            pipe.xadd(DEAD_STREAM, fields, maxlen=DEAD_MAXLEN, approximate=True)
            pipe.xack(STREAM, GROUP, entry_id)
        pipe.execute()

    # --- housekeeping ----------------------------------------------------------------

    def maintenance(self, *, partitions_due: bool) -> None:
        """Spool replay, stream trimming and (daily) partitions; never fatal."""
        jobs = [
            ("group check", lambda: group_ensure(self.redis)),
            ("spool replay", publisher.spool_replay),
            ("trim", self._trim),
            ("carried", self._carried_keep),
        ]
        if partitions_due:
            jobs.append(("partitions", partitions.partitions_ensure))
        if time.monotonic() >= self._next_rollups and (
            self._rollups is None or self._rollups.done()
        ):
            self._next_rollups = time.monotonic() + settings.DASHBOARD_ROLLUP_SECONDS
            # In its own thread (and database connection): a refresh takes a second or
            # two at scale, which would stall ingestion.
            self._rollups = self._rollups_thread.submit(_rollups_refresh)
        for name, job in jobs:
            try:
                job()
            except (DatabaseError, RedisError, OSError) as exc:
                log.warning("%s failed: %s", name, exc)

    def _trim(self) -> None:
        stream_trim_acknowledged(self.redis)

    def _carried_keep(self) -> None:
        """Reset the idle time of the carried entries, so no other worker takes over
        what this one still holds while the stream is quiet."""
        if self._carried:
            self.redis.xclaim(STREAM, GROUP, self.consumer, 0, list(self._carried), justid=True)


def _rollups_refresh() -> None:
    try:
        rollups.rollups_refresh()
    except (DatabaseError, RedisError) as exc:
        log.warning("rollups refresh failed: %s", exc)
    finally:
        connection.close()  # this thread's own connection


def _parse(
    raw: Sequence[tuple[str, str | None]], *, too_often: dict[str, str]
) -> tuple[list[Entry], list[tuple[str, str | None, str]]]:
    """Events of a batch, and the entries to dead-letter with their reason."""
    entries: list[Entry] = []
    dead: list[tuple[str, str | None, str]] = []
    for entry_id, payload in raw:
        if entry_id in too_often:
            dead.append((entry_id, payload, too_often[entry_id]))
            continue
        try:
            if payload is None:
                raise EventError(f"entry has no {PAYLOAD_FIELD!r} field")
            entries.append(Entry(entry_id, event_from_json(payload)))
        except EventError as exc:
            dead.append((entry_id, payload, f"unparsable: {exc}"))
    return entries, dead


def _group_recreate_if_lost(redis: Redis, exc: ResponseError) -> None:
    """Redis lost its data (a restart without persistence, a flush): start over."""
    message = str(exc)
    if "NOGROUP" not in message and "requires the key to exist" not in message:
        raise exc
    log.error("consumer group missing, recreating it: %s", message)
    group_ensure(redis)


def _decode(entry) -> tuple[str, str | None]:
    entry_id, fields = entry
    payload = (fields or {}).get(PAYLOAD_FIELD.encode()) or (fields or {}).get(PAYLOAD_FIELD)
    return _str(entry_id), _str(payload) if payload is not None else None


def _str(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _id_key(entry_id: str) -> tuple[int, int]:
    millis, seq = entry_id.split("-")
    return int(millis), int(seq)


def _next_id(entry_id: str) -> str:
    millis, seq = entry_id.split("-")
    return f"{millis}-{int(seq) + 1}"


def process_batch_once(*, consumer: str = "test", **options) -> StepResult:
    """Run one step with a fresh worker (tests, one-off runs)."""
    return Worker(consumer=consumer, block_ms=options.pop("block_ms", 100), **options).step()


_MAINTENANCE_SECONDS = 10.0
_PARTITIONS_SECONDS = 24 * 3600.0
_MAX_BACKOFF_SECONDS = 30.0


def tune_dedicated_process() -> None:
    """For a process that runs only this worker (``analytics_worker``, the benchmark).
    Both settings are process-wide, so the bot or a test process must not get them as a
    side effect.

    A thread back from PostgreSQL or Redis waits for the GIL until the one holding it
    yields, by default after 5 ms, which with read-ahead cost more than the overlap
    gained.

    The cyclic garbage collector ran every 700 net allocations, that is all the time
    while a batch was parsed and planned; each run scanned the batch in flight and
    moved it to an older generation, and every dozenth full collection went through
    the whole heap: a third of the worker's Python time. The worker's garbage has no
    cycles (reference counting frees it), so collecting after 50,000 net allocations
    leaves only the rare real cycle to the collector, and the heap of the startup
    (Django, the apps) is frozen out of the collections that remain.
    """
    sys.setswitchinterval(min(sys.getswitchinterval(), _SWITCH_INTERVAL_SECONDS))
    gc.freeze()
    gc.set_threshold(_GC_ALLOCATIONS)


def run_worker(
    stop_event: threading.Event,
    *,
    consumer: str | None = None,
    drain_on_stop: bool | None = None,
    **options,
) -> None:
    """Run until ``stop_event`` is set. In the embedded default the stream lives in this
    process's memory, so by default it drains what is left before returning. Against a
    real Redis the next batch is read ahead while one is written."""
    options.setdefault("prefetch", not settings.REDIS_EMBEDDED)
    worker = Worker(consumer=consumer or default_consumer_name(), **options)
    if drain_on_stop is None:
        drain_on_stop = settings.REDIS_EMBEDDED
    log.info("analytics worker %s started", worker.consumer)
    for warning in persistence_warnings():
        log.warning("%s", warning)
    backoff, next_maintenance, next_partitions = 0.0, 0.0, 0.0
    while not stop_event.is_set():
        now = time.monotonic()
        if now >= next_maintenance:
            partitions_due = now >= next_partitions
            worker.maintenance(partitions_due=partitions_due)
            next_maintenance = now + _MAINTENANCE_SECONDS
            if partitions_due:
                next_partitions = now + _PARTITIONS_SECONDS
        result = worker.step()
        if result.failed:
            backoff = min(_MAX_BACKOFF_SECONDS, max(0.5, backoff * 2))
            stop_event.wait(backoff)
        else:
            backoff = 0.0
    worker.finish()
    if drain_on_stop:
        _drain(worker)
    log.info("analytics worker %s stopped", worker.consumer)


def start_worker_thread(
    *, consumer: str = "embedded", **options
) -> tuple[threading.Thread, threading.Event]:
    """Start ``run_worker`` in a daemon thread (the embedded default); set the returned
    event and join the thread to stop it after it drained the stream."""
    # Create the group before the thread starts: with the in-process stand-in a publish
    # racing the group's creation can leave the stream without it.
    group_ensure(get_redis())
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker,
        args=(stop,),
        kwargs={"consumer": consumer, **options},
        name="analytics-worker",
        daemon=True,
    )
    thread.start()
    return thread, stop


def _drain(worker: Worker, *, deadline_seconds: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    worker.block_ms = 10
    while time.monotonic() < deadline:
        result = worker.step()
        if result.failed or not result.read:
            return
