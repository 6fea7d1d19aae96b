from __future__ import annotations

import pytest

from abtests import services
from abtests.models import ABTest, ABTestVariant, ExperimentKind
from analytics.publisher import breaker_reset
from analytics.worker import Worker


@pytest.fixture(autouse=True)
def _fresh_process_state(settings, tmp_path):
    settings.ANALYTICS_SPOOL_DIR = str(tmp_path / "spool")
    breaker_reset()
    services.process_state_reset()
    yield
    services.process_state_reset()


def drain(max_steps: int = 100) -> None:
    """Run the event worker until the stream is empty."""
    worker = Worker(consumer="abtests-test", block_ms=50)
    for _ in range(max_steps):
        result = worker.step()
        if not result.read and not result.failed:
            return
    raise AssertionError("the event worker did not drain the stream")


def experiment(
    name: str = "free-limit",
    *,
    kind: str = ExperimentKind.FREE_LIMIT,
    variants: list[tuple[str, int, dict]] | None = None,
    start: bool = True,
    **fields,
) -> ABTest:
    if variants is None:
        variants = [
            ("control", 50, {"free_downloads": 10}),
            ("fifteen", 50, {"free_downloads": 15}),
        ]
    test = ABTest.objects.create(name=name, kind=kind, **fields)
    for position, (variant_name, percentage, config) in enumerate(variants):
        ABTestVariant.objects.create(
            test=test,
            variant_name=variant_name,
            traffic_percentage=percentage,
            variant_config=config,
            position=position,
        )
    if start:
        services.test_start(test=test)
    return test
