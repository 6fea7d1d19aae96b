from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from analytics.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute every dashboard rollup from the raw rows (safe while the worker runs)."

    def handle(self, *args, **options):
        started = time.monotonic()
        rollups_rebuild()
        self.stdout.write(f"rollups rebuilt in {time.monotonic() - started:.1f} s")
