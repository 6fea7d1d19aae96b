"""The insights (geography, hours, conversion, retention, cohorts, funnel): every figure
recounted from raw rows on the dashboard's dataset (events around midnight in UTC,
Moscow and New York, across New York's DST switch) plus clicks, inline queries and
chosen results; incomplete periods; the funnel's order and window; auth and 400s."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import pytest

from analytics.dashboard.api import ENDPOINTS
from analytics.dashboard.params import today_in
from analytics.events import InlineQueried, InlineResultChosen, UserSeen
from analytics.events import VideoViewClicked as Click
from analytics.insights import rollups as insights_rollups
from analytics.insights.models import Conversion, Journey, JourneyFirstsDay
from analytics.rollups import rollups_rebuild, rollups_refresh
from sandbox.dashboard_benchmark import bench_run, bench_table
from tests.dashboard import insights_recount as recount
from tests.dashboard.conftest import dataset_events, download_event, store, video
from users.models import BotUser
from users.services import user_set_timezone_from_location

pytestmark = pytest.mark.django_db(transaction=True)

INSIGHTS = ("hours", "geo", "conversion", "retention", "cohorts", "funnel")
MOSCOW = (55.7558, 37.6173)
NEW_YORK = (40.7128, -74.0060)
LANGUAGES = ("ru", "en", "es", "uk", "", "de-AT")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def journey_events() -> list:
    """Clicks and inline journeys around the dataset's midnights and the DST switch."""
    v1, v2, v3, v5, v7 = (video(n)[0] for n in (1, 2, 3, 5, 7))
    return [
        # clicks -> download of the same video: within an hour (Moscow midnight) ...
        Click(user_id=3, video_id=v1, occurred_at=at("2026-03-07 20:50")),
        download_event(3, *video(1), at("2026-03-07 21:30")),
        # ... 30 h later, across the DST switch (only with a window of 30 h or more) ...
        Click(user_id=4, video_id=v2, event_type="deep_link", occurred_at=at("2026-03-08 06:30")),
        download_event(4, *video(2), at("2026-03-09 12:20")),
        # ... another video (never), and a download before the click (never)
        Click(user_id=5, video_id=v3, occurred_at=at("2026-03-10 04:55")),
        download_event(5, *video(7), at("2026-03-10 05:05")),
        download_event(6, *video(5), at("2026-03-11 23:50")),
        Click(user_id=6, video_id=v5, event_type="deep_link", occurred_at=at("2026-03-12 00:10")),
        # funnel: query -> chosen -> download within minutes, around New York's midnight
        InlineQueried(user_id=10, platform="youtube", occurred_at=at("2026-03-09 04:10")),
        InlineResultChosen(user_id=10, video_id=v1, platform="youtube",
                           occurred_at=at("2026-03-09 04:12")),
        download_event(10, *video(1), at("2026-03-09 04:15")),
        # query -> Watch click -> download 26 h after the query (outside 24 h)
        InlineQueried(user_id=11, platform="youtube", occurred_at=at("2026-03-10 20:55")),
        Click(user_id=11, video_id=v5, occurred_at=at("2026-03-10 21:05")),
        download_event(11, *video(5), at("2026-03-11 22:58")),
        # out of order: the result was chosen before the query
        InlineResultChosen(user_id=12, video_id=v3, platform="instagram",
                           occurred_at=at("2026-03-09 10:00")),
        InlineQueried(user_id=12, platform="instagram", occurred_at=at("2026-03-09 10:05")),
        download_event(12, *video(3), at("2026-03-09 10:06")),
        # a cached result: the pick is the delivery
        InlineQueried(user_id=13, platform="tiktok", occurred_at=at("2026-03-12 05:00")),
        InlineResultChosen(user_id=13, video_id=v7, platform="tiktok", from_cache=True,
                           occurred_at=at("2026-03-12 05:01")),
        # a query only; a query then a download without choosing
        InlineQueried(user_id=14, occurred_at=at("2026-03-06 23:30")),
        InlineQueried(user_id=15, platform="youtube", occurred_at=at("2026-03-13 03:00")),
        download_event(15, *video(7), at("2026-03-13 03:05")),
        # two queries: the first one (followed only 26 h later) is the user's funnel start
        InlineQueried(user_id=16, platform="youtube", occurred_at=at("2026-03-04 01:00")),
        InlineQueried(user_id=16, platform="youtube", occurred_at=at("2026-03-05 03:00")),
        InlineResultChosen(user_id=16, video_id=v2, platform="youtube",
                           occurred_at=at("2026-03-05 03:01")),
        download_event(16, *video(2), at("2026-03-05 03:02")),
    ]  # fmt: skip


@pytest.fixture(autouse=True)
def _insights_every_run(settings):
    settings.DASHBOARD_INSIGHTS_SECONDS = 0


@pytest.fixture
def insights_dataset():
    profiles = [
        UserSeen(user_id=n, language_code=LANGUAGES[n % len(LANGUAGES)],
                 occurred_at=at("2026-03-14 12:00"))
        for n in range(1, 33)
    ]  # fmt: skip
    store([*dataset_events(), *journey_events(), *profiles], refresh=False)
    user_set_timezone_from_location(user_id=1, latitude=MOSCOW[0], longitude=MOSCOW[1])
    user_set_timezone_from_location(user_id=2, latitude=NEW_YORK[0], longitude=NEW_YORK[1])
    rollups_refresh()


def api(client, name: str, **query):
    response = client.get(f"/dashboard/api/{name}", query)
    assert response.status_code == 200, response.content
    return response.json()


PERIODS = [
    ("2026-03-01", "2026-03-14", "America/New_York"),
    ("2026-03-07", "2026-03-09", "Europe/Moscow"),
    ("2026-02-27", "2026-03-14", "UTC"),
]


@pytest.mark.parametrize(("start", "end", "tz"), PERIODS)
def test_it_counts_hours_in_the_viewers_and_the_users_own_time(
    insights_dataset, staff_client, start, end, tz
):
    answer = api(staff_client, "hours", start=start, end=end, tz=tz)
    viewer, own = recount.hours(dt.date.fromisoformat(start), dt.date.fromisoformat(end), tz)
    assert own, "users 1 and 2 shared a location and downloaded"
    for rows, expected in ((answer["heatmap"], viewer), (answer["own_heatmap"], own)):
        for weekday, row in enumerate(rows, start=1):
            for hour in range(24):
                assert row[f"h{hour:02d}"] == expected.get((weekday, hour), 0)
    assert [r["downloads"] for r in answer["hours"]] == [
        sum(viewer.get((w, h), 0) for w in range(1, 8)) for h in range(24)
    ]
    assert answer["own_time_downloads"] == sum(own.values())


@pytest.mark.parametrize("end", ["2026-03-14", "2026-03-01"])
def test_it_counts_users_by_area_offset_and_source(insights_dataset, staff_client, end):
    answer = api(staff_client, "geo", start="2026-02-01", end=end, tz="UTC")
    sources, areas, offsets = recount.geo(dt.date.fromisoformat(end))
    assert {r["source"]: r["users"] for r in answer["sources"]} == {
        s: sources.get(s, 0) for s in ("location", "activity", "language", "unknown")
    }
    got_areas = {(r["area"], s): r[s] for r in answer["areas"]
                 for s in ("location", "activity", "language", "unknown") if r[s]}  # fmt: skip
    assert got_areas == dict(areas)
    if end == "2026-03-14":
        assert ("Europe/Moscow", "location") in got_areas
        assert ("America/New_York", "location") in got_areas
    assert sum(r["users"] for r in answer["offsets"]) == sum(offsets.values())


@pytest.mark.parametrize("window", [24, 30, 1])
@pytest.mark.parametrize(("start", "end", "tz"), PERIODS)
def test_it_counts_clicks_followed_by_a_download_of_the_video(
    insights_dataset, staff_client, start, end, tz, window
):
    answer = api(staff_client, "conversion", start=start, end=end, tz=tz, window=window)
    expected = recount.conversion(dt.date.fromisoformat(start), dt.date.fromisoformat(end), tz,
                                  window)  # fmt: skip
    assert {r["source"]: [r["clicks"], r["converted"]] for r in answer["by_source"]} == (
        expected["by_source"]
    )
    assert {r["platform"]: [r["clicks"], r["converted"]] for r in answer["by_platform"]} == (
        expected["by_platform"]
    )
    assert sum(d["clicks"] for d in answer["days"]) == answer["clicks"]
    assert answer["incomplete"] is False  # every window ended months ago


def test_a_late_download_converts_with_a_longer_window(insights_dataset, staff_client):
    query = {"start": "2026-03-08", "end": "2026-03-08", "tz": "UTC"}
    deep = lambda w: next(  # noqa: E731
        r
        for r in api(staff_client, "conversion", window=w, **query)["by_source"]
        if r["source"] == "deep_link"
    )
    assert (deep(24)["clicks"], deep(24)["converted"]) == (1, 0)
    assert (deep(30)["clicks"], deep(30)["converted"]) == (1, 1)


def test_a_rebuild_in_one_pass_equals_the_lookups(insights_dataset, monkeypatch):
    """Journeys of many hours at once (one ordered pass and a join) equal those looked
    up query by query."""

    def rows():
        conversions = ("hour", "click_type", "platform", "delay_hours", "clicks")
        journeys = ("user_id", "started_at", "platform", "language", "chosen_after",
                    "downloaded_after", "previous_started_at")  # fmt: skip
        return (
            sorted(Conversion.objects.values_list(*conversions)),
            sorted(Journey.objects.values_list(*journeys), key=str),
            firsts_rows(),
        )

    conversions, journeys, firsts = looked_up = rows()
    assert firsts == firsts_recount()
    assert any(delay != Conversion.NEVER for _, _, _, delay, _ in conversions)
    assert any(j[4] is not None for j in journeys) and any(j[4] is None for j in journeys)
    assert any(j[5] is not None for j in journeys) and any(j[5] is None for j in journeys)
    monkeypatch.setattr(insights_rollups, "BULK_HOURS", 0)
    rollups_rebuild()
    assert rows() == looked_up


FIRSTS = ("day", "kind", "platform", "language", "seconds", "hours", "users")


def firsts_rows() -> list[tuple]:
    return sorted(JourneyFirstsDay.objects.values_list(*FIRSTS), key=str)


def firsts_recount() -> list[tuple]:
    """The per-day counts of the users' very first journeys, from the journeys."""
    counts: Counter[tuple] = Counter()
    for j in Journey.objects.filter(previous_started_at__isnull=True):
        day = j.started_at.astimezone(dt.UTC).date()
        counts[(day, JourneyFirstsDay.STEP, j.platform, j.language, j.chosen_after, None)] += 1
        if j.downloaded_after is None:
            after_step = hours = None
        else:
            after_step = -1 if j.chosen_after is None else j.downloaded_after - j.chosen_after
            hours = math.ceil(j.downloaded_after / 3600)
        counts[(day, JourneyFirstsDay.DOWNLOAD, j.platform, j.language, after_step, hours)] += 1
    return sorted(((*key, n) for key, n in counts.items()), key=str)


@pytest.mark.parametrize("activity", ["downloads", "any"])
@pytest.mark.parametrize("mode", ["on", "after"])
@pytest.mark.parametrize("tz", ["UTC", "Europe/Moscow", "America/New_York"])
def test_it_recounts_retention(insights_dataset, staff_client, tz, mode, activity):
    start, end = dt.date(2025, 3, 1), dt.date(2026, 3, 14)
    answer = api(staff_client, "retention", start=start, end=end, tz=tz, mode=mode,
                 activity=activity)  # fmt: skip
    expected = recount.retention(start, end, tz, mode, activity, today_in(tz))
    for row in answer["days"]:
        n = int(row["day"].split()[1])
        assert (row["users"], row["active"]) == expected[n], row
    assert any(row["active"] for row in answer["days"])


@pytest.mark.parametrize("grain", ["week", "month"])
@pytest.mark.parametrize("tz", ["Europe/Moscow", "America/New_York"])
def test_it_recounts_cohort_cells(insights_dataset, staff_client, tz, grain):
    answer = api(staff_client, "cohorts", start="2026-02-23", end="2026-03-14", tz=tz,
                 grain=grain)  # fmt: skip
    cells = recount.cohorts(tz, grain, "downloads")
    for row in answer["cohorts"]:
        cohort = dt.date.fromisoformat(row["cohort"])
        for key, value in row.items():
            if key.startswith("p") and key[1:].isdigit() and value is not None:
                assert row[f"{key}_users"] == cells.get((cohort, int(key[1:])), 0)
                # a cell is incomplete exactly while its week / month is not over
                ends = recount.period_end(cohort, grain, int(key[1:]))
                assert row[f"{key}_incomplete"] is (ends > today_in(tz))
    assert any(row.get("p1_users") for row in answer["cohorts"])


def test_a_cohort_whose_period_is_not_over_is_incomplete(staff_client):
    now = dt.datetime.now(tz=dt.UTC).replace(microsecond=0)
    store([UserSeen(user_id=70, occurred_at=now - dt.timedelta(minutes=5)),
           download_event(70, *video(1), now - dt.timedelta(minutes=4))])  # fmt: skip
    today = now.date()
    answer = api(staff_client, "cohorts", start=today, end=today, tz="UTC", grain="week")
    [row] = answer["cohorts"]
    assert row["users"] == 1
    assert row["p0_users"] == 1 and row["p0_incomplete"] is True
    answer = api(staff_client, "retention", start=today, end=today, tz="UTC")
    for day in answer["days"]:  # day 1 not over: pending, never a 0 % drop
        assert day["incomplete"] is True and day["share_percent"] is None
        assert day["pending_users"] == 1
    assert answer["cohorts"][0]["d1"] is None and answer["cohorts"][0]["d1_incomplete"]
    month = api(staff_client, "cohorts", start=today, end=today, tz="UTC", grain="month")
    assert month["cohorts"][0]["p0_incomplete"] is True


@pytest.mark.parametrize("window", [24, 48])
@pytest.mark.parametrize(("start", "end", "tz"), PERIODS)
def test_it_recounts_the_funnel(insights_dataset, staff_client, start, end, tz, window):
    answer = api(staff_client, "funnel", start=start, end=end, tz=tz, window=window)
    expected = recount.funnel(dt.date.fromisoformat(start), dt.date.fromisoformat(end), tz,
                              window)  # fmt: skip
    assert (answer["queried"], answer["chosen"], answer["downloaded"]) == (
        expected["queried"],
        expected["chosen"],
        expected["downloaded"],
    )
    for key, seconds in (("median_seconds_to_chosen", "median_to_chosen"),
                         ("median_seconds_to_download", "median_to_download")):  # fmt: skip
        if expected[seconds] is None:
            assert answer[key] is None
        else:
            assert abs(answer[key] - expected[seconds]) <= 1
    assert sum(r["queried"] for r in answer["by_platform"]) == answer["queried"]
    assert sum(r["queried"] for r in answer["by_language"]) == answer["queried"]


def test_steps_out_of_order_or_outside_the_window_are_not_counted(insights_dataset, staff_client):
    answer = api(staff_client, "funnel", start="2026-03-01", end="2026-03-14", tz="UTC")
    # users 10..16 queried; chosen after the query within 24 h: 10, 11, 13 (12 chose before,
    # 14 and 15 never chose, 16 chose 26 h after their first query); downloaded: 10, 13
    # (11's download came 26 h after the query). Within 48 h: 11 and 16 as well.
    assert (answer["queried"], answer["chosen"], answer["downloaded"]) == (7, 3, 2)
    longer = api(staff_client, "funnel", start="2026-03-01", end="2026-03-14", tz="UTC",
                 window=48)  # fmt: skip
    assert (longer["chosen"], longer["downloaded"]) == (4, 4)
    steps = [s["users"] for s in answer["steps"]]
    assert steps == [7, 3, 2]
    assert answer["overall_percent"] == round(2 * 100 / 7, 1)


def test_a_shared_location_stores_only_the_zone(insights_dataset, caplog):
    user = BotUser.objects.get(user_id=1)
    assert (user.timezone, user.timezone_source) == ("Europe/Moscow", "location")
    assert BotUser.objects.get(user_id=2).timezone == "America/New_York"
    assert user_set_timezone_from_location(user_id=3, latitude=91.0, longitude=0.0) is None
    assert BotUser.objects.get(user_id=3).timezone == ""


@pytest.mark.parametrize("name", INSIGHTS)
def test_the_endpoints_need_the_token_or_a_staff_session(client, name):
    assert client.get(f"/dashboard/api/{name}").status_code == 401


@pytest.mark.parametrize(
    ("name", "query"),
    [("conversion", {"window": "0"}), ("conversion", {"window": "169"}),
     ("funnel", {"window": "x"}), ("retention", {"mode": "sometimes"}),
     ("retention", {"activity": "clicks"}), ("cohorts", {"grain": "day"}),
     ("geo", {"limit": "0"}), ("hours", {"tz": "Mars/Olympus"}),
     ("cohorts", {"start": "2026-03-10", "end": "2026-03-01"})],
)  # fmt: skip
def test_bad_parameters_are_400(staff_client, name, query):
    response = staff_client.get(f"/dashboard/api/{name}", query)
    assert response.status_code == 400
    assert response.json()["error"]


def test_bench_dashboard_times_the_insights_endpoints(insights_dataset):
    assert set(INSIGHTS) <= set(ENDPOINTS)
    timings = bench_run(time_zones=("UTC", "America/New_York"), repeat=1,
                        end=dt.date(2026, 3, 14))  # fmt: skip
    for name in INSIGHTS:
        assert set(timings[name]) == {1, 30, 365}
        assert all(len(calls) == 2 for calls in timings[name].values())
    table = "\n".join(bench_table(timings))
    assert all(f"\n{name} " in table for name in INSIGHTS)


@pytest.mark.parametrize("bulk_days", [4, 10_000])
def test_the_rollups_follow_events_stored_later(staff_client, monkeypatch, bulk_days):
    """Refreshed after each of three batches (the last one late: old days), the answers
    equal a recount of everything, whether the cohort days are redone in one ordered
    pass or by looking up each user's previous active day."""
    monkeypatch.setattr(insights_rollups, "BULK_DAYS", bulk_days)
    events = [*dataset_events(), *journey_events()]
    store(events[: len(events) // 2])
    store(events[len(events) // 2 :])
    # The late batch also holds a query of user 16 before their first one: the day of
    # their very first journey moves back.
    late = [
        download_event(33, *video(4), at("2026-03-02 21:30")),
        Click(user_id=33, video_id=video(4)[0], occurred_at=at("2026-03-02 21:00")),
        InlineQueried(user_id=9, occurred_at=at("2026-03-03 02:00")),
        InlineQueried(user_id=16, platform="youtube", occurred_at=at("2026-03-02 08:00")),
    ]
    store(late)
    assert firsts_rows() == firsts_recount()
    start, end = dt.date(2026, 2, 20), dt.date(2026, 3, 14)
    for tz in ("Europe/Moscow", "America/New_York"):
        for mode in ("on", "after"):
            for activity in ("downloads", "any"):
                answer = api(staff_client, "retention", start=start, end=end, tz=tz, mode=mode,
                             activity=activity)  # fmt: skip
                expected = recount.retention(start, end, tz, mode, activity, today_in(tz))
                got = {int(r["day"].split()[1]): (r["users"], r["active"]) for r in answer["days"]}
                assert got == expected, (tz, mode, activity)
        for grain in ("week", "month"):
            answer = api(staff_client, "cohorts", start=start, end=end, tz=tz, grain=grain,
                         activity="any")  # fmt: skip
            cells = recount.cohorts(tz, grain, "any")
            for row in answer["cohorts"]:
                cohort = dt.date.fromisoformat(row["cohort"])
                for key in [k for k in row if k.startswith("p") and k.endswith("_users")]:
                    assert row[key] == cells.get((cohort, int(key[1:-6])), 0), (tz, grain, key)
        funnel = api(staff_client, "funnel", start=start, end=end, tz=tz)
        expected = recount.funnel(start, end, tz, 24)
        assert (funnel["queried"], funnel["chosen"], funnel["downloaded"]) == (
            expected["queried"],
            expected["chosen"],
            expected["downloaded"],
        )
        conversion = api(staff_client, "conversion", start=start, end=end, tz=tz)
        assert {r["source"]: [r["clicks"], r["converted"]] for r in conversion["by_source"]} == (
            recount.conversion(start, end, tz, 24)["by_source"]
        )
