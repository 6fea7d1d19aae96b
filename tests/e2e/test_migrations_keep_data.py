"""The move of BotUser, CachedMedia and DownloadRequest into their own apps keeps every
table and row: a database on the layout before the move, filled with users, downloads,
cached media, requests and referrals, migrated to the new layout, has them all, and the
bot serves the cached video from it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from analytics.models import Download
from botapp.runner import BackgroundBot
from downloads.models import CachedMedia, DownloadRequest
from referrals.models import Referral
from tests.e2e.conftest import ALICE, BORIS
from users.models import BotUser

BEFORE_THE_MOVE = [
    ("botapp", "0002_download_requests"),
    ("analytics", "0003_videos_total_downloads_unindexed"),
    ("referrals", "0001_initial"),
]
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh view of what is applied now


def fill_the_old_layout(apps, file_id: str) -> None:
    old_user = apps.get_model("botapp", "BotUser")
    alice = old_user.objects.create(
        user_id=ALICE, username="alice", language_code="en", first_seen_at=NOW,
        last_seen_at=NOW, total_downloads=2, referral_code="alicecode1",
        default_quality="720p",
    )  # fmt: skip
    boris = old_user.objects.create(
        user_id=BORIS, first_name="Boris", first_seen_at=NOW, last_seen_at=NOW,
        referral_code="boriscode1", referred_by=alice, send_as="file",
    )  # fmt: skip
    apps.get_model("botapp", "CachedMedia").objects.create(
        media_key="instagram:C0ffeeReel1", format="best", file_id=file_id, kind="video",
        title="Old reel", duration=5,
    )  # fmt: skip
    apps.get_model("botapp", "DownloadRequest").objects.create(
        user=boris, chat_id=BORIS, platform="tiktok", media_key="tiktok:7300000000000000001",
        url="https://www.tiktok.com/@_/video/7300000000000000001", format="best",
        source="message", status="done",
    )  # fmt: skip
    video = apps.get_model("analytics", "Video").objects.create(
        video_id="instagram:C0ffeeReel1", platform="instagram", first_seen_at=NOW
    )
    apps.get_model("analytics", "Download").objects.create(
        user=alice, video=video, platform="instagram", source="message", format="best",
        created_at=NOW, event_id=uuid.uuid4(),
    )  # fmt: skip
    apps.get_model("referrals", "Referral").objects.create(
        referrer=alice, referred_user=boris, created_at=NOW
    )


@pytest.mark.django_db(transaction=True)
def test_every_row_survives_the_move_and_the_bot_serves_from_it(bot_settings, telegram):
    stored = telegram.store_file(b"\x00\x00\x00\x18ftypmp42" + b"0" * 2048, kind="video")
    # users' own later migrations (paid_until) go too: the old layout had is_paid.
    executor = migrate([*BEFORE_THE_MOVE, ("users", None)])
    fill_the_old_layout(executor.loader.project_state(BEFORE_THE_MOVE).apps, stored["file_id"])

    migrate(executor.loader.graph.leaf_nodes())

    alice, boris = BotUser.objects.order_by("user_id")
    assert (alice.user_id, alice.username) == (ALICE, "alice")  # codes now live in referrers
    assert (alice.total_downloads, alice.default_quality) == (2, "720p")
    assert (boris.first_name, boris.referred_by_id, boris.send_as) == ("Boris", ALICE, "file")
    cached = CachedMedia.objects.get()
    assert (cached.media_key, cached.file_id, cached.title) == (
        "instagram:C0ffeeReel1",
        stored["file_id"],
        "Old reel",
    )
    request = DownloadRequest.objects.get()
    assert (request.user_id, request.status, request.source) == (BORIS, "done", "message")
    assert Download.objects.get().user == alice
    assert Referral.objects.get().referred_user == boris
    assert Referral.objects.get().outcome == "pending"  # activated by Boris's next download
    assert ContentType.objects.filter(app_label="users", model="botuser").exists()
    assert not ContentType.objects.filter(app_label="botapp", model="botuser").exists()

    runner = BackgroundBot(poll_timeout=1).start()
    try:
        telegram.push_private_message(ALICE, "https://www.instagram.com/reel/C0ffeeReel1/")
        video = telegram.wait_for_call("sendVideo", timeout=60)
    finally:
        runner.stop()
    assert video["ok"] and video["payload"]["video"] == stored["file_id"]
