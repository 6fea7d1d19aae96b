"""The policy seam end to end: a registered policy decides what follows each delivery
(cache hit or fresh download; private chat, group, inline), the media always goes out,
and ``DownloadCompleted`` is published exactly once per delivery."""

from __future__ import annotations

import json

import pytest

from analytics.events import DownloadCompleted
from analytics.vocabulary import ChatKind
from downloads import policy as seam
from downloads.policy import (
    DeliveryContext,
    DeliveryPlan,
    FollowUp,
    UrlButton,
    policy_register,
    policy_unregister,
)
from sandbox.telegram_api import SEED_GROUP_ID
from tests.e2e.conftest import ALICE, BORIS
from tests.e2e.published import (
    STORAGE_ID,
    published,
    seed_cached_video,
    wait_published,
    wait_until,
)

REEL = "https://www.instagram.com/reel/C0ffeeReel1/"
REEL_KEY = "instagram:C0ffeeReel1"
TIKTOK = "https://www.tiktok.com/@sandbox.user/video/7300000000000000001"
TIKTOK_KEY = "tiktok:7300000000000000001"
SHOP = "https://example.org/offer"
WAIT = 120


class RecordingPolicy:
    """A follow-up with a button in chats, a button under inline media; remembers
    every context it was asked about and what its callbacks saw."""

    def __init__(self) -> None:
        self.contexts: list[DeliveryContext] = []
        self.media_sent: list[str] = []
        self.sent: list[str] = []
        self.failed: list[str] = []

    async def __call__(self, ctx: DeliveryContext) -> DeliveryPlan:
        self.contexts.append(ctx)
        label = f"{ctx.chat_type}:{ctx.media_key}:{'hit' if ctx.cached else 'miss'}"
        return DeliveryPlan(
            media_buttons=[UrlButton("Shop", SHOP)],
            follow_ups=[
                FollowUp(
                    text=f"<b>Thanks</b> for watching ({ctx.language})",
                    buttons=[UrlButton("Open the shop", SHOP)],
                    on_sent=lambda: self.sent.append(label),
                    on_failed=lambda error: self.failed.append(f"{label}: {error}"),
                )
            ],
            on_media_sent=[lambda: self.media_sent.append(label)],
        )


@pytest.fixture(autouse=True)
def _only_this_tests_policies(monkeypatch):
    """The policies the application registers (ads, referrals...) are not this test's:
    the bot (in its thread) reads the registry this replaces."""
    monkeypatch.setattr(seam, "_policies", [])


@pytest.fixture
def policy():
    recording = RecordingPolicy()
    policy_register(recording)
    yield recording
    policy_unregister(recording)


@pytest.fixture
def raising_policy():
    async def broken(ctx: DeliveryContext) -> DeliveryPlan:
        raise RuntimeError("the policy is broken")

    policy_register(broken)
    yield broken
    policy_unregister(broken)


@pytest.fixture
def storage_chat(bot_settings, telegram):
    telegram.add_group(STORAGE_ID, "storage", bot_status="administrator")
    bot_settings.TELEGRAM_STORAGE_CHAT_ID = STORAGE_ID
    return STORAGE_ID


def to(chat_id):
    return lambda call: str(call["payload"].get("chat_id")) == str(chat_id)


def keyboard(markup) -> list[list[dict]]:
    if isinstance(markup, str):
        markup = json.loads(markup)
    return markup["inline_keyboard"] if markup else []


def url_buttons(markup) -> list[tuple[str, str]]:
    return [(b["text"], b["url"]) for row in keyboard(markup) for b in row if "url" in b]


def completed(user_id: int, media_key: str) -> list[DownloadCompleted]:
    return published(DownloadCompleted, lambda e: (e.user_id, e.video_id) == (user_id, media_key))


def test_it_sends_the_follow_up_with_its_button_after_a_cached_video(bot, telegram, policy):
    file_id = seed_cached_video(telegram, REEL_KEY, "best")
    telegram.push_private_message(ALICE, REEL)
    video = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT, ok=True)
    assert video["payload"]["video"] == file_id
    follow_up = telegram.wait_for_call("sendMessage", to(ALICE), timeout=WAIT, ok=True)
    assert follow_up["index"] > video["index"]
    assert "Thanks" in follow_up["payload"]["text"]
    assert url_buttons(follow_up["payload"]["reply_markup"]) == [("Open the shop", SHOP)]
    assert wait_until(lambda: policy.sent == [f"private:{REEL_KEY}:hit"])
    assert policy.media_sent == [f"private:{REEL_KEY}:hit"]
    [ctx] = policy.contexts
    assert ctx == DeliveryContext(
        user_id=ALICE,
        language=ctx.language,
        chat_id=ALICE,
        chat_type=ChatKind.PRIVATE,
        source="message",
        media_key=REEL_KEY,
        fmt="best",
        cached=True,
    )
    # In a chat the buttons are the follow-up's: none is added under the video itself.
    assert ("Shop", SHOP) not in url_buttons(video["payload"].get("reply_markup"))
    wait_published(DownloadCompleted, lambda e: e.user_id == ALICE and e.from_cache)
    assert len(completed(ALICE, REEL_KEY)) == 1


def test_it_sends_the_follow_up_after_a_fresh_download_and_publishes_once(bot, telegram, policy):
    telegram.push_private_message(ALICE, TIKTOK)
    video = telegram.wait_for_call(
        "sendVideo", lambda c: to(ALICE)(c) and isinstance(c["payload"]["video"], dict),
        timeout=WAIT, ok=True,
    )  # fmt: skip
    follow_up = telegram.wait_for_call(
        "sendMessage", lambda c: to(ALICE)(c) and "Thanks" in c["payload"]["text"], timeout=WAIT
    )
    assert follow_up["index"] > video["index"]
    assert wait_until(lambda: policy.sent == [f"private:{TIKTOK_KEY}:miss"])
    [event] = wait_published(DownloadCompleted, lambda e: e.video_id == TIKTOK_KEY)
    assert event.from_cache is False
    assert len(completed(ALICE, TIKTOK_KEY)) == 1


def test_it_asks_the_policy_for_a_group_delivery(bot, telegram, policy):
    seed_cached_video(telegram, REEL_KEY, "best")
    telegram.add_bot_to_group(ALICE, admin=True)  # an admin sees every message
    telegram.push_group_message(BORIS, f"watch {REEL}")
    video = telegram.wait_for_call("sendVideo", to(SEED_GROUP_ID), timeout=WAIT, ok=True)
    follow_up = telegram.wait_for_call(
        "sendMessage",
        lambda c: to(SEED_GROUP_ID)(c) and "Thanks" in c["payload"]["text"],
        timeout=WAIT,
        ok=True,
    )
    assert follow_up["index"] > video["index"]
    [ctx] = policy.contexts
    assert (ctx.chat_type, ctx.chat_id, ctx.source, ctx.user_id) == (
        ChatKind.GROUP,
        SEED_GROUP_ID,
        "group",
        BORIS,
    )


def test_it_puts_the_button_under_a_cached_inline_result(bot, telegram, policy):
    seed_cached_video(telegram, "youtube:dQw4w9WgXcQ", "720p", title="Never")
    query_id = telegram.push_inline_query(ALICE, "https://youtu.be/dQw4w9WgXcQ")["inline_query"][
        "id"
    ]
    [result] = telegram.inline_answer(query_id, timeout=60)["results"]
    assert result["type"] == "video"
    rows = keyboard(result["reply_markup"])
    assert len(rows) == 2  # "Watch video" and the deep link, then the policy's row
    assert url_buttons(result["reply_markup"])[-1] == ("Shop", SHOP)
    [ctx] = policy.contexts
    assert (ctx.chat_type, ctx.chat_id, ctx.cached) == (ChatKind.INLINE, None, True)


def test_it_puts_the_button_under_the_inline_media_and_sends_no_follow_up(
    bot, telegram, policy, storage_chat
):
    query_id = telegram.push_inline_query(ALICE, REEL)["inline_query"]["id"]
    [result] = telegram.inline_answer(query_id, timeout=60)["results"]
    telegram.choose_inline_result(ALICE, query_id, result["id"], chat_id=SEED_GROUP_ID)
    edit = telegram.wait_for_call("editMessageMedia", timeout=WAIT, ok=True)
    assert ("Shop", SHOP) in url_buttons(edit["payload"]["reply_markup"])
    placeholder = telegram.messages(SEED_GROUP_ID)[-1]
    assert ("Shop", SHOP) in url_buttons(placeholder["reply_markup"])
    assert wait_until(lambda: policy.media_sent == [f"inline:{REEL_KEY}:miss"])
    assert policy.sent == [] and policy.failed == []  # no chat follows an inline message
    assert not [c for c in telegram.calls("sendMessage") if "Thanks" in c["payload"]["text"]]
    wait_published(DownloadCompleted, lambda e: e.video_id == REEL_KEY and e.source == "inline")
    assert len(completed(ALICE, REEL_KEY)) == 1


def test_a_raising_policy_still_delivers_the_video(bot, telegram, raising_policy, policy):
    file_id = seed_cached_video(telegram, REEL_KEY, "best")
    telegram.push_private_message(ALICE, REEL)
    video = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT, ok=True)
    assert video["payload"]["video"] == file_id
    # The other policy's plan still holds.
    telegram.wait_for_call("sendMessage", to(ALICE), timeout=WAIT, ok=True)
    wait_published(DownloadCompleted, lambda e: e.user_id == ALICE)
    assert len(completed(ALICE, REEL_KEY)) == 1


def test_a_failing_follow_up_is_reported_and_never_stops_the_video(bot, telegram):
    failures: list[str] = []

    async def bad_html(ctx: DeliveryContext) -> DeliveryPlan:
        return DeliveryPlan(
            follow_ups=[FollowUp(text="<b>unclosed", on_failed=lambda e: failures.append(str(e)))]
        )

    policy_register(bad_html)
    try:
        file_id = seed_cached_video(telegram, REEL_KEY, "best")
        telegram.push_private_message(ALICE, REEL)
        video = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT, ok=True)
        assert video["payload"]["video"] == file_id
        assert wait_until(lambda: failures)
        wait_published(DownloadCompleted, lambda e: e.user_id == ALICE)
        assert len(completed(ALICE, REEL_KEY)) == 1
    finally:
        policy_unregister(bad_html)
