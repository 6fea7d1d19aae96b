"""API answers come from Redis until a rollup moves."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.dashboard import api

from .conftest import download_event, store, video
from .test_api import get

pytestmark = pytest.mark.django_db(transaction=True)
PARAMS = {"start": "2026-03-01", "end": "2026-03-14", "tz": "UTC"}


@pytest.fixture
def computed(monkeypatch):
    """Counts the answers computed (not served from the cache)."""
    calls = []
    spec = api.ENDPOINTS["overview"]
    monkeypatch.setitem(
        api.ENDPOINTS,
        "overview",
        api.Endpoint(spec.name, lambda *a: calls.append(1) or spec.compute(*a), spec.params),
    )
    return calls


def test_a_second_ask_is_served_from_the_cache(staff_client, dataset, computed, settings):
    settings.DASHBOARD_CACHE_SECONDS = 60
    first = get(staff_client, "overview", **PARAMS)
    assert get(staff_client, "overview", **PARAMS) == first
    assert len(computed) == 1
    get(staff_client, "overview", **{**PARAMS, "tz": "Europe/Moscow"})
    assert len(computed) == 2


def test_an_answer_is_dropped_when_its_rollups_move(staff_client, dataset, computed, settings):
    settings.DASHBOARD_CACHE_SECONDS = 60
    before = get(staff_client, "overview", **PARAMS)["downloads"]

    # The worker's acknowledgement bumps the version: new downloads are seen at once.
    store([download_event(3, *video(1), dt.datetime(2026, 3, 4, 12, tzinfo=dt.UTC))], refresh=False)
    assert get(staff_client, "overview", **PARAMS)["downloads"] == before + 1
    assert len(computed) == 2


def test_no_cache_when_turned_off(staff_client, dataset, computed, settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    get(staff_client, "overview", **PARAMS)
    get(staff_client, "overview", **PARAMS)
    assert len(computed) == 2
