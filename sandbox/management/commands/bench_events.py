"""``python manage.py bench_events --events 100000``: publish, ingest, lag, and a check.

Only against a database whose name contains "bench", on 127.0.0.1; it empties the
analytics tables and the Redis database first.
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError

from analytics.worker import tune_dedicated_process
from sandbox import events_benchmark as benchmark


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
        benchmark.measure_lag(
            rate=options["rate"], seconds=options["lag_seconds"], users=users, videos=videos,
            figures=figures,
        )  # fmt: skip
        self.stdout.write(
            f"lag at {options['rate']}/s for {options['lag_seconds']:.0f} s "
            f"({figures.lag_events} events): p50 {figures.lag_p50_ms:.0f} ms, "
            f"p99 {figures.lag_p99_ms:.0f} ms, max {figures.lag_max_ms:.0f} ms"
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
