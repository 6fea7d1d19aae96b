"""Every number of the dashboard's API equals a recount from raw rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from analytics import rollups
from analytics.rollups import rollups_rebuild, rollups_refresh

from . import recount
from .conftest import dataset_events, download_event, store, video

pytestmark = pytest.mark.django_db(transaction=True)

TIME_ZONES = ("UTC", "Europe/Moscow", "America/New_York")
RANGES = (
    (dt.date(2026, 3, 1), dt.date(2026, 3, 14)),
    (dt.date(2026, 3, 8), dt.date(2026, 3, 8)),  # New York's 23-hour day
    (dt.date(2026, 3, 7), dt.date(2026, 3, 9)),
    (dt.date(2025, 3, 15), dt.date(2026, 3, 14)),  # a year: the user of 2025 is out
    (dt.date(2025, 3, 1), dt.date(2026, 3, 14)),
)


def get(client, endpoint: str, **params):
    response = client.get(f"/dashboard/api/{endpoint}", params)
    assert response.status_code == 200, response.content
    return response.json()


def overview_expected(start, end, tz) -> dict:
    expected = recount.totals(start, end, tz)
    length = dt.timedelta(days=(end - start).days + 1)
    previous = recount.totals(start - length, end - length, tz)
    expected["previous"] = {k: v for k, v in previous.items() if k != "by_platform"}
    return expected


@pytest.mark.parametrize("tz", TIME_ZONES)
def test_it_answers_overview_and_daily_as_a_recount_from_raw_rows(staff_client, dataset, tz):
    for start, end in RANGES:
        answer = get(staff_client, "overview", start=start, end=end, tz=tz)
        expected = overview_expected(start, end, tz)
        assert {k: answer[k] for k in expected} == expected, (start, end, tz)
        daily = get(staff_client, "daily", start=start, end=end, tz=tz)
        if (end - start).days < 20:  # the recount is slow over a year
            assert daily["days"] == recount.daily(start, end, tz), (start, end, tz)
        else:
            assert len(daily["days"]) == (end - start).days + 1


def test_it_counts_users_around_midnight_in_the_time_zone_asked_for(staff_client, dataset):
    # 2026-03-01 21:30 UTC is 2 March in Moscow, 1 March in UTC and New York.
    store([download_event(77, *video(1), dt.datetime(2026, 3, 1, 21, 30, tzinfo=dt.UTC))])

    def active(day, tz):
        days = get(staff_client, "daily", start=day, end=day, tz=tz)["days"]
        return days[0]["active_users"]

    assert (
        active("2026-03-02", "Europe/Moscow")
        == recount.daily(dt.date(2026, 3, 2), dt.date(2026, 3, 2), "Europe/Moscow")[0][
            "active_users"
        ]
    )
    moscow = recount.downloads_in(dt.date(2026, 3, 2), dt.date(2026, 3, 2), "Europe/Moscow")
    utc = recount.downloads_in(dt.date(2026, 3, 1), dt.date(2026, 3, 1), "UTC")
    assert moscow.filter(user_id=77).exists() and utc.filter(user_id=77).exists()


def rollup_tables() -> dict[str, list]:
    tables = {
        "dash_downloads_hourly": "hour, platform, downloads",
        "dash_video_daily": "day, video_id, downloads",
        "dash_user_days": "user_id, day, hours",
        "dash_video_day_top": "day, video_id, downloads",
        "dash_utc_days": "day, downloads, top_threshold",
        "dash_new_users_hourly": "hour, users",
        "dash_local_days": "tz, day, downloads, users_beyond",
    }
    snapshot = {}
    with connection.cursor() as cursor:
        for table, columns in tables.items():
            cursor.execute(f"SELECT {columns} FROM {table} ORDER BY {columns}")  # noqa: S608
            snapshot[table] = cursor.fetchall()
    return snapshot


def test_rollups_after_a_rebuild_equal_those_kept_by_the_stream(dataset):
    kept = rollup_tables()
    assert all(kept.values())

    rollups_rebuild()

    assert rollup_tables() == kept


def test_redelivered_events_change_nothing(dataset):
    before = rollup_tables()

    store(dataset)  # the same events, the same ids, again

    assert rollups_refresh() is False
    assert rollup_tables() == before


def test_late_events_are_counted_on_the_next_refresh(staff_client, dataset):
    late = [
        download_event(5, *video(2), dt.datetime(2026, 2, 20, 23, 59, tzinfo=dt.UTC)),
        download_event(33, *video(1), dt.datetime(2026, 3, 3, 4, 59, tzinfo=dt.UTC)),
        download_event(6, *video(9), dt.datetime(2026, 3, 8, 7, 0, tzinfo=dt.UTC)),
    ]
    store(late)

    start, end = dt.date(2026, 2, 15), dt.date(2026, 3, 14)
    for tz in TIME_ZONES:
        answer = get(staff_client, "overview", start=start, end=end, tz=tz)
        expected = overview_expected(start, end, tz)
        assert {k: answer[k] for k in expected} == expected
        start_recent = dt.date(2026, 3, 1)
        assert get(staff_client, "daily", start=start_recent, end=end, tz=tz)["days"] == (
            recount.daily(start_recent, end, tz)
        )
    fresh = rollup_tables()
    rollups_rebuild()
    assert rollup_tables() == fresh


def test_the_dataset_is_what_the_tests_think_it_is(dataset):
    assert len(dataset_events()) == len(dataset) > 150
    ny_switch = recount.downloads_in(dt.date(2026, 3, 8), dt.date(2026, 3, 8), "America/New_York")
    assert ny_switch.count() > 0


def test_other_apps_refreshers_run_in_the_job(monkeypatch, db):
    calls = []
    monkeypatch.setattr(rollups, "_REFRESHERS", [])
    rollups.rollup_refresher(lambda cursor: calls.append(cursor) or True)

    assert rollups.rollups_refresh() is True
    assert len(calls) == 1


def test_other_apps_rebuilders_run_in_the_rebuild(monkeypatch, db):
    calls = []
    monkeypatch.setattr(rollups, "_REBUILDERS", [])
    rollups.rollup_rebuilder(lambda cursor: calls.append(cursor) or True)

    rollups.rollups_rebuild()

    assert len(calls) == 1


def test_the_worker_refreshes_the_rollups_in_the_background(dataset, settings):
    from analytics.worker import Worker

    store(
        [download_event(90, *video(1), dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC))], refresh=False
    )
    worker = Worker(consumer="maintenance", block_ms=20)
    worker.maintenance(partitions_due=False)
    worker.finish()  # waits for the refresh

    assert rollups_refresh() is False  # nothing left to do
    day = recount.downloads_in(dt.date(2026, 3, 5), dt.date(2026, 3, 5), "UTC")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT users_beyond[1] FROM dash_local_days WHERE tz = 'UTC' AND day = '2026-03-05'"
        )
        assert cursor.fetchone()[0] == day.values("user_id").distinct().count()
