from __future__ import annotations

import pytest

from analytics.publisher import breaker_reset


@pytest.fixture(autouse=True)
def _spool_in_tmp(settings, tmp_path):
    settings.ANALYTICS_SPOOL_DIR = str(tmp_path / "spool")


@pytest.fixture(autouse=True)
def _publisher_breaker_closed():
    breaker_reset()
    yield
    breaker_reset()
