"""Fixtures for the media tests: the local video site, reached through origin overrides.

``video_site`` itself is shared by the whole suite (``tests/conftest.py``).
"""

from __future__ import annotations

import pytest


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
