"""seed_analytics: refuses ordinary databases; what it loads is what the dashboard shows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from analytics.models import Download, Video
from analytics.rollups import rollups_rebuild
from referrals.models import Referral
from sandbox import analytics_seed as seed

from . import recount
from .test_api import get, rollup_tables

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_refuses_a_database_without_bench_or_demo_in_its_name():
    with pytest.raises(CommandError, match="must contain 'bench' or 'demo'"):
        call_command("seed_analytics", "--users", "10", "--downloads", "10", "--days", "2")
    assert not Download.objects.exists()


def test_the_seeded_numbers_are_the_dashboards(monkeypatch, staff_client):
    monkeypatch.setattr(seed, "SAFE_NAME_PARTS", ("test_",))
    end = dt.date(2026, 3, 20)
    plan = seed.SeedPlan(users=400, downloads=6000, days=60, end=end)
    indexes = _indexes("downloads")
    others = {table: _indexes(table) for table in _DEFERRING_TABLES}
    seed.seed_run(plan, say=lambda line: None)

    # The indexes the load went without are back as the migrations made them, on the
    # table and on each of its partitions.
    assert {"downloads_user_created", "downloads_video_created"} <= indexes.keys()
    assert _indexes("downloads") == indexes
    assert {table: _indexes(table) for table in _DEFERRING_TABLES} == others
    assert "ad_impr_user_created" in others["ad_impressions"]
    partitions = _partition_indexes()
    assert len(partitions) > 2
    expected = sorted(map(_shape, indexes.values()))
    assert all(shapes == expected for shapes in partitions.values())

    assert Download.objects.count() == 6000
    assert Download.objects.filter(created_at__date__gt=end).count() == 0
    assert 0 < Referral.objects.count() < 400
    assert Video.objects.filter(total_downloads__gt=0).count() == Video.objects.count()
    top = Video.objects.order_by("-total_downloads")[:2]
    assert top[0].total_downloads > 3 * top[1].total_downloads / 2  # Zipf: a clear head
    # The rollups the seed loaded are those a rebuild from the raw rows makes.
    loaded = rollup_tables()
    rollups_rebuild()
    assert rollup_tables() == loaded
    for tz in ("UTC", "America/New_York"):
        start = end - dt.timedelta(days=29)
        answer = get(staff_client, "overview", start=start, end=end, tz=tz)
        expected = recount.totals(start, end, tz)
        assert {k: answer[k] for k in expected} == expected
        videos = get(staff_client, "top-videos", start=start, end=end, tz=tz, limit=10)
        assert [(v["video_id"], v["downloads"]) for v in videos["videos"]] == (
            recount.top_videos(start, end, tz, 10)
        )


# Tables whose load builds some indexes afterwards, besides the downloads.
_DEFERRING_TABLES = ("dash_user_days", "dash_video_daily", "ad_impressions")


def _indexes(table: str) -> dict[str, str]:
    """A table's own indexes: name -> definition."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


def _partition_indexes() -> dict[str, list[str]]:
    """Each partition's indexes, by what they index (``_shape``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, array_agg(p.indexdef) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_indexes p ON p.tablename = c.relname "
            "WHERE i.inhparent = 'downloads'::regclass GROUP BY c.relname"
        )
        return {table: sorted(map(_shape, found)) for table, found in cursor.fetchall()}


def _shape(definition: str) -> str:
    """An index definition without its name and table: "UNIQUE btree (event_id, ...)"."""
    unique = "UNIQUE " if definition.startswith("CREATE UNIQUE") else ""
    return unique + definition.split(" USING ", 1)[1]
