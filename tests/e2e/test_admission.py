"""Admission control: a cap per user, a bound on the downloads queue, a longest media;
through the real bot, the offline Telegram API and the local video site."""

from __future__ import annotations

import pytest

from botapp.runner import BackgroundBot
from downloads import texts
from downloads.models import DownloadRequest, RequestStatus
from tests.e2e.conftest import ALICE, BORIS, CARMEN, OLENA, eventually

WAIT = 90


def tiktok(number: int) -> str:
    return f"https://www.tiktok.com/@sandbox.user/video/73000000000000{number:05d}"


def to(chat_id):
    return lambda call: call["payload"].get("chat_id") == chat_id


@pytest.fixture
def idle_bot(bot_settings, transactional_db, telegram):
    """The bot with no download worker running: whatever is queued stays queued."""
    runner = BackgroundBot(poll_timeout=1).start()
    yield runner
    runner.stop()


def test_a_user_past_the_cap_is_told_to_wait_and_nothing_is_queued(
    bot_settings, idle_bot, telegram
):
    bot_settings.MAX_QUEUED_PER_USER = 3
    for number in range(1, 4):
        telegram.push_private_message(ALICE, tiktok(number))
        telegram.wait_for_call("sendMessage", to(ALICE), timeout=WAIT)
    telegram.push_private_message(ALICE, tiktok(4))

    refused = telegram.wait_for_call("sendMessage", to(ALICE), timeout=WAIT)
    assert refused["payload"]["text"] == texts.render("en", texts.ERROR_TOO_MANY_QUEUED, limit=3)
    assert DownloadRequest.objects.filter(user_id=ALICE).count() == 3


def test_a_full_queue_answers_busy_in_the_users_language(bot_settings, idle_bot, telegram):
    bot_settings.DOWNLOADS_QUEUE_MAX = 2
    for user_id, number in ((ALICE, 1), (CARMEN, 2)):
        telegram.push_private_message(user_id, tiktok(number))
        queued = telegram.wait_for_call("sendMessage", to(user_id), timeout=WAIT)
        assert queued["payload"]["text"].split()[-1]  # a position, not a refusal
    assert eventually(lambda: DownloadRequest.objects.exclude(job_id="").count() == 2)

    telegram.push_private_message(BORIS, tiktok(3))  # Boris speaks Russian

    busy = telegram.wait_for_call("sendMessage", to(BORIS), timeout=WAIT)
    assert busy["payload"]["text"] == texts.render("ru", texts.ERROR_BUSY)
    assert busy["payload"]["text"] != texts.render("en", texts.ERROR_BUSY)
    assert not DownloadRequest.objects.filter(user_id=BORIS).exists()


def test_a_video_over_the_longest_duration_is_refused_before_downloading(
    bot_settings, bot, telegram, video_site
):
    bot_settings.MAX_DURATION_SECONDS = 1  # the local site's clips last a few seconds
    before = sum(video_site.bytes_served.values())
    telegram.push_private_message(OLENA, tiktok(1))  # Olena speaks Ukrainian

    expected = texts.render("uk", texts.ERROR_TOO_LONG, minutes=0)
    refused = telegram.wait_for_call(
        "editMessageText", lambda c: to(OLENA)(c) and c["payload"]["text"] == expected, timeout=WAIT
    )
    assert refused["ok"]
    assert eventually(
        lambda: DownloadRequest.objects.get(user_id=OLENA).status == RequestStatus.FAILED
    )
    assert DownloadRequest.objects.get(user_id=OLENA).error == "too_long"
    assert not telegram.calls("sendVideo")
    # Only the page with the metadata was read, not the media.
    assert sum(video_site.bytes_served.values()) == before


def test_a_youtube_video_over_the_longest_duration_gets_no_quality_buttons(
    bot_settings, bot, telegram
):
    bot_settings.MAX_DURATION_SECONDS = 1
    telegram.push_private_message(ALICE, "https://youtu.be/dQw4w9WgXcQ")

    expected = texts.render("en", texts.ERROR_TOO_LONG, minutes=0)
    telegram.wait_for_call(
        "editMessageText", lambda c: to(ALICE)(c) and c["payload"]["text"] == expected, timeout=WAIT
    )
    assert not DownloadRequest.objects.filter(user_id=ALICE).exists()
