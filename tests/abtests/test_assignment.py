"""Assignment: GrowthBook bucketing, stickiness, phases, namespaces, overrides, exposure."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from abtests import hashing, kinds, services
from abtests.models import ABTestAssignment, ABTestExposure, ABTestVariant, ExperimentKind
from abtests.selectors import get_user_variant
from config.redis import get_redis
from config.refresh import refresh_wait

from .conftest import drain, experiment

pytestmark = pytest.mark.django_db(transaction=True)

USERS = range(1000, 1400)


def _names(test, *, via_hot_path: bool = True) -> dict[int, str | None]:
    out = {}
    for user in USERS:
        if via_hot_path:
            choice = services.variant_for(user_id=user, kind=test.kind)
            out[user] = choice.variant_name if choice else None
        else:
            variant = services.assign_user_to_variant(user, test.name)
            out[user] = variant.variant_name if variant else None
    return out


def test_it_puts_users_where_a_growthbook_sdk_would():
    test = experiment(
        variants=[("a", 30, {"free_downloads": 10}), ("b", 70, {"free_downloads": 15})]
    )
    for user in USERS:
        expected = hashing.variation_for(user_key=str(user), seed=test.name, weights=[0.3, 0.7])
        choice = services.variant_for(user_id=user, kind=ExperimentKind.FREE_LIMIT)
        assert choice.variant_name == ["a", "b"][expected]
        assert choice.config["free_downloads"] == [10, 15][expected]


def test_it_stores_first_assignments_in_postgres_through_the_stream():
    test = experiment()
    first = _names(test)
    drain()
    stored = dict(
        ABTestAssignment.objects.filter(test=test, phase=1).values_list(
            "user_id", "variant__variant_name"
        )
    )
    assert stored == first
    assert get_user_variant(1000, test.name).variant_name == first[1000]


def test_a_weight_change_never_moves_an_assigned_user():
    test = experiment()
    before = _names(test)
    drain()
    services.test_stop(test=test)
    ABTestVariant.objects.filter(test=test, variant_name="control").update(traffic_percentage=10)
    ABTestVariant.objects.filter(test=test, variant_name="fifteen").update(traffic_percentage=90)
    services.test_start(test=test)
    assert _names(test) == before  # in this process
    services.snapshot_forget()
    get_redis().flushdb()  # Redis lost everything: PostgreSQL refills it
    assert _names(test) == before
    assert _names(test, via_hot_path=False) == before
    # New users follow the new weights.
    newcomers = [
        services.variant_for(user_id=u, kind=test.kind).variant_name for u in range(5000, 6000)
    ]
    assert newcomers.count("fifteen") > 800


def test_the_synchronous_assignment_is_sticky_too():
    test = experiment()
    before = _names(test, via_hot_path=False)
    assert ABTestAssignment.objects.filter(test=test).count() == len(USERS)
    services.test_stop(test=test)
    ABTestVariant.objects.filter(test=test, variant_name="control").update(traffic_percentage=0)
    ABTestVariant.objects.filter(test=test, variant_name="fifteen").update(traffic_percentage=100)
    services.test_start(test=test)
    assert _names(test, via_hot_path=False) == before
    assert _names(test) == before


def test_a_new_phase_randomises_again():
    test = experiment(
        variants=[("a", 50, {"free_downloads": 10}), ("b", 50, {"free_downloads": 15})]
    )
    before = _names(test)
    drain()
    services.test_stop(test=test)
    ABTestVariant.objects.filter(test=test, variant_name="a").update(traffic_percentage=100)
    ABTestVariant.objects.filter(test=test, variant_name="b").update(traffic_percentage=0)
    test = services.test_new_phase(test=test)
    services.test_start(test=test)
    assert test.phase == 2
    after = _names(test)
    assert set(after.values()) == {"a"}
    assert sum(before[u] != after[u] for u in USERS) > 100
    drain()
    assert ABTestAssignment.objects.filter(test=test, phase=1).count() == len(USERS)
    assert ABTestAssignment.objects.filter(test=test, phase=2).count() == len(USERS)


def test_users_outside_the_coverage_or_a_stopped_test_get_the_default():
    test = experiment(coverage=0.2)
    inside = [u for u, name in _names(test).items() if name is not None]
    assert 40 < len(inside) < 120
    services.test_stop(test=test)
    assert all(name is None for name in _names(test).values())
    assert services.assign_user_to_variant(inside[0], test.name) is None


def test_an_ended_test_gives_the_default():
    test = experiment(end_date=timezone.now() + dt.timedelta(days=1))
    assert services.variant_for(user_id=1, kind=test.kind) is not None
    test.end_date = timezone.now() - dt.timedelta(seconds=1)
    test.save()
    services.snapshot_forget()
    assert services.variant_for(user_id=2, kind=test.kind) is None


def test_a_namespace_keeps_two_tests_exclusive():
    ui = [("a", 50, {}), ("b", 50, {"welcome": "short"})]
    first = experiment("ui-one", kind=ExperimentKind.UI, variants=ui, namespace="ui",
                       namespace_start=0.0, namespace_end=0.5)  # fmt: skip
    second = experiment("ui-two", kind=ExperimentKind.UI, variants=ui, namespace="ui",
                        namespace_start=0.5, namespace_end=1.0)  # fmt: skip
    seen = {first.pk: 0, second.pk: 0}
    for user in range(2000, 3000):
        one = services.assign_user_to_variant(user, first.name)
        two = services.assign_user_to_variant(user, second.name)
        assert one is None or two is None
        choice = services.variant_for(user_id=user, kind=ExperimentKind.UI)
        if choice is not None:
            seen[choice.test_id] += 1
            assert (one if choice.test_id == first.pk else two).variant_name == choice.variant_name
    assert seen[first.pk] > 400 and seen[second.pk] > 400


def test_a_qa_override_forces_a_variant_and_is_never_counted():
    test = experiment()
    natural = services.variant_for(user_id=42, kind=test.kind).variant_name
    forced_name = "control" if natural == "fifteen" else "fifteen"
    services.override_set(test=test, user_id=42, variant_name=forced_name)
    choice = services.variant_for(user_id=42, kind=test.kind)
    assert (choice.variant_name, choice.forced) == (forced_name, True)
    assert services.assign_user_to_variant(42, test.name).variant_name == forced_name
    assert get_user_variant(42, test.name).variant_name == forced_name
    assert services.exposure_record(user_id=42, choice=choice) is False
    services.test_stop(test=test)  # QA can look at a variant before it starts
    assert services.variant_for(user_id=42, kind=test.kind).variant_name == forced_name


def test_exposure_counts_once_and_only_where_the_variants_differ():
    test = experiment(
        "welcome-test",
        kind=ExperimentKind.UI,
        variants=[("control", 50, {}), ("short", 50, {"welcome": "short"})],
    )
    choice = services.variant_for(user_id=7, kind=ExperimentKind.UI)
    assert choice.surfaces == frozenset({kinds.SURFACE_WELCOME})
    # The quality buttons are the same in both variants: seeing them exposes nobody.
    assert not services.exposure_record(
        user_id=7, choice=choice, surface=kinds.SURFACE_QUALITY_ORDER
    )
    assert services.exposure_record(user_id=7, choice=choice, surface=kinds.SURFACE_WELCOME)
    assert not services.exposure_record(user_id=7, choice=choice, surface=kinds.SURFACE_WELCOME)
    services._exposed.clear()  # another process publishes it again: stored once anyway
    assert services.exposure_record(user_id=7, choice=choice, surface=kinds.SURFACE_WELCOME)
    services.variant_for(user_id=8, kind=ExperimentKind.UI)  # hashed, never shown
    drain()
    exposures = list(
        ABTestExposure.objects.filter(test=test).values_list("user_id", "variant_name")
    )
    assert exposures == [(7, choice.variant_name)]


def test_free_downloads_follow_the_variant():
    experiment()
    bases = {services.free_downloads_for(user_id=u, default=10)[0] for u in USERS}
    assert bases == {10, 15}


def test_without_redis_a_new_user_gets_the_default(monkeypatch):
    test = experiment()
    known = services.variant_for(user_id=1, kind=test.kind)
    monkeypatch.setattr(services, "get_fast_redis", _unreachable)
    assert services.variant_for(user_id=1, kind=test.kind) == known  # resolved before
    assert services.variant_for(user_id=2, kind=test.kind) is None


def _unreachable():
    raise RedisConnectionError("down")


def test_a_free_limit_user_counts_only_once_the_arms_decide_differently():
    experiment()
    choice = services.variant_for(user_id=9, kind=ExperimentKind.FREE_LIMIT)
    for position in range(1, 11):  # ad-free in every arm up to the smallest base
        assert not services.quota_exposure_record(user_id=9, choice=choice, position=position)
    assert services.quota_exposure_record(user_id=9, choice=choice, position=11)
    assert not services.quota_exposure_record(user_id=9, choice=choice, position=12)  # once


def test_an_ad_text_experiment_covers_only_campaigns_holding_its_creatives():
    experiment(
        "tea-copy",
        kind=ExperimentKind.AD_TEXT,
        variants=[("control", 50, {}), ("loud", 50, {"creative": "loud"})],
    )
    arms = {}
    for user in USERS:
        name, choice = services.ad_creative_for(
            user_id=user, campaign_name="Tea", creative_names=["calm", "loud"]
        )
        arms[choice.variant_name] = name
        assert services.ad_creative_for(
            user_id=user, campaign_name="Shoes", creative_names=["red"]
        ) == (None, None)
    assert arms == {"control": None, "loud": "loud"}


def test_an_ad_text_experiment_naming_a_campaign_covers_that_one_only():
    experiment(
        "tea-only",
        kind=ExperimentKind.AD_TEXT,
        variants=[
            ("calm", 50, {"campaign": "Tea", "creative": "calm"}),
            ("loud", 50, {"campaign": "Tea", "creative": "loud"}),
        ],
    )
    name, choice = services.ad_creative_for(
        user_id=1, campaign_name="Tea", creative_names=["calm", "loud"]
    )
    assert name == choice.variant_name
    assert services.ad_creative_for(
        user_id=1, campaign_name="Coffee", creative_names=["calm", "loud"]
    ) == (None, None)
    problems = services.variants_validate(
        kind=ExperimentKind.AD_TEXT,
        variants=[("a", 50, {"campaign": "Tea", "creative": "x"}),
                  ("b", 50, {"campaign": "Coffee", "creative": "y"})],
    )  # fmt: skip
    assert "all variants must name the same campaign" in problems


def test_redis_losing_its_data_under_a_fresh_snapshot_moves_nobody():
    test = experiment()
    before = _names(test)
    drain()
    services.test_stop(test=test)
    ABTestVariant.objects.filter(test=test, variant_name="control").update(traffic_percentage=1)
    ABTestVariant.objects.filter(test=test, variant_name="fifteen").update(traffic_percentage=99)
    services.test_start(test=test)
    services.snapshot()  # loaded and warmed while Redis still had everything
    get_redis().flushdb()
    services._sticky.clear()  # a process that has not resolved these users yet
    assert _names(test) == before


def test_a_due_snapshot_answers_while_it_reloads_in_the_background(
    django_assert_num_queries,
):
    test = experiment()
    choice = services.variant_for(user_id=1000, kind=test.kind)  # resolved in this process
    current = services._snapshot
    services._snapshot = dataclasses.replace(
        current, loaded_at=current.loaded_at - services.SNAPSHOT_SECONDS - 1
    )
    with django_assert_num_queries(0):  # the delivery does not wait for the reload
        assert services.variant_known(user_id=1000, kind=test.kind) == (True, choice)
    refresh_wait()
    assert services._snapshot.loaded_at > current.loaded_at  # reloaded off the caller's path

    services._snapshot = dataclasses.replace(
        current, loaded_at=current.loaded_at - services.SNAPSHOT_STALE_SECONDS - 1
    )
    assert services.variant_known(user_id=1000, kind=test.kind) == (False, None)


def test_a_reload_begun_before_a_drop_is_not_kept(monkeypatch):
    experiment()
    load = services.snapshot_load

    def load_then_dropped(**kwargs):
        loaded = load(**kwargs)
        services.snapshot_forget()  # an admin change lands while this reload reads
        return loaded

    monkeypatch.setattr(services, "snapshot_load", load_then_dropped)
    services.snapshot()
    assert services._snapshot is None
