from __future__ import annotations

import pytest

from analytics.worker import StepResult, Worker
from config.redis import get_redis


@pytest.fixture
def redis():
    return get_redis()


@pytest.fixture(autouse=True)
def _spool_in_tmp(settings, tmp_path):
    settings.ANALYTICS_SPOOL_DIR = str(tmp_path / "spool")


def drain(worker: Worker | None = None, *, max_steps: int = 200) -> list[StepResult]:
    """Step a worker until the stream has nothing more for it (bounded)."""
    worker = worker or Worker(consumer="test", block_ms=50)
    results = []
    for _ in range(max_steps):
        result = worker.step()
        results.append(result)
        if not result.read and not result.failed:
            return results
    raise AssertionError(f"worker did not drain the stream in {max_steps} steps")


@pytest.fixture(autouse=True)
def _publisher_breaker_closed():
    from analytics.publisher import breaker_reset

    breaker_reset()
    yield
    breaker_reset()
