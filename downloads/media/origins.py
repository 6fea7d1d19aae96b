"""Origin overrides: send canonical platform URLs to the local video site.

``settings.MEDIA_ORIGIN_OVERRIDES`` maps a real origin (``https://www.youtube.com``) to
a local one (``http://127.0.0.1:8765``). Only scheme and host change; path and query
stay, which is why the local site mirrors the real URL shapes. Production refuses a
non-empty map (``config/settings/production.py``), so there this is the identity.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _overrides() -> dict[str, str]:
    return {
        _origin(real): local.rstrip("/")
        for real, local in (settings.MEDIA_ORIGIN_OVERRIDES or {}).items()
    }


def is_overridden(url: str) -> bool:
    """Whether ``url`` would be fetched from a local stand-in instead of the real site."""
    return _origin(url) in _overrides()


def override_url(url: str) -> str:
    """``url`` with its origin replaced by its override, or unchanged when there is none."""
    local = _overrides().get(_origin(url))
    if local is None:
        return url
    parts = urlsplit(url)
    rest = parts.path or "/"
    if parts.query:
        rest += f"?{parts.query}"
    return local + rest
