from __future__ import annotations

import pytest

from tests import network_guard


def pytest_configure(config):
    network_guard.install()


@pytest.fixture(autouse=True)
def _no_network_beyond_loopback():
    """Fail any test during which something tried to leave the loopback range."""
    before = len(network_guard.violations)
    yield
    new = network_guard.violations[before:]
    if new:
        pytest.fail("network guard: " + "; ".join(new), pytrace=False)


@pytest.fixture(autouse=True)
def _clean_redis():
    """Every test starts with an empty Redis database (the suite's own, db 15)."""
    from config.redis import get_redis

    get_redis().flushdb()
    yield
