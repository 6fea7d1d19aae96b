"""Classifying failures by the messages the real extractors and sites produce."""

from __future__ import annotations

import pytest

from downloads.media.errors import (
    DownloadError,
    ErrorCategory,
    classify_exception,
    classify_message,
)


@pytest.mark.parametrize(
    ("message", "category"),
    [
        (
            "ERROR: [youtube] abc: Private video. Sign in if you've been granted access",
            ErrorCategory.PRIVATE,
        ),
        (
            "ERROR: [youtube] abc: Sign in to confirm your age. This video may be "
            "inappropriate for some users.",
            ErrorCategory.SIGN_IN_REQUIRED,
        ),
        (
            "ERROR: [youtube] abc: Sign in to confirm you\u2019re not a bot.",
            ErrorCategory.BOT_CHECK,
        ),
        (
            "ERROR: [youtube] abc: Sign in to confirm you're not a bot. Use --cookies-from-browser"
            " or --cookies for the authentication.",
            ErrorCategory.BOT_CHECK,
        ),
        (
            "ERROR: [youtube] abc: Video unavailable. This video has been removed by the uploader",
            ErrorCategory.REMOVED,
        ),
        (
            "ERROR: [youtube] abc: The uploader has not made this video available in your country",
            ErrorCategory.REGION_BLOCKED,
        ),
        ("ERROR: [youtube] abc: This live event will begin in 3 hours.", ErrorCategory.LIVE_STREAM),
        (
            "ERROR: [instagram] C0: Requested content is not available, rate-limit reached or "
            "login required",
            ErrorCategory.BOT_CHECK,
        ),
        (
            "ERROR: [TikTok] 73: This post may not be comfortable for some audiences. "
            "Log in for access.",
            ErrorCategory.SIGN_IN_REQUIRED,
        ),
        ("ERROR: Unsupported URL: https://example.com/", ErrorCategory.UNSUPPORTED),
        (
            "ERROR: [generic] x: Unable to download webpage: HTTP Error 429: Too Many Requests",
            ErrorCategory.RATE_LIMITED,
        ),
        ("ERROR: unable to download video data: <urlopen error timed out>", ErrorCategory.TIMEOUT),
    ],
)
def test_it_classifies_real_extractor_messages(message, category):
    assert classify_message(message) == category


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (401, ErrorCategory.SIGN_IN_REQUIRED),
        (403, ErrorCategory.PRIVATE),
        (404, ErrorCategory.REMOVED),
        (410, ErrorCategory.REMOVED),
        (429, ErrorCategory.RATE_LIMITED),
        (451, ErrorCategory.REGION_BLOCKED),
        (500, ErrorCategory.INTERNAL),
    ],
)
def test_a_bare_http_status_decides_when_the_message_does_not(status, category):
    exc = RuntimeError(f"Unable to download webpage: HTTP Error {status}: Whatever")

    assert classify_exception(exc) == category


def test_it_looks_through_the_cause_chain():
    try:
        try:
            raise TimeoutError("read")
        except TimeoutError as inner:
            raise RuntimeError("download failed") from inner
    except RuntimeError as outer:
        assert classify_exception(outer) == ErrorCategory.TIMEOUT


def test_download_error_keeps_its_category():
    error = DownloadError(ErrorCategory.TOO_LARGE, "70 MB")

    assert classify_exception(error) == ErrorCategory.TOO_LARGE
    assert str(error) == "too_large: 70 MB"
