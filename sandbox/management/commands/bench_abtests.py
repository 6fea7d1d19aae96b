"""``python manage.py bench_abtests --users 10000 --deliveries 100000``: what experiments
add to a delivery.

With one experiment of each kind running it times, per delivery, the three
``variant_for`` calls and the exposure checks a delivery makes: first for users this
process has not seen (GrowthBook hash, one Redis round trip, the assignment event),
then for returning users (the in-process path every later delivery takes). Only
against a database whose name contains "bench" (it creates and deletes experiments
named ``bench-*``), PostgreSQL and Redis on 127.0.0.1.
"""

from __future__ import annotations

import random
import statistics
import time

from django.core.management.base import BaseCommand, CommandError

from abtests import kinds, services
from abtests.models import ABTest, ABTestVariant, ExperimentKind
from config.redis import get_redis
from sandbox import events_benchmark as benchmark

EXPERIMENTS = {
    "bench-ad-text": (
        ExperimentKind.AD_TEXT,
        [("control", 50, {}), ("short", 50, {"creative": "short"})],
        kinds.SURFACE_AD,
    ),
    "bench-free-limit": (
        ExperimentKind.FREE_LIMIT,
        [("ten", 50, {"free_downloads": 10}), ("fifteen", 50, {"free_downloads": 15})],
        kinds.SURFACE_QUOTA,
    ),
    "bench-ui": (
        ExperimentKind.UI,
        [("control", 50, {}), ("named", 50, {"quality_labels": "named"})],
        kinds.SURFACE_QUALITY_LABELS,
    ),
}


class Command(BaseCommand):
    help = "Time the experiment lookups a delivery makes (µs per delivery)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--users", type=int, default=10_000)
        parser.add_argument("--deliveries", type=int, default=100_000)

    def handle(self, *args, **options) -> None:
        try:
            benchmark.environment_check()
        except benchmark.BenchmarkRefused as exc:
            raise CommandError(str(exc)) from exc
        users, deliveries = options["users"], options["deliveries"]
        tests = self._experiments()
        try:
            surfaces = {test.kind: EXPERIMENTS[test.name][2] for test in tests}
            services.snapshot_forget()
            services.snapshot()  # loaded once per SNAPSHOT_SECONDS; not what is measured

            cold = [self._delivery(user, surfaces) for user in range(1, users + 1)]
            rng = random.Random(14)  # noqa: S311 (which user comes back, not a secret)
            warm = [self._delivery(rng.randint(1, users), surfaces) for _ in range(deliveries)]
            warm_total = time.perf_counter()
            for _ in range(deliveries):
                self._delivery(rng.randint(1, users), surfaces)
            warm_total = time.perf_counter() - warm_total
        finally:
            for test in tests:
                get_redis().delete(services.assignments_key(test.pk, test.phase))
            ABTest.objects.filter(pk__in=[t.pk for t in tests]).delete()
            services.snapshot_forget()
        self.stdout.write(f"experiments running: {len(tests)} (one of each kind)")
        self._report("first delivery of a user (hash, Redis, event)", cold)
        self._report("returning user (in-process)", warm)
        self.stdout.write(
            f"returning users, throughput: {deliveries / warm_total:,.0f} deliveries/s, "
            f"{warm_total / deliveries * 1e6:.1f} µs per delivery (target < 50 µs)"
        )

    def _experiments(self) -> list[ABTest]:
        ABTest.objects.filter(name__in=EXPERIMENTS).delete()
        tests = []
        for name, (kind, variants, _surface) in EXPERIMENTS.items():
            test = ABTest.objects.create(name=name, kind=kind)
            for position, (variant_name, percentage, config) in enumerate(variants):
                ABTestVariant.objects.create(
                    test=test, variant_name=variant_name, traffic_percentage=percentage,
                    variant_config=config, position=position,
                )  # fmt: skip
            tests.append(services.test_start(test=test))
        return tests

    @staticmethod
    def _delivery(user_id: int, surfaces: dict[str, str]) -> float:
        started = time.perf_counter_ns()
        for kind, surface in surfaces.items():
            choice = services.variant_for(user_id=user_id, kind=kind)
            services.exposure_record(user_id=user_id, choice=choice, surface=surface)
        return (time.perf_counter_ns() - started) / 1000

    def _report(self, label: str, samples: list[float]) -> None:
        if not samples:
            return
        ordered = sorted(samples)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        self.stdout.write(
            f"{label}: n={len(samples)}  mean {statistics.fmean(samples):.1f} µs  "
            f"p50 {statistics.median(samples):.1f} µs  p99 {p99:.1f} µs"
        )
