"""Experiments through the real bot: two users in different variants see different
welcome texts, quality buttons and free-download quotas, and are counted once each."""

from __future__ import annotations

import pytest

from abtests import hashing, services
from abtests.models import ABTest, ABTestExposure, ABTestVariant, ExperimentKind
from ads.fast_redis import breaker_reset as ads_redis_breaker_reset
from ads.models import AdCampaign, AdCreative
from ads.selectors import campaigns_forget
from analytics.publisher import breaker_reset
from botapp import experiments, texts
from sandbox.telegram_api import TelegramApiDouble
from tests.abtests.conftest import drain
from tests.ads.conftest import campaign_make, user_make
from tests.e2e.conftest import ALICE, BORIS, CARMEN
from tests.e2e.published import seed_cached_video, wait_until
from tests.e2e.test_ads import REEL_KEY, ads_to, deliver, settle

YOUTUBE = "https://youtu.be/dQw4w9WgXcQ?si=tracking"
WAIT = 90


@pytest.fixture
def telegram():
    """Flood limits off: a user here asks for many videos in a few seconds."""
    double = TelegramApiDouble(rate_limits=False).start()
    yield double
    double.stop()


@pytest.fixture
def tea(transactional_db) -> AdCampaign:
    return campaign_make("Tea", advertiser="Tea Ltd")


@pytest.fixture(autouse=True)
def _fresh_experiment_state(settings, tmp_path):
    settings.ANALYTICS_SPOOL_DIR = str(tmp_path / "spool")
    settings.TELEGRAM_FLOOD_LIMITS = False
    settings.PUBLIC_BASE_URL = "https://bot.example.org"
    settings.FREE_DOWNLOADS = 10
    campaigns_forget()
    ads_redis_breaker_reset()
    breaker_reset()
    services.process_state_reset()
    yield
    services.process_state_reset()
    campaigns_forget()


def _seed_splitting(first: int, second: int) -> str:
    """A hash seed that puts the two users in different halves of a 50/50 test."""
    for n in range(1000):
        seed = f"e2e-{n}"
        a, b = (
            hashing.variation_for(user_key=str(user), seed=seed, weights=[0.5, 0.5])
            for user in (first, second)
        )
        if (a, b) == (0, 1):
            return seed
    raise AssertionError("no seed splits the two users")


def _start(name: str, kind: str, variants: list[tuple[str, dict]], *, users: tuple[int, int]):
    test = ABTest.objects.create(name=name, kind=kind, hash_seed=_seed_splitting(*users))
    for position, (variant_name, config) in enumerate(variants):
        ABTestVariant.objects.create(
            test=test, variant_name=variant_name, traffic_percentage=50,
            variant_config=config, position=position,
        )  # fmt: skip
    return services.test_start(test=test)


def _reply(telegram, user_id: int, method: str = "sendMessage", **kwargs) -> dict:
    return telegram.wait_for_call(
        method, lambda c: c["payload"].get("chat_id") == user_id, timeout=WAIT, **kwargs
    )


def _exposures(test) -> dict[int, str]:
    drain()
    return dict(ABTestExposure.objects.filter(test=test).values_list("user_id", "variant_name"))


def test_two_users_in_different_welcome_variants_see_different_welcomes(bot, telegram):
    test = _start(
        "welcome", ExperimentKind.UI, [("control", {}), ("steps", {"welcome": "steps"})],
        users=(ALICE, CARMEN),
    )  # fmt: skip
    telegram.push_start(ALICE)
    telegram.push_start(CARMEN)
    alice = _reply(telegram, ALICE)["payload"]["text"]
    carmen = _reply(telegram, CARMEN)["payload"]["text"]
    assert "Send me a link to a YouTube, Instagram or TikTok video and I will send" in alice
    assert carmen.startswith("¡Hola, Carmen! Tres pasos:")
    assert texts.render("es", texts.WELCOME_STEPS, name="Carmen", bot="x").split("@")[0] in carmen
    assert _exposures(test) == {ALICE: "control", CARMEN: "steps"}


def test_two_users_in_different_button_variants_see_different_quality_buttons(bot, telegram):
    test = _start(
        "quality-buttons", ExperimentKind.UI,
        [("control", {}), ("best-first", {"quality_order": "descending",
                                          "quality_labels": "named"})],
        users=(ALICE, BORIS),
    )  # fmt: skip

    def keyboard_of(user_id: int) -> list[tuple[str, str]]:
        telegram.push_private_message(user_id, YOUTUBE)
        edit = _reply(telegram, user_id, "editMessageText")
        rows = edit["payload"]["reply_markup"]["inline_keyboard"]
        return [(b["callback_data"].rsplit(":", 1)[1], b["text"]) for row in rows for b in row]

    alice = keyboard_of(ALICE)
    boris = keyboard_of(BORIS)
    alice_videos = [q for q, _ in alice if q.endswith("p")]
    boris_videos = [q for q, _ in boris if q.endswith("p")]
    assert alice_videos == sorted(alice_videos, key=lambda q: int(q[:-1]))
    assert boris_videos == sorted(boris_videos, key=lambda q: -int(q[:-1]))
    assert all(label.split(" · ")[0] == q for q, label in alice if q.endswith("p"))
    boris_720 = dict(boris)["720p"]
    assert boris_720.startswith("720p · высокое качество")
    assert _exposures(test) == {ALICE: "control", BORIS: "best-first"}


def _deliveries_until_ad(telegram, user_id: int, *, most: int) -> int:
    """Cached deliveries to the user until one carries an ad; returns how many went out
    without one."""
    for free in range(most + 1):
        before_ads = len(ads_to(telegram, user_id))
        deliver(telegram, user_id)
        settle(telegram, user_id)
        if len(ads_to(telegram, user_id)) > before_ads:
            return free
    raise AssertionError(f"no ad after {most + 1} deliveries")


def test_the_free_limit_experiment_really_gives_15(bot, telegram, bot_settings, tea):
    seed_cached_video(telegram, REEL_KEY, "best")
    test = _start(
        "free-limit", ExperimentKind.FREE_LIMIT,
        [("ten", {"free_downloads": 10}), ("fifteen", {"free_downloads": 15})],
        users=(ALICE, CARMEN),
    )  # fmt: skip
    user_make(ALICE, total_downloads=8)
    user_make(CARMEN, total_downloads=8)
    telegram.push_private_message(CARMEN, "/stats")
    stats = _reply(telegram, CARMEN)["payload"]["text"]
    assert "left: 7 (everyone gets 15," in stats
    assert _exposures(test) == {CARMEN: "fifteen"}  # it showed the arm's base

    assert _deliveries_until_ad(telegram, ALICE, most=10) == 2  # deliveries 9 and 10
    assert _deliveries_until_ad(telegram, CARMEN, most=10) == 7  # deliveries 9 to 15
    assert _exposures(test) == {ALICE: "ten", CARMEN: "fifteen"}


def test_two_users_in_different_ad_text_variants_see_different_ads(bot, telegram, tea):
    seed_cached_video(telegram, REEL_KEY, "best")
    AdCreative.objects.create(campaign=tea, name="calm", message="Calm tea for calm days")
    AdCreative.objects.create(campaign=tea, name="loud", message="TEA! NOW!")
    campaigns_forget()
    test = _start(
        "tea-copy", ExperimentKind.AD_TEXT,
        [("calm", {"creative": "calm"}), ("loud", {"creative": "loud"})],
        users=(ALICE, CARMEN),
    )  # fmt: skip
    for user in (ALICE, CARMEN):
        user_make(user, total_downloads=10)  # the next delivery carries an ad
        deliver(telegram, user)
    [alice_ad] = wait_until(lambda: ads_to(telegram, ALICE), timeout=WAIT)
    [carmen_ad] = wait_until(lambda: ads_to(telegram, CARMEN), timeout=WAIT)
    assert "Calm tea for calm days" in alice_ad["payload"]["text"]
    assert "TEA! NOW!" in carmen_ad["payload"]["text"]
    assert wait_until(lambda: _exposures(test) == {ALICE: "calm", CARMEN: "loud"}, timeout=WAIT)


def test_a_qa_override_shows_the_variant_without_counting(bot, telegram):
    test = _start(
        "welcome", ExperimentKind.UI, [("control", {}), ("short", {"welcome": "short"})],
        users=(ALICE, CARMEN),
    )  # fmt: skip
    services.override_set(test=test, user_id=ALICE, variant_name="short")
    telegram.push_start(ALICE)
    text = _reply(telegram, ALICE)["payload"]["text"]
    assert text.startswith("Hi, Alice! Send me a link") and "get the video back" in text
    assert experiments.welcome_text(None) is texts.WELCOME
    assert _exposures(test) == {}
