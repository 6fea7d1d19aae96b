"""``python manage.py bench_abtests --users 10000 --deliveries 100000``: what experiments
add to a delivery.

With one experiment of each kind running it times, per delivery, the three
``variant_for`` calls and the exposure checks a delivery makes: first for users this
process has not seen (GrowthBook hash, one Redis round trip, the assignment event),
then for returning users (the in-process path every later delivery takes). Only
against a database whose name contains "bench" (it creates and deletes experiments
named ``bench-*``, ``sandbox/experiments_benchmark.py``), PostgreSQL and Redis on
127.0.0.1.
"""

from __future__ import annotations

import random
import statistics
import time

from django.core.management.base import BaseCommand, CommandError

from abtests import services
from sandbox import events_benchmark as benchmark
from sandbox.experiments_benchmark import experiments_remove, experiments_start


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
        bench = experiments_start(free_downloads=10)
        surfaces = bench.surfaces
        try:
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
            experiments_remove(bench)
        self.stdout.write(f"experiments running: {len(bench.tests)} (one of each kind)")
        self._report("first delivery of a user (hash, Redis, event)", cold)
        self._report("returning user (in-process)", warm)
        self.stdout.write(
            f"returning users, throughput: {deliveries / warm_total:,.0f} deliveries/s, "
            f"{warm_total / deliveries * 1e6:.1f} µs per delivery (target < 50 µs)"
        )

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
