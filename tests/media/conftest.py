"""Fixtures for the media tests: the local video site, reached through origin overrides.

Other test packages can build the same from the plain functions
``botapp.sandbox.clips.ensure_clips`` and ``botapp.sandbox.videosite.VideoSite``.
"""

from __future__ import annotations

import pytest

from botapp.sandbox.videosite import VideoSite


@pytest.fixture(scope="session")
def video_site():
    """The local video site, clips made once (cached in var/clips between runs)."""
    site = VideoSite().start()
    yield site
    site.stop()


@pytest.fixture
def download_dir(tmp_path):
    """Where the downloader makes its temporary directories during one test."""
    return tmp_path / "downloads"


@pytest.fixture
def media_site(video_site, settings, download_dir):
    """Canonical YouTube/Instagram/TikTok URLs now lead to the local video site."""
    settings.MEDIA_ORIGIN_OVERRIDES = video_site.origin_overrides()
    settings.DOWNLOAD_TMP_DIR = str(download_dir)
    return video_site
