"""yt-dlp from a server: cookies per platform, an outbound proxy, bot-check alerts."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yt_dlp
from django.contrib.auth import get_user_model
from django.core import checks
from django.urls import reverse

from config import platform_alerts, ytdlp
from config.logging import redact
from downloads import flow, netsafety
from downloads.media import downloader
from downloads.media.errors import DownloadError, ErrorCategory
from downloads.netsafety import GuardBlockedRequest, UnsafeReason

SESSION = "SIDvalue-0123456789abcdef"  # what must never show up in a log


@dataclass
class Recorder:
    """An HTTP server on 127.0.0.1 that records each request's target and headers."""

    port: int = 0
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    body: bytes = b"<html><title>t</title></html>"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    state = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen.append((self.path, dict(self.headers)))
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def cookies_file(tmp_path: Path, *lines: str, name: str = "youtube.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(["# Netscape HTTP Cookie File", *lines]) + "\n")
    path.chmod(0o400)  # the operator's file, read-only
    return path


def entry(domain: str, name: str, value: str, expires: str = "2147483647") -> str:
    return "\t".join([domain, "FALSE", "/", "FALSE", expires, name, value])


def ydl_for(url: str) -> Iterator[yt_dlp.YoutubeDL]:
    return downloader._youtube_dl(url, deadline=downloader._Deadline(30))


# --- cookies -----------------------------------------------------------------------


def test_a_platforms_cookies_go_with_its_requests_and_the_file_stays_untouched(
    settings, recorder: Recorder, tmp_path: Path, caplog, capfd
) -> None:
    settings.MEDIA_ORIGIN_OVERRIDES = {"https://www.youtube.com": recorder.origin}
    path = cookies_file(tmp_path, entry("127.0.0.1", "SID", SESSION), "not\ta\tcookie")
    settings.YTDLP_COOKIES_FILES = {"youtube": str(path)}
    before = (path.read_bytes(), path.stat().st_mtime_ns)

    with caplog.at_level(logging.DEBUG), ydl_for("https://www.youtube.com/watch?v=x") as ydl:
        ydl.urlopen(f"{recorder.origin}/watch?v=x").read()

    [(_, headers)] = recorder.seen
    assert headers.get("Cookie") == f"SID={SESSION}"
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before  # never written back
    assert "malformed lines skipped: 3" in caplog.text  # the bad line, by number only
    assert SESSION not in caplog.text + "".join(capfd.readouterr())


def test_cookies_of_one_platform_never_go_to_another(
    settings, recorder: Recorder, tmp_path: Path
) -> None:
    settings.MEDIA_ORIGIN_OVERRIDES = {"https://www.tiktok.com": recorder.origin}
    path = cookies_file(tmp_path, entry("127.0.0.1", "SID", SESSION))
    settings.YTDLP_COOKIES_FILES = {"youtube": str(path)}

    with ydl_for("https://www.tiktok.com/@a/video/1") as ydl:
        ydl.urlopen(f"{recorder.origin}/@a/video/1").read()

    [(_, headers)] = recorder.seen
    assert "Cookie" not in headers


def test_unusable_cookies_files_stop_the_process_at_its_checks(settings, tmp_path: Path) -> None:
    exported_as_json = tmp_path / "cookies.json"
    exported_as_json.write_text(json.dumps([{"name": "SID", "value": SESSION}]))
    readable = cookies_file(tmp_path, entry(".instagram.com", "sessionid", SESSION), name="ig")
    readable.chmod(0o644)
    settings.YTDLP_COOKIES_FILES = {
        "youtube": str(exported_as_json),
        "instagram": str(readable),
        "tiktok": str(tmp_path / "missing.txt"),
    }

    problems = ytdlp.cookies_files_check()

    assert sorted((problem.id, problem.level) for problem in problems) == [
        ("videobot.E101", checks.ERROR),  # JSON, not Netscape
        ("videobot.E101", checks.ERROR),  # missing
        ("videobot.W103", checks.WARNING),  # readable by others
    ]
    assert all(SESSION not in problem.msg for problem in problems)


# --- the proxy ---------------------------------------------------------------------


@pytest.fixture
def stub_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    answers: dict[str, list[str]] = {}

    def resolve(host: str) -> list[str]:
        if host not in answers:
            raise OSError(f"stub resolver: unknown name {host}")
        return answers[host]

    monkeypatch.setattr(netsafety, "resolve_host", resolve)
    return answers


def test_yt_dlp_goes_through_the_configured_proxy_and_the_guard_still_applies(
    settings, recorder: Recorder, stub_dns: dict[str, list[str]]
) -> None:
    settings.YTDLP_PROXY = recorder.origin  # the recorder plays the proxy
    stub_dns["www.youtube.com"] = ["142.250.74.14"]
    stub_dns["rr1---sn-x.googlevideo.com"] = ["10.0.0.7"]

    with ydl_for("https://www.youtube.com/watch?v=x") as ydl:
        ydl.urlopen("http://www.youtube.com/watch?v=x").read()
        for refused in ("http://rr1---sn-x.googlevideo.com/v", "http://169.254.169.254/"):
            with pytest.raises(GuardBlockedRequest) as blocked:
                ydl.urlopen(refused)
            assert blocked.value.unsafe.reason in (
                UnsafeReason.PRIVATE_ADDRESS,
                UnsafeReason.HOST_NOT_ALLOWED,
            )

    # The proxy was asked for the platform page only, as a proxy is (absolute URL).
    assert [target for target, _ in recorder.seen] == ["http://www.youtube.com/watch?v=x"]


def test_a_proxy_password_never_reaches_a_log_line() -> None:
    line = "yt-dlp: Unable to connect to proxy http://bot:Pr0xyPassw0rd@10.1.1.1:3128/"
    assert "Pr0xyPassw0rd" not in redact(line)


# --- bot checks --------------------------------------------------------------------

BOT_CHECK = (
    "ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm you\u2019re not a bot. Use"
    " --cookies-from-browser or --cookies for the authentication."
)


def refuse_with_a_bot_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def extract(ydl, url):
        raise yt_dlp.utils.DownloadError(BOT_CHECK)

    monkeypatch.setattr(downloader, "_extract", extract)


@pytest.mark.django_db
def test_a_platform_demanding_sign_in_raises_an_alert_in_the_admin_and_healthz(
    settings, monkeypatch: pytest.MonkeyPatch, client, caplog
) -> None:
    settings.SIGNIN_ALERT_THRESHOLD = 3
    refuse_with_a_bot_check(monkeypatch)
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))

    for attempt in range(3):
        with pytest.raises(DownloadError) as failed:
            downloader.probe("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
        assert failed.value.category is ErrorCategory.BOT_CHECK
        shown = client.get(reverse("admin:index")).content
        assert (b"Youtube demands a sign-in from this server" in shown) is (attempt == 2)

    assert [d.platform for d in platform_alerts.signin_demands()] == ["youtube"]
    assert client.get("/healthz").json()["sign_in_demanded"] == ["youtube"]
    assert "youtube demands sign-in (bot check)" in caplog.text
    with pytest.raises(DownloadError):  # TikTok is fine
        monkeypatch.setattr(downloader, "_extract", lambda ydl, url: 1 / 0)
        downloader.probe("https://www.tiktok.com/@a/video/7106594312292453675")
    assert [d.platform for d in platform_alerts.signin_demands()] == ["youtube"]


@pytest.mark.parametrize("language", ["en", "ru", "uk", "es"])
def test_the_user_is_told_the_site_wants_the_server_to_sign_in(language: str) -> None:
    text = flow.error_text(language, ErrorCategory.BOT_CHECK)
    assert text != flow.error_text(language, ErrorCategory.INTERNAL)
    assert text != flow.error_text(language, ErrorCategory.RATE_LIMITED)
    assert text != flow.error_text(language, ErrorCategory.SIGN_IN_REQUIRED)
    if language != "en":
        assert "sign in" not in text  # translated, not the English source


@pytest.mark.django_db
def test_the_yt_dlp_version_is_on_healthz_and_in_the_admin(client) -> None:
    assert client.get("/healthz").json()["yt_dlp"] == yt_dlp.version.__version__
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    page = client.get(reverse("admin:index")).content.decode()
    assert f"yt-dlp {yt_dlp.version.__version__}" in page


def test_the_readme_explains_keeping_yt_dlp_working() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Keeping yt-dlp working", 1)[1].split("\n## ", 1)[0]
    for needed in ("pip install", "YOUTUBE_COOKIES_FILE", "Netscape", "YTDLP_PROXY", "/healthz"):
        assert needed in section, needed
