"""The dashboard's "Experiments" section: every experiment that ran in the period, its
exposures per variant, SRM status and main metric, linking to its results page.

Counting exposures and computing a metric read the experiment's tables, too much for a
request at scale; a rollup refresher (run by the dashboard's rollup job) keeps them in
``ABTestDashboardSummary``: exposures and SRM on every run, the main metric when it is
older than ``METRIC_SECONDS`` or of another phase (one experiment per run, the stalest,
except on the first run, when there is none yet). ``rebuild_rollups`` drops them all,
so its refresh recomputes every one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import connection
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from analytics.dashboard.api import endpoint
from analytics.dashboard.pages import Page, Widget, page_register
from analytics.dashboard.params import Period
from analytics.rollups import rollup_rebuilder, rollup_refresher

from . import metrics, stats
from .models import ABTest, ABTestDashboardSummary, ABTestExposure, ExperimentKind

# The metric that decides each kind of experiment.
MAIN_METRIC = {
    ExperimentKind.AD_TEXT: "ad_ctr",
    ExperimentKind.FREE_LIMIT: "paid",
    ExperimentKind.UI: "downloads",
}
METRIC_SECONDS = 300


def _exposures(tests: list[ABTest]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {test.pk: {} for test in tests}
    if not tests:
        return counts
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT x.test_id, x.variant_name, count(*) FROM {ABTestExposure._meta.db_table} x "  # noqa: S608
            "JOIN unnest(%s::bigint[], %s::int[]) AS t(id, phase) "
            "ON x.test_id = t.id AND x.phase = t.phase GROUP BY 1, 2",
            [[t.pk for t in tests], [t.phase for t in tests]],
        )
        for test_id, variant, n in cursor.fetchall():
            counts[test_id][variant] = n
    return counts


def _main_metric(test: ABTest, now: dt.datetime) -> tuple[str, list[dict]]:
    """The experiment's deciding metric per variant, as its results page computes it."""
    key = MAIN_METRIC.get(test.kind, "downloads")
    result = metrics.metric_result(test=test, key=key, now=now)
    return key, [
        {
            "variant": value.variant_name,
            "users": value.n,
            "value": value.value,
            "lift_percent": None if value.comparison is None or value.comparison.effect is None
            else round(value.comparison.effect * 100, 2),
            "p_value": None if value.comparison is None else value.comparison.p_value,
            "note": "" if value.comparison is None else value.comparison.reason,
        }
        for value in result.values
    ]  # fmt: skip


def _metric_due(summary: ABTestDashboardSummary | None, test: ABTest, now: dt.datetime) -> bool:
    return (
        summary is None
        or summary.phase != test.phase
        or summary.metric_at is None
        or (now - summary.metric_at).total_seconds() >= METRIC_SECONDS
    )


@rollup_refresher
def experiment_summaries_refresh(cursor) -> bool:
    """Exposures and SRM of every running experiment; the main metric of at most one
    (the stalest) per run: it reads the exposed users' history, seconds at scale, and
    the job must keep the other rollups a minute behind at most. With no summary at all
    (the first run, or after a rebuild) every metric is measured. True if a summary
    changed."""
    now = timezone.now()
    tests = [test for test in ABTest.objects.filter(is_active=True) if test.is_running(now)]
    counts = _exposures(tests)
    summaries = {s.test_id: s for s in ABTestDashboardSummary.objects.filter(test__in=tests)}
    due = [test for test in tests if _metric_due(summaries.get(test.pk), test, now)]
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    measured = min(
        due, key=lambda t: (getattr(summaries.get(t.pk), "metric_at", None) or oldest, t.pk),
        default=None,
    )  # fmt: skip
    measure = set(due) if not summaries else {measured}
    moved = False
    for test in tests:
        variants = list(test.variants.order_by("position", "id"))
        exposed = [
            {"variant": v.variant_name, "traffic_percentage": v.traffic_percentage,
             "exposed": counts[test.pk].get(v.variant_name, 0)}
            for v in variants
        ]  # fmt: skip
        weights = [v["traffic_percentage"] for v in exposed]
        srm = stats.srm_p_value([v["exposed"] for v in exposed], weights) if sum(weights) else 1.0
        summary = summaries.get(test.pk)
        fields: dict[str, Any] = {"phase": test.phase, "variants": exposed, "srm_p_value": srm}
        if test in measure:
            fields["metric_key"], fields["metric"] = _main_metric(test, now)
            fields["metric_at"] = now
        elif summary is None or summary.phase != test.phase:
            # Measured on a later run; another phase's metric is not this one's.
            fields.update(metric_key=MAIN_METRIC.get(test.kind, ""), metric=[], metric_at=None)
        if summary is None or any(getattr(summary, k) != v for k, v in fields.items()):
            ABTestDashboardSummary.objects.update_or_create(
                test=test, defaults={**fields, "exposures_at": now}
            )
            moved = True
    return moved


@rollup_rebuilder
def experiment_summaries_rebuild(cursor) -> bool:
    """Dropped, so the refresh that ends the rebuild recomputes every summary (the
    metric too) from the experiment tables."""
    cursor.execute(f"DELETE FROM {ABTestDashboardSummary._meta.db_table}")  # noqa: S608
    return True


def _experiments(period: Period) -> list[dict[str, Any]]:
    ran = (
        ABTest.objects.filter(Q(start_date__isnull=True) | Q(start_date__lt=period.utc_end))
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=period.utc_start))
        .order_by("-is_active", "name")
    )
    summaries = {s.test_id: s for s in ABTestDashboardSummary.objects.filter(test__in=ran)}
    now = timezone.now()
    answer = []
    for test in ran:
        summary = summaries.get(test.pk)
        if summary is None and not test.is_running(now):
            continue
        variants = summary.variants if summary else []
        answer.append({
            "test_id": test.pk, "name": test.name, "kind": test.kind,
            "running": test.is_running(now), "phase": summary.phase if summary else test.phase,
            "exposed": sum(v["exposed"] for v in variants),
            "srm_p_value": summary.srm_p_value if summary else None,
            "srm_ok": summary.srm_p_value >= metrics.SRM_THRESHOLD if summary else None,
            "main_metric": summary.metric_key if summary else MAIN_METRIC.get(test.kind, ""),
            "metric": summary.metric if summary else [],
            "variants": variants,
            "results_url": reverse("admin:abtests_abtest_results", args=[test.pk]),
            "updated_at": summary.exposures_at.isoformat() if summary else None,
        })  # fmt: skip
    return answer


@endpoint("experiments")
def experiments_answer(period: Period, query: Mapping[str, str]) -> dict[str, Any]:
    experiments = _experiments(period)
    rows = []
    for experiment in experiments:
        metric = {m["variant"]: m for m in experiment["metric"]}
        for variant in experiment["variants"]:
            value = metric.get(variant["variant"], {})
            rows.append({
                "label": f"{experiment['name']} / {variant['variant']}",
                "experiment": experiment["name"], "variant": variant["variant"],
                "exposed": variant["exposed"],
                "traffic_percentage": variant["traffic_percentage"],
                "main_metric": experiment["main_metric"], "metric_value": value.get("value"),
                "lift_percent": value.get("lift_percent"), "p_value": value.get("p_value"),
                "srm": {True: "ok", False: "MISMATCH"}.get(experiment["srm_ok"], "pending"),
                "results_url": experiment["results_url"],
            })  # fmt: skip
    return {"experiments": experiments, "variants": rows}


page_register(
    Page(
        slug="experiments",
        title="Experiments",
        widgets=(
            Widget(id="experiment-exposures", title="Exposures per variant",
                   endpoint="experiments", rows="variants", label="label",
                   series=(("exposed", "Exposed users"),), kind="bar"),
            Widget(id="experiment-table", title="Experiments: exposures, main metric, SRM",
                   endpoint="experiments", rows="variants", label="label", link="results_url",
                   series=(("exposed", "Exposed"), ("traffic_percentage", "Traffic, %"),
                           ("main_metric", "Main metric"), ("metric_value", "Value"),
                           ("lift_percent", "Lift, %"), ("p_value", "p-value"),
                           ("srm", "SRM")),
                   kind="table",
                   description="Each row links to the experiment's results page. SRM: "
                   "sample ratio mismatch check of the exposures against the traffic split."),
        ),
    )
)  # fmt: skip
