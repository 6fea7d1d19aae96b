from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand

from sandbox.dashboard_benchmark import bench_run, bench_table


class Command(BaseCommand):
    help = (
        "Call every dashboard API endpoint over 1, 30 and 365 days in two time zones and "
        "print p50/p95 per endpoint (answer cache off)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tz",
            action="append",
            default=None,
            help="time zone (twice for two); default UTC and Europe/Moscow",
        )
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument(
            "--end",
            type=dt.date.fromisoformat,
            default=None,
            help="last day of every range; default the newest day with data",
        )

    def handle(self, *args, **options):
        time_zones = tuple(options["tz"] or ("UTC", "Europe/Moscow"))
        timings = bench_run(time_zones=time_zones, repeat=options["repeat"], end=options["end"])
        for line in bench_table(timings):
            self.stdout.write(line)
