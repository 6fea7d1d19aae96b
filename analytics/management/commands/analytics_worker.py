"""``python manage.py analytics_worker``: the long-running event worker.

Run N of them (any hosts) with distinct, stable ``--consumer`` names; they share the
stream through the consumer group. SIGTERM or SIGINT finish the current batch and exit.
"""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from analytics.worker import default_consumer_name, run_worker, tune_dedicated_process


class Command(BaseCommand):
    help = "Read analytics events from the Redis stream and store them in the database."

    def add_arguments(self, parser):
        parser.add_argument("--consumer", default="", help="Stable name, e.g. worker-1.")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--block-ms", type=int, default=1000)
        parser.add_argument(
            "--claim-idle-ms",
            type=int,
            default=60_000,
            help="Take over entries another consumer has held this long.",
        )

    def handle(self, *args, **options):
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        tune_dedicated_process()
        run_worker(
            stop,
            consumer=options["consumer"] or default_consumer_name(),
            drain_on_stop=False,
            batch_size=options["batch_size"],
            block_ms=options["block_ms"],
            claim_idle_ms=options["claim_idle_ms"],
        )
