"""Reloading a process's snapshots off the bot's event loop.

The bot keeps a few small snapshots in memory (the running ad campaigns, the running
experiments) and reloads each from PostgreSQL every few seconds. When a delivery found
its snapshot due and reloaded it itself, every delivery arriving meanwhile took the slow
path too, in the one thread the bot's ``sync_to_async`` calls share: a queue that grew
every few seconds. Instead the delivery goes on with the snapshot it has (a few seconds
past due at most, within the limit its owner sets) and asks for a reload here: one
thread, at most one reload of a name queued at a time.

The thread closes its database connection after each reload, so it holds none while idle
(a test database can be dropped, a restarted server is met with a new connection).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

log = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_pending: set[str] = set()
_lock = threading.Lock()


def refresh_soon(name: str, reload: Callable[[], object]) -> None:
    """Run ``reload`` in the refresh thread unless a reload of ``name`` is already queued."""
    global _executor
    with _lock:
        if name in _pending:
            return
        _pending.add(name)
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot-refresh")
        executor = _executor
    executor.submit(_run, name, reload)


def refresh_wait(timeout: float = 10.0) -> None:
    """Wait for the reloads queued so far (tests)."""
    with _lock:
        executor = _executor
    if executor is not None:
        executor.submit(lambda: None).result(timeout)


def _run(name: str, reload: Callable[[], object]) -> None:
    try:
        reload()
    except Exception:
        log.exception("reloading the %s snapshot failed; the next delivery asks again", name)
    finally:
        with _lock:
            _pending.discard(name)
        connections.close_all()
