"""Per-variant metrics of an experiment's exposed users, from PostgreSQL, and their
comparison with the control (``abtests.stats``).

Every metric is measured per exposed user from the moment of their first exposure in
the current phase (what happened before cannot be the variant's doing). The sources
belong to other apps and may be missing on a deployment (ads, payments): a metric
whose table does not exist is reported as unavailable rather than failing the page.

- downloads per user: rows of ``downloads``;
- ad CTR: clicks over impressions (``ad_clicks`` / ``ad_impressions``), a ratio of
  per-user sums, its variance by the delta method;
- conversion to paid: share of users with a Stars payment (``payments``);
- referral invites per user: rows of ``referrals`` they brought;
- D1 / D7 retention: share of users who downloaded something on day 1 (24-48 h) / day 7
  (7-8 days) after exposure, among users exposed at least that long ago.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence

from django.conf import settings
from django.db import connection
from django.utils import timezone

from . import stats
from .models import ABTest, ABTestExposure

SRM_THRESHOLD = 0.001


# The SQL below is this module's own text (table names, day counts); every value that
# comes from outside travels as a parameter, hence the S608 exemptions.


def _plus_days(expression: str, days: int) -> str:
    if connection.vendor == "postgresql":
        return f"({expression} + interval '{days} days')"
    return f"strftime('%Y-%m-%d %H:%M:%f', {expression}, '+{days} days')"


def _count(table: str, user_column: str, at_column: str) -> str:
    return (
        f"(SELECT count(*) FROM {table} s WHERE s.{user_column} = x.user_id "  # noqa: S608
        f"AND s.{at_column} >= x.exposed_at)"
    )


def _counted_after_exposure(table: str, user_column: str, at_column: str) -> str:
    """Rows of ``table`` per exposed user at or after their exposure, as a derived table
    ``(user_id, n)`` grouped in one join: a count per user through an index, on a table
    of tens of millions of rows, costs a minute."""
    exposures = ABTestExposure._meta.db_table
    return (
        f"SELECT s.{user_column} AS user_id, count(*) AS n FROM {table} s "  # noqa: S608
        f"JOIN {exposures} e ON e.user_id = s.{user_column} AND s.{at_column} >= e.exposed_at "
        "WHERE e.test_id = %(test)s AND e.phase = %(phase)s "
        f"AND s.{at_column} >= (SELECT min(exposed_at) FROM {exposures} "
        "WHERE test_id = %(test)s AND phase = %(phase)s) "
        f"GROUP BY s.{user_column}"
    )


def _active_between(first_day: int, last_day: int) -> str:
    return (
        "(CASE WHEN EXISTS (SELECT 1 FROM downloads s WHERE s.user_id = x.user_id "  # noqa: S608
        f"AND s.created_at >= {_plus_days('x.exposed_at', first_day)} "
        f"AND s.created_at < {_plus_days('x.exposed_at', last_day)}) THEN 1 ELSE 0 END)"
    )


@dataclasses.dataclass(frozen=True)
class Metric:
    key: str
    label: str
    tables: tuple[str, ...]
    kind: str  # "mean", "proportion" or "ratio"
    value: str  # SQL: per exposed user ``x`` (the numerator of a ratio)
    denominator: str = ""  # SQL, ratio metrics only
    settled_days: int = 0  # only users exposed at least this long ago count
    grouped: str = ""  # SQL: a derived table (user_id, n) joined as ``g`` for ``value``


def metrics_all() -> list[Metric]:
    return [
        Metric(
            "downloads", "Downloads per user", ("downloads",), "mean", "coalesce(g.n, 0)",
            grouped=_counted_after_exposure("downloads", "user_id", "created_at"),
        ),
        Metric(
            "ad_ctr", "Ad CTR (clicks / impressions)", ("ad_impressions", "ad_clicks"), "ratio",
            _count("ad_clicks", "user_id", "created_at"),
            _count("ad_impressions", "user_id", "created_at"),
        ),
        Metric(
            "paid", "Conversion to paid", ("payments",), "proportion",
            "(CASE WHEN EXISTS (SELECT 1 FROM payments s WHERE s.user_id = x.user_id "
            "AND s.paid_at >= x.exposed_at) THEN 1 ELSE 0 END)",
        ),
        Metric(
            "invites", "Referral invites per user", ("referrals",), "mean",
            _count("referrals", "referrer_id", "created_at"),
        ),
        Metric("d1", "D1 retention", ("downloads",), "proportion", _active_between(1, 2),
               settled_days=2),
        Metric("d7", "D7 retention", ("downloads",), "proportion", _active_between(7, 8),
               settled_days=8),
    ]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class VariantValue:
    variant_name: str
    n: int
    value: float | None  # the metric's value (mean, share or ratio)
    std: float | None
    comparison: stats.Comparison | None  # None for the control


@dataclasses.dataclass(frozen=True)
class MetricResult:
    metric: Metric
    available: bool
    values: list[VariantValue]
    note: str = ""


@dataclasses.dataclass(frozen=True)
class VariantExposure:
    variant_name: str
    traffic_percentage: int
    exposed: int


@dataclasses.dataclass(frozen=True)
class ExperimentResults:
    test: ABTest
    phase: int
    sequential: bool
    variants: list[VariantExposure]
    srm_p_value: float
    metrics: list[MetricResult]
    min_sample: int

    @property
    def srm_warning(self) -> bool:
        return self.srm_p_value < SRM_THRESHOLD

    @property
    def exposed_total(self) -> int:
        return sum(v.exposed for v in self.variants)


def _sums(metric: Metric, *, test_id: int, phase: int, now: dt.datetime) -> dict[str, tuple]:
    inner_w = f", {metric.denominator} AS w" if metric.kind == "ratio" else ", 0 AS w"
    settled = ""
    params: dict = {"test": test_id, "phase": phase}
    if metric.settled_days:
        settled = " AND x.exposed_at <= %(settled)s"
        params["settled"] = now - dt.timedelta(days=metric.settled_days)
    grouped = f" LEFT JOIN ({metric.grouped}) g ON g.user_id = x.user_id" if metric.grouped else ""
    sql = (
        "SELECT variant_name, count(*), sum(v), sum(v * v), sum(w), sum(w * w), sum(v * w) "  # noqa: S608
        f"FROM (SELECT x.variant_name, {metric.value} AS v{inner_w} "
        f"FROM {ABTestExposure._meta.db_table} x{grouped} "
        f"WHERE x.test_id = %(test)s AND x.phase = %(phase)s{settled}) m "
        "GROUP BY variant_name"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: tuple(float(value or 0) for value in row[1:]) for row in cursor.fetchall()}


def _sample(metric: Metric, sums: tuple | None) -> stats.Sample | None:
    if not sums or sums[0] < 1:
        return None
    n, sv, svv, sw, sww, svw = sums
    count = int(n)
    if metric.kind != "ratio":
        mean = sv / n
        variance = (svv - n * mean * mean) / (n - 1) if n > 1 else 0.0
        return stats.Sample(n=count, mean=mean, std=math.sqrt(max(variance, 0.0)))
    if sw <= 0:
        return None
    mean_v, mean_w = sv / n, sw / n
    if n < 2:
        return stats.Sample(n=count, mean=sv / sw, std=0.0)
    var_v = (svv - n * mean_v**2) / (n - 1)
    var_w = (sww - n * mean_w**2) / (n - 1)
    cov = (svw - n * mean_v * mean_w) / (n - 1)
    # Delta method for a ratio of means: n * Var(R) for R = mean_v / mean_w.
    per_user = var_v / mean_w**2 - 2 * mean_v * cov / mean_w**3 + mean_v**2 * var_w / mean_w**4
    return stats.Sample(n=count, mean=sv / sw, std=math.sqrt(max(per_user, 0.0)))


def results_for(
    *,
    test: ABTest,
    sequential: bool = False,
    alpha: float = 0.05,
    min_sample: int | None = None,
    now: dt.datetime | None = None,
) -> ExperimentResults:
    """Everything the results page shows, for the experiment's current phase."""
    now = now or timezone.now()
    if min_sample is None:
        min_sample = settings.ABTESTS_MIN_SAMPLE
    variants = list(test.variants.order_by("position", "id"))
    exposed = dict(_exposure_counts(test_id=test.pk, phase=test.phase))
    exposures = [
        VariantExposure(v.variant_name, v.traffic_percentage, exposed.get(v.variant_name, 0))
        for v in variants
    ]
    srm = (
        stats.srm_p_value([v.exposed for v in exposures], [v.traffic_percentage for v in exposures])
        if exposures and sum(v.traffic_percentage for v in exposures) > 0
        else 1.0
    )
    tables = set(connection.introspection.table_names())
    results = [
        _metric_measure(
            metric, test, variants, tables, now=now, sequential=sequential, alpha=alpha,
            min_sample=min_sample,
        )
        for metric in metrics_all()
    ]  # fmt: skip
    return ExperimentResults(
        test=test,
        phase=test.phase,
        sequential=sequential,
        variants=exposures,
        srm_p_value=srm,
        metrics=results,
        min_sample=min_sample,
    )


def metric_result(
    *, test: ABTest, key: str, now: dt.datetime | None = None, min_sample: int | None = None
) -> MetricResult:
    """One metric of ``results_for`` (fixed horizon, alpha 0.05), e.g. for the dashboard."""
    metric = next(m for m in metrics_all() if m.key == key)
    variants = list(test.variants.order_by("position", "id"))
    return _metric_measure(
        metric, test, variants, set(connection.introspection.table_names()),
        now=now or timezone.now(), sequential=False, alpha=0.05,
        min_sample=settings.ABTESTS_MIN_SAMPLE if min_sample is None else min_sample,
    )  # fmt: skip


def _metric_measure(
    metric: Metric, test: ABTest, variants, tables: set[str], *, now: dt.datetime,
    sequential: bool, alpha: float, min_sample: int,
) -> MetricResult:  # fmt: skip
    missing = [t for t in metric.tables if t not in tables]
    if missing:
        return MetricResult(metric, False, [], note=f"no data source ({', '.join(missing)})")
    sums = _sums(metric, test_id=test.pk, phase=test.phase, now=now)
    return _metric_result(
        metric, variants, sums, sequential=sequential, alpha=alpha, min_sample=min_sample
    )


def _exposure_counts(*, test_id: int, phase: int) -> Sequence[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT variant_name, count(*) FROM {ABTestExposure._meta.db_table} "  # noqa: S608
            "WHERE test_id = %s AND phase = %s GROUP BY variant_name",
            [test_id, phase],
        )
        return cursor.fetchall()


def _metric_result(
    metric: Metric, variants, sums, *, sequential: bool, alpha: float, min_sample: int
) -> MetricResult:
    samples = [_sample(metric, sums.get(v.variant_name)) for v in variants]
    control = samples[0] if samples else None
    values = []
    for index, (variant, sample) in enumerate(zip(variants, samples, strict=True)):
        comparison = None
        if index > 0:
            if control is None or sample is None:
                comparison = stats.Comparison(
                    None, None, None, None, None, reason=f"{stats.NOT_ENOUGH_DATA}: no users"
                )
            elif min(control.n, sample.n) < min_sample:
                comparison = stats.Comparison(
                    None, None, None, None, None,
                    reason=f"{stats.NOT_ENOUGH_DATA}: fewer than {min_sample} users per variant",
                )  # fmt: skip
            else:
                comparison = stats.compare(
                    control,
                    sample,
                    relative=True,
                    alpha=alpha,
                    sequential_tuning=stats.DEFAULT_SEQUENTIAL_TUNING if sequential else None,
                )
        users = sums.get(variant.variant_name)
        values.append(
            VariantValue(
                variant_name=variant.variant_name,
                n=int(users[0]) if users else 0,
                value=sample.mean if sample else None,
                std=sample.std if sample else None,
                comparison=comparison,
            )
        )
    note = ""
    if metric.settled_days:
        note = f"users exposed at least {metric.settled_days} days ago"
    return MetricResult(metric, True, values, note=note)


CSV_HEADER = [
    "metric", "variant", "users", "value", "std", "lift", "ci_low", "ci_high", "p_value",
    "chance_to_win", "note",
]  # fmt: skip


def results_rows(results: ExperimentResults) -> list[list]:
    """The results as CSV rows (after ``CSV_HEADER``)."""
    rows: list[list] = []
    for v in results.variants:
        rows.append(["exposures", v.variant_name, v.exposed, "", "", "", "", "", "", "", ""])
    rows.append(["srm_p_value", "", "", results.srm_p_value, "", "", "", "", "", "", ""])
    for metric in results.metrics:
        if not metric.available:
            rows.append([metric.metric.key, "", "", "", "", "", "", "", "", "", metric.note])
            continue
        for v in metric.values:
            c = v.comparison
            rows.append(
                [
                    metric.metric.key, v.variant_name, v.n, _fmt(v.value), _fmt(v.std),
                    _fmt(c and c.effect), _fmt(c and c.ci_low), _fmt(c and c.ci_high),
                    _fmt(c and c.p_value), _fmt(c and c.chance_to_win),
                    (c.reason if c else "control") or metric.note,
                ]
            )  # fmt: skip
    return rows


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"
