from __future__ import annotations

from django.core.management.base import BaseCommand

from analytics.partitions import existing_partitions, is_partitioned, partitions_ensure


class Command(BaseCommand):
    help = "Create the monthly partitions of the downloads table ahead of time (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--months-ahead", type=int, default=3)
        parser.add_argument("--months-back", type=int, default=0)

    def handle(self, *args, **options):
        if not is_partitioned():
            self.stdout.write("downloads is not partitioned on this database; nothing to do")
            return
        created = partitions_ensure(
            months_ahead=options["months_ahead"], months_back=options["months_back"]
        )
        self.stdout.write(f"created: {', '.join(created) or 'none'}")
        self.stdout.write(f"partitions: {', '.join(existing_partitions())}")
