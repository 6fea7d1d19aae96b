"""The README's GIFs, recorded from the sandbox (``python manage.py record_demo``).

A person is played by playwright in headless Chromium (Debian's, no browser download):
the real bot runs behind the offline Telegram and the local video site, exactly as
``python manage.py sandbox`` runs it. A camera takes screenshots at a steady rate while
the person acts and waits, and ffmpeg turns them into an optimised GIF (a palette made
for that clip, light dithering, only the changed rectangle of each frame); when a GIF
comes out larger than the limit it is made again with fewer frames, a narrower picture
and fewer colours. The dashboard scene also serves the project's web side in a thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management import call_command
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import connections
from django.test import Client, override_settings
from playwright.sync_api import sync_playwright

from ads.services import demo_campaign_seed
from analytics.models import Download
from botapp.runner import BackgroundBot
from config import queues
from downloads.cache import cached_file_drop, cached_formats
from sandbox.management.commands.sandbox import start_sandbox
from sandbox.telegram_api import SEED_GROUP_ID

log = logging.getLogger(__name__)
T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
VIEWPORT = {"width": 1040, "height": 660}
MAX_GIF_BYTES = 2 * 1024 * 1024
DEFAULT_OUTPUT = Path(settings.BASE_DIR) / "docs" / "images"
WAIT_MS = 90_000  # a fresh download on a busy machine

# Each scene's people are new to the bot (a random id each time), so a scene looks the
# same however often the demos are recorded against the same database: no remembered
# quality, the whole free quota, no premium, never invited before.
NEWCOMER_IDS = range(7_000_000_000, 8_000_000_000)
YOUTUBE_SAMPLE = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
REEL_SAMPLE = "https://www.instagram.com/reel/C0ffeeReel1/"
TIKTOK_SAMPLE = "https://www.tiktok.com/@sandbox.user/video/7300000000000000001"
MEDIA_LINKS = ("youtube:dQw4w9WgXcQ",)
MEDIA_INLINE = ("tiktok:7300000000000000001",)
MEDIA_LINKS_OTHERS = ("instagram:C0ffeeReel1", "tiktok:7300000000000000001")

# A visible mouse pointer: headless Chromium draws none, and a viewer follows the
# pointer to see what the person does.
CURSOR_SCRIPT = """
addEventListener("DOMContentLoaded", () => {
  const c = document.createElement("div");
  c.id = "demo-cursor";
  c.style.cssText = "position:fixed;left:-40px;top:-40px;width:22px;height:22px;z-index:99999;" +
    "pointer-events:none;transition:transform .1s;transform-origin:0 0;background:no-repeat " +
    "url(\\"data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' " +
    "width='22' height='22'><path d='M2 2 L2 18 L7 13 L11 21 L14 20 L10 12 L17 12 Z' " +
    "fill='black' stroke='white' stroke-width='1.5'/></svg>\\")";
  document.body.append(c);
  addEventListener("mousemove", e => {
    c.style.left = e.clientX + "px"; c.style.top = e.clientY + "px";
  }, true);
  addEventListener("mousedown", () => c.style.transform = "scale(.8)", true);
  addEventListener("mouseup", () => c.style.transform = "", true);
});
"""


@dataclass(frozen=True)
class GifSettings:
    fps: int
    width: int
    colors: int


# Tried in order until the GIF fits under the limit.
GIF_LADDER = (
    GifSettings(fps=10, width=880, colors=128),
    GifSettings(fps=8, width=800, colors=96),
    GifSettings(fps=6, width=720, colors=64),
    GifSettings(fps=5, width=640, colors=48),
)
SHORT_GIF_LADDER = (GifSettings(fps=6, width=480, colors=48),)


class Camera:
    """Screenshots of the page at a steady rate while the person acts or waits.

    playwright's own video recording needs a browser-side ffmpeg it would download;
    screenshots need nothing more than Chromium. Each frame keeps the moment it was
    taken, so the GIF plays in real time however long a screenshot took."""

    def __init__(self, page, folder: Path, *, fps: float) -> None:
        self.page = page
        self.folder = folder
        self.interval = 1 / fps
        self.frames: list[tuple[float, Path]] = []
        self._last = 0.0
        folder.mkdir(parents=True, exist_ok=True)

    def shoot(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        path = self.folder / f"{len(self.frames):05d}.png"
        self.page.screenshot(path=str(path), animations="allow", caret="initial")
        self.frames.append((now, path))

    def idle(self, seconds: float) -> None:
        """Waits ``seconds``, shooting all along."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.shoot()
            self.page.wait_for_timeout(min(left, self.interval) * 1000)

    def until(self, locator, timeout: float = WAIT_MS / 1000) -> None:
        """Shoots until ``locator`` is visible (a reply, a video...)."""
        end = time.monotonic() + timeout
        while not locator.is_visible():
            if time.monotonic() > end:
                raise TimeoutError(f"{locator} did not show within {timeout:.0f} s")
            self.shoot()
            self.page.wait_for_timeout(self.interval * 500)
        self.shoot(force=True)

    def concat_list(self, path: Path) -> Path:
        """An ffmpeg concat list: each frame lasts until the next was taken."""
        lines = []
        for (taken, frame), (following, _next) in zip(self.frames, self.frames[1:], strict=False):
            lines += [f"file '{frame}'", f"duration {max(following - taken, 0.01):.3f}"]
        lines += [f"file '{self.frames[-1][1]}'", "duration 1.5", f"file '{self.frames[-1][1]}'"]
        path.write_text("\n".join(lines) + "\n")
        return path


@dataclass(frozen=True)
class Newcomer:
    user_id: int
    first_name: str


def newcomer_add(telegram, first_name: str) -> Newcomer:
    """A new user of the offline Telegram, also a member of the sandbox group."""
    user_id = NEWCOMER_IDS.start + secrets.randbelow(len(NEWCOMER_IDS))
    username = f"{first_name.lower()}_{user_id % 10_000}"
    telegram.add_user(user_id, first_name, username=username, language_code="en")
    with telegram.state.cond:
        telegram.state.chats[SEED_GROUP_ID].members.add(user_id)
        telegram.state.changed()
    return Newcomer(user_id, first_name)


class Person:
    """Moves the pointer, types and waits like someone trying the bot, with a camera
    rolling; ``pace`` < 1 hurries every pause. ``cast`` are the scene's people, the
    first one at the keyboard when the page opens."""

    def __init__(self, page, camera: Camera, *, cast: list[Newcomer], pace: float = 1.0) -> None:
        self.page = page
        self.camera = camera
        self.cast = cast
        self.pace = pace

    def become(self, newcomer: Newcomer) -> None:
        """Switches the page to another user (the "You are" list), their chat opens."""
        self.point_at(self.page.locator("#user-select"))
        self.page.select_option("#user-select", str(newcomer.user_id))
        self.pause(1.0)

    def pause(self, seconds: float) -> None:
        self.camera.idle(seconds * self.pace)

    def wait_for(self, locator, timeout: float = WAIT_MS / 1000) -> None:
        self.camera.until(locator, timeout)

    def point_at(self, locator) -> None:
        locator.scroll_into_view_if_needed()
        box = locator.bounding_box()
        if not box:
            return
        target = (box["x"] + min(box["width"] / 2, 40), box["y"] + box["height"] / 2)
        steps = max(2, int(8 * self.pace))
        for step in range(1, steps + 1):
            x = self._x + (target[0] - self._x) * step / steps
            y = self._y + (target[1] - self._y) * step / steps
            self.page.mouse.move(x, y)
            self.camera.shoot(force=True)
        self._x, self._y = target

    _x, _y = VIEWPORT["width"] / 2, VIEWPORT["height"] / 2

    def click(self, locator) -> None:
        self.point_at(locator)
        self.pause(0.25)
        locator.click()
        self.camera.shoot(force=True)

    def type(self, text: str) -> None:
        box = self.page.locator("#text")
        self.click(box)
        for char in text:
            box.press_sequentially(char)
            self.camera.idle(0.05 * self.pace)

    def paste_sample(self, url: str) -> None:
        """Clicks the sample link in the page's list: it lands in the message box."""
        self.click(self.page.locator(f".sample[data-url='{url}']"))
        self.pause(0.6)
        # Back to the top of the side column, where the chats are.
        self.page.evaluate("document.querySelector('aside').scrollTo({top: 0, behavior: 'smooth'})")

    def send(self) -> None:
        self.click(self.page.locator("#send"))

    def scroll(self, *, steps: int, by: int = 240) -> None:
        """Reads down a page, a wheel turn at a time."""
        for _step in range(steps):
            # The page itself, whatever is under the pointer (a table scrolls on its own).
            self.page.evaluate(f"window.scrollBy({{top: {by}, behavior: 'smooth'}})")
            self.pause(0.6)
        self.pause(0.6)

    def follow(self, link) -> None:
        """Clicks a link to another page of the web side and waits until it has drawn."""
        with self.page.expect_navigation():
            self.click(link)
        self.wait_for(self.page.locator("body[data-ready='1']"))

    def play_last_video(self, scope) -> None:
        video = scope.locator("video").last
        self.wait_for(video)
        self.point_at(video)
        # The page redraws its messages on every edit (a keyboard added, a progress
        # message deleted), and a redrawn <video> starts paused: press play again.
        for _attempt in range(4):
            video.evaluate("v => { v.muted = true; v.loop = true; v.play().catch(() => {}); }")
            self.camera.idle(0.6)
            if video.evaluate("v => !v.paused"):
                return


def open_chat(page) -> None:
    page.locator("body[data-ready='1']").wait_for()
    page.locator(".msg, #messages").first.wait_for()


def scene_links(person: Person) -> None:
    """A YouTube link: the quality buttons, the progress, the video; again: at once."""
    page = person.page
    person.pause(0.8)
    person.type("/start")
    person.send()
    person.wait_for(page.locator(".msg.bot", has_text="Send me a link"))
    person.pause(1.2)
    person.paste_sample(YOUTUBE_SAMPLE)
    person.send()
    quality = page.locator(".msg.bot .kb button", has_text="720p")
    person.wait_for(quality)
    person.pause(1.5)
    person.click(quality)
    person.wait_for(page.locator(".msg.bot video").first)
    person.play_last_video(page.locator(".msg.bot"))
    person.pause(3.5)
    person.paste_sample(YOUTUBE_SAMPLE)
    person.send()
    person.wait_for(page.locator(".msg.bot video").nth(1))
    person.play_last_video(page.locator(".msg.bot"))
    person.pause(3.0)


def scene_inline(person: Person) -> None:
    """Inline mode in the group: a placeholder that becomes the video."""
    page = person.page
    person.pause(0.6)
    person.click(page.locator(f".chat-item[data-chat-id='{SEED_GROUP_ID}']"))
    person.pause(1.0)
    person.type("@SandboxVideoBot ")
    person.paste_sample(TIKTOK_SAMPLE)
    result = page.locator(".inline-result[data-result-id]").first
    person.wait_for(result)
    person.pause(1.5)
    person.click(result)
    posted = page.locator(".msg.mine", has_text="via @SandboxVideoBot").last
    person.wait_for(posted)
    person.point_at(posted)
    person.wait_for(posted.locator("video"))
    person.pause(0.6)
    person.play_last_video(posted)
    person.pause(3.5)


def scene_premium(person: Person) -> None:
    """Past the free downloads (one in this scene) an ad follows the video; /premium,
    paid with Stars; the next video comes without one."""
    page = person.page
    videos = page.locator(".msg.bot video")
    person.pause(0.6)
    person.type("/start")
    person.send()
    person.wait_for(page.locator(".msg.bot", has_text="Send me a link"))
    person.paste_sample(REEL_SAMPLE)
    person.send()
    person.wait_for(videos.nth(0))
    person.pause(1.5)
    person.paste_sample(TIKTOK_SAMPLE)
    person.send()
    person.wait_for(videos.nth(1))
    ad = page.locator(".msg.bot", has_text="Ad ·").last
    person.wait_for(ad)
    person.point_at(ad)
    person.pause(2.5)
    person.type("/premium")
    person.send()
    pay = page.locator(".msg.bot .kb button.pay").last
    person.wait_for(pay)
    person.pause(2.0)
    person.click(pay)  # the page asks to confirm, as Telegram does: accepted
    person.wait_for(page.locator(".msg.bot", has_text="Premium is active until"))
    person.pause(2.0)
    person.paste_sample(REEL_SAMPLE)
    person.send()
    person.wait_for(videos.nth(2))
    person.play_last_video(page.locator(".msg.bot"))
    person.pause(3.5)  # and no ad follows


def scene_referral(person: Person) -> None:
    """/referral, the link shared in the group, a friend joining through it and
    downloading, the bonus for the one who invited them."""
    page = person.page
    ana, ben = person.cast
    person.pause(0.6)
    person.type("/start")
    person.send()
    person.wait_for(page.locator(".msg.bot", has_text="Send me a link"))
    person.type("/referral")
    person.send()
    link = page.locator(".msg.bot a[href*='?start=ref_']").last
    person.wait_for(link)
    person.point_at(link)
    person.pause(2.5)
    url = link.get_attribute("href")

    person.click(page.locator(f".chat-item[data-chat-id='{SEED_GROUP_ID}']"))
    person.pause(0.8)
    person.type("Try this bot: ")
    page.locator("#text").press_sequentially(url)  # pasted at once
    person.pause(0.5)
    person.send()
    person.wait_for(page.locator(".msg.mine", has_text=url))
    person.pause(1.2)

    person.become(ben)
    person.click(page.locator(f".chat-item[data-chat-id='{SEED_GROUP_ID}']"))
    shared = page.locator(f".msg a[href='{url}']").last
    person.wait_for(shared)
    person.pause(1.0)
    person.click(shared)  # opens Ben's chat with the bot: /start ref_...
    person.wait_for(page.locator(".msg.bot", has_text="Send me a link"))
    person.pause(1.5)
    person.paste_sample(REEL_SAMPLE)
    person.send()
    person.wait_for(page.locator(".msg.bot video").first)
    person.play_last_video(page.locator(".msg.bot"))
    person.pause(2.0)

    person.become(ana)
    bonus = page.locator(".msg.bot", has_text="whom you invited")
    try:
        person.wait_for(bonus, timeout=20)
    except TimeoutError:
        # The activation job could not be queued (the bot gives Redis 0.3 s on a busy
        # machine): Ben's next delivery asks again, as it would for a real user.
        person.become(ben)
        person.paste_sample(REEL_SAMPLE)
        person.send()
        person.wait_for(page.locator(".msg.bot video").nth(1))
        person.become(ana)
        person.wait_for(bonus)
    person.pause(2.0)
    person.type("/referral")
    person.send()
    person.wait_for(page.locator(".msg.bot", has_text="Friends invited: 1"))
    person.point_at(page.locator(".msg.bot", has_text="Friends invited: 1").last)
    person.pause(3.5)


OWNER_USERNAME = "demo-owner"
# A small, realistic history for the dashboard when the database has none (the seeder
# refuses any database whose name lacks "demo" or "bench").
DASHBOARD_SEED = {"users": 3000, "downloads": 20000, "days": 60}


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:
        return


def dashboard_data_ensure() -> None:
    if not Download.objects.exists():
        call_command("seed_analytics", **DASHBOARD_SEED)


def owner_session() -> str:
    """A session of a staff member allowed to view the dashboard (no password: the
    recorder logs them in directly)."""
    owner, created = get_user_model().objects.get_or_create(
        username=OWNER_USERNAME, defaults={"is_staff": True}
    )
    if created:
        owner.set_unusable_password()
        owner.save(update_fields=["password"])
    owner.user_permissions.add(
        Permission.objects.get(codename="view_dashboard", content_type__app_label="analytics")
    )
    client = Client()
    client.force_login(owner)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@contextlib.contextmanager
def back_office() -> Iterator[tuple[str, str]]:
    """The project's web side on a free port in a thread, with static files found where
    they live (no collectstatic), and an owner's session: yields (base URL, session)."""
    _outside_the_loop(dashboard_data_ensure)
    session = _outside_the_loop(owner_session)
    with override_settings(STORAGES=_PLAIN_STATIC_STORAGES):
        server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
        server.set_app(StaticFilesHandler(get_wsgi_application()))
        thread = threading.Thread(target=server.serve_forever, name="back-office", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}", session
        finally:
            server.shutdown()
            server.server_close()


_PLAIN_STATIC_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def scene_dashboard(person: Person) -> None:
    """The owner's dashboard: the overview's numbers and charts, then the other pages."""
    page = person.page
    with back_office() as (url, session):
        cookie = {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": url}
        page.context.add_cookies([cookie])
        page.goto(f"{url}/dashboard/")
        person.wait_for(page.locator("body[data-ready='1']"))
        person.pause(2.0)
        person.scroll(steps=6)
        for title in ("Videos and platforms", "Referrals"):
            person.follow(page.locator("nav a", has_text=title))
            person.pause(2.0)
            person.scroll(steps=3)
        person.follow(page.locator("nav a", has_text="Overview"))
        person.pause(1.0)
        person.follow(page.locator(".presets a", has_text="90 days"))
        person.pause(3.0)


@dataclass(frozen=True)
class Scene:
    name: str
    title: str
    play: Callable[[Person], None]
    media_keys: tuple[str, ...] = ()  # forgotten first, so the scene shows a real download
    cast: tuple[str, ...] = ("Ana",)  # first names of the scene's newcomers
    overrides: tuple[tuple[str, object], ...] = ()  # settings while the scene plays

    @property
    def filename(self) -> str:
        return f"demo-{self.name}.gif"


SCENES: dict[str, Scene] = {
    scene.name: scene
    for scene in (
        Scene("links", "A link, a quality, the video; again: at once", scene_links, MEDIA_LINKS),
        Scene("inline", "Inline mode in a group", scene_inline, MEDIA_INLINE),
        Scene(
            "premium",
            "The ad after the free downloads, /premium paid with Stars, no more ads",
            scene_premium,
            MEDIA_LINKS_OTHERS,
            overrides=(("FREE_DOWNLOADS", 1),),
        ),
        Scene(
            "referral",
            "/referral and a friend joining",
            scene_referral,
            MEDIA_LINKS_OTHERS[:1],
            cast=("Ana", "Ben"),
        ),
        Scene("dashboard", "The owner's dashboard", scene_dashboard),
    )
}


def demo_state_reset(scene: Scene) -> None:
    """The media a scene downloads is not cached yet, so the scene shows a download."""
    for media_key in scene.media_keys:
        for fmt, item in cached_formats(media_key=media_key).items():
            cached_file_drop(media_key=media_key, fmt=fmt, file_id=item.file_id)


def _outside_the_loop(function: Callable[[], T]) -> T:
    """Runs ORM work from a thread of its own: playwright's sync API keeps an event loop
    running in this thread, and Django refuses database calls from one."""
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(function())
        except BaseException as error:  # handed to the caller below
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def gif_make(frames: Path, gif: Path, *, ladder: tuple[GifSettings, ...]) -> int:
    """Encodes the frames of an ffmpeg concat list as a GIF under ``MAX_GIF_BYTES``;
    returns its size. Each rung resamples to a steady rate, makes its own palette
    (``stats_mode=diff`` favours what moves) and redraws only the changed rectangle
    of each frame."""
    for rung in ladder:
        chain = (
            f"fps={rung.fps},scale={rung.width}:-2:flags=lanczos,split[a][b];"
            f"[a]palettegen=max_colors={rung.colors}:stats_mode=diff[p];"
            "[b][p]paletteuse=dither=bayer:bayer_scale=4:diff_mode=rectangle"
        )
        command = [
            _tool("ffmpeg"), "-v", "error", "-y", "-f", "concat", "-safe", "0",
            "-i", str(frames), "-filter_complex", chain, "-loop", "0", str(gif),
        ]  # fmt: skip
        subprocess.run(command, check=True, timeout=600)  # noqa: S603 (our own arguments)
        size = gif.stat().st_size
        if size <= MAX_GIF_BYTES:
            return size
        log.info("%s: %d bytes at %s, trying smaller", gif.name, size, rung)
    gif.unlink()
    raise RuntimeError(f"{gif.name} stays above {MAX_GIF_BYTES} bytes; shorten the scene")


@dataclass(frozen=True)
class Recorded:
    scene: str
    path: Path
    size: int
    frames: int
    seconds: float


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed; recording the demos needs it")
    return found


def gif_facts(path: Path) -> tuple[int, float]:
    """(frames, duration in seconds) as ffprobe decodes the whole GIF: a broken file
    fails here."""
    command = [
        _tool("ffprobe"), "-v", "error", "-count_frames", "-print_format", "json",
        "-show_entries", "stream=codec_name,nb_read_frames:format=duration", str(path),
    ]  # fmt: skip
    result = subprocess.run(command, check=True, capture_output=True, timeout=120)  # noqa: S603
    facts = json.loads(result.stdout)
    stream = facts["streams"][0]
    if stream.get("codec_name") != "gif":
        raise ValueError(f"{path} is not a GIF: {stream}")
    return int(stream["nb_read_frames"]), float(facts["format"]["duration"])


def demos_record(
    *,
    scenes: list[str],
    output: Path,
    short: bool = False,
    report: Callable[[str], None] = log.info,
) -> list[Recorded]:
    """Starts the sandbox, plays each scene in Chromium and writes its GIF to ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    telegram, site = start_sandbox(port=0)
    demo_campaign_seed()  # the ad of the premium scene, as the sandbox shows it
    workers = queues.start_thread_workers([queues.DOWNLOADS], 2)
    bot = BackgroundBot(poll_timeout=1).start()
    recorded: list[Recorded] = []
    try:
        with tempfile.TemporaryDirectory(prefix="demo-") as tmp, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name in scenes:
                scene = SCENES[name]
                _outside_the_loop(lambda scene=scene: demo_state_reset(scene))
                cast = [newcomer_add(telegram, name) for name in scene.cast]
                frames = _scene_record(browser, telegram.page_url, scene, cast, Path(tmp), short)
                gif = output / scene.filename
                ladder = SHORT_GIF_LADDER if short else GIF_LADDER
                size = gif_make(frames, gif, ladder=ladder)
                count, seconds = gif_facts(gif)
                recorded.append(Recorded(name, gif, size, count, seconds))
                report(f"{gif}: {size / 1024:.0f} KB, {count} frames, {seconds:.1f} s")
            browser.close()
    finally:
        bot.stop()
        queues.stop_thread_workers(workers)
        telegram.stop()
        site.stop()
    return recorded


def _scene_record(
    browser, url: str, scene: Scene, cast: list[Newcomer], tmp: Path, short: bool
) -> Path:
    """Plays one scene in a fresh browser context; returns the frames' concat list."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(CURSOR_SCRIPT)
    # The page opens as the first of the cast (it remembers its user in localStorage).
    context.add_init_script(f"localStorage.setItem('sandbox-user', '{cast[0].user_id}')")
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(url)
        open_chat(page)
        camera = Camera(page, tmp / scene.name, fps=4 if short else 10)
        page.on("dialog", lambda dialog: dialog.accept())  # the payment's confirmation
        with override_settings(**dict(scene.overrides)):
            scene.play(Person(page, camera, cast=cast, pace=0.35 if short else 1.0))
    finally:
        context.close()
    return camera.concat_list(tmp / f"{scene.name}.txt")
