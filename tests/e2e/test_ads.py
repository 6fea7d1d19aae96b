"""The free quota and ads through the real bot: the offline Telegram API, PostgreSQL and
Redis, the event worker and the click redirect."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from ads import fast_redis
from ads.models import AdCampaign, AdClick, AdImpression, AdNoFillRecord, QuotaCount
from ads.selectors import campaigns_forget, decided_key
from analytics.events import AdShown
from analytics.publisher import breaker_reset
from analytics.worker import Worker
from botapp.runner import BackgroundBot
from config.redis import get_redis
from tests.ads.conftest import campaign_make, user_make
from tests.e2e.conftest import ALICE, BORIS, CARMEN, OLENA
from tests.e2e.published import published, seed_cached_video, wait_until
from users.models import BotUser

REEL = "https://www.instagram.com/reel/C0ffeeReel1/"
REEL_KEY = "instagram:C0ffeeReel1"
PUBLIC = "https://bot.example.org"
WAIT = 60


@pytest.fixture
def telegram():
    """Flood limits off: a user here asks for many videos in a second."""
    from sandbox.telegram_api import TelegramApiDouble

    double = TelegramApiDouble(rate_limits=False).start()
    yield double
    double.stop()


@pytest.fixture(autouse=True)
def _ads_settings(bot_settings, tmp_path):
    bot_settings.TELEGRAM_FLOOD_LIMITS = False
    bot_settings.PUBLIC_BASE_URL = PUBLIC
    bot_settings.FREE_DOWNLOADS = 10
    bot_settings.ANALYTICS_SPOOL_DIR = str(tmp_path / "spool")
    campaigns_forget()
    fast_redis.breaker_reset()
    breaker_reset()
    yield
    campaigns_forget()
    fast_redis.breaker_reset()
    breaker_reset()


@pytest.fixture
def tea(transactional_db) -> AdCampaign:
    return campaign_make("Tea", advertiser="Tea Ltd", ad_marking="erid: 42",
                         button_url="https://tea.example.com/offer")  # fmt: skip


def to(chat_id):
    return lambda call: call["payload"].get("chat_id") == chat_id


def is_ad(call) -> bool:
    return call["method"] == "sendMessage" and "/ads/click/" in str(call["payload"])


def ads_to(telegram, chat_id) -> list[dict]:
    return [c for c in telegram.calls() if is_ad(c) and c["payload"].get("chat_id") == chat_id]


def videos_to(telegram, chat_id) -> list[dict]:
    return [c for c in telegram.calls("sendVideo") if c["ok"] and to(chat_id)(c)]


def button_of(ad_call) -> dict:
    markup = ad_call["payload"]["reply_markup"]
    markup = markup if isinstance(markup, dict) else json.loads(markup)
    [[button]] = markup["inline_keyboard"]
    return button


def deliver(telegram, user_id: int) -> None:
    """One cached delivery in the private chat, waited for."""
    before = len(videos_to(telegram, user_id))
    telegram.push_private_message(user_id, REEL)
    wait_until(lambda: len(videos_to(telegram, user_id)) > before, timeout=WAIT)


def settle(telegram, user_id: int) -> None:
    """Whatever follows the last delivery has been sent: /help is answered after it."""
    telegram.push_private_message(user_id, "/help")
    wait_until(lambda: any("/premium" in m.get("text", "") for m in telegram.messages(user_id)
                           if m["from"].get("is_bot")), timeout=WAIT)  # fmt: skip


def drain() -> None:
    worker = Worker(consumer="test", block_ms=50)
    for _ in range(50):
        if not worker.step().read:
            return


def test_the_tenth_delivery_carries_no_ad_and_the_eleventh_does(bot, telegram, tea):
    seed_cached_video(telegram, REEL_KEY, "best")
    for _ in range(10):
        deliver(telegram, ALICE)
    assert not ads_to(telegram, ALICE)
    deliver(telegram, ALICE)
    [ad] = wait_until(lambda: ads_to(telegram, ALICE), timeout=WAIT)
    eleventh = videos_to(telegram, ALICE)[-1]
    assert ad["time"] >= eleventh["time"]
    text = ad["payload"]["text"]
    assert text.startswith("<i>Ad · Tea Ltd · erid: 42</i>")
    assert "<b>Tea</b> for everyone" in text
    button = button_of(ad)
    assert button["text"] == "Buy" and button["url"].startswith(f"{PUBLIC}/ads/click/")
    wait_until(lambda: published(AdShown, lambda e: e.user_id == ALICE), timeout=WAIT)


def test_twenty_concurrent_deliveries_with_three_left_give_exactly_three_without_ads(
    bot, telegram, tea
):
    seed_cached_video(telegram, REEL_KEY, "best")
    user_make(BORIS, total_downloads=7)
    with telegram.state.cond:  # all twenty queued before the bot's next poll
        for _ in range(20):
            telegram.push_private_message(BORIS, REEL)
    wait_until(lambda: len(videos_to(telegram, BORIS)) == 20, timeout=WAIT)
    wait_until(lambda: len(ads_to(telegram, BORIS)) >= 17, timeout=WAIT)
    settle(telegram, BORIS)
    assert len(ads_to(telegram, BORIS)) == 17


def test_the_click_redirect_logs_once_redirects_and_refuses_tampered_tokens(
    bot, telegram, tea, client
):
    seed_cached_video(telegram, REEL_KEY, "best")
    user_make(OLENA, total_downloads=10)
    deliver(telegram, OLENA)
    [ad] = wait_until(lambda: ads_to(telegram, OLENA), timeout=WAIT)
    path = button_of(ad)["url"].removeprefix(PUBLIC)
    for _ in range(3):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == tea.button_url
    tampered = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    response = client.get(tampered)
    assert response.status_code == 404 and "Location" not in response
    drain()
    [impression] = AdImpression.objects.filter(user_id=OLENA)
    assert (impression.campaign_id, impression.surface) == (tea.pk, "private")
    assert list(AdClick.objects.values_list("impression_id", "user_id")) == [
        (impression.impression_id, OLENA)
    ]


def test_paid_users_and_groups_never_see_an_ad(bot, telegram, tea):
    seed_cached_video(telegram, REEL_KEY, "best")
    user_make(CARMEN, total_downloads=50,
              paid_until=dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=3))  # fmt: skip
    deliver(telegram, CARMEN)
    settle(telegram, CARMEN)
    assert not ads_to(telegram, CARMEN)

    from sandbox.telegram_api import SEED_GROUP_ID

    user_make(BORIS, total_downloads=50)
    telegram.push_group_message(BORIS, f"/dl {REEL}")
    wait_until(lambda: videos_to(telegram, SEED_GROUP_ID), timeout=WAIT)
    settle(telegram, BORIS)
    assert not ads_to(telegram, SEED_GROUP_ID) and not ads_to(telegram, BORIS)
    assert get_redis().get(decided_key(BORIS)) == b"51"  # the group delivery still counted


def test_an_inline_result_past_the_quota_carries_one_labelled_button(bot, telegram, tea):
    seed_cached_video(telegram, REEL_KEY, "best")
    user_make(ALICE, total_downloads=10)
    query_id = telegram.push_inline_query(ALICE, REEL)["inline_query"]["id"]
    [result] = telegram.inline_answer(query_id, timeout=WAIT)["results"]
    ad_buttons = [b for row in result["reply_markup"]["inline_keyboard"] for b in row
                  if "/ads/click/" in b.get("url", "")]  # fmt: skip
    assert [b["text"] for b in ad_buttons] == ["Ad · Buy"]
    wait_until(lambda: published(AdShown, lambda e: e.surface == "inline"), timeout=WAIT)


def test_an_ad_telegram_refuses_is_logged_and_the_video_still_arrives(
    bot, telegram, transactional_db, caplog
):
    # Saved around the admin's validation: markup Telegram cannot parse.
    AdCampaign.objects.create(name="Broken", message="<div>broken</div>", button_text="Go",
                              button_url="https://broken.example.com/")  # fmt: skip
    seed_cached_video(telegram, REEL_KEY, "best")
    user_make(ALICE, total_downloads=10)
    caplog.set_level(logging.WARNING)
    deliver(telegram, ALICE)
    refused = wait_until(
        lambda: [c for c in telegram.calls("sendMessage") if not c["ok"] and to(ALICE)(c)],
        timeout=WAIT,
    )
    assert "parse" in refused[0]["description"].lower()
    wait_until(lambda: "refused the ad" in caplog.text, timeout=WAIT)
    assert not published(AdShown)


def test_stats_shows_downloads_the_ad_free_ones_left_and_how_to_get_more(bot, telegram):
    user_make(OLENA, total_downloads=3)
    telegram.push_private_message(OLENA, "/stats")
    reply = telegram.wait_for_call("sendMessage", to(OLENA), timeout=WAIT)["payload"]["text"]
    assert "3" in reply and "7" in reply  # uk: downloads so far, ad-free left
    assert "/premium" in reply and "start=ref_" in reply


DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


def test_redis_down_during_a_delivery_past_the_quota(bot_settings, telegram, tea):
    from downloads.models import CachedMedia

    stored = telegram.store_file(b"\x00\x00\x00\x18ftypmp42" + b"0" * 2048, kind="video")
    CachedMedia.objects.create(media_key=REEL_KEY, format="best", file_id=stored["file_id"],
                               kind="video")  # fmt: skip
    user_make(ALICE, total_downloads=10)
    bot_settings.CACHES = DEAD_REDIS
    runner = BackgroundBot(poll_timeout=1).start()
    try:
        telegram.push_private_message(ALICE, REEL)
        video = telegram.wait_for_call("sendVideo", to(ALICE), timeout=WAIT)
        assert video["ok"] and video["payload"]["video"] == stored["file_id"]
        [ad] = wait_until(lambda: ads_to(telegram, ALICE), timeout=WAIT)
        assert ad["ok"]
    finally:
        runner.stop()
    assert QuotaCount.objects.get(pk=ALICE).decided == 11


def test_caps_and_dates_hold_through_the_bot(bot, telegram, transactional_db):
    now = dt.datetime.now(tz=dt.UTC)
    campaign_make(
        "Ended", ends_at=now - dt.timedelta(hours=1), starts_at=now - dt.timedelta(days=9)
    )
    campaign_make("Later", starts_at=now + dt.timedelta(days=1))
    once = campaign_make("Once a day", user_daily_cap=1, advertiser="Once Ltd")
    seed_cached_video(telegram, REEL_KEY, "best")
    user_make(BORIS, total_downloads=10)
    deliver(telegram, BORIS)
    deliver(telegram, BORIS)
    settle(telegram, BORIS)
    [ad] = ads_to(telegram, BORIS)
    assert "Once Ltd" in ad["payload"]["text"]
    drain()
    assert list(AdImpression.objects.values_list("campaign_id", flat=True)) == [once.pk]
    assert AdNoFillRecord.objects.filter(user_id=BORIS).count() == 1


def test_buying_premium_stops_the_ads_from_the_next_video(bot, telegram, tea):
    seed_cached_video(telegram, REEL_KEY, "best")
    user_make(OLENA, total_downloads=10)
    deliver(telegram, OLENA)
    wait_until(lambda: ads_to(telegram, OLENA), timeout=WAIT)
    telegram.push_private_message(OLENA, "/premium")
    invoice = telegram.wait_for_call("sendInvoice", to(OLENA), timeout=WAIT, ok=True)
    assert (
        telegram.pay_invoice(OLENA, message_id=invoice["result"]["message_id"])["status"] == "paid"
    )
    wait_until(lambda: BotUser.objects.get(pk=OLENA).is_paid, timeout=WAIT)
    deliver(telegram, OLENA)
    settle(telegram, OLENA)
    assert len(ads_to(telegram, OLENA)) == 1  # only the one before the payment
