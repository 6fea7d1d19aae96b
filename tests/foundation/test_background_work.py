"""Background work of the bot stays off the thread its handlers' database calls share."""

from __future__ import annotations

import asyncio
import threading
import time

from asgiref.sync import sync_to_async

from botapp import application


def test_the_requeue_scan_does_not_hold_up_the_handlers(monkeypatch):
    scanning = threading.Event()

    def slow_scan(**options) -> int:
        scanning.set()
        time.sleep(2.0)  # 10,000 queued requests took 1.9 s
        return 0

    monkeypatch.setattr(application, "download_requests_requeue", slow_scan)

    async def main() -> float:
        scan = asyncio.create_task(application.requeue_lost_requests(None))
        assert await asyncio.to_thread(scanning.wait, 5)
        started = time.monotonic()
        await sync_to_async(lambda: None)()  # what every handler's database call goes through
        waited = time.monotonic() - started
        await scan
        return waited

    assert asyncio.run(main()) < 1.0
