"""Realistic analytics data for a benchmark or demo database (``seed_analytics``).

Users join over the period (more towards its end), each in one of several time zones
with its language; how much a user downloads follows a heavy-tailed (Pareto) weight;
each download falls on a day from the user's first one on, a weekend day a little more
often, at a local hour drawn from an evening-heavy daily rhythm; videos are drawn by a
Zipf law (a few are downloaded by everybody) and carry their platform (YouTube,
TikTok, Instagram mix). Some users come through referrals. Rows go in by COPY, in
chunks, already shaped as the event worker writes them, and the rollups are rebuilt
at the end so the dashboard reads the same numbers a live pipeline would have kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import importlib
import json
import os
import pkgutil
import time
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from django.db import connection, models

from analytics import partitions, sql
from analytics.models import DownloadsHourly, UserDay, VideoDaily
from analytics.rollups import rollups_rebuild
from referrals.models import Referral
from users.models import BotUser

SAFE_NAME_PARTS = ("bench", "demo")
# (time zone, share of users, language)
ZONES = (
    ("Europe/Moscow", 0.38, "ru"),
    ("Europe/Kyiv", 0.2, "uk"),
    ("America/New_York", 0.14, "en"),
    ("Europe/Madrid", 0.1, "es"),
    ("America/Mexico_City", 0.1, "es"),
    ("Asia/Almaty", 0.08, "ru"),
)
# Share of downloads per local hour 0..23: quiet nights, an evening peak.
HOURLY = np.array([2, 1.2, .8, .5, .4, .5, 1, 2, 3, 3.5, 4, 4.5, 5, 5, 5, 5.2, 5.5, 6, 6.5,
                   7, 7.5, 7.2, 6, 4])  # fmt: skip
WEEKDAY = np.array([1.0, 0.97, 0.97, 1.0, 1.08, 1.25, 1.22])  # Monday first
PLATFORMS = (("youtube", 0.55), ("tiktok", 0.3), ("instagram", 0.15))
SOURCES = (("message", 0.7), ("inline", 0.14), ("group", 0.11), ("deep_link", 0.05))
FORMATS = ("720p", "480p", "1080p", "audio", "best")
REFERRED_SHARE = 0.15
USER_ID_BASE = 100_000_000
CHUNK = 500_000


class SeedRefused(Exception):
    pass


@dataclasses.dataclass
class SeedContext:
    """What an app's seed step gets: the plan, the random source, the users (index i is
    user id ``USER_ID_BASE + i``), and helpers to draw download-like moments and to COPY."""

    plan: SeedPlan
    rng: np.random.Generator
    people: _Population
    offsets: np.ndarray
    video_cdf: np.ndarray

    def sample(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(user ids, epoch seconds) of ``size`` moments distributed like downloads."""
        user, _video, at = _download_chunk(
            self.plan, self.people, self.offsets, self.rng, size, self.video_cdf
        )
        return user + USER_ID_BASE, at

    def copy(
        self, table: str, columns: str, lines: Iterator[str], *, defer: tuple[str, ...] = ()
    ) -> None:
        """COPY the lines; the table's plain indexes led by a ``defer`` column (whose keys
        come in random order) are built after it (``indexes_deferred``)."""
        with indexes_deferred(table, defer):
            _copy(table, columns, _batched(lines))

    @staticmethod
    def timestamps(epochs: np.ndarray) -> list[str]:
        return _timestamps(epochs)


SeedStep = Callable[[SeedContext], None]
_STEPS: list[SeedStep] = []


def seed_step(function: SeedStep) -> SeedStep:
    """Register a step (a ``sandbox/seed_<app>.py`` module, found at run time) that fills
    one app's tables after users, downloads and videos exist."""
    _STEPS.append(function)
    return function


def database_name() -> str:
    return str(connection.settings_dict["NAME"])


def seed_allowed() -> None:
    name = database_name()
    if connection.vendor != "postgresql" or not any(part in name for part in SAFE_NAME_PARTS):
        raise SeedRefused(
            f"refusing to seed database {name!r}: its name must contain 'bench' or 'demo' "
            "(and it must be PostgreSQL)"
        )


@dataclasses.dataclass
class SeedPlan:
    users: int
    downloads: int
    days: int
    end: dt.date
    seed: int = 15

    @property
    def start(self) -> dt.date:
        return self.end - dt.timedelta(days=self.days - 1)


def _video_ids(count: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Media keys and platform numbers for ``count`` videos, by popularity rank."""
    shares = np.array([share for _, share in PLATFORMS])
    platform = rng.choice(len(PLATFORMS), size=count, p=shares / shares.sum())
    ids = []
    for rank, kind in enumerate(platform):
        name = PLATFORMS[kind][0]
        if name == "youtube":
            ids.append(f"youtube:v{rank:010d}")
        elif name == "tiktok":
            ids.append(f"tiktok:7{rank:018d}")
        else:
            ids.append(f"instagram:C{rank:010d}")
    return ids, platform


def _local_offsets(plan: SeedPlan) -> np.ndarray:
    """Per zone and day of the period: the zone's UTC offset in seconds at local noon."""
    offsets = np.zeros((len(ZONES), plan.days + 1), dtype=np.int64)
    for z, (name, _, _) in enumerate(ZONES):
        zone = zoneinfo.ZoneInfo(name)
        for d in range(plan.days + 1):
            noon = dt.datetime.combine(plan.start + dt.timedelta(days=d), dt.time(12), zone)
            offsets[z, d] = int(noon.utcoffset().total_seconds())
    return offsets


@dataclasses.dataclass
class _Population:
    join_day: np.ndarray  # day index of first_seen
    zone: np.ndarray
    weight: np.ndarray  # share of downloads
    first_seen: np.ndarray  # epoch seconds


def _population(plan: SeedPlan, rng: np.random.Generator) -> _Population:
    n = plan.users
    # Growth: more users join towards the end (a density rising linearly to twice).
    join = np.floor(plan.days * (np.sqrt(1 + 3 * rng.random(n)) - 1)).astype(np.int64)
    join = np.clip(join, 0, plan.days - 1)
    shares = np.array([share for _, share, _ in ZONES])
    zone = rng.choice(len(ZONES), size=n, p=shares / shares.sum())
    # Heavy-tailed appetite; longer-standing users have more days to download on.
    weight = (rng.pareto(1.6, n) + 0.3) * (plan.days - join)
    weight /= weight.sum()
    start = _epoch(plan.start)
    first_seen = start + join * 86400 + rng.integers(0, 86400, n)
    return _Population(join, zone, weight, first_seen)


def _epoch(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())


def _download_chunk(
    plan: SeedPlan, people: _Population, offsets: np.ndarray, rng: np.random.Generator,
    size: int, video_cdf: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(user index, video rank, epoch seconds) of ``size`` downloads."""
    cdf = np.cumsum(people.weight)
    user = np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1]), plan.users - 1)
    span = plan.days - people.join_day[user]
    # A day from the user's first on, weekends more likely (rejection sampling).
    day = people.join_day[user] + np.floor(rng.random(size) * span).astype(np.int64)
    weekday = np.array([(plan.start.weekday() + d) % 7 for d in range(7)])
    keep = rng.random(size) * WEEKDAY.max() < WEEKDAY[weekday[day % 7]]
    day = np.where(keep, day, people.join_day[user] + np.floor(rng.random(size) * span))
    day = day.astype(np.int64)
    hour = rng.choice(24, size=size, p=HOURLY / HOURLY.sum())
    local = _epoch(plan.start) + day * 86400 + hour * 3600 + rng.integers(0, 3600, size)
    at = local - offsets[people.zone[user], day]
    # Nothing before the user's first contact nor after the end of the period.
    early = at < people.first_seen[user]
    at = np.where(early, people.first_seen[user] + rng.integers(0, 3600, size), at)
    at = np.minimum(at, _epoch(plan.end) + 86399)
    video = np.searchsorted(video_cdf, rng.random(size) * video_cdf[-1])
    return user, video, at


# Indexes whose keys arrive in random order (by user, by video, by day of rows loaded
# by user) are built once after a table's load: at 20 million rows, inserting random
# keys one by one into indexes larger than the buffer cache was most of the load's time.
# Named by their first column; unique indexes stay (they are the tables' constraints).
DOWNLOADS_DEFERRED = ("user_id", "video_id")


@contextlib.contextmanager
def indexes_deferred(table: str, first_columns: tuple[str, ...]) -> Iterator[None]:
    """Drop the plain indexes of ``table`` whose first column is one of these for the
    block, then build them again as they were (same names and definitions, so the
    migrations' state is unchanged)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "AND indexdef NOT LIKE 'CREATE UNIQUE %%' ORDER BY indexname",
            [table],
        )
        definitions = [
            (name, definition)
            for name, definition in cursor.fetchall()
            if _first_column(definition) in first_columns
        ]
        for name, _ in definitions:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            # Sorting millions of keys in memory, with the parallel workers PostgreSQL has.
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for _, definition in definitions:
                # "ON ONLY" would make a partitioned table's index alone, invalid until
                # every partition's is attached; plain "ON" builds them all.
                cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
            cursor.execute("RESET maintenance_work_mem")


def _first_column(definition: str) -> str:
    """The first key column of a ``pg_indexes.indexdef`` ("... USING btree (a, b)")."""
    keys = definition.split(" USING ", 1)[1].split("(", 1)[1]
    return keys.split(",", 1)[0].split(")", 1)[0].strip().strip('"')


def _copy(table: str, columns: str, lines: Iterator[str]) -> None:
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for line in lines:
            copy.write(line)


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if hasattr(value, "obj"):  # psycopg's Json wrapper
        value = value.obj
    if isinstance(value, dict | list):
        value = json.dumps(value)
    if isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _copy_model(model: type[models.Model], given: list[str], rows: Iterator[str]) -> None:
    """COPY rows of ``given`` columns (tab-separated, no newline) into the model's table;
    every other column gets the model's default, so a column another app adds later
    does not break the seed."""
    extra = sql.column_defaults(model, given)
    tail = "".join(
        "\t" + _copy_text(field.get_db_prep_save(sql.field_default(field), connection))
        for field in extra
    )
    columns = ", ".join([*given, *(field.column for field in extra)])
    _copy(model._meta.db_table, columns, _batched(row + tail + "\n" for row in rows))


def time_ordered_ids(epochs: np.ndarray) -> str:
    """A UUIDv7 (RFC 9562: milliseconds since the epoch, then random bits) for each
    moment, 32 hex digits each, concatenated. Rows COPied in time order with these ids
    append to the unique index on the id instead of touching a random page of it per
    row, which decides how fast tens of millions of rows load."""
    size = len(epochs)
    raw = np.frombuffer(os.urandom(16 * size), dtype=np.uint8).reshape(size, 16).copy()
    ms = epochs.astype(np.uint64) * 1000 + raw[:, 15].astype(np.uint64) * 3
    raw[:, :6] = ms.astype(">u8").view(np.uint8).reshape(size, 8)[:, 2:]
    raw[:, 6] = 0x70 | (raw[:, 6] & 0x0F)
    raw[:, 8] = 0x80 | (raw[:, 8] & 0x3F)
    return raw.tobytes().hex()


def _timestamps(epochs: np.ndarray) -> list[str]:
    text = np.datetime_as_string(epochs.astype("datetime64[s]"), unit="s")
    return [t + "+00" for t in text.tolist()]


def seed_run(plan: SeedPlan, *, say: Callable[[str], None] = print) -> dict[str, float]:
    """Fill an empty database; returns the seconds each step took."""
    seed_allowed()
    rng = np.random.default_rng(plan.seed)
    timings: dict[str, float] = {}
    started = time.monotonic()
    people = _population(plan, rng)
    offsets = _local_offsets(plan)
    video_count = max(200, plan.downloads // 25)
    video_ids, video_platform = _video_ids(video_count, rng)
    ranks = np.arange(1, video_count + 1, dtype=np.float64)
    video_cdf = np.cumsum(1 / ranks**1.07)
    partitions.partitions_ensure(months_ahead=1, months_back=plan.days // 28 + 2, today=plan.end)

    user_total = np.zeros(plan.users, dtype=np.int64)
    user_last = people.first_seen.copy()
    video_total = np.zeros(video_count, dtype=np.int64)
    video_first = np.full(video_count, np.iinfo(np.int64).max)
    video_last = np.zeros(video_count, dtype=np.int64)
    platforms = [name for name, _ in PLATFORMS]
    source_p = np.array([share for _, share in SOURCES])
    kept = _StreamRollups(plan, video_count)
    # Drawn at once and COPied in time order: each chunk then lands in one or two monthly
    # partitions, whose indexes stay in memory, and the ids append to their index.
    user_all, video_all, at_all = _download_chunk(
        plan, people, offsets, rng, plan.downloads, video_cdf
    )
    order = np.argsort(at_all, kind="stable")
    user_all, video_all, at_all = user_all[order], video_all[order], at_all[order]
    del order
    with indexes_deferred("downloads", DOWNLOADS_DEFERRED):
        done = 0
        while done < plan.downloads:
            size = min(CHUNK, plan.downloads - done)
            user, video, at = (a[done : done + size] for a in (user_all, video_all, at_all))
            np.add.at(user_total, user, 1)
            np.maximum.at(user_last, user, at)
            np.add.at(video_total, video, 1)
            np.minimum.at(video_first, video, at)
            np.maximum.at(video_last, video, at)
            kept.add(user, video, video_platform[video], at)
            source = rng.choice(len(SOURCES), size=size, p=source_p / source_p.sum())
            fmt = rng.integers(0, len(FORMATS), size)
            cached = rng.random(size) < 0.8
            uuids = time_ordered_ids(at)
            stamps = _timestamps(at)
            user_ids = (user + USER_ID_BASE).tolist()
            videos = [video_ids[v] for v in video.tolist()]
            platform = [platforms[p] for p in video_platform[video].tolist()]
            source_names = [SOURCES[k][0] for k in source.tolist()]
            formats = [FORMATS[k] for k in fmt.tolist()]
            flags = ["t" if flag else "f" for flag in cached.tolist()]
            lines = (
                f"{user_ids[i]}\t{videos[i]}\t{platform[i]}\t{source_names[i]}\t{formats[i]}\t"
                f"{flags[i]}\t{stamps[i]}\t{uuids[32 * i : 32 * i + 32]}\n"
                for i in range(size)
            )
            _copy("downloads", "user_id, video_id, platform, source, format, from_cache, "
                  "created_at, event_id", _batched(lines))  # fmt: skip
            done += size
            say(f"downloads: {done:,} of {plan.downloads:,}")
    del user_all, video_all, at_all
    timings["downloads"] = time.monotonic() - started

    step = time.monotonic()
    _users_copy(plan, people, user_total, user_last, rng)
    _videos_copy(video_ids, video_platform, video_total, video_first, video_last)
    timings["users, videos, referrals"] = time.monotonic() - step
    step = time.monotonic()
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.startswith("seed_"):
            importlib.import_module(f"sandbox.{module.name}")
    context = SeedContext(plan, rng, people, offsets, video_cdf)
    for seed in _STEPS:
        say(f"seeding: {seed.__module__}")
        seed(context)
    if _STEPS:
        timings["other apps"] = time.monotonic() - step
    step = time.monotonic()
    with connection.cursor() as cursor:
        # Statistics of every table the steps filled: without them the rollups' plans
        # take a million-row table for an empty one.
        cursor.execute("ANALYZE")
    say("loading the rollups")
    kept.copy(video_ids, platforms)
    # The worker's rollups came from the arrays above (``rebuild_rollups`` would group
    # the downloads table three times); other apps' and the job's are computed.
    rollups_rebuild(stream_rollups=False)
    timings["rollups"] = time.monotonic() - step
    step = time.monotonic()
    say("vacuuming")
    # What autovacuum would do in time: the visibility maps that let index-only scans
    # skip the heap (COPY leaves every page unmarked), and fresh statistics.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    timings["vacuum"] = time.monotonic() - step
    timings["total"] = time.monotonic() - started
    return timings


class _StreamRollups:
    """The event worker's rollups of the seeded downloads, counted as they are made."""

    def __init__(self, plan: SeedPlan, video_count: int) -> None:
        # UTC days from the one before the period (eastern zones start there).
        self.base = _epoch(plan.start) - 86400
        self.days = plan.days + 2
        self.video_count = video_count
        self.hourly = np.zeros(self.days * 24 * len(PLATFORMS), dtype=np.int64)
        self.video_days: list[tuple[np.ndarray, np.ndarray]] = []
        self.user_days: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, user: np.ndarray, video: np.ndarray, platform: np.ndarray, at: np.ndarray):
        hour = (at - self.base) // 3600
        day = hour // 24
        self.hourly += np.bincount(hour * len(PLATFORMS) + platform, minlength=len(self.hourly))
        keys, counts = np.unique(day * self.video_count + video, return_counts=True)
        self.video_days.append((keys, counts))
        self.user_days.append(_or_by_key(user * self.days + day, 1 << (hour % 24)))

    def copy(self, video_ids: list[str], platforms: list[str]) -> None:
        def day_text(day: np.ndarray) -> list[str]:
            return np.datetime_as_string(
                (self.base + day * 86400).astype("datetime64[s]"), unit="D"
            ).tolist()

        slots = np.flatnonzero(self.hourly)
        hours = _timestamps(self.base + slots // len(PLATFORMS) * 3600)
        counts = self.hourly[slots].tolist()
        kinds = (slots % len(PLATFORMS)).tolist()
        _copy_model(
            DownloadsHourly,
            ["hour", "platform", "downloads"],
            (f"{hours[i]}\t{platforms[kinds[i]]}\t{counts[i]}" for i in range(len(slots))),
        )
        keys = np.concatenate([k for k, _ in self.video_days])
        keys, inverse = np.unique(keys, return_inverse=True)
        totals = np.bincount(inverse, weights=np.concatenate([c for _, c in self.video_days]))
        days, videos = day_text(keys // self.video_count), (keys % self.video_count).tolist()
        totals_list = totals.astype(np.int64).tolist()
        with indexes_deferred(VideoDaily._meta.db_table, ("video_id",)):  # rows by day
            _copy_model(
                VideoDaily,
                ["day", "video_id", "downloads"],
                (f"{days[i]}\t{video_ids[videos[i]]}\t{totals_list[i]}" for i in range(len(keys))),
            )
        keys, masks = _or_by_key(
            np.concatenate([k for k, _ in self.user_days]),
            np.concatenate([m for _, m in self.user_days]),
        )
        users, days = (keys // self.days + USER_ID_BASE).tolist(), day_text(keys % self.days)
        mask_list = masks.tolist()
        with indexes_deferred(UserDay._meta.db_table, ("day",)):  # rows by user
            _copy_model(
                UserDay,
                ["user_id", "day", "hours"],
                (f"{users[i]}\t{days[i]}\t{mask_list[i]}" for i in range(len(keys))),
            )


def _or_by_key(keys: np.ndarray, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    keys, bits = keys[order], bits[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[starts], np.bitwise_or.reduceat(bits, starts)


def _batched(lines: Iterator[str], size: int = 20_000) -> Iterator[str]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def _users_copy(plan, people: _Population, total, last, rng: np.random.Generator) -> None:
    n = plan.users
    order = np.argsort(people.first_seen, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    # A referred user's referrer joined before them (a random earlier user).
    referred = (rng.random(n) < REFERRED_SHARE) & (rank > 0)
    referrer = np.where(referred, order[np.floor(rng.random(n) * np.maximum(rank, 1)).astype(
        np.int64)], -1)  # fmt: skip
    first = _timestamps(people.first_seen)
    last_text = _timestamps(last)
    languages = [language for _, _, language in ZONES]
    totals, zones, referrers = total.tolist(), people.zone.tolist(), referrer.tolist()

    def user_lines() -> Iterator[str]:
        for i in range(n):
            referred_by = str(referrers[i] + USER_ID_BASE) if referrers[i] >= 0 else "\\N"
            yield (
                f"{i + USER_ID_BASE}\tuser{i}\tUser {i}\t{languages[zones[i]]}\t"
                f"{first[i]}\t{last_text[i]}\t{totals[i]}\t{referred_by}"
            )

    _copy_model(BotUser, ["user_id", "username", "first_name", "language_code", "first_seen_at",
                          "last_seen_at", "total_downloads", "referred_by_id"],
                user_lines())  # fmt: skip
    referred_ids = np.flatnonzero(referrer >= 0)

    def referral_lines() -> Iterator[str]:
        for i in referred_ids.tolist():
            yield f"{referrers[i] + USER_ID_BASE}\t{i + USER_ID_BASE}\t{first[i]}"

    _copy_model(Referral, ["referrer_id", "referred_user_id", "created_at"], referral_lines())


def _videos_copy(video_ids, video_platform, total, first, last) -> None:
    platforms = [name for name, _ in PLATFORMS]
    seen = np.flatnonzero(total > 0)
    first_text = _timestamps(first[seen])
    last_text = _timestamps(last[seen])

    def lines() -> Iterator[str]:
        for j, v in enumerate(seen.tolist()):
            video_id = video_ids[v]
            yield (
                f"{video_id}\t{platforms[video_platform[v]]}\tVideo number {v + 1}\t"
                f"https://example.org/watch/{video_id.split(':')[1]}\t{30 + v % 600}\t"
                f"{first_text[j]}\t{total[v]}\t{last_text[j]}\n"
            )

    _copy("videos", "video_id, platform, title, url, duration, first_seen_at, total_downloads, "
          "last_download_at", _batched(lines()))  # fmt: skip
