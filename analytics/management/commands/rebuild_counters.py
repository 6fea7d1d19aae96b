from __future__ import annotations

from django.core.management.base import BaseCommand

from analytics.services import counters_rebuild


class Command(BaseCommand):
    help = "Set every Redis download counter from PostgreSQL and report what changed."

    def handle(self, *args, **options):
        self.stdout.write(str(counters_rebuild()))
