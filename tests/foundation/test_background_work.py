"""Background work of the bot stays off the thread its handlers' database calls share."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from asgiref.sync import sync_to_async

from botapp import application, referral_jobs


@pytest.mark.parametrize(
    ("module", "scan", "job"),
    [
        # 10,000 queued requests took 1.9 s
        (application, "download_requests_requeue", application.requeue_lost_requests),
        # the referrals' catch-up: a pass over the pending referrals, notices to Telegram
        (
            referral_jobs,
            "referral_activations_catch_up",
            application.referral_activations_catch_up,
        ),
    ],
)
def test_the_periodic_scans_do_not_hold_up_the_handlers(monkeypatch, module, scan, job):
    scanning = threading.Event()

    def slow_scan(**options) -> int:
        scanning.set()
        time.sleep(2.0)
        return 0

    monkeypatch.setattr(module, scan, slow_scan)

    async def main() -> float:
        running = asyncio.create_task(job(None))
        assert await asyncio.to_thread(scanning.wait, 5)
        started = time.monotonic()
        await sync_to_async(lambda: None)()  # what every handler's database call goes through
        waited = time.monotonic() - started
        await running
        return waited

    assert asyncio.run(main()) < 1.0
