"""``python manage.py bench_events --events 100000``: publish, ingest, what keeping the
dashboard's rollups costs, lag, and checks that every count (rollups included) is exact.

Only against a database whose name contains "bench", on 127.0.0.1; it empties the
analytics tables and the Redis database first.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analytics.worker import tune_dedicated_process
from sandbox import events_benchmark as benchmark

TARGET_EVENTS_PER_SECOND = 20_000


class Command(BaseCommand):
    help = "Benchmark the analytics event pipeline against PostgreSQL and Redis."

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, default=100_000)
        parser.add_argument("--users", type=int, default=20_000)
        parser.add_argument("--videos", type=int, default=5_000)
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--rate", type=int, default=1_000, help="arrival rate for lag")
        parser.add_argument("--lag-seconds", type=float, default=30.0)

    def handle(self, *args, **options):
        try:
            benchmark.environment_check()
        except benchmark.BenchmarkRefused as exc:
            raise CommandError(str(exc)) from exc
        benchmark.reset()
        tune_dedicated_process()
        users, videos = options["users"], options["videos"]
        events = benchmark.synthetic_events(options["events"], users=users, videos=videos)
        figures = benchmark.Figures(events=len(events))
        self.stdout.write(
            f"{len(events)} events, {users} users, {videos} videos, {os.cpu_count()} CPUs"
        )

        benchmark.publish_all(events, figures)
        self.stdout.write(
            f"publish: {len(events) / figures.publish_seconds:,.0f} events/s from one thread; "
            f"per publish p50 {figures.publish_p50_us:.0f} us, p99 {figures.publish_p99_us:.0f} us"
        )
        benchmark.ingest_all(batch_size=options["batch_size"], figures=figures)
        self.stdout.write(
            f"ingest: {len(events) / figures.ingest_seconds:,.0f} events/s with counters "
            f"(one worker, batch {options['batch_size']}, {figures.ingest_seconds:.1f} s)"
        )
        benchmark.measure_rollup_statements(
            events, batch_size=options["batch_size"], figures=figures
        )
        per_event_us = figures.rollup_statements_seconds / len(events) * 1e6
        self.stdout.write(
            f"rollup upkeep in the worker: the rollup upserts of those batches on their own, "
            f"{figures.rollup_statements_seconds:.2f} s ({per_event_us:.1f} us an event, "
            f"{_rate(figures.rollup_statements_seconds, len(events))} events/s)"
        )
        light = benchmark.measure_rollup_job(heavy=False)
        heavy = benchmark.measure_rollup_job(heavy=True)
        self.stdout.write(
            f"rollup job after those {len(events):,} events: {light:.2f} s "
            f"(every {settings.DASHBOARD_ROLLUP_SECONDS:.0f} s), then its insights part "
            f"{heavy:.2f} s (at most every {settings.DASHBOARD_INSIGHTS_SECONDS} s)"
        )
        self.stdout.write(
            _upkeep_line(figures.rollup_statements_seconds, light, heavy, len(events))
        )
        benchmark.measure_lag(
            rate=options["rate"], seconds=options["lag_seconds"], users=users, videos=videos,
            figures=figures,
        )  # fmt: skip
        self.stdout.write(
            f"lag at {options['rate']}/s for {options['lag_seconds']:.0f} s "
            f"({figures.lag_events} events): p50 {figures.lag_p50_ms:.0f} ms, "
            f"p99 {figures.lag_p99_ms:.0f} ms, max {figures.lag_max_ms:.0f} ms"
        )
        light = benchmark.measure_rollup_job(heavy=False)
        self.stdout.write(
            f"rollup job after the lag phase's {figures.lag_events:,} events: {light:.2f} s"
        )
        checks = benchmark.consistency_checks(events + figures.lag_published, users, videos)
        failed = False
        for name, (expected, found) in checks.items():
            ok = expected == found
            failed |= not ok
            self.stdout.write(
                f"check {name}: expected {expected}, found {found} {'ok' if ok else 'MISMATCH'}"
            )
        if failed:
            raise CommandError("PostgreSQL or Redis does not match what was published")


def _rate(seconds: float, events: int) -> str:
    return f"{events / seconds:,.0f}" if seconds > 0 else "-"


def _upkeep_line(statements: float, light: float, heavy: float, events: int) -> str:
    """Rollup upkeep at the target rate, from the costs just measured: the worker's upserts
    and the light job runs in proportion to the events, the insights part once per its
    interval (its cost grows with the active users, not the events)."""
    rate = TARGET_EVENTS_PER_SECOND
    per_event = (statements + light) / events
    heavy_share = heavy / settings.DASHBOARD_INSIGHTS_SECONDS
    load = rate * per_event + heavy_share
    worst = events / (statements + light + heavy)
    return (
        f"rollup upkeep at {rate:,} events/s: {load:.2f} of one core (worker upserts "
        f"{rate * statements / events:.2f}, job {rate * light / events + heavy_share:.2f}); "
        f"keeps pace up to {rate / load:,.0f} events/s. Worst case, the insights part in "
        f"every job run: {worst:,.0f} events/s"
    )
