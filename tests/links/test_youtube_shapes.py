"""YouTube link shapes that used to be misread: a channel's live-stream embed, YouTube
Kids and the pop-up player."""

from __future__ import annotations

import pytest
from django.utils import translation

from downloads import flow, texts
from downloads.links import MediaLink, RefusalReason, RefusedLink, extract_links, parse_link
from users.models import BotUser

YT = "youtube:dQw4w9WgXcQ"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtubekids.com/watch?v=dQw4w9WgXcQ",
        "https://youtubekids.com/watch?v=dQw4w9WgXcQ&hl=en",
        "https://www.youtube.com/watch_popup?v=dQw4w9WgXcQ",
        "https://m.youtube.com/watch_popup?v=dQw4w9WgXcQ&t=5",
    ],
)
def test_it_reads_youtube_kids_and_pop_up_links_as_ordinary_videos(url):
    match = parse_link(url)
    assert isinstance(match, MediaLink)
    assert match.media_key == YT
    assert match.canonical_url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def test_it_finds_a_youtube_kids_link_written_without_scheme():
    assert [m.media_key for m in extract_links("look youtubekids.com/watch?v=dQw4w9WgXcQ")] == [YT]


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/embed/live_stream?channel=UCSJ4gkVC6NrvII8umztf0Ow",
        "https://youtube.com/embed/live_stream?channel=UC4R8DWoMoI7CAwX8_LjQHig&autoplay=1",
        "https://www.youtube-nocookie.com/embed/live_stream?channel=UCSJ4gkVC6NrvII8umztf0Ow",
    ],
)
def test_a_channels_live_stream_embed_is_refused_as_a_live_stream(url):
    match = parse_link(url)
    assert isinstance(match, RefusedLink)
    assert match.reason is RefusalReason.LIVE_STREAM


def test_a_video_embed_still_works():
    assert parse_link("https://www.youtube.com/embed/dQw4w9WgXcQ").media_key == YT


@pytest.mark.parametrize("language", ["en", "ru", "uk", "es"])
def test_the_live_stream_refusal_is_explained_in_the_users_language(language):
    refusal = parse_link("https://www.youtube.com/embed/live_stream?channel=UC123")
    answer = flow.refusal_text(BotUser(user_id=1, language=language), refusal)
    with translation.override(language):
        assert answer == str(texts.ERROR_LIVE_CHANNEL)
    if language != "en":
        assert answer != str(texts.ERROR_LIVE_CHANNEL)  # translated
