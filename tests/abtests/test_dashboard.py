"""The dashboard's experiments section: exposures, SRM and the main metric of each
running experiment, as the results page computes them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from abtests import dashboard as abtests_dashboard
from abtests import metrics, services, stats
from abtests.models import (
    ABTest,
    ABTestAssignment,
    ABTestDashboardSummary,
    ABTestExposure,
    ExperimentKind,
)
from analytics.events import DownloadCompleted, ExperimentViewed
from analytics.publisher import publish
from analytics.rollups import rollups_rebuild, rollups_refresh
from sandbox import analytics_seed

from .conftest import drain, experiment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner(client, django_user_model):
    user = django_user_model.objects.create_user("owner", password="pw-owner-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client.force_login(user)
    return client


def expose(test, users: range, variant_of) -> None:
    now = timezone.now()
    for user_id in users:
        at = now - dt.timedelta(hours=2)
        publish(
            ExperimentViewed(
                user_id=user_id,
                test_id=test.pk,
                phase=test.phase,
                variant_name=variant_of(user_id),
                occurred_at=at,
            )
        )
        for n in range(user_id % 3):
            publish(
                DownloadCompleted(
                    user_id=user_id,
                    video_id=f"youtube:{n:011d}",
                    platform="youtube",
                    source="message",
                    occurred_at=at + dt.timedelta(minutes=n + 1),
                )
            )
    drain(max_steps=500)


def get(client, **params):
    response = client.get("/dashboard/api/experiments", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_it_shows_each_running_experiment_as_its_results_page_does(owner):
    ui = experiment(
        "welcome-text",
        kind=ExperimentKind.UI,
        variants=[("control", 50, {}), ("short", 50, {"welcome": "short"})],
    )
    skewed = experiment(
        "quota",
        variants=[("control", 50, {"free_downloads": 10}), ("more", 50, {"free_downloads": 20})],
    )
    expose(ui, range(1, 241), lambda u: "control" if u % 2 else "short")
    expose(skewed, range(300, 420), lambda u: "control" if u % 5 else "more")  # 4:1, SRM
    assert rollups_refresh() is True

    answer = get(owner)
    by_name = {e["name"]: e for e in answer["experiments"]}
    assert set(by_name) == {"welcome-text", "quota"}
    for test in (ui, skewed):
        shown = by_name[test.name]
        exposures = ABTestExposure.objects.filter(test=test, phase=test.phase)
        counts = {v["variant"]: v["exposed"] for v in shown["variants"]}
        assert counts == {
            name: exposures.filter(variant_name=name).count()
            for name in test.variants.values_list("variant_name", flat=True)
        }
        results = metrics.results_for(test=test)
        assert shown["srm_p_value"] == pytest.approx(results.srm_p_value)
        assert shown["srm_ok"] is (not results.srm_warning)
        assert shown["results_url"] == f"/admin/abtests/abtest/{test.pk}/results/"
        main = next(r for r in results.metrics if r.metric.key == shown["main_metric"])
        assert [(m["variant"], m["users"], m["value"]) for m in shown["metric"]] == [
            (v.variant_name, v.n, v.value) for v in main.values
        ]
    assert by_name["quota"]["srm_ok"] is False and by_name["welcome-text"]["srm_ok"] is True
    assert by_name["welcome-text"]["main_metric"] == "downloads"
    assert len(answer["variants"]) == 4


def test_a_refresh_with_nothing_new_moves_nothing(owner):
    test = experiment("quiet")
    expose(test, range(1, 20), lambda u: "control")
    assert rollups_refresh() is True
    assert rollups_refresh() is False
    assert get(owner)["experiments"][0]["exposed"] == 19


def test_srm_is_the_chi_square_of_the_exposures(owner):
    test = experiment("half")
    expose(test, range(1, 101), lambda u: "control" if u <= 70 else "fifteen")
    rollups_refresh()
    shown = get(owner)["experiments"][0]
    assert shown["srm_p_value"] == pytest.approx(stats.srm_p_value([70, 30], [50, 50]))


def test_before_the_job_ran_it_is_listed_as_pending(owner):
    test = experiment("fresh")
    answer = get(owner)
    assert [(e["name"], e["exposed"], e["srm_ok"]) for e in answer["experiments"]] == [
        (test.name, 0, None)
    ]
    assert answer["variants"] == []


def test_only_experiments_that_ran_in_the_period_are_listed(owner):
    old = experiment("old", end_date=timezone.now() + dt.timedelta(hours=1))
    current = experiment("current")
    expose(old, range(1, 11), lambda u: "control")
    expose(current, range(1, 11), lambda u: "fifteen")
    rollups_refresh()
    ABTest.objects.filter(pk=old.pk).update(end_date=timezone.now() - dt.timedelta(days=3))
    today = timezone.now().date()
    recent = {"start": today - dt.timedelta(days=1), "end": today, "tz": "UTC"}
    assert [e["name"] for e in get(owner, **recent)["experiments"]] == ["current"]
    week = {"start": today - dt.timedelta(days=6), "end": today, "tz": "UTC"}
    shown = {e["name"]: e for e in get(owner, **week)["experiments"]}
    assert set(shown) == {"current", "old"}
    assert shown["old"]["running"] is False and shown["old"]["exposed"] == 10


def test_a_rebuild_recomputes_the_same_summaries(owner):
    test = experiment("rebuilt")
    expose(test, range(1, 31), lambda u: "control" if u % 3 else "fifteen")
    rollups_refresh()
    before = get(owner)["experiments"]
    rollups_rebuild()
    after = get(owner)["experiments"]
    drop = ("updated_at",)
    assert [{k: v for k, v in e.items() if k not in drop} for e in after] == [
        {k: v for k, v in e.items() if k not in drop} for e in before
    ]


def test_a_new_phase_shows_only_its_own_exposures(owner):
    test = experiment("phased")
    expose(test, range(1, 21), lambda u: "control")
    rollups_refresh()
    test = services.test_new_phase(test=test)
    expose(test, range(1, 6), lambda u: "fifteen")
    rollups_refresh()
    shown = get(owner)["experiments"][0]
    assert shown["phase"] == test.phase == 2
    assert {v["variant"]: v["exposed"] for v in shown["variants"]} == {"control": 0, "fifteen": 5}


def test_the_seeded_experiments_are_the_dashboards(owner, monkeypatch):
    monkeypatch.setattr(analytics_seed, "SAFE_NAME_PARTS", ("test_",))
    end = timezone.now().date()
    analytics_seed.seed_run(
        analytics_seed.SeedPlan(users=300, downloads=3000, days=30, end=end), say=lambda _: None
    )
    answer = get(owner, start=end - dt.timedelta(days=29), end=end, tz="UTC")
    assert len(answer["experiments"]) == 2
    for shown in answer["experiments"]:
        test = ABTest.objects.get(pk=shown["test_id"])
        exposures = ABTestExposure.objects.filter(test=test, phase=test.phase)
        assert shown["exposed"] == exposures.count() > 0
        assert ABTestAssignment.objects.filter(test=test).count() == exposures.count()
        results = metrics.results_for(test=test)
        assert shown["srm_p_value"] == pytest.approx(results.srm_p_value)
        main = next(r for r in results.metrics if r.metric.key == shown["main_metric"])
        assert [(m["variant"], m["users"]) for m in shown["metric"]] == [
            (v.variant_name, v.n) for v in main.values
        ]


def test_a_run_measures_one_stale_metric_the_stalest(owner, monkeypatch):
    first, second = experiment("first"), experiment("second")
    expose(first, range(1, 11), lambda u: "control")
    expose(second, range(1, 11), lambda u: "fifteen")
    rollups_refresh()  # the first run measures both
    measured = dict(ABTestDashboardSummary.objects.values_list("test_id", "metric_at"))
    assert set(measured) == {first.pk, second.pk} and None not in measured.values()
    ABTestDashboardSummary.objects.filter(test=second).update(
        metric_at=measured[second.pk] - dt.timedelta(minutes=1)
    )
    monkeypatch.setattr(abtests_dashboard, "METRIC_SECONDS", 0)  # both are due now
    assert rollups_refresh() is True
    after = dict(ABTestDashboardSummary.objects.values_list("test_id", "metric_at"))
    assert after[first.pk] == measured[first.pk]
    assert after[second.pk] > measured[second.pk]
    assert rollups_refresh() is True
    assert (
        dict(ABTestDashboardSummary.objects.values_list("test_id", "metric_at"))[first.pk]
        > measured[first.pk]
    )
