"""The free quota: counted from Redis with PostgreSQL as the truth, decided atomically."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from ads import fast_redis, selectors
from ads.models import AdCampaign
from ads.selectors import decided_key, paid_key, quota_for
from ads.services import (
    ad_decide,
    ad_decide_from_redis,
    paid_status_forget,
    quota_decide,
    quota_warm,
)
from analytics.counters import user_total_key
from config.redis import get_redis
from config.refresh import refresh_wait
from referrals.models import BonusReason, ReferralBonus
from referrals.selectors import bonus_key
from tests.ads.conftest import campaign_make, user_make

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_makes_the_first_ten_deliveries_ad_free_and_the_eleventh_not(settings):
    settings.FREE_DOWNLOADS = 10
    user_make(1)
    decisions = [quota_decide(user_id=1) for _ in range(11)]
    assert [d.ad_free for d in decisions] == [True] * 10 + [False]
    assert decisions[-1].position == 11


def test_it_starts_from_the_counted_downloads(settings):
    settings.FREE_DOWNLOADS = 10
    user_make(2, total_downloads=4)
    get_redis().set(user_total_key(2), 7)  # Redis saw three more than PostgreSQL stored
    assert quota_decide(user_id=2).position == 8
    user_make(3, total_downloads=9)  # Redis lost its counters: PostgreSQL answers
    assert quota_decide(user_id=3).position == 10


def test_it_gives_exactly_three_ad_free_of_twenty_concurrent_deliveries(settings):
    settings.FREE_DOWNLOADS = 10
    user_make(4, total_downloads=7)
    results: list[bool] = []
    start = threading.Barrier(20)

    def deliver():
        start.wait()
        try:
            results.append(quota_decide(user_id=4).ad_free)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 17 + [True] * 3


def test_it_decides_under_a_postgresql_row_lock_when_redis_is_down(settings):
    settings.FREE_DOWNLOADS = 10
    user_make(5, total_downloads=7)
    settings.REDIS_LOOP_TIMEOUT = 0.05
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},
    }
    results: list[bool] = []
    start = threading.Barrier(20)

    def deliver():
        start.wait()
        try:
            results.append(quota_decide(user_id=5).ad_free)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 17 + [True] * 3
    quota = quota_for(5)
    assert (quota.used, quota.left) == (27, 0)


def test_it_never_shows_ads_to_paid_users(settings):
    settings.FREE_DOWNLOADS = 1
    user_make(6, paid_until=dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=30), total_downloads=50)
    decision = quota_decide(user_id=6)
    assert decision.ad_free and decision.paid


def test_it_reports_base_bonus_used_and_left(settings):
    settings.FREE_DOWNLOADS = 10
    user_make(7, total_downloads=3)
    get_redis().set(decided_key(7), 6)
    quota = quota_for(7)
    assert (quota.base, quota.bonus, quota.used, quota.left, quota.paid) == (10, 0, 6, 4, False)


def test_it_still_chooses_an_ad_past_the_quota_when_redis_is_down(settings):
    settings.FREE_DOWNLOADS = 1
    user_make(8, total_downloads=5)
    campaign_make("Tea", user_daily_cap=1)
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},
    }
    decision = ad_decide(user_id=8, language="en", surface="private")
    assert decision.quota.position == 6 and decision.ad is not None
    assert not fast_redis.redis_usable()


def test_it_decides_from_redis_alone_once_postgresql_has_seeded_it(
    settings, django_assert_num_queries
):
    settings.FREE_DOWNLOADS = 1
    user_make(9, total_downloads=0)
    campaign_make("Tea")
    assert ad_decide_from_redis(user_id=9, language="en", surface="private") is None  # unseeded
    first = ad_decide(user_id=9, language="en", surface="private")
    assert first.quota.position == 1 and first.ad is None
    with django_assert_num_queries(0):
        second = ad_decide_from_redis(user_id=9, language="en", surface="private")
    assert second.quota.position == 2 and second.ad is not None


def test_a_payment_stops_the_ads_at_once(settings):
    settings.FREE_DOWNLOADS = 0
    user = user_make(10)
    campaign_make("Tea")
    assert ad_decide(user_id=10, language="en", surface="private").ad is not None
    user.paid_until = dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=30)
    user.save()
    # Cached for minutes unless the payment services say it changed, as they do.
    assert ad_decide_from_redis(user_id=10, language="en", surface="private").ad is not None
    paid_status_forget(user_id=10)
    assert ad_decide_from_redis(user_id=10, language="en", surface="private") is None
    decision = ad_decide(user_id=10, language="en", surface="private")
    assert decision.quota.paid and decision.ad is None
    assert ad_decide_from_redis(user_id=10, language="en", surface="private").quota.paid


def test_the_fast_path_reads_the_referral_bonus_and_asks_again_when_it_changes(
    settings, django_assert_num_queries
):
    settings.FREE_DOWNLOADS = 1
    user = user_make(11, total_downloads=1)
    campaign_make("Tea")
    assert ad_decide(user_id=11, language="en", surface="private").ad is not None  # 2nd
    ReferralBonus.objects.create(
        user=user, amount=3, reason=BonusReason.WELCOME, created_at=dt.datetime.now(tz=dt.UTC)
    )
    get_redis().delete(bonus_key(11))  # as the referral services do when the ledger moves
    assert ad_decide_from_redis(user_id=11, language="en", surface="private") is None
    seeded = ad_decide(user_id=11, language="en", surface="private")  # 3rd of 1 + 3
    assert seeded.quota.limit == 4 and seeded.ad is None
    with django_assert_num_queries(0):
        fourth = ad_decide_from_redis(user_id=11, language="en", surface="private")
        fifth = ad_decide_from_redis(user_id=11, language="en", surface="private")
    assert (fourth.quota.position, fourth.quota.limit, fourth.ad) == (4, 4, None)
    assert fifth.quota.position == 5 and fifth.ad is not None


def test_the_slow_path_reads_postgresql_once(settings, django_assert_max_num_queries):
    settings.FREE_DOWNLOADS = 10
    user_make(12, total_downloads=3)
    campaign_make("Tea")
    ad_decide(user_id=12, language="en", surface="private")  # loads the campaigns
    get_redis().delete(decided_key(12), paid_key(12), bonus_key(12))
    with django_assert_max_num_queries(1):  # paid until, count and bonus together
        decision = ad_decide(user_id=12, language="en", surface="private")
    # Seeded again from the counted downloads (the first decision was never counted: its
    # event is not ingested in this test).
    assert decision.quota.position == 4


def age(seconds: float) -> None:
    """Make the campaigns' snapshot ``seconds`` old."""
    loaded_at, campaigns = selectors._snapshot
    selectors._snapshot = (loaded_at - seconds, campaigns)


def test_a_due_campaign_snapshot_is_used_while_it_reloads_in_the_background(
    settings, django_assert_num_queries
):
    settings.FREE_DOWNLOADS = 0
    user_make(13)
    campaign_make("Tea")
    ad_decide(user_id=13, language="en", surface="private")  # seeds Redis, loads campaigns
    campaign_make("Coffee")  # (drops the snapshot, as an admin change does)
    ad_decide(user_id=13, language="en", surface="private")
    AdCampaign.objects.filter(name="Tea").update(is_active=False)  # another process's change
    age(selectors.SNAPSHOT_SECONDS + 1)

    with django_assert_num_queries(0):  # the delivery does not wait for the reload
        decision = ad_decide_from_redis(user_id=13, language="en", surface="private")
    assert decision.ad is not None
    refresh_wait()
    names = {campaign.name for campaign in selectors.campaigns_snapshot()}
    assert names == {"Coffee"}

    age(selectors.SNAPSHOT_STALE_SECONDS + 1)  # no reload for a minute: not used
    assert selectors.campaigns_snapshot() is None
    assert ad_decide_from_redis(user_id=13, language="en", surface="private") is None


def test_a_reload_begun_before_a_drop_is_not_kept(monkeypatch):
    campaign_make("Tea")
    load = selectors.campaigns_load
    old = load()

    def slow_load(**kwargs):
        selectors.campaigns_forget()  # an admin change lands while this reload reads
        return old

    monkeypatch.setattr(selectors, "campaigns_load", slow_load)
    selectors.campaigns_running()
    assert selectors.campaigns_snapshot() is None  # the next delivery loads afresh


def test_a_user_warmed_with_their_row_is_decided_on_the_event_loop(
    settings, django_assert_num_queries
):
    settings.FREE_DOWNLOADS = 2
    user = user_make(14, total_downloads=5)
    campaign_make("Tea")
    assert ad_decide_from_redis(user_id=14, language="en", surface="private") is None
    quota_warm(user)  # in the thread hop that read the row (botapp.handlers.common)
    with django_assert_num_queries(0):
        decision = ad_decide_from_redis(user_id=14, language="en", surface="private")
    assert decision.quota.position == 6 and decision.ad is not None
    quota_warm(user)  # a second warm changes no count
    assert ad_decide_from_redis(user_id=14, language="en", surface="private").quota.position == 7
