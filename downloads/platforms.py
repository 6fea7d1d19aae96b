"""The platform registry: the one place that knows, per platform, the hosts its links
are written with, the domains its pages and media live on, its canonical video URL,
its two-letter code in deep links, its thumbnail hosts and which format it is fetched in.

Adding a platform is one ``PlatformSpec`` here (plus its link parser in ``links.py``
and its value in ``analytics.vocabulary.Platform``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analytics.vocabulary import Format, Platform

__all__ = ["Format", "Platform"]  # re-exported: the words a spec is written in


VIDEO_QUALITIES: tuple[str, ...] = (Format.P360, Format.P480, Format.P720, Format.P1080)
AUDIO = Format.AUDIO
AUDIO_MP3 = Format.AUDIO_MP3
BEST = Format.BEST
# YouTube quality where nobody can be asked (groups, inline mode, deep links).
UNASKED_QUALITY = Format.P720


@dataclass(frozen=True)
class PlatformSpec:
    platform: str
    code: str  # in deep links and callback data: "yt_<id>"
    link_hosts: frozenset[str]  # the hosts links to its videos are written with
    # Domains (and all their subdomains) its pages, APIs and CDNs live on, as yt-dlp's
    # extractors use them: the network guard lets a fetch reach these and nothing else.
    fetch_domains: tuple[str, ...]
    thumbnail_hosts: tuple[str, ...]  # image hosts an inline result may name
    canonical_url: Callable[[str], str]  # video id -> the URL fetched and shown
    offers_qualities: bool  # YouTube: the user picks a quality; others: the best that fits
    # Domains of canonical URLs; yt-dlp may use only this platform's own extractor
    # (named like the platform) for them.
    page_domains: tuple[str, ...]


PLATFORMS: dict[str, PlatformSpec] = {
    spec.platform: spec
    for spec in (
        PlatformSpec(
            platform=Platform.YOUTUBE,
            code="yt",
            link_hosts=frozenset(
                {
                    "youtube.com",
                    "www.youtube.com",
                    "m.youtube.com",
                    "music.youtube.com",
                    "youtubekids.com",
                    "www.youtubekids.com",
                    "youtu.be",
                    "www.youtu.be",
                    "youtube-nocookie.com",
                    "www.youtube-nocookie.com",
                }
            ),
            fetch_domains=(
                "youtube.com",
                "youtu.be",
                "youtube-nocookie.com",
                "googlevideo.com",  # the media itself (rr*.googlevideo.com, manifest.*)
                "ytimg.com",  # thumbnails, storyboards
                "ggpht.com",  # channel avatars
            ),
            thumbnail_hosts=("ytimg.com", "youtube.com"),
            canonical_url=lambda video_id: f"https://www.youtube.com/watch?v={video_id}",
            offers_qualities=True,
            page_domains=("youtube.com", "youtu.be"),
        ),
        PlatformSpec(
            platform=Platform.INSTAGRAM,
            code="ig",
            link_hosts=frozenset(
                {"instagram.com", "www.instagram.com", "m.instagram.com", "instagr.am"}
            )
            | {"www.instagr.am"},
            fetch_domains=("instagram.com", "instagr.am", "cdninstagram.com", "fbcdn.net"),
            thumbnail_hosts=("cdninstagram.com", "fbcdn.net"),
            canonical_url=lambda video_id: f"https://www.instagram.com/reel/{video_id}/",
            offers_qualities=False,
            page_domains=("instagram.com",),
        ),
        PlatformSpec(
            platform=Platform.TIKTOK,
            code="tt",
            link_hosts=frozenset(
                {
                    "tiktok.com",
                    "www.tiktok.com",
                    "m.tiktok.com",
                    "vm.tiktok.com",
                    "vt.tiktok.com",
                    "www.tiktokv.com",
                }
            ),
            fetch_domains=(
                "tiktok.com",
                "tiktokv.com",  # the mobile API (api16-normal-*.tiktokv.com)
                "tiktokv.us",
                "tiktokv.eu",
                "tiktokcdn.com",
                "tiktokcdn-us.com",
                "tiktokcdn-eu.com",
                "byteoversea.com",
                "ibytedtos.com",
                "ibyteimg.com",
                "muscdn.com",
            ),
            thumbnail_hosts=("tiktokcdn.com", "tiktokcdn-us.com", "ibyteimg.com", "byteimg.com"),
            # "@_" when the user is unknown: what yt-dlp itself builds.
            canonical_url=lambda video_id: f"https://www.tiktok.com/@_/video/{video_id}",
            offers_qualities=False,
            page_domains=("tiktok.com",),
        ),
    )
}
PLATFORMS_BY_CODE: dict[str, PlatformSpec] = {spec.code: spec for spec in PLATFORMS.values()}


def platform_spec(platform: str) -> PlatformSpec | None:
    return PLATFORMS.get(platform)


def platform_of_media_key(media_key: str) -> str:
    """``youtube:dQw4w9WgXcQ`` -> ``youtube``."""
    return media_key.partition(":")[0]
