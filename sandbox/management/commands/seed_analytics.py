from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from sandbox.analytics_seed import SeedPlan, SeedRefused, seed_run


class Command(BaseCommand):
    help = (
        "Fill an empty benchmark or demo database (its name must contain 'bench' or 'demo') "
        "with realistic users, downloads, videos and referrals, then rebuild the rollups."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=10_000)
        parser.add_argument("--downloads", type=int, default=50_000)
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument(
            "--end",
            type=dt.date.fromisoformat,
            default=None,
            help="last day (UTC) of the data; default today",
        )
        parser.add_argument("--seed", type=int, default=15, help="random seed")

    def handle(self, *args, **options):
        if min(options["users"], options["downloads"], options["days"]) < 1:
            raise CommandError("--users, --downloads and --days must be positive")
        plan = SeedPlan(
            users=options["users"],
            downloads=options["downloads"],
            days=options["days"],
            end=options["end"] or dt.datetime.now(tz=dt.UTC).date(),
            seed=options["seed"],
        )
        try:
            timings = seed_run(plan, say=self.stdout.write)
        except SeedRefused as exc:
            raise CommandError(str(exc)) from exc
        for step, seconds in timings.items():
            self.stdout.write(f"{step:>26}: {seconds:8.1f} s")
