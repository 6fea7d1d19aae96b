from __future__ import annotations

import pytest

from downloads.media.origins import is_overridden, override_url

LOCAL = "http://127.0.0.1:8765"


@pytest.fixture
def overrides(settings):
    settings.MEDIA_ORIGIN_OVERRIDES = {
        "https://www.youtube.com": LOCAL,
        "https://youtu.be": LOCAL + "/",
        "https://www.instagram.com": LOCAL,
        "https://www.tiktok.com": LOCAL,
    }


@pytest.mark.parametrize(
    ("canonical", "local"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", f"{LOCAL}/watch?v=dQw4w9WgXcQ"),
        ("https://youtu.be/dQw4w9WgXcQ", f"{LOCAL}/dQw4w9WgXcQ"),
        ("https://www.instagram.com/reel/C0ffeeReel1/", f"{LOCAL}/reel/C0ffeeReel1/"),
        (
            "https://www.tiktok.com/@sandbox.user/video/7300000000000000001",
            f"{LOCAL}/@sandbox.user/video/7300000000000000001",
        ),
        ("HTTPS://WWW.YOUTUBE.COM/watch?v=x", f"{LOCAL}/watch?v=x"),
    ],
)
def test_it_swaps_only_scheme_and_host(overrides, canonical, local):
    assert override_url(canonical) == local
    assert is_overridden(canonical)


@pytest.mark.parametrize(
    "url",
    [
        "https://m.youtube.com/watch?v=dQw4w9WgXcQ",
        "http://www.youtube.com/watch?v=dQw4w9WgXcQ",  # another scheme is another origin
        "https://www.youtube.com.evil.example/watch?v=x",
        "https://vimeo.com/1",
    ],
)
def test_it_leaves_other_origins_alone(overrides, url):
    assert override_url(url) == url
    assert not is_overridden(url)


def test_without_overrides_every_url_is_unchanged(settings):
    settings.MEDIA_ORIGIN_OVERRIDES = {}
    url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"

    assert override_url(url) == url
    assert not is_overridden(url)
