"""``python manage.py sandbox``: the whole product offline, for trying it without a token.

Starts the offline Telegram API with its web chat page, the local video site, and the
real bot (embedded defaults) pointed at both.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from ads.services import demo_campaign_seed
from botapp.management.commands.runbot import run_bot
from sandbox.telegram_api import SEED_GROUP_ID, SEED_USERS, TelegramApiDouble
from sandbox.videosite import VideoSite, samples
from sandbox.web import web_start

STORAGE_CHAT_ID = -1001500000999


class Command(BaseCommand):
    help = "Runs the bot against an offline Telegram with a web chat page and a local video site."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000, help="port of the chat page")
        parser.add_argument(
            "--no-rate-limits", action="store_true", help="turn Telegram's flood limits off"
        )

    def handle(self, *args, host: str, port: int, no_rate_limits: bool, **options) -> None:
        telegram, site = start_sandbox(host=host, port=port, rate_limits=not no_rate_limits)
        # Ads' buttons lead to the click redirect, served next to the chat page.
        web = web_start(host=host, port=port + 1)
        settings.PUBLIC_BASE_URL = f"http://{host}:{web.server_address[1]}"
        demo_campaign_seed()
        self.stdout.write(banner(telegram, site))
        try:
            run_bot()
        finally:
            web.shutdown()
            telegram.stop()
            site.stop()


def start_sandbox(*, host: str = "127.0.0.1", port: int = 8000, rate_limits: bool = True):
    """Starts the offline Telegram and the video site and points the settings at them."""
    site = VideoSite().start()
    telegram = TelegramApiDouble(host=host, port=port, rate_limits=rate_limits).start()
    telegram.add_group(STORAGE_CHAT_ID, "Video storage", bot_status="administrator")
    group_admin_add(telegram, user_id=SEED_USERS[0]["id"])  # Alice may use group /settings
    settings.TELEGRAM_BOT_TOKEN = telegram.token
    settings.TELEGRAM_API_URL = telegram.root_url
    settings.TELEGRAM_LOCAL_MODE = False
    settings.TELEGRAM_STORAGE_CHAT_ID = STORAGE_CHAT_ID
    settings.MEDIA_ORIGIN_OVERRIDES = site.origin_overrides()
    return telegram, site


def group_admin_add(telegram, *, user_id: int, chat_id: int | None = None) -> None:
    """Makes a user of the offline Telegram an administrator of a group (the seed group
    by default), as getChatMember then reports, so group /settings can be tried."""
    with telegram.state.cond:
        chat = telegram.state.chats[chat_id or SEED_GROUP_ID]
        chat.members.add(user_id)
        chat.admins.add(user_id)
        telegram.state.changed()


def banner(telegram, site) -> str:

    links = "\n".join(f"    {sample['url']}  ({sample['hint']})" for sample in samples())
    return (
        f"\nSandbox ready: open {telegram.page_url} and chat with @{telegram.bot_user['username']}"
        f"\nVideos come from the local video site at {site.origin}."
        f"\nLinks to paste (also listed on the page, where a click pastes one):\n{links}\n"
        f"After {settings.FREE_DOWNLOADS} downloads a user sees ads (a demo campaign); "
        f"their buttons go through {settings.PUBLIC_BASE_URL}/ads/click/.\n"
        "Alice administers the sandbox group: /settings there switches automatic downloads.\n"
        "/premium sells 30 days without ads for Stars: the Pay button pays (no real Stars).\n"
        "Ctrl-C stops everything.\n"
    )
