"""Top videos, platforms and referrals equal a recount from raw rows."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import rollups
from analytics.models import Download
from referrals.models import Referral

from . import recount
from .conftest import download_event, store, video
from .test_api import RANGES, TIME_ZONES, get

pytestmark = pytest.mark.django_db(transaction=True)


def top(client, start, end, tz, limit):
    answer = get(client, "top-videos", start=start, end=end, tz=tz, limit=limit)
    return [(v["video_id"], v["downloads"]) for v in answer["videos"]]


@pytest.mark.parametrize("tz", TIME_ZONES)
def test_top_videos_equal_a_recount(staff_client, dataset, tz):
    for start, end in RANGES:
        for limit in (1, 3, 10):
            assert top(staff_client, start, end, tz, limit) == recount.top_videos(
                start, end, tz, limit
            ), (start, end, tz, limit)


def test_top_videos_stay_exact_with_short_day_lists_and_unrefreshed_days(
    staff_client, dataset, monkeypatch
):
    # Two videos a day: most answers need the bounds, some the fallback.
    monkeypatch.setattr(rollups, "TOP_PER_DAY", 2)
    rollups.rollups_rebuild()
    # Downloads the job has not seen yet: their day's list is stale.
    late = [
        download_event(3, *video(14), dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)),
        download_event(4, *video(14), dt.datetime(2026, 3, 10, 13, tzinfo=dt.UTC)),
    ]
    store(late, refresh=False)
    for tz in TIME_ZONES:
        for start, end in RANGES[:3]:
            for limit in (1, 2, 5, 15):
                assert top(staff_client, start, end, tz, limit) == recount.top_videos(
                    start, end, tz, limit
                ), (start, end, tz, limit)


def test_top_videos_carry_title_platform_and_link(staff_client, dataset):
    answer = get(staff_client, "top-videos", start="2026-03-01", end="2026-03-14", limit=2)
    first = answer["videos"][0]
    stored = Download.objects.filter(video_id=first["video_id"]).first()
    assert first["platform"] == stored.platform
    assert first["title"] == f"Clip {first['video_id']}"
    assert first["url"] == f"https://example.org/{first['video_id']}"


def test_a_limit_out_of_range_is_a_400(staff_client):
    response = staff_client.get("/dashboard/api/top-videos", {"limit": "1000"})
    assert response.status_code == 400
    assert "limit" in response.json()["error"]


@pytest.mark.parametrize("tz", TIME_ZONES)
def test_platforms_equal_a_recount(staff_client, dataset, tz):
    start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 14)
    answer = get(staff_client, "platforms", start=start, end=end, tz=tz)
    totals = recount.totals(start, end, tz)["by_platform"]
    assert {p["platform"]: p["downloads"] for p in answer["platforms"]} == totals
    assert sum(p["share_percent"] for p in answer["platforms"]) == pytest.approx(100, abs=0.2)
    for day in answer["days"]:
        date = dt.date.fromisoformat(day["date"])
        rows = recount.downloads_in(date, date, tz)
        assert {p: day[p] for p in totals} == {p: rows.filter(platform=p).count() for p in totals}


def test_referrals_equal_a_recount(staff_client, dataset):
    start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 14)
    for tz in TIME_ZONES:
        answer = get(staff_client, "referrals", start=start, end=end, tz=tz)
        low, high = recount.bounds(start, end, tz)
        invited = Referral.objects.filter(created_at__gte=low, created_at__lt=high)
        assert answer["invited"] == invited.count() == 1
        activated = [r for r in invited if r.referred_user.total_downloads > 0]
        assert answer["activated"] == len(activated)
        assert answer["top_referrers"][0]["user_id"] == 1
        assert sum(day["invited"] for day in answer["days"]) == invited.count()
