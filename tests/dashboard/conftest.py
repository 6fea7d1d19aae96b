"""A dataset for the dashboard, stored through the real event pipeline: downloads
placed around midnight in UTC, Moscow and New York, across New York's switch to
daylight saving time (2026-03-08, 07:00 UTC), plus one user a year back and one 40
days back, so that week and month windows and long gaps are exercised."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from analytics.events import DownloadCompleted, UserReferred, UserSeen
from analytics.publisher import breaker_reset, publish
from analytics.rollups import rollups_refresh
from analytics.worker import Worker

PLATFORM_OF = {
    "youtube": "youtube:{:011d}",
    "instagram": "instagram:C{:09d}",
    "tiktok": "tiktok:7{:018d}",
}
# UTC hours near local midnights: UTC, Moscow (21:00 UTC), New York before and after
# the switch (05:00 and 04:00 UTC), and the switch itself (07:00 UTC).
ANCHOR_HOURS = (0, 21, 5, 4, 7)
FIRST_DAY = dt.date(2026, 2, 27)
LAST_DAY = dt.date(2026, 3, 14)


def video(number: int) -> tuple[str, str]:
    platform = ("youtube", "youtube", "instagram", "tiktok")[number % 4]
    return PLATFORM_OF[platform].format(number), platform


def dataset_events(seed: int = 15) -> list:
    rng = random.Random(seed)
    events = []
    day = FIRST_DAY
    while day <= LAST_DAY:
        for anchor in ANCHOR_HOURS:
            for _ in range(rng.randint(1, 4)):
                at = dt.datetime.combine(day, dt.time(anchor), tzinfo=dt.UTC)
                at += dt.timedelta(minutes=rng.randint(-100, 100), seconds=rng.randint(0, 59))
                # Zipf-like: low numbers far more often.
                video_id, platform = video(min(int(rng.paretovariate(1.2)) - 1, 14))
                events.append(download_event(rng.randint(1, 30), video_id, platform, at))
        day += dt.timedelta(days=1)
    events.append(download_event(31, *video(3), dt.datetime(2025, 3, 9, 4, 30, tzinfo=dt.UTC)))
    events.append(download_event(31, *video(3), dt.datetime(2026, 3, 9, 4, 30, tzinfo=dt.UTC)))
    events.append(download_event(32, *video(2), dt.datetime(2026, 1, 25, 22, tzinfo=dt.UTC)))
    events.append(download_event(32, *video(2), dt.datetime(2026, 3, 6, 3, tzinfo=dt.UTC)))
    # A user who never downloaded (counts as a user, never as active) and a referral.
    events.append(UserSeen(user_id=40, occurred_at=dt.datetime(2026, 3, 8, 6, 59, tzinfo=dt.UTC)))
    referred_at = dt.datetime(2026, 3, 10, 21, 5, tzinfo=dt.UTC)
    events.append(UserReferred(referrer_id=1, new_user_id=41, occurred_at=referred_at))
    return events


def download_event(user_id: int, video_id: str, platform: str, at: dt.datetime):
    return DownloadCompleted(
        user_id=user_id, video_id=video_id, platform=platform, source="message",
        title=f"Clip {video_id}", url=f"https://example.org/{video_id}", occurred_at=at,
    )  # fmt: skip


def store(events, *, worker: Worker | None = None, refresh: bool = True) -> None:
    """Publish and drain through the worker, then refresh the job's rollups."""
    for event in events:
        publish(event)
    worker = worker or Worker(consumer="dashboard-test", block_ms=20, batch_size=50)
    for _ in range(500):
        result = worker.step()
        if not result.read and not result.failed:
            break
    if refresh:
        rollups_refresh()


@pytest.fixture(autouse=True)
def _spool_in_tmp(settings, tmp_path):
    settings.ANALYTICS_SPOOL_DIR = str(tmp_path / "spool")
    breaker_reset()


@pytest.fixture
def dataset():
    events = dataset_events()
    store(events)
    return events


@pytest.fixture
def staff(django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("owner", password="pw-owner-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client
