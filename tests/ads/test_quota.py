"""The free quota: counted from Redis with PostgreSQL as the truth, decided atomically."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from ads import fast_redis
from ads.selectors import decided_key, quota_for
from ads.services import ad_decide, ad_decide_from_redis, paid_status_forget, quota_decide
from analytics.counters import user_total_key
from config.redis import get_redis
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
    # Cached for a minute unless the payment services say it changed, as they do.
    assert ad_decide_from_redis(user_id=10, language="en", surface="private").ad is not None
    paid_status_forget(user_id=10)
    assert ad_decide_from_redis(user_id=10, language="en", surface="private") is None
    decision = ad_decide(user_id=10, language="en", surface="private")
    assert decision.quota.paid and decision.ad is None
    assert ad_decide_from_redis(user_id=10, language="en", surface="private").quota.paid
