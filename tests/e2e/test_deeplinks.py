"""/start with a payload: v_<key> opens a video, ref_<code> refers, the rest welcomes."""

from __future__ import annotations

import logging

from analytics.events import UserReferred, VideoViewClicked
from downloads.models import DownloadRequest
from referrals.services import referrer_get_or_create
from tests.e2e.conftest import ALICE, BORIS
from tests.e2e.published import published, seed_cached_video, wait_published

WELCOME = "Send me a link to a YouTube, Instagram or TikTok video"
MALFORMED = [
    "v_", "v_yt_", "v_yt_short", "v_xx_dQw4w9WgXcQ", "v_yt_" + "a" * 59, "x" * 64,
    "v_tt_notanumber", "v_tt_", "v_ig_", "v__", "V_yt_dQw4w9WgXcQ", "-", "_",
    "v-yt-dQw4w9WgXcQ", "vyt_dQw4w9WgXcQ", "ref_", "ref_nobodyhasthis", "v_yt_dQw4w9WgXcQ_",
    "hello", "v_youtube_dQw4w9WgXcQ",
]  # fmt: skip


def test_it_delivers_the_video_of_a_v_link(bot, telegram):
    telegram.push_start(ALICE, "v_tt_7300000000000000001")
    call = telegram.wait_for_call(
        "sendVideo", lambda c: c["payload"]["chat_id"] == ALICE, timeout=120, ok=True
    )
    assert call["payload"].get("reply_markup")  # "audio only" after a private video
    request = DownloadRequest.objects.get(user_id=ALICE)
    assert (request.media_key, request.source) == ("tiktok:7300000000000000001", "deep_link")
    wait_published(
        VideoViewClicked,
        lambda e: (
            (e.user_id, e.video_id, e.event_type)
            == (ALICE, "tiktok:7300000000000000001", "deep_link")
        ),
    )


def test_it_sends_a_cached_youtube_video_without_asking_for_quality(bot, telegram):
    file_id = seed_cached_video(telegram, "youtube:dQw4w9WgXcQ", "720p")
    telegram.push_start(ALICE, "v_yt_dQw4w9WgXcQ")
    call = telegram.wait_for_call(
        "sendVideo", lambda c: c["payload"]["chat_id"] == ALICE, timeout=60
    )
    assert call["payload"]["video"] == file_id


def test_it_welcomes_each_malformed_payload_without_an_error(bot, telegram, caplog):
    assert len(MALFORMED) == 20
    too_long = "v_yt_" + "dQw4w9WgXcQ" * 6  # over 64 characters: only a hand-typed /start
    for payload in MALFORMED[:-1]:
        telegram.push_start(ALICE, payload)
    telegram.push_private_message(ALICE, f"/start {too_long}")
    for _ in MALFORMED:
        call = telegram.wait_for_call(
            "sendMessage", lambda c: c["payload"]["chat_id"] == ALICE, timeout=60
        )
        assert call["ok"] and WELCOME in call["payload"]["text"]
    assert not telegram.calls("sendVideo")
    assert not DownloadRequest.objects.exists()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_it_records_a_referral_once_and_never_to_oneself(bot, telegram):
    telegram.push_start(BORIS)
    telegram.wait_for_call("sendMessage", lambda c: c["payload"]["chat_id"] == BORIS, timeout=60)
    code = referrer_get_or_create(user_id=BORIS).code
    telegram.push_start(BORIS, f"ref_{code}")
    telegram.push_start(ALICE, f"ref_{code}")
    for user in (BORIS, ALICE):
        call = telegram.wait_for_call(
            "sendMessage", lambda c, user=user: c["payload"]["chat_id"] == user, timeout=60
        )
        assert call["ok"]
    [event] = wait_published(UserReferred)
    assert (event.referrer_id, event.new_user_id) == (BORIS, ALICE)
    assert not published(UserReferred, lambda e: e.new_user_id == BORIS)
