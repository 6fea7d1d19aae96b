"""Rotation: weighted choice among eligible campaigns, caps and dates respected."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest

from ads.models import AdCampaign
from ads.rotation import weighted_choice, weighted_pick
from ads.services import ad_decide
from analytics.events import AdNoFill
from tests.ads.conftest import AT, campaign_make, user_make
from tests.e2e.published import published

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _every_delivery_due_an_ad(settings):
    settings.FREE_DOWNLOADS = 0


def campaign_reserve(*, user_id: int, language: str, rng: random.Random, at) -> AdCampaign | None:
    """The campaign a private-chat delivery past the quota gets (None: no fill)."""
    decision = ad_decide(user_id=user_id, language=language, surface="private", rng=rng, at=at)
    return decision.ad and AdCampaign.objects.get(pk=decision.ad.campaign_id)


def test_it_chooses_within_two_percent_of_the_weights_over_ten_thousand_choices():
    rng = random.Random(20261129)
    weights = {"a": 1, "b": 3, "c": 6}
    picks = Counter(weighted_choice(list(weights), list(weights.values()), rng=rng)
                    for _ in range(10_000))  # fmt: skip
    for name, weight in weights.items():
        assert abs(picks[name] / 10_000 - weight / 10) < 0.02, picks


def test_it_rotates_real_campaigns_by_weight_through_redis():
    heavy, light = campaign_make("Heavy", weight=3), campaign_make("Light", weight=1)
    rng = random.Random(7)
    picks = Counter(
        campaign_reserve(user_id=n, language="en", rng=rng, at=AT).pk for n in range(2000)
    )
    assert abs(picks[heavy.pk] / 2000 - 0.75) < 0.03
    assert picks[heavy.pk] + picks[light.pk] == 2000


def test_it_respects_dates_and_languages():
    campaign_make("Past", ends_at=AT - dt.timedelta(days=1))
    campaign_make("Future", starts_at=AT + dt.timedelta(hours=1))
    campaign_make("Spanish", languages="es")
    paused = campaign_make("Paused")
    paused.is_active = False
    paused.save()
    now = campaign_make(
        "Now", starts_at=AT - dt.timedelta(hours=1), ends_at=AT + dt.timedelta(hours=1)
    )
    rng = random.Random(1)
    chosen = {campaign_reserve(user_id=1, language="en", rng=rng, at=AT).name for _ in range(50)}
    assert chosen == {now.name}
    assert campaign_reserve(user_id=1, language="es", rng=rng, at=AT).name in {"Now", "Spanish"}


def test_it_stops_at_the_daily_total_and_per_user_caps():
    campaign_make("Daily", daily_impression_cap=3, languages="en")
    rng = random.Random(2)
    picks = [campaign_reserve(user_id=n, language="en", rng=rng, at=AT) for n in range(5)]
    assert [p is not None for p in picks] == [True, True, True, False, False]
    next_day = AT + dt.timedelta(days=1)
    assert campaign_reserve(user_id=9, language="en", rng=rng, at=next_day) is not None

    campaign_make("Total", total_impression_cap=2, languages="uk")
    assert [campaign_reserve(user_id=n, language="uk", rng=rng, at=next_day + dt.timedelta(days=n))
            is not None for n in range(3)] == [True, True, False]  # fmt: skip

    campaign_make("Frequency", user_daily_cap=2, languages="ru")
    assert [campaign_reserve(user_id=77, language="ru", rng=rng, at=AT) is not None
            for _ in range(3)] == [True, True, False]  # fmt: skip
    assert campaign_reserve(user_id=78, language="ru", rng=rng, at=AT) is not None


def test_it_counts_a_no_fill_and_sends_no_ad_when_nothing_is_eligible(settings):
    settings.FREE_DOWNLOADS = 0
    user_make(11)
    decision = ad_decide(user_id=11, language="en", surface="private", at=AT)
    assert decision.ad is None and decision.no_fill
    assert [e.user_id for e in published(AdNoFill)] == [11]


def test_it_never_puts_an_ad_in_a_group_but_counts_the_delivery(settings):
    settings.FREE_DOWNLOADS = 0
    user_make(12)
    campaign_make("Any")
    decision = ad_decide(user_id=12, language="en", surface="group", at=AT)
    assert decision.ad is None and not decision.no_fill
    assert decision.quota.position == 1
    assert ad_decide(user_id=12, language="en", surface="private", at=AT).ad is not None


class Point(random.Random):
    """A random source that always draws ``value``."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_it_picks_in_redis_as_the_pure_function_does():
    first, second = campaign_make("First", weight=1), campaign_make("Second", weight=3)
    for n, point in enumerate((0.0, 0.2, 0.2499, 0.25, 0.6, 0.9999)):
        expected = weighted_pick([first.pk, second.pk], [1, 3], point=point)
        chosen = campaign_reserve(user_id=100 + n, language="en", rng=Point(point), at=AT)
        assert chosen.pk == expected, point
