"""The ids of inline results: a cached one names the format its query looked up."""

from __future__ import annotations

from downloads import inline
from downloads.cache import CachedFile


def test_a_cached_result_names_its_format_and_an_older_or_other_one_does_not():
    item = CachedFile(
        media_key="youtube:dQw4w9WgXcQ",
        format="1080p",
        file_id="BAAC-file",
        file_unique_id="AgAD7x",
    )
    result = inline.cached_result(item, "en", "https://youtu.be/dQw4w9WgXcQ", "Never", "Bot")
    assert result.id == "c:1080p:AgAD7x"
    assert inline.cached_result_format(result.id) == "1080p"
    assert inline.cached_result_format("c:AgAD7x") is None  # served before the format was in it
    assert inline.cached_result_format("dl:yt_dQw4w9WgXcQ:720p") is None
    assert inline.cached_result_format("help") is None
