"""Monthly partitions of the downloads table (PostgreSQL only).

``downloads`` is declaratively partitioned by RANGE of ``created_at`` with one
partition per UTC month (``downloads_p202611``) and a default partition
(``downloads_default``) that takes any timestamp no monthly partition covers, so an odd
date is stored rather than refused. ``partitions_ensure`` creates the partitions for the
coming months; it is idempotent, takes an advisory lock so concurrent runs are harmless,
and moves rows that already sit in the default partition into the new month's table
(PostgreSQL refuses to attach a range that the default partition holds rows for).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

log = logging.getLogger(__name__)

PARENT = "downloads"
DEFAULT_PARTITION = "downloads_default"
# An arbitrary constant shared by every process that creates partitions.
_ADVISORY_LOCK = 740_411_002


def month_start(moment: dt.datetime | dt.date) -> dt.datetime:
    return dt.datetime(moment.year, moment.month, 1, tzinfo=dt.UTC)


def add_months(start: dt.datetime, months: int) -> dt.datetime:
    index = start.year * 12 + start.month - 1 + months
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def partition_name(start: dt.datetime) -> str:
    return f"{PARENT}_p{start:%Y%m}"


def is_partitioned(conn: BaseDatabaseWrapper = connection) -> bool:
    if conn.vendor != "postgresql":
        return False
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [PARENT]
        )
        return cursor.fetchone() is not None


def existing_partitions(conn: BaseDatabaseWrapper = connection) -> list[str]:
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [PARENT],
        )
        return [row[0] for row in cursor.fetchall()]


def _partition_create(cursor, start: dt.datetime) -> None:
    name = partition_name(start)
    end = add_months(start, 1)
    # Rows of this month that landed in the default partition move to the new table in
    # the same transaction; the lock keeps new ones from arriving in between.
    cursor.execute(f"LOCK TABLE {DEFAULT_PARTITION} IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "  # noqa: S608 (constant names)
        "WHERE created_at >= %s AND created_at < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        [start, end],
    )
    cursor.execute(
        f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
        [start, end],
    )


def partitions_ensure(
    *,
    months_ahead: int = 3,
    months_back: int = 0,
    today: dt.date | None = None,
    conn: BaseDatabaseWrapper = connection,
) -> list[str]:
    """Create the missing monthly partitions around ``today``; returns the new names."""
    if not is_partitioned(conn):
        return []
    first = month_start(today or dt.datetime.now(tz=dt.UTC))
    wanted = [add_months(first, offset) for offset in range(-months_back, months_ahead + 1)]
    created = []
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK])
        present = set(existing_partitions(conn))
        for start in wanted:
            if partition_name(start) not in present:
                _partition_create(cursor, start)
                created.append(partition_name(start))
    if created:
        log.info("created partitions %s", ", ".join(created))
    return created
