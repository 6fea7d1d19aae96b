"""The one error the downloader raises, and how yt-dlp's failures map onto it.

yt-dlp reports most failures as text ("ERROR: [youtube] abc: Private video. Sign in
if ...") with the original exception, often an ``HTTPError``, as the cause. The
patterns below are the messages the real YouTube, Instagram and TikTok extractors
use, plus the HTTP status codes any site (the local one included) answers with.
"""

from __future__ import annotations

import re
import socket

from analytics.vocabulary import ErrorCategory

__all__ = ["DownloadError", "ErrorCategory", "classify_exception", "classify_message"]


class DownloadError(Exception):
    """A download or probe failed; ``category`` says why in terms a user understands."""

    def __init__(self, category: ErrorCategory, detail: str = "") -> None:
        self.category = ErrorCategory(category)
        self.detail = detail
        super().__init__(f"{self.category}: {detail}" if detail else str(self.category))


# Checked in order: the first category whose pattern matches the message wins, and
# only then the HTTP status. "Sign in to confirm you're not a bot" (YouTube) and
# "rate-limit reached or login required" (Instagram) are the platform refusing our
# address until it signs in, not a login the user could do, so bot checks come first;
# "Private video. Sign in if you've been granted access" is private before sign-in.
_MESSAGE_PATTERNS: tuple[tuple[ErrorCategory, str], ...] = (
    (
        ErrorCategory.BOT_CHECK,
        r"not a bot|rate-limit reached or login required|login_required|checkpoint_required|"
        r"challenge_required",
    ),
    (
        ErrorCategory.RATE_LIMITED,
        r"Too Many Requests|rate[- ]limit|temporarily blocked|"
        r"try again later|Please wait a few minutes",
    ),
    (
        ErrorCategory.REGION_BLOCKED,
        r"in your country|geo[- ]?restrict|not available in your region|"
        r"available in your location",
    ),
    (
        ErrorCategory.LIVE_STREAM,
        r"This live event|live stream|livestream|Premieres in|is_live|currently live",
    ),
    (
        ErrorCategory.PRIVATE,
        r"Private video|video is private|account is private|private account",
    ),
    (
        ErrorCategory.SIGN_IN_REQUIRED,
        r"confirm your age|age[- ]restrict|inappropriate for some users|Sign in|"
        r"log ?in (?:required|for access)|requires? (?:a )?login|/accounts/login|use --cookies|"
        r"authentication|members[- ]only|Join this channel",
    ),
    (
        ErrorCategory.REMOVED,
        r"Video unavailable|Video not available|This video is unavailable|has been removed|"
        r"no longer available|does not exist|been terminated|content isn't available|"
        r"Post isn't available",
    ),
    (
        ErrorCategory.TIMEOUT,
        r"timed out",
    ),
    (
        ErrorCategory.UNSUPPORTED,
        r"Unsupported URL|No suitable extractor|No video formats found|"
        r"Requested format is not available|There is no video",
    ),
)
_COMPILED = tuple((category, re.compile(pattern, re.I)) for category, pattern in _MESSAGE_PATTERNS)
_STATUS_CATEGORIES = {
    401: ErrorCategory.SIGN_IN_REQUIRED,
    403: ErrorCategory.PRIVATE,
    404: ErrorCategory.REMOVED,
    410: ErrorCategory.REMOVED,
    429: ErrorCategory.RATE_LIMITED,
    451: ErrorCategory.REGION_BLOCKED,
}


def classify_message(message: str, *, status: int | None = None) -> ErrorCategory:
    """The category of a failure described by yt-dlp's message and an HTTP status."""
    for category, pattern in _COMPILED:
        if pattern.search(message):
            return category
    if status in _STATUS_CATEGORIES:
        return _STATUS_CATEGORIES[status]
    return ErrorCategory.INTERNAL


def classify_exception(exc: BaseException) -> ErrorCategory:
    """The category of any exception yt-dlp raised, looking through its causes."""
    if isinstance(exc, DownloadError):
        return exc.category
    chain = list(exception_chain(exc))
    if any(isinstance(e, TimeoutError | socket.timeout) for e in chain):
        return ErrorCategory.TIMEOUT
    if any(type(e).__name__ == "GeoRestrictedError" for e in chain):
        return ErrorCategory.REGION_BLOCKED
    message = " | ".join(str(e) for e in chain)
    status = next((s for e in chain if isinstance(s := getattr(e, "status", None), int)), None)
    if status is None and (found := re.search(r"HTTP Error (\d{3})", message)):
        status = int(found[1])
    return classify_message(message, status=status)


def exception_chain(exc: BaseException):
    """The exception, then what caused it: yt-dlp's exc_info and cause, Python's chain."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        yield current
        exc_info = getattr(current, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) > 1:
            pending.append(exc_info[1])
        pending += [getattr(current, "cause", None), current.__cause__, current.__context__]
