"""An event that kills the worker process, among good ones: only it is dead-lettered."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from analytics.events import DownloadCompleted
from analytics.models import Download
from analytics.stream import DEAD_STREAM, GROUP, PAYLOAD_FIELD, STREAM

pytestmark = pytest.mark.django_db(transaction=True)

POISON_USER = 666
# The real worker, except that planning a batch holding the poison event kills the
# process the way a crash in a C extension would.
WORKER_SCRIPT = f"""
import os, signal, threading, django
django.setup()
from analytics import worker

plan = worker.batch_plan

def deadly_plan(entries, **options):
    if any(getattr(e.event, "user_id", None) == {POISON_USER} for e in entries):
        os.kill(os.getpid(), signal.SIGKILL)
    return plan(entries, **options)

worker.batch_plan = deadly_plan
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
threading.Timer(8.0, stop.set).start()  # one run: long enough to drain five events
worker.run_worker(stop, consumer="poisoned", drain_on_stop=False, batch_size=5,
                  block_ms=100, max_deliveries=3, prefetch=True)
"""


def _run_worker_once() -> int:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT], cwd=settings.BASE_DIR, env=env, timeout=120,
        check=False,
    )  # fmt: skip
    return process.returncode


def test_only_the_event_that_kills_the_worker_is_dead_lettered(redis):
    users = [1, 2, POISON_USER, 4, 5]
    for user_id in users:
        event = DownloadCompleted(
            user_id=user_id, video_id="youtube:aaaaaaaaaaa", platform="youtube", source="message"
        )
        redis.xadd(STREAM, {PAYLOAD_FIELD: event.to_json()})

    exits = []
    for _ in range(12):
        exits.append(_run_worker_once())
        if exits[-1] == 0:  # a run that did not crash: nothing deadly was left
            break

    assert exits[-1] == 0 and len(exits) > 1, exits
    assert sorted(Download.objects.values_list("user_id", flat=True)) == [1, 2, 4, 5]
    dead = redis.xrange(DEAD_STREAM)
    assert len(dead) == 1
    assert json.loads(dead[0][1][b"e"])["user_id"] == POISON_USER
    assert b"on its own" in dead[0][1][b"reason"]
    assert redis.xpending(STREAM, GROUP)["pending"] == 0
