"""Operator options for yt-dlp: a cookies file per platform, an outbound proxy, the version.

Sites increasingly answer a server's address with "sign in to confirm you're not a
bot". Two ways around it are configured here, both by the operator, never by a user:

- ``YOUTUBE_COOKIES_FILE`` / ``INSTAGRAM_COOKIES_FILE`` / ``TIKTOK_COOKIES_FILE``: a
  cookies file in the Netscape format (what browser "cookies.txt" exporters write) of a
  signed-in account, used only for that platform's links. It is opened read-only and
  parsed here, not by yt-dlp: yt-dlp writes its cookies file back when it closes and
  prints a malformed line, value included, to stderr. Nothing of a cookie is logged.
- ``YTDLP_PROXY``: where yt-dlp sends its requests (http://, https:// or socks5://,
  credentials allowed). The network guard still vets every URL the proxy is asked for
  and every redirect; only the connect-time address pinning is the proxy's business.
"""

from __future__ import annotations

import http.cookiejar
import logging
from dataclasses import dataclass
from pathlib import Path

import yt_dlp.version
from django.conf import settings
from django.core import checks

log = logging.getLogger(__name__)

_HEADERS = ("# Netscape HTTP Cookie File", "# HTTP Cookie File")
_HTTPONLY_PREFIX = "#HttpOnly_"


class CookiesFileError(Exception):
    """A configured cookies file that cannot be used; the message holds no cookie."""


@dataclass(frozen=True)
class CookiesFile:
    cookies: tuple[http.cookiejar.Cookie, ...]
    skipped_lines: tuple[int, ...]  # line numbers of malformed entries


def ytdlp_version() -> str:
    return yt_dlp.version.__version__


def proxy_url() -> str:
    return settings.YTDLP_PROXY


def cookies_path(platform: str) -> Path | None:
    configured = settings.YTDLP_COOKIES_FILES.get(platform) or ""
    return Path(configured) if configured else None


def cookies_file_read(path: Path) -> CookiesFile:
    """Parse a Netscape cookies file, opened read-only; raise ``CookiesFileError``."""
    try:
        with open(path, encoding="utf-8") as file:  # mode "r": never written
            lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CookiesFileError(f"{path}: cannot be read ({type(error).__name__})") from None
    first = next((line for line in lines if line.strip()), "")
    if not first.startswith(_HEADERS):
        raise CookiesFileError(
            f"{path}: not a Netscape cookies file (its first line must be"
            f" '{_HEADERS[0]}'; JSON exports are not accepted)"
        )
    cookies, skipped = [], []
    for number, line in enumerate(lines, start=1):
        if line.startswith(_HTTPONLY_PREFIX):
            line = line[len(_HTTPONLY_PREFIX) :]
        elif line.startswith("#") or not line.strip():
            continue
        cookie = _cookie(line)
        if cookie is None:
            skipped.append(number)
        else:
            cookies.append(cookie)
    return CookiesFile(tuple(cookies), tuple(skipped))


def cookies_load(jar: http.cookiejar.CookieJar, platform: str) -> int:
    """Put the platform's configured cookies into ``jar``; returns how many."""
    path = cookies_path(platform)
    if path is None:
        return 0
    loaded = cookies_file_read(path)
    if loaded.skipped_lines:
        # Line numbers only: a malformed line may still hold a session value.
        log.warning(
            "cookies file for %s: malformed lines skipped: %s",
            platform,
            ", ".join(map(str, loaded.skipped_lines[:20])),
        )
    for cookie in loaded.cookies:
        jar.set_cookie(cookie)
    return len(loaded.cookies)


def _cookie(line: str) -> http.cookiejar.Cookie | None:
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) != 7:
        return None
    domain, subdomains, path, secure, expires, name, value = fields
    if not domain or subdomains.upper() not in ("TRUE", "FALSE"):
        return None
    if expires and not expires.isdigit():
        return None
    return http.cookiejar.Cookie(
        version=0,
        name=name,
        value=value,
        port=None,
        port_specified=False,
        domain=domain,
        domain_specified=subdomains.upper() == "TRUE",
        domain_initial_dot=domain.startswith("."),
        path=path or "/",
        path_specified=bool(path),
        secure=secure.upper() == "TRUE",
        expires=int(expires) if expires and int(expires) else None,  # 0: a session cookie
        discard=not (expires and int(expires)),
        comment=None,
        comment_url=None,
        rest={},
    )


@checks.register(checks.Tags.compatibility)
def cookies_files_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every configured cookies file is readable and in the Netscape format."""
    problems: list[checks.CheckMessage] = []
    for platform in settings.YTDLP_COOKIES_FILES:
        path = cookies_path(platform)
        if path is None:
            continue
        try:
            loaded = cookies_file_read(path)
        except CookiesFileError as error:
            problems.append(checks.Error(str(error), id="videobot.E101"))
            continue
        if not loaded.cookies:
            problems.append(checks.Warning(f"{path}: no cookies in it", id="videobot.W102"))
        if path.stat().st_mode & 0o077:
            problems.append(
                checks.Warning(
                    f"{path}: readable by other users; it holds a signed-in session",
                    hint=f"chmod 600 {path}",
                    id="videobot.W103",
                )
            )
    return problems
