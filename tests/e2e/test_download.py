"""The way of one link, end to end: the real bot, the offline Telegram API, the local
video site, real yt-dlp and ffmpeg, PostgreSQL and Redis."""

from __future__ import annotations

import itertools

import pytest

from config.redis import get_redis
from downloads.cache import cached_file_get
from downloads.models import CachedMedia, DownloadRequest, RequestStatus
from tests.e2e.conftest import ALICE, BORIS, CARMEN, OLENA, eventually
from users.models import BotUser

INSTAGRAM = "https://www.instagram.com/reel/C0ffeeReel1/?igsh=abc123"
TIKTOK = "https://www.tiktok.com/@sandbox.user/video/7300000000000000001"
YOUTUBE = "https://youtu.be/dQw4w9WgXcQ?si=tracking"
WAIT = 90


def user_with_default_quality(user_id: int, quality: str) -> BotUser:
    """A returning user who picked a default quality before: YouTube links skip the keyboard."""
    return BotUser.objects.create(
        user_id=user_id,
        language_code="en",
        default_quality=quality,
        first_seen_at="2026-01-01T00:00Z",
        last_seen_at="2026-01-01T00:00Z",
    )


def to(chat_id):
    return lambda call: call["payload"].get("chat_id") == chat_id


def uploaded(call) -> bool:
    return isinstance(call["payload"]["video"], dict)


def served(site) -> int:
    return sum(site.bytes_served.values())


def test_cache_miss_then_hit_sends_the_same_file_id_without_downloading(bot, telegram, video_site):
    telegram.push_private_message(ALICE, f"look {INSTAGRAM}")
    queued = telegram.wait_for_call("sendMessage", to(ALICE))
    assert "In the queue" in queued["payload"]["text"]
    first = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT)
    assert first["ok"] and uploaded(first)
    assert first["payload"]["supports_streaming"] in (True, "true", "True")
    assert "Source" in first["payload"]["caption"]
    file_id = first["result"]["video"]["file_id"]
    # The progress message is replaced by the video.
    telegram.wait_for_call("deleteMessage", to(ALICE), timeout=WAIT)

    before = served(video_site)
    telegram.push_private_message(BORIS, "https://instagram.com/reels/C0ffeeReel1")
    second = telegram.wait_for_call("sendVideo", to(BORIS), timeout=WAIT)
    assert second["ok"]
    assert second["payload"]["video"] == file_id
    assert served(video_site) == before
    assert CachedMedia.objects.get(media_key="instagram:C0ffeeReel1").file_id == file_id


def test_a_rejected_file_id_leads_to_a_fresh_download(bot, telegram):
    CachedMedia.objects.create(
        media_key="tiktok:7300000000000000001", format="best", file_id="BAAD-file-id", kind="video"
    )
    telegram.push_private_message(ALICE, TIKTOK)
    rejected = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT)
    assert not rejected["ok"] and "wrong file identifier" in rejected["description"]
    fresh = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT)
    assert fresh["ok"] and uploaded(fresh)
    new_id = fresh["result"]["video"]["file_id"]

    def cached_id():
        item = cached_file_get(media_key="tiktok:7300000000000000001", fmt="best")
        return item and item.file_id

    assert eventually(lambda: cached_id() == new_id)


def test_youtube_offers_qualities_sends_the_chosen_one_and_remembers_it(bot, telegram):
    telegram.push_private_message(ALICE, YOUTUBE)
    keyboard_edit = telegram.wait_for_call(
        "editMessageText", lambda c: "reply_markup" in c["payload"], timeout=WAIT
    )
    buttons = [
        button["callback_data"]
        for row in keyboard_edit["payload"]["reply_markup"]["inline_keyboard"]
        for button in row
    ]
    labels = " ".join(
        button["text"]
        for row in keyboard_edit["payload"]["reply_markup"]["inline_keyboard"]
        for button in row
    )
    assert {"360p", "480p", "720p", "1080p"} <= {data.rsplit(":", 1)[1] for data in buttons}
    assert ("Audio only" in labels and "MB" in labels) or "KB" in labels
    choice = next(data for data in buttons if data.endswith(":480p"))
    telegram.press_button(ALICE, choice, message_id=keyboard_edit["payload"]["message_id"])

    video = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT)
    assert video["ok"] and int(video["payload"]["height"]) == 480
    assert eventually(lambda: BotUser.objects.get(pk=ALICE).default_quality == "480p")

    # The choice is remembered: the next YouTube link goes straight to the download.
    telegram.push_private_message(ALICE, "https://www.youtube.com/watch?v=jNQXAC9IVRw&t=42")
    second = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT)
    assert second["ok"] and int(second["payload"]["height"]) == 480
    assert DownloadRequest.objects.filter(media_key="youtube:jNQXAC9IVRw", format="480p").exists()


ERROR_PAGES = [
    ("https://www.youtube.com/watch?v=privateVid1", "private"),
    ("https://www.youtube.com/watch?v=removedVid1", "removed"),
    ("https://www.youtube.com/watch?v=signInVid01", "sign-in"),
    ("https://www.youtube.com/watch?v=ageLimited1", "age check"),
    ("https://www.youtube.com/watch?v=regionBlock", "region"),
    ("https://www.youtube.com/watch?v=liveStream1", "live stream"),
    ("https://www.youtube.com/watch?v=rateLimited", "refusing downloads"),
]


@pytest.mark.parametrize(("url", "words"), ERROR_PAGES)
def test_each_failing_page_gets_its_own_message(bot, telegram, url, words):
    user_with_default_quality(OLENA, "480p")
    telegram.push_private_message(OLENA, url)
    failure = telegram.wait_for_call(
        "editMessageText",
        lambda c: c["payload"].get("chat_id") == OLENA and words in c["payload"]["text"],
        timeout=WAIT,
    )
    assert "Traceback" not in failure["payload"]["text"]
    assert eventually(
        lambda: DownloadRequest.objects.get(user_id=OLENA).status == RequestStatus.FAILED
    )


def test_an_unsupported_link_and_a_playlist_are_explained(bot, telegram):
    telegram.push_private_message(
        CARMEN, "https://vimeo.com/123456 and https://www.youtube.com/playlist?list=PL123"
    )
    first = telegram.wait_for_call("sendMessage", to(CARMEN), timeout=WAIT)
    second = telegram.wait_for_call("sendMessage", to(CARMEN), timeout=WAIT)
    texts = first["payload"]["text"] + second["payload"]["text"]
    assert "not supported" in texts or "no es compatible" in texts.lower()
    assert "YouTube" in texts


def test_two_users_asking_for_the_same_video_get_one_download(bot, telegram, video_site):
    before = dict(video_site.bytes_served)
    telegram.push_private_message(ALICE, TIKTOK)
    telegram.push_private_message(BORIS, TIKTOK)
    alice = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT)
    boris = telegram.wait_for_call("sendVideo", to(BORIS), timeout=WAIT)
    assert alice["ok"] and boris["ok"]
    assert sum(1 for call in (alice, boris) if uploaded(call)) == 1
    media_paths = [
        path
        for path, count in video_site.bytes_served.items()
        if count > before.get(path, 0) and path.endswith((".mp4", ".m4a"))
    ]
    # One fetch: every media file of the clip was read once, not twice.
    clip_sizes = {path: video_site.bytes_served[path] - before.get(path, 0) for path in media_paths}
    assert clip_sizes
    for path, amount in clip_sizes.items():
        assert amount <= video_site.clips[path.rsplit("/", 1)[1]].size


def test_the_over_limit_clip_is_never_uploaded_and_audio_is_offered(bot, telegram):
    user_with_default_quality(ALICE, "720p")
    telegram.push_private_message(ALICE, "https://www.youtube.com/watch?v=bigVidSmAud")
    refusal = telegram.wait_for_call(
        "editMessageText", lambda c: "larger than" in c["payload"]["text"], timeout=WAIT
    )
    buttons = [
        b["callback_data"]
        for row in refusal["payload"]["reply_markup"]["inline_keyboard"]
        for b in row
    ]
    assert any(data.startswith("dl:f:audio:") for data in buttons)
    assert not [c for c in telegram.calls("sendVideo") if uploaded(c)]

    telegram.press_button(
        ALICE,
        next(d for d in buttons if d.startswith("dl:f:audio:")),
        message_id=refusal["payload"]["message_id"],
    )
    audio = telegram.wait_for_call("sendAudio", to(ALICE), timeout=WAIT)
    assert audio["ok"]


def test_redis_losing_the_cache_copy_still_answers_from_postgresql(bot, telegram):
    telegram.push_private_message(ALICE, INSTAGRAM)
    first = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT)
    get_redis().delete("media:instagram:C0ffeeReel1:best")
    telegram.push_private_message(BORIS, INSTAGRAM)
    second = telegram.wait_for_call("sendVideo", to(BORIS), timeout=WAIT)
    assert second["payload"]["video"] == first["result"]["video"]["file_id"]


def test_a_second_link_waits_for_the_first_and_says_so(bot, telegram):
    telegram.push_private_message(ALICE, f"{INSTAGRAM} and {TIKTOK}")
    first = telegram.wait_for_call("sendMessage", to(ALICE), timeout=WAIT)
    second = telegram.wait_for_call("sendMessage", to(ALICE), timeout=WAIT)
    assert "In the queue" in first["payload"]["text"]
    assert "previous video comes first" in second["payload"]["text"]
    videos = [telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT) for _ in range(2)]
    assert [v["payload"]["caption"].count("C0ffeeReel1") for v in videos] == [1, 0]
    assert all(v["ok"] for v in videos)


def test_a_slow_download_shows_progress_with_percent_and_speed(bot, telegram):
    user_with_default_quality(CARMEN, "480p")
    telegram.push_private_message(CARMEN, "https://www.youtube.com/watch?v=slowThrottl")
    progress = telegram.wait_for_call(
        "editMessageText",
        lambda c: c["payload"].get("chat_id") == CARMEN and "Downloading" in c["payload"]["text"],
        timeout=WAIT,
    )
    assert "%" in progress["payload"]["text"] and "/s" in progress["payload"]["text"]
    video = telegram.wait_for_call("sendVideo", to(CARMEN), timeout=180)
    assert video["ok"]
    # Edits of the progress message are at least 3 seconds apart.
    edits = [
        c["time"]
        for c in telegram.calls("editMessageText")
        if c["payload"].get("chat_id") == CARMEN and "Downloading" in c["payload"]["text"]
    ]
    assert all(later - earlier >= 2.9 for earlier, later in itertools.pairwise(edits))
